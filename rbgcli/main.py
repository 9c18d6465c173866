"""The `rbg` command: serve the hooks, render and validate groups offline, run a local cluster,
show a group's status and rollout history and undo, pause or resume its rollouts."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import cluster as cli_cluster
from hooks import constants as c
from hooks import naming
from hooks.api import SyncRequest
from hooks.conversion.v1alpha1 import to_hub
from hooks.core import rbg
from hooks.validation import Invalid, validate

if TYPE_CHECKING:
    from lightkube import Client


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the discovery file) as literal blocks, as a person would write them."""


_Dumper.add_representer(
    str,
    lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style="|" if "\n" in v else None),
)


def _documents(path: str) -> list[dict[str, Any]]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    docs: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and doc.get("kind", "").endswith("List"):
            docs += doc.get("items") or []
        elif isinstance(doc, dict):
            docs.append(doc)
    return docs


def _groups(path: str) -> list[dict[str, Any]]:
    """The file's RoleBasedGroups as v1alpha2: v1alpha1 ones converted as the API server converts them."""
    groups = [d for d in _documents(path) if d.get("apiVersion") in (c.API_VERSION, c.API_VERSION_V1ALPHA1) and d.get("kind") == c.KIND_RBG]
    return [to_hub(d) if d["apiVersion"] == c.API_VERSION_V1ALPHA1 else d for d in groups]


def _policies(path: str) -> list[dict[str, Any]]:
    """The file's CoordinatedPolicies: each binds the group of its name."""
    return [d for d in _documents(path) if d.get("apiVersion") == c.API_VERSION and d.get("kind") == c.KIND_COORDINATED_POLICY and isinstance(d.get("metadata"), dict)]


def _observed(directory: str | None) -> dict[str, dict[str, Any]]:
    """Observed children from YAML files (e.g. `kubectl get sts,deploy,svc,cm -o yaml`)."""
    children: dict[str, dict[str, Any]] = {}
    if directory:
        for file in sorted(Path(directory).glob("*.y*ml")):
            for obj in _documents(str(file)):
                key = f"{obj['kind']}.{obj['apiVersion']}"
                children.setdefault(key, {})[obj["metadata"]["name"]] = obj
    return children


def cmd_render(args: argparse.Namespace) -> int:
    out = []
    for parent in _groups(args.file):
        parent.setdefault("metadata", {}).setdefault("namespace", args.namespace)
        # A complete request, as Metacontroller sends it: every child type, observed or not, the
        # PodGroups too (as registered with both gang overlays), so a gang group renders its PodGroup.
        types = (*c.CHILD_TYPES, *c.OPTIONAL_CHILD_TYPES)
        children: dict[str, dict[str, Any]] = {key: {} for key in types} | _observed(args.observed)
        meta = parent["metadata"]
        policies = {f"{meta['namespace']}/{p['metadata']['name']}": p for p in _policies(args.file) if p["metadata"]["name"] == meta.get("name")}
        related = {c.RELATED_COORDINATED_POLICY: {k: {**p, "metadata": {**p["metadata"], "namespace": meta["namespace"]}} for k, p in policies.items()}}
        req = SyncRequest.model_validate({"controller": {}, "parent": parent, "children": children, "related": related})
        result = rbg.sync(req)
        if args.output == "json":
            out.append(json.dumps(result.response(), indent=2))
        else:
            for cond in result.status["conditions"]:
                out.append(f"# {parent['metadata']['name']} {cond['type']}={cond['status']} {cond['reason']}: {cond['message']}")
            out += ["---\n" + yaml.dump(child, Dumper=_Dumper, sort_keys=False).rstrip() for child in result.children]
    print("\n".join(out))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    groups = _groups(args.file)
    if not groups:
        print(f"{args.file}: no {c.KIND_RBG} ({c.API_VERSION} or {c.API_VERSION_V1ALPHA1}) found", file=sys.stderr)
        return 1
    failed = 0
    for parent in groups:
        name = (parent.get("metadata") or {}).get("name", "")
        policy = next((p.get("spec") for p in _policies(args.file) if p["metadata"].get("name") == name), None)
        result = validate(name, parent.get("spec") or {}, (parent.get("metadata") or {}).get("annotations") or {}, policy)
        if isinstance(result, Invalid):
            failed += 1
            for problem in result.problems:
                print(f"{args.file}: {c.KIND_RBG} {name}: {problem}", file=sys.stderr)
        else:
            print(f"{args.file}: {c.KIND_RBG} {name}: valid")
    return 1 if failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from hooks.server import serve, tls_problem

    if problem := tls_problem(args.certfile, args.keyfile):
        raise SystemExit(f"rbg serve: error: {problem}")
    serve(bind=args.bind, workers=args.workers, certfile=args.certfile, keyfile=args.keyfile)
    return 0


