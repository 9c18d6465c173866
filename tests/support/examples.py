"""The repository's examples and upstream's, as documents and as the API server would send them."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from hooks import constants as c
from hooks.api import RoleSpec
from hooks.conversion.v1alpha1 import to_hub

ROOT = Path(__file__).resolve().parents[2]
# The top-level examples (v1alpha2), and the one kept in the deprecated v1alpha1 to show the conversion.
EXAMPLES = [*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "examples" / "v1alpha1" / "pd-disagg.yaml"]
# The examples as they were written in v1alpha1 (same paths as under examples/), for the tests that
# change their v1alpha1 fields: the core reads them converted (tests.support.requests.as_hub).
V1ALPHA1 = ROOT / "tests" / "fixtures" / "v1alpha1"


def example_id(path: Path) -> str:
    """A test id for an example: its path under examples/ without .yaml (v1alpha1/pd-disagg)."""
    return path.relative_to(ROOT / "examples").with_suffix("").as_posix()


def _shared() -> Path:
    """../shared beside the repo, or beside the workspace a clone was made from ($RBG_SHARED first)."""
    candidates = [Path(p) for p in [os.environ.get("RBG_SHARED")] if p] + [ROOT.parent / "shared", Path("/work/shared")]
    for path in candidates:
        if (path / "upstream").is_dir():
            return path
    raise FileNotFoundError(f"no upstream examples in {', '.join(map(str, candidates))}: set RBG_SHARED")


# Upstream v0.6.0's examples, unmodified: a peer's test suite the hooks must pass.
UPSTREAM_EXAMPLES = _shared() / "upstream" / "rbg-v0.6.0" / "examples"


def group_doc(path: Path) -> dict[str, Any]:
    """The first RoleBasedGroup document of a file, as written."""
    return next(d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == c.KIND_RBG)


def example_group(path: Path) -> dict[str, Any]:
    """The RoleBasedGroup of an example, as the API server would send it (namespaced, stamped)."""
    return parent(group_doc(path))


def workload_kinds(group: dict[str, Any]) -> dict[str, str]:
    """Each role's workload kind, of a group of either version: a v1alpha2 role's annotation or its
    pattern's default (a v1alpha1 group read as v1alpha2, as the API server converts it)."""
    hub = to_hub(group) if group.get("apiVersion") == c.API_VERSION_V1ALPHA1 else group
    return {r["name"]: RoleSpec.model_validate(r).workload.kind for r in hub["spec"]["roles"]}


def role_template(role: dict[str, Any]) -> dict[str, Any]:
    """A role's own pod template, as written in either version: v1alpha2's in its pattern, v1alpha1's `template`."""
    for pattern in ("standalonePattern", "leaderWorkerPattern"):
        if pattern in role:
            return role[pattern]["template"]
    return role["template"]


def example_policies(path: Path) -> dict[str, Any]:
    """The CoordinatedPolicies of an example file as its groups' related objects (each binds the
    group of its own name), as Metacontroller sends them; {} when the file has none."""
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == c.KIND_COORDINATED_POLICY]
    return {c.RELATED_COORDINATED_POLICY: {f"default/{d['metadata']['name']}": parent(d) for d in docs}} if docs else {}


UID = "00000000-0000-0000-0000-000000000001"


def parent(doc: dict[str, Any], generation: int = 1, *, uid: str | None = UID) -> dict[str, Any]:
    """`doc` as the API server would send it: namespace default, a uid (None: none), a generation, a creation time."""
    out = copy.deepcopy(doc)
    meta = out.setdefault("metadata", {})
    meta.setdefault("namespace", "default")
    if uid is not None:
        meta.setdefault("uid", uid)
    meta.setdefault("generation", generation)
    meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
    return out
