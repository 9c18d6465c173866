"""Builders for hook requests: parents from examples, observed children as Metacontroller sends them."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import yaml

from hooks import constants as c
from hooks.api import SyncRequest
from hooks.core import rbg

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _shared() -> Path:
    """../shared beside the repo, or beside the workspace a clone was made from ($RBG_SHARED first)."""
    candidates = [Path(p) for p in [os.environ.get("RBG_SHARED")] if p] + [ROOT.parent / "shared", Path("/work/shared")]
    for path in candidates:
        if (path / "upstream").is_dir():
            return path
    raise FileNotFoundError(f"no upstream examples in {', '.join(map(str, candidates))}: set RBG_SHARED")


# Upstream v0.6.0's examples, unmodified: a peer's test suite the hooks must pass.
UPSTREAM_EXAMPLES = _shared() / "upstream" / "rbg-v0.6.0" / "examples"
KEYS = {
    "ConfigMap": c.CHILD_CONFIGMAP,
    "Service": c.CHILD_SERVICE,
    "StatefulSet": c.CHILD_STATEFULSET,
    "Deployment": c.CHILD_DEPLOYMENT,
    c.KIND_RBGSA: c.CHILD_ADAPTER,
    c.KIND_CONTROLLER_REVISION: c.CHILD_CONTROLLER_REVISION,
    c.KIND_JOB: c.CHILD_JOB,
}


def example_group(path: Path) -> dict[str, Any]:
    """The RoleBasedGroup of an example, as the API server would send it (namespaced, stamped)."""
    doc = next(d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == c.KIND_RBG)
    return parent(doc)


def parent(doc: dict[str, Any], generation: int = 1) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    meta = out.setdefault("metadata", {})
    meta.setdefault("namespace", "default")
    meta.setdefault("uid", "00000000-0000-0000-0000-000000000001")
    meta.setdefault("generation", generation)
    meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
    return out


def observe(
    desired: list[dict[str, Any]],
    ready: bool | set[str] = True,
    time: str = "2026-01-01T00:01:00Z",
) -> dict[str, dict[str, Any]]:
    """Children as Metacontroller observes them after applying `desired`.

    Workloads get a status: all replicas ready when `ready` is True or names their role.
    """
    children: dict[str, dict[str, Any]] = {key: {} for key in KEYS.values()}
    for child in desired:
        obj = copy.deepcopy(child)
        meta = obj["metadata"]
        meta["namespace"] = "default"
        meta["generation"] = 1
        meta.setdefault("uid", f"uid-{obj['kind'].lower()}-{meta['name']}")
        meta["creationTimestamp"] = time
        meta.setdefault("annotations", {})[c.ANNOTATION_LAST_APPLIED] = json.dumps(child, separators=(",", ":"))
        if obj["kind"] in (c.KIND_STATEFULSET, c.KIND_DEPLOYMENT):
            role = meta["labels"][c.LABEL_ROLE_NAME]
            n = obj["spec"]["replicas"]
            is_ready = ready is True or (isinstance(ready, set) and role in ready)
            obj["status"] = {
                "observedGeneration": 1,
                "replicas": n,
                "readyReplicas": n if is_ready else 0,
                "updatedReplicas": n,
            }
        children[KEYS[obj["kind"]]][f"default/{meta['name']}"] = obj
    return children


def go_json(obj: Any) -> str:
    """JSON as Go's encoding/json writes it, as in Metacontroller's last-applied annotation."""
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char in "<>&\u2028\u2029":  # HTML-safe escapes; these occur only inside strings
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def request(parent_obj: dict[str, Any], children: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "controller": {"metadata": {"name": "rolebasedgroup"}},
        "parent": parent_obj,
        "children": children if children is not None else {key: {} for key in KEYS.values()},
        "related": {},
        "finalizing": False,
    }


def sync(req: dict[str, Any]) -> rbg.Result:
    return rbg.sync(SyncRequest.model_validate(req))


def startup_stages(parent_obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Requests from nothing observed to all ready; each observes the previous response, every workload ready."""
    reqs = [request(parent_obj)]
    for step in range(1, 10):
        result = sync(reqs[-1])
        with_status = copy.deepcopy(parent_obj)
        with_status["status"] = result.status
        reqs.append(request(with_status, observe(result.children, time=f"2026-01-01T00:{step:02d}:00Z")))
        if sync(reqs[-1]).children == result.children:
            return reqs
    raise AssertionError("startup did not converge")


def by_kind(children: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(ch["kind"], ch["metadata"]["name"]): ch for ch in children}


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(cond for cond in status["conditions"] if cond["type"] == type_)
