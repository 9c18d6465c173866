"""The repository's examples and upstream's, as documents and as the API server would send them."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from hooks import constants as c

ROOT = Path(__file__).resolve().parents[2]
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


def group_doc(path: Path) -> dict[str, Any]:
    """The first RoleBasedGroup document of a file, as written."""
    return next(d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == c.KIND_RBG)


def example_group(path: Path) -> dict[str, Any]:
    """The RoleBasedGroup of an example, as the API server would send it (namespaced, stamped)."""
    return parent(group_doc(path))


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