DEFAULT_STATE_DIR = "~/.local/state/rbg/cluster"


BUILDABLE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "etcd", "kwok", "kwok-stages")
REAL_NODE_IMAGES = ("pause", "busybox")  # what `rbg up --real-node` builds with tools/images.sh
METACONTROLLER = ("metacontroller", "metacontroller-crds")


def _bin_dir(args: argparse.Namespace, real_node: bool = False) -> Path:
    """--bin-dir, or the cache dir that tools/build.sh prints last (building what is missing; the
    real node's binaries too with `real_node`)."""
    from localcluster.cluster import METACONTROLLER_ENV, REPO
    from localcluster.realnode import BINARIES

    if args.bin_dir:
        return Path(args.bin_dir).expanduser().resolve()
    script = REPO / "tools" / "build.sh"
    if not script.exists():
        raise SystemExit(f"{script} not found: pass --bin-dir with the control-plane binaries")
    components = [*BUILDABLE, *(BINARIES if real_node else ())]
    build = subprocess.run(["bash", str(script), *components], check=False, stdout=subprocess.PIPE, text=True)
    if build.returncode != 0:
        raise SystemExit(f"{script} failed (exit {build.returncode}, see above); or pass --bin-dir")
    if not os.environ.get(METACONTROLLER_ENV):
        # Builds only where the Go module proxy serves Metacontroller (not here: README.md).
        subprocess.run(["bash", str(script), *METACONTROLLER], check=False, capture_output=True)
    return Path(build.stdout.strip().splitlines()[-1])


def _real_node_images(args: argparse.Namespace) -> tuple[Path | None, str]:
    """The real node's images directory: --images, else $RBG_IMAGES, else what `tools/images.sh
    pause busybox` prints last (building what is missing); or None and why not."""
    from localcluster.cluster import REPO
    from localcluster.realnode import IMAGES_ENV

    given = args.images or os.environ.get(IMAGES_ENV)
    if given:
        return Path(given).expanduser().resolve(), ""
    script = REPO / "tools" / "images.sh"
    if not script.exists():
        return None, f"{script} not found: pass --images DIR"
    print(f"building the real node's images: bash {script} {' '.join(REAL_NODE_IMAGES)}", file=sys.stderr)
    build = subprocess.run(["bash", str(script), *REAL_NODE_IMAGES], check=False, stdout=subprocess.PIPE, text=True)
    if build.returncode != 0 or not build.stdout.strip():
        return None, f"{script} failed (exit {build.returncode}, see above)"
    return Path(build.stdout.strip().splitlines()[-1]), ""


