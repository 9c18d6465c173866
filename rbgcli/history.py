"""What `rbg status` and `rbg rollout` show and send, from objects read off the cluster.

Pure: every function takes plain dicts (a group, its ControllerRevisions, workloads and pods as
the API server returns them) and returns text or a patch. The CLI (rbgcli/cluster.py) reads them
through rbgclient.kube.GroupApi and sends the patches.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from hooks import constants as c
from hooks.children.revision import template_hash
from hooks.naming import workload_name
from hooks.validation import Invalid, parse_spec, resolve

Obj = dict[str, Any]


class NotFound(Exception):
    """A group, role or revision the user named does not exist; the message says which."""


@dataclass(frozen=True)
class Revision:
    role: str
    number: int
    hash: str
    created: str
    template: Obj


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def group_label(group: Obj) -> str:
    return f"{c.KIND_RBG} {_meta(group).get('namespace', '')}/{_meta(group).get('name', '')}"


def role_names(group: Obj) -> list[str]:
    return [r.get("name", "") for r in (group.get("spec") or {}).get("roles") or []]


def check_role(group: Obj, role: str | None) -> list[str]:
    """The roles a command acts on: `role`, or every role; NotFound if the group has no such role."""
    names = role_names(group)
    if role is None:
        return names
    if role not in names:
        raise NotFound(f"{group_label(group)} has no role {role!r} (its roles: {', '.join(names) or 'none'})")
    return [role]


def current_templates(group: Obj) -> dict[str, Obj | None]:
    """Each role's pod template as the hooks see it: roleTemplates and templatePatch applied.

    For a group the hooks consider invalid, the roles' own `template` where they have one."""
    name, spec = _meta(group).get("name", ""), group.get("spec") or {}
    parsed = parse_spec(name, spec)
    if not isinstance(parsed, Invalid):
        parsed = resolve(parsed)
    if isinstance(parsed, Invalid):
        return {r.get("name", ""): _written_template(r) for r in spec.get("roles") or []}
    return {r.name: r.template for r in parsed.roles}


def _written_template(role: Obj) -> Obj | None:
    """A role's own template in whichever pattern it has one."""
    for pattern in ("standalonePattern", "leaderWorkerPattern"):
        if isinstance(role.get(pattern), dict):
            return role[pattern].get("template")
    return None


def revisions(group: Obj, objects: Iterable[Obj]) -> dict[str, list[Revision]]:
    """The group's recorded revisions by role, lowest number first.

    Only ControllerRevisions the group controls (its StatefulSets' own revisions carry the same
    selector labels, but another owner and no revision-hash label)."""
    uid = _meta(group).get("uid")
    out: dict[str, list[Revision]] = {}
    for obj in objects:
        meta = _meta(obj)
        labels = meta.get("labels") or {}
        owner = next((ref for ref in meta.get("ownerReferences") or [] if ref.get("controller")), None)
        data = obj.get("data") or {}
        if (
            labels.get(c.LABEL_GROUP_NAME) != _meta(group).get("name")
            or c.LABEL_REVISION_HASH not in labels
            or (uid and (owner is None or owner.get("uid") != uid))
            or not isinstance(data.get("template"), dict)
        ):
            continue
        role = labels.get(c.LABEL_REVISION_ROLE, "")
        out.setdefault(role, []).append(
            Revision(role, int(obj.get("revision") or 0), labels[c.LABEL_REVISION_HASH], meta.get("creationTimestamp", ""), data["template"])
        )
    return {role: sorted(revs, key=lambda r: (r.number, r.hash)) for role, revs in out.items()}


def current_revision(revs: list[Revision], template: Obj | None) -> Revision | None:
    """The revision that records `template` (None until the hooks have recorded it)."""
    digest = template_hash(template) if template is not None else None
    return next((r for r in revs if r.hash == digest), None)


def find_revision(group: Obj, role: str, revs: list[Revision], number: int) -> Revision:
    for r in revs:
        if r.number == number:
            return r
    have = ", ".join(str(r.number) for r in revs) or "none recorded"
    raise NotFound(f"role {role!r} of {group_label(group)} has no revision {number} (its revisions: {have})")


def previous_revision(revs: list[Revision], template: Obj | None) -> Revision | None:
    """The newest revision of another template than the current one: what an undo goes back to."""
    digest = template_hash(template) if template is not None else None
    older = [r for r in revs if r.hash != digest]
    return older[-1] if older else None


