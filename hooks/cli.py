"""The `rbg` command: serve the hooks, render and validate groups offline, run a local cluster."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import yaml

from . import constants as c
from .api import SyncRequest
from .core import rbg
from .validation import Invalid, parse_spec


def _documents(path: str) -> list[dict[str, Any]]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text()
    docs = []
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and doc.get("kind", "").endswith("List"):
            docs += doc.get("items") or []
        elif isinstance(doc, dict):
            docs.append(doc)
    return docs


def _groups(path: str) -> list[dict[str, Any]]:
    return [d for d in _documents(path) if d.get("apiVersion") == c.API_VERSION and d.get("kind") == c.KIND_RBG]


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
        req = SyncRequest.model_validate({"parent": parent, "children": _observed(args.observed)})
        result = rbg.sync(req)
        if args.output == "json":
            out.append(json.dumps(result.response(), indent=2))
        else:
            for cond in result.status["conditions"]:
                out.append(f"# {parent['metadata']['name']} {cond['type']}={cond['status']} {cond['reason']}: {cond['message']}")
            out += ["---\n" + yaml.safe_dump(child, sort_keys=False).rstrip() for child in result.children]
    print("\n".join(out))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    groups = _groups(args.file)
    if not groups:
        print(f"{args.file}: no {c.KIND_RBG} ({c.API_VERSION}) found", file=sys.stderr)
        return 1
    failed = 0
    for parent in groups:
        name = (parent.get("metadata") or {}).get("name", "")
        result = parse_spec(name, parent.get("spec") or {})
        if isinstance(result, Invalid):
            failed += 1
            for problem in result.problems:
                print(f"{args.file}: {c.KIND_RBG} {name}: {problem}", file=sys.stderr)
        else:
            print(f"{args.file}: {c.KIND_RBG} {name}: valid")
    return 1 if failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    serve(bind=args.bind, workers=args.workers)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rbg", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve the Metacontroller hooks with gunicorn")
    s.add_argument("--bind", default="127.0.0.1:8080", help="host:port (default 127.0.0.1:8080)")
    s.add_argument("--workers", type=int, default=2)
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
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