def _real_node(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """The bin dir, and the real node's images directory when --real-node was asked for and this
    machine can run it (else None, after saying why: the cluster then has KWOK nodes only)."""
    from localcluster import realnode

    if not args.real_node:
        return _bin_dir(args), None
    reason = realnode.host_unavailable()  # before building anything for it
    bin_dir = _bin_dir(args, real_node=reason is None)
    images: Path | None = None
    if reason is None:
        images, why = _real_node_images(args)
        reason = why or realnode.unavailable(bin_dir, images)
    if reason:
        print(f"NO REAL NODE: {reason}. The cluster runs with KWOK nodes only.", file=sys.stderr)
        return bin_dir, None
    return bin_dir, images


def _wait_group(kube: Client, name: str, timeout: float) -> bool:
    from rbgclient.kube import RoleBasedGroup, as_dict, has_condition, wait_for

    def observe() -> dict[str, Any]:
        return as_dict(kube.get(RoleBasedGroup, name, namespace="default"))

    try:
        wait_for(lambda g: has_condition(g, c.COND_READY), timeout, f"{c.KIND_RBG} {name} Ready", observe)
    except TimeoutError:
        print(f"{c.KIND_RBG} default/{name} is not Ready after {timeout:g}s; its conditions:", file=sys.stderr)
        for cond in (observe().get("status") or {}).get("conditions") or []:
            reason, message = cond.get("reason", ""), cond.get("message", "")
            print(f"  {cond['type']}={cond['status']} {reason}: {message}", file=sys.stderr)
        return False
    print(f"{c.KIND_RBG} default/{name} is Ready", file=sys.stderr)
    return True


def cmd_up(args: argparse.Namespace) -> int:
    from localcluster import supervise
    from localcluster.cluster import METACONTROLLER_ENV, lws_controller_binary, metacontroller_binary
    from rbgclient.kube import ApiError, apply_manifests, connect

    state_dir = Path(args.state_dir).expanduser().resolve()
    pid = supervise.running_supervisor(state_dir)
    if pid is not None:
        print(f"a cluster is already running from {state_dir} (pid {pid}): `rbg down` first", file=sys.stderr)
        return 1
    if state_dir.exists() and any(state_dir.iterdir()):
        if not supervise.is_ours(state_dir):
            print(f"{state_dir} is not empty and holds no cluster state: pick another --state-dir", file=sys.stderr)
            return 1
        supervise.shut_down(state_dir)  # left over from a cluster that died
    bin_dir, images = _real_node(args)
    try:
        controller, lws = metacontroller_binary(bin_dir), lws_controller_binary()
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 1
    if controller is not None:
        print(f"Metacontroller: {controller}", file=sys.stderr)
    if lws is not None:
        print(f"LeaderWorkerSet controller: {lws}", file=sys.stderr)
    proc = supervise.spawn(bin_dir, state_dir, args.nodes, metacontroller=controller, lws_controller=lws, images=images)
    print(f"starting the cluster (supervisor pid {proc.pid}, logs in {state_dir / 'logs'}) ...", file=sys.stderr)
    try:
        state = supervise.wait_ready(proc, state_dir, args.timeout)
    except (RuntimeError, TimeoutError) as e:
        print(f"{e}\nclean up with: rbg down --state-dir {state_dir}", file=sys.stderr)
        return 1
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in state["timings"].items())
    print(f"cluster ready in {sum(state['timings'].values()):.1f}s ({timings})", file=sys.stderr)
    if state.get("real_node"):
        from localcluster import realnode

        print(
            f"real node {state['real_node']}: a pod runs there with nodeSelector {{{realnode.LABEL}: \"true\"}} and "
            f"tolerations [{{key: {realnode.LABEL}, operator: Exists, effect: NoSchedule}}], images from {images}",
            file=sys.stderr,
        )

    examples = Path(__file__).resolve().parents[1] / "examples"
    if args.example is None:
        args.example = str(examples / "real-node" / "discovery.yaml" if state.get("real_node") else examples / "pd-disagg.yaml")
    kube = connect(state["kubeconfig"])
    try:
        applied = apply_manifests(kube, [args.example], namespace="default")
    except ApiError as e:
        print(f"{args.example}: {e}\nthe cluster keeps running; stop it with: rbg down --state-dir {state_dir}")
        return 1
    names = [obj.metadata.name for obj in applied if obj.kind == c.KIND_RBG]
    if controller is not None:
        ready = [_wait_group(kube, name, args.timeout) for name in names]  # wait for each, report each
    else:
        ready = []
        print(
            f"NOTHING RECONCILES: no Metacontroller binary (set {METACONTROLLER_ENV}=/path/to/metacontroller; "
            "the Go module proxy does not serve it, see README.md). The API server validates and stores "
            f"RoleBasedGroups and the hook server runs at {state['hook_url']}, but no controller calls it. "
            f"Try `rbg render {args.example}`.",
            file=sys.stderr,
        )
    kubectl = Path(state["bin_dir"]) / "kubectl"
    print(f"export KUBECONFIG={state['kubeconfig']}")
    print(f"{kubectl} get rbg")
    for name in names:
        print(f"{kubectl} get sts,deploy,svc,pods -l {c.LABEL_GROUP_NAME}={name}")
        print(f"{kubectl} get cm {naming.discovery_name(name)} -o yaml")
    if state.get("real_node") and "discovery" in names:
        print(f"{kubectl} logs discovery-router-0   # each peer it reaches, by name")
    print(f"# stop everything: rbg down --state-dir {state_dir}")
    return 0 if all(ready) else 1