def images(template: Obj) -> list[str]:
    spec = template.get("spec") or {}
    found = [ctr.get("image", "") for key in ("initContainers", "containers") for ctr in spec.get(key) or []]
    return list(dict.fromkeys(i for i in found if i))


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def history_table(group: Obj, revs: dict[str, list[Revision]], roles: list[str]) -> str:
    """One line per revision, by role then number; the current one marked with `*`."""
    current = current_templates(group)
    rows = [["ROLE", "REVISION", "CURRENT", "HASH", "CREATED", "IMAGES"]]
    for role in roles:
        now = current_revision(revs.get(role, []), current.get(role))
        for r in revs.get(role, []):
            mark = "*" if now is not None and r.hash == now.hash else ""
            rows.append([role, str(r.number), mark, r.hash, r.created, ",".join(images(r.template))])
        if not revs.get(role):
            rows.append([role, "-", "", "", "", "(no revision recorded yet)"])
    return _table(rows)


def _yaml(template: Obj) -> list[str]:
    # No line wrapping: a long command stays one line, so it shows as one changed line.
    return yaml.safe_dump(template, sort_keys=True, default_flow_style=False, width=2**20).splitlines(keepends=True)


def diff(role: str, revision: Revision, current: Obj | None, now: Revision | None) -> str:
    """A unified diff of `revision`'s template (---) against the role's current one (+++), as YAML."""
    to = f"{role} current" + (f" (revision {now.number})" if now is not None else " (not recorded yet)")
    return "".join(difflib.unified_diff(_yaml(revision.template), _yaml(current or {}), f"{role} revision {revision.number}", to))


def _roles_patch(group: Obj, roles: list[Obj]) -> Obj:
    """A JSON merge patch of the group's roles (a list: replaced whole), valid only for the
    resourceVersion it was made from: the API server answers 409 if the group changed since."""
    return {"metadata": {"resourceVersion": _meta(group).get("resourceVersion")}, "spec": {"roles": roles}}


def undo_patch(group: Obj, targets: dict[str, Revision]) -> tuple[Obj, list[str]]:
    """The patch that gives each role in `targets` the template of its target revision (in its
    pattern), and notes for the user. A role that used templateRef gets its own `template` in its
    place (the ref's patch goes too: it applied to the shared template)."""
    roles = copy.deepcopy((group.get("spec") or {}).get("roles") or [])
    notes = []
    for role in roles:
        target = targets.get(role.get("name", ""))
        if target is None:
            continue
        key = "leaderWorkerPattern" if isinstance(role.get("leaderWorkerPattern"), dict) else "standalonePattern"
        pattern = role.setdefault(key, {})
        pattern["template"] = copy.deepcopy(target.template)
        ref = pattern.pop("templateRef", None)
        if ref is not None:
            notes.append(
                f"role {target.role!r} used templateRef {(ref or {}).get('name')!r}"
                + (" with a patch" if (ref or {}).get("patch") is not None else "")
                + f": it now has its own template (revision {target.number}); roleTemplates are unchanged"
            )
    return _roles_patch(group, roles), notes


def pause_patch(group: Obj, names: list[str], paused: bool) -> tuple[Obj | None, list[str]]:
    """The patch that sets (or clears) rolloutStrategy.rollingUpdate.paused of the named roles, and
    the roles it changes; None when every one is already so."""
    roles = copy.deepcopy((group.get("spec") or {}).get("roles") or [])
    changed = []
    for role in roles:
        if role.get("name") not in names:
            continue
        update = (role.get("rolloutStrategy") or {}).get("rollingUpdate") or {}
        if bool(update.get("paused")) == paused:
            continue
        changed.append(role["name"])
        if paused:
            role.setdefault("rolloutStrategy", {}).setdefault("rollingUpdate", {})["paused"] = True
        else:
            role["rolloutStrategy"]["rollingUpdate"].pop("paused")
    return (_roles_patch(group, roles) if changed else None), changed


def waits(group: Obj) -> dict[str, str]:
    """What each role waits for, from the Progressing condition ("router waits for decode, prefill")."""
    out = {}
    for cond in (group.get("status") or {}).get("conditions") or []:
        if cond.get("type") == c.COND_PROGRESSING and cond.get("reason") == c.REASON_WAITING_FOR_DEPENDENCIES:
            for part in (cond.get("message") or "").split("; "):
                role, sep, deps = part.partition(" waits for ")
                if sep:
                    out[role] = deps
    return out


# ANSI colours for `rbg status` on a terminal.
GREEN, RED, YELLOW, BOLD, RESET = "\033[32m", "\033[31m", "\033[33m", "\033[1m", "\033[0m"


def _paint(text: str, colour: str, on: bool) -> str:
    return f"{colour}{text}{RESET}" if on else text


