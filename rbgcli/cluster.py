"""`rbg status` and `rbg rollout history|diff|undo|pause|resume`: a group on a cluster.

They connect as kubectl does (`--kubeconfig`, else $KUBECONFIG, else ~/.kube/config; `--context`;
`-n` or the context's namespace), read through rbgclient.kube.GroupApi, compute with
rbgcli.history (pure) and write the group with a JSON merge patch that carries the
resourceVersion it was computed from (re-read and retried on a conflict). A group, role or
revision that does not exist is an error (exit 1) that names it.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from . import history as rollout
from hooks.children.revision import template_hash
from .history import NotFound, Revision

if TYPE_CHECKING:
    from rbgclient.kube import GroupApi

# Attempts of a read-compute-patch cycle when the group changes in between (409 Conflict).
ATTEMPTS = 3


class Failed(Exception):
    """Reported as `rbg: <message>`, exit 1."""


def colour(stream: TextIO) -> bool:
    """Colour on a terminal, unless NO_COLOR (https://no-color.org) is set or TERM is dumb."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _connect(args: argparse.Namespace) -> tuple[GroupApi, str]:
    try:
        from lightkube.core.exceptions import ConfigError

        from rbgclient.kube import GroupApi, user_config
    except ImportError as err:
        raise Failed(f"this command needs lightkube ({err}): pip install 'rbg-hooks[local]'") from None
    try:
        config = user_config(args.kubeconfig, args.context)
    except ConfigError as err:
        raise Failed(str(err)) from None
    if config.user is None:  # kubectl would go on anonymously; lightkube can not
        raise Failed(f"context {config.context_name!r} of the kubeconfig names no user")
    return GroupApi(config), args.namespace or config.namespace


def _group(api: GroupApi, namespace: str, name: str) -> dict[str, Any]:
    from lightkube import ApiError

    try:
        return api.group(namespace, name)
    except ApiError as err:
        if err.status.code == 404:
            raise NotFound(f"RoleBasedGroup {namespace}/{name} not found") from None
        raise


def _api_errors() -> tuple[type[BaseException], ...]:
    try:
        from httpx2 import HTTPError
    except ImportError:  # no lightkube: _connect says so
        return ()
    return (HTTPError,)


def _command(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Errors as one line on stderr and exit 1."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (Failed, NotFound) as err:
            print(f"rbg: {err}", file=sys.stderr)
            return 1
        except _api_errors() as err:  # the API's answer (lightkube's ApiError: its Status) or the connection's
            status = getattr(err, "status", None)
            print(f"rbg: {getattr(status, 'message', None) or err}", file=sys.stderr)
            return 1

    return run


@_command
def cmd_status(args: argparse.Namespace) -> int:
    api, ns = _connect(args)
    group = _group(api, ns, args.group)
    revs = rollout.revisions(group, api.revisions(ns, args.group))
    tree = rollout.status_tree(group, api.workloads(ns, args.group), api.pods(ns, args.group), revs, colour(sys.stdout))
    print(tree)
    return 0


@_command
def cmd_history(args: argparse.Namespace) -> int:
    api, ns = _connect(args)
    group = _group(api, ns, args.group)
    roles = rollout.check_role(group, args.role)
    print(rollout.history_table(group, rollout.revisions(group, api.revisions(ns, args.group)), roles))
    return 0


def _paint_diff(text: str, on: bool) -> str:
    if not on:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(rollout.BOLD + line.rstrip("\n") + rollout.RESET + "\n")
        elif line.startswith(("+", "-", "@@")):
            paint = {"+": rollout.GREEN, "-": rollout.RED, "@": rollout.YELLOW}[line[0]]
            out.append(paint + line.rstrip("\n") + rollout.RESET + "\n")
        else:
            out.append(line)
    return "".join(out)


@_command
def cmd_diff(args: argparse.Namespace) -> int:
    api, ns = _connect(args)
    group = _group(api, ns, args.group)
    (role,) = rollout.check_role(group, args.role)
    revs = rollout.revisions(group, api.revisions(ns, args.group)).get(role, [])
    revision = rollout.find_revision(group, role, revs, args.revision)
    current = rollout.current_templates(group).get(role)
    text = rollout.diff(role, revision, current, rollout.current_revision(revs, current))
    if not text:
        print(f"revision {revision.number} of role {role} is the current template", file=sys.stderr)
    sys.stdout.write(_paint_diff(text, colour(sys.stdout)))
    return 0


Plan = Callable[[dict[str, Any]], tuple[dict[str, Any] | None, list[str]]]


def _patched(api: GroupApi, ns: str, name: str, plan: Plan) -> list[str]:
    """Read the group, make the patch, send it; again from the top when the group changed meanwhile.

    `plan` returns the patch (None: nothing to change) and what to tell the user."""
    from lightkube import ApiError

    for _ in range(ATTEMPTS):
        patch, said = plan(_group(api, ns, name))
        if patch is None:
            return said
        try:
            api.patch_group(ns, name, patch)
            return said
        except ApiError as err:
            if err.status.code != 409:
                raise
    raise Failed(f"RoleBasedGroup {ns}/{name} kept changing while it was patched ({ATTEMPTS} attempts): try again")


def undo_plan(group: dict[str, Any], role: str | None, to_revision: int | None, objects: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list[str]]:
    """The undo patch and what to say; NotFound when a named role or revision does not exist."""
    roles = rollout.check_role(group, role)
    if to_revision is not None and role is None and len(roles) > 1:
        raise Failed("revision numbers are per role: give --role with --to-revision")
    revs = rollout.revisions(group, objects)
    current = rollout.current_templates(group)
    targets: dict[str, Revision] = {}
    said, no_history = [], []
    for name in roles:
        mine = revs.get(name, [])
        target = rollout.find_revision(group, name, mine, to_revision) if to_revision else rollout.previous_revision(mine, current.get(name))
        if target is None:
            if role is not None:
                have = ", ".join(str(r.number) for r in mine) or "none recorded"
                raise NotFound(f"role {name!r} of {rollout.group_label(group)} has no previous revision (its revisions: {have})")
            said.append(f"role {name}: no previous revision, left as it is")
            no_history.append(name)
            continue
        template = current.get(name)
        if template is not None and template_hash(template) == target.hash:
            said.append(f"role {name}: already at the template of revision {target.number}, left as it is")
            continue
        targets[name] = target
    if not targets:
        if no_history == roles:
            raise NotFound(f"no role of {rollout.group_label(group)} has a previous revision")
        return None, said
    patch, notes = rollout.undo_patch(group, targets)
    said += notes + [f"role {n}: template set to revision {t.number} ({t.hash})" for n, t in targets.items()]
    return patch, said


@_command
def cmd_undo(args: argparse.Namespace) -> int:
    api, ns = _connect(args)
    said = _patched(api, ns, args.group, lambda group: undo_plan(group, args.role, args.to_revision, api.revisions(ns, args.group)))
    for line in said:
        print(f"rolebasedgroup {ns}/{args.group}: {line}")
    return 0


def pause_plan(group: dict[str, Any], role: str | None, paused: bool) -> tuple[dict[str, Any] | None, list[str]]:
    roles = rollout.check_role(group, role)
    patch, changed = rollout.pause_patch(group, roles, paused)
    word = "paused" if paused else "resumed"
    said = [f"role {n}: {word}" for n in changed]
    said += [f"role {n}: already {'paused' if paused else 'not paused'}" for n in roles if n not in changed]
    return patch, said


def _pause(paused: bool) -> Callable[[argparse.Namespace], int]:
    @_command
    def run(args: argparse.Namespace) -> int:
        api, ns = _connect(args)
        said = _patched(api, ns, args.group, lambda group: pause_plan(group, args.role, paused))
        for line in said:
            print(f"rolebasedgroup {ns}/{args.group}: {line}")
        return 0

    return run


VERBOSE_HELP = "also log each request to the API server (the HTTP client's log)"


def add_verbose(parser: argparse.ArgumentParser, everywhere: bool = False) -> None:
    """-v/--verbose on `parser`: `rbg`'s own (False unless given), or with `everywhere` a
    subcommand's, which sets it only when given there (`rbg status -v g` as `rbg -v status g`)."""
    default = argparse.SUPPRESS if everywhere else False
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help=VERBOSE_HELP)


def add_commands(sub: Any) -> None:
    """`rbg status` and `rbg rollout ...` on the parser's subcommands."""
    kube = argparse.ArgumentParser(add_help=False)
    add_verbose(kube, everywhere=True)
    kube.add_argument("-n", "--namespace", help="the group's namespace (default: the context's, else default)")
    kube.add_argument("--context", help="the kubeconfig context to use (default: the current one)")
    kube.add_argument("--kubeconfig", help="path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")

    s = sub.add_parser("status", parents=[kube], help="a group's roles, workloads and pods, with readiness and revisions")
    s.add_argument("group")
    s.set_defaults(func=cmd_status)

    r = sub.add_parser("rollout", help="the rollout history of a group's roles: history, diff, undo, pause, resume")
    verbs = r.add_subparsers(dest="verb", required=True)
    h = verbs.add_parser("history", parents=[kube], help="every recorded revision of each role; * marks the current one")
    h.add_argument("group")
    h.add_argument("--role", help="only this role")
    h.set_defaults(func=cmd_history)

    d = verbs.add_parser("diff", parents=[kube], help="a revision's pod template against the role's current one, as YAML")
    d.add_argument("group")
    d.add_argument("--role", required=True)
    d.add_argument("--revision", type=int, required=True)
    d.set_defaults(func=cmd_diff)

    u = verbs.add_parser("undo", parents=[kube], help="put a role's pod template back to a recorded revision (default: the previous one)")
    u.add_argument("group")
    u.add_argument("--role", help="only this role (default: every role that has a previous revision)")
    u.add_argument("--to-revision", type=int, help="the revision to go back to (default: the previous one; needs --role)")
    u.set_defaults(func=cmd_undo)

    for verb, paused in (("pause", True), ("resume", False)):
        what = "stop rolling out template changes to" if paused else "resume rolling out template changes to"
        v = verbs.add_parser(verb, parents=[kube], help=f"{what} a role (rolloutStrategy.rollingUpdate.paused)")
        v.add_argument("group")
        v.add_argument("--role", help="only this role (default: every role)")
        v.set_defaults(func=_pause(paused))