def cmd_down(args: argparse.Namespace) -> int:
    from localcluster import supervise

    state_dir = Path(args.state_dir).expanduser().resolve()
    if not state_dir.exists():
        print(f"no cluster at {state_dir}", file=sys.stderr)
        return 0
    if not supervise.is_ours(state_dir):
        print(f"{state_dir} holds no cluster state: not touching it", file=sys.stderr)
        return 1
    supervise.shut_down(state_dir)
    print(f"cluster stopped; {state_dir} removed", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rbg", description=__doc__)
    cli_cluster.add_verbose(p)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve the Metacontroller hooks with gunicorn")
    s.add_argument("--bind", default="127.0.0.1:8080", help="host:port (default 127.0.0.1:8080)")
    s.add_argument(
        "--workers", type=int, default=4,
        help="processes, each serving one request at a time (default 4); more than the syncs Metacontroller runs at once",
    )
    s.add_argument(
        "--certfile", metavar="PEM",
        help="serving certificate (with --keyfile): serve HTTPS, as the API server's conversion webhook (/convert)",
    )
    s.add_argument("--keyfile", metavar="PEM", help="the certificate's private key (with --certfile)")
    s.set_defaults(func=cmd_serve)

    r = sub.add_parser("render", help="print the children the hooks would return, offline")
    r.add_argument("file", help="YAML with RoleBasedGroups, or - for stdin")
    r.add_argument("--observed", metavar="DIR", help="directory of YAML files with observed children")
    r.add_argument("--namespace", default="default")
    r.add_argument("--output", choices=("yaml", "json"), default="yaml")
    r.set_defaults(func=cmd_render)

    v = sub.add_parser("validate", help="check RoleBasedGroups and report problems with field paths")
    v.add_argument("file", help="YAML with RoleBasedGroups, or - for stdin")
    v.set_defaults(func=cmd_validate)

    u = sub.add_parser("up", help="start a local cluster (kwok nodes, Metacontroller, these hooks) in the background")
    u.add_argument(
        "--example",
        help="the manifest to apply (default: examples/pd-disagg.yaml; with a real node, examples/real-node/discovery.yaml, "
        "whose pods there check every discovery address)",
    )
    u.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    u.add_argument("--bin-dir", help="control-plane binaries (default: build or reuse them with tools/build.sh)")
    u.add_argument("--nodes", type=int, default=4, help="fake kwok nodes (default 4)")
    u.add_argument("--timeout", type=float, default=300, help="seconds to wait for the cluster, then for the group")
    u.add_argument(
        "--real-node", action="store_true",
        help="also a real node (containerd, kubelet, kube-proxy, CoreDNS; needs root): pods that select and tolerate "
        "rbg.local/real-node=true run there; where it can not run, says why and starts the KWOK nodes only",
    )
    u.add_argument(
        "--images", metavar="DIR",
        help="the real node's image tars (default: $RBG_IMAGES, else built by tools/images.sh pause busybox)",
    )
    cli_cluster.add_verbose(u, everywhere=True)
    u.set_defaults(func=cmd_up)

    d = sub.add_parser("down", help="stop the cluster started by `rbg up` and remove its state dir")
    d.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    d.set_defaults(func=cmd_down)
    cli_cluster.add_commands(sub)  # rbg status, rbg rollout history|diff|undo|pause|resume
    return p


# The HTTP client under lightkube logs every request at INFO: httpx2 (httpx for lightkube before it).
HTTP_LOGGERS = ("httpx2", "httpx")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    for name in HTTP_LOGGERS:  # the command's own messages stay at INFO; requests only with -v
        logging.getLogger(name).setLevel(logging.INFO if args.verbose else logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