def _condition(group: Obj, type_: str) -> Obj | None:
    return next((x for x in (group.get("status") or {}).get("conditions") or [] if x.get("type") == type_), None)


def _pod_state(pod: Obj) -> tuple[bool, str]:
    status = pod.get("status") or {}
    if _meta(pod).get("deletionTimestamp"):
        return False, "Terminating"
    ready = any(x.get("type") == "Ready" and x.get("status") == "True" for x in status.get("conditions") or [])
    if ready:
        return True, "Ready"
    waiting = [
        (s.get("state") or {}).get("waiting", {}).get("reason")
        for s in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    ]
    why = next((w for w in waiting if w), None) or status.get("phase") or "Unknown"
    return False, f"NotReady ({why})"


def status_tree(group: Obj, workloads: list[Obj], pods: list[Obj], revs: dict[str, list[Revision]], colour: bool = False) -> str:
    """group -> roles -> workload -> pods, with readiness, each role's revision and what it waits for."""
    name = _meta(group).get("name", "")
    ready = _condition(group, c.COND_READY) or {}
    is_ready = ready.get("status") == "True"
    head = f"{_paint(group_label(group), BOLD, colour)}  Ready: " + _paint(
        f"{ready.get('status', 'Unknown')}", GREEN if is_ready else RED, colour
    )
    ready_roles = (group.get("status") or {}).get("readyRoles")
    lines = [head + (f"  (roles ready {ready_roles})" if ready_roles else "")]
    for type_ in (c.COND_INVALID_SPEC, c.COND_COORDINATING, c.COND_DISCOVERY_TRUNCATED):
        cond = _condition(group, type_)
        if cond and cond.get("status") == "True":
            lines.append(f"  {_paint(type_, RED if type_ == c.COND_INVALID_SPEC else YELLOW, colour)}: {cond.get('message', '')}")
    current = current_templates(group)
    waiting = waits(group)
    by_name = {_meta(w).get("name"): w for w in workloads}
    roles = (group.get("spec") or {}).get("roles") or []
    for i, role in enumerate(roles):
        last = i == len(roles) - 1
        branch, stem = ("└─ ", "   ") if last else ("├─ ", "│  ")
        rname = role.get("name", "")
        notes = []
        now = current_revision(revs.get(rname, []), current.get(rname))
        if now is not None:
            notes.append(f"revision {now.number}")
        if ((role.get("rolloutStrategy") or {}).get("rollingUpdate") or {}).get("paused"):
            notes.append(_paint("paused", YELLOW, colour))
        if rname in waiting:
            notes.append(_paint(f"waits for {waiting[rname]}", YELLOW, colour))
        lines.append(branch + _paint(rname, BOLD, colour) + ("  " + ", ".join(notes) if notes else ""))
        workload = by_name.get(workload_name(name, rname))
        if workload is None:
            lines.append(stem + "└─ " + f"{(role.get('workload') or {}).get('kind', c.KIND_STATEFULSET)} {workload_name(name, rname)}  not created")
            continue
        spec_n = int((workload.get("spec") or {}).get("replicas", 1))
        st = workload.get("status") or {}
        counts = f"{int(st.get('readyReplicas') or 0)}/{spec_n} ready, {int(st.get('updatedReplicas') or 0)}/{spec_n} updated"
        done = int(st.get("readyReplicas") or 0) >= spec_n and int(st.get("updatedReplicas") or 0) >= spec_n
        lines.append(stem + "└─ " + f"{workload.get('kind')} {workload_name(name, rname)}  " + _paint(counts, GREEN if done else YELLOW, colour))
        update = st.get("updateRevision")
        mine = sorted(
            (p for p in pods if ((_meta(p).get("labels") or {}).get(c.LABEL_ROLE_NAME) == rname)),
            key=lambda p: _pod_order(_meta(p).get("name", "")),
        )
        for j, pod in enumerate(mine):
            ok, state = _pod_state(pod)
            pod_branch = "└─ " if j == len(mine) - 1 else "├─ "
            old = update and (_meta(pod).get("labels") or {}).get(c.LABEL_REVISION) not in (None, update)
            lines.append(
                stem + "   " + pod_branch + f"{_meta(pod).get('name')}  " + _paint(state, GREEN if ok else RED, colour)
                + ("  (previous revision)" if old else "")
            )
    return "\n".join(lines)


def _pod_order(name: str) -> tuple[str, int, str]:
    """Pods by name, ordinals numerically (x-2 before x-10)."""
    base, _, ordinal = name.rpartition("-")
    return (base, int(ordinal), "") if ordinal.isdigit() else (name, -1, name)
