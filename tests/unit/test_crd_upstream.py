"""Every field of upstream v0.7.0's CRDs exists in ours, in every version both serve: a walk of both schemas.

Pod templates, containers and service ports are the Kubernetes schemas (tests/unit/test_k8s_schemas.py
checks those); the walk stops at them. Where upstream's field is x-kubernetes-preserve-unknown-fields
(a RoleInstanceSet's roleInstanceTemplate, a component's template) it has no properties to walk:
ours may be typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from tests.support.examples import _shared

UPSTREAM = _shared() / "upstream" / "rbg-v0.7.0" / "crds"
OURS = Path(__file__).resolve().parents[2] / "crds"
# Kubernetes types inside our schema (compared elsewhere), by property name.
KUBERNETES = {"template", "patch", "leaderTemplatePatch", "workerTemplatePatch", "containers", "initContainers", "volumes", "servicePorts", "conditions"}
CRDS = {
    "rolebasedgroups": ("v1alpha2", "v1alpha1"),
    "rolebasedgroupsets": ("v1alpha2", "v1alpha1"),
    "rolebasedgroupscalingadapters": ("v1alpha2", "v1alpha1"),
    "clusterengineruntimeprofiles": ("v1alpha2", "v1alpha1"),
    "coordinatedpolicies": ("v1alpha2",),
    "roleinstancesets": ("v1alpha2",),
    "roleinstances": ("v1alpha2",),
}
# Upstream fields we lack, by CRD and version (each path, and everything under it). Each entry
# must still be missing: once it is ours, the test fails until it is taken out.
NOT_YET: dict[tuple[str, str], set[str]] = {}


def _schema(path: Path, version: str) -> dict[str, Any]:
    crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # the C parser: these files are megabytes
    return next(v for v in crd["spec"]["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]


def _paths(node: dict[str, Any], at: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, child in (node.get("properties") or {}).items():
        path = f"{at}.{name}" if at else name
        yield path, child
        if name not in KUBERNETES:
            yield from _inside(child, path)


def _inside(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The fields within a field: of its items (`[]`), of its map's values (`{}`), or its own."""
    if node.get("type") == "array":
        yield path + "[]", node.get("items") or {}
        yield from _inside(node.get("items") or {}, path + "[]")
    elif isinstance(node.get("additionalProperties"), dict):
        yield path + "{}", node["additionalProperties"]
        yield from _inside(node["additionalProperties"], path + "{}")
    else:
        yield from _paths(node, path)


def _kind(schema: dict[str, Any]) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "int-or-string"
    return str(schema.get("type"))


@pytest.mark.parametrize("plural,version", [(p, v) for p, vs in CRDS.items() for v in vs])
def test_every_upstream_field_is_ours_with_its_type(plural: str, version: str) -> None:
    theirs = dict(_paths(_schema(UPSTREAM / f"workloads.x-k8s.io_{plural}.yaml", version)))
    ours = dict(_paths(_schema(OURS / f"{plural}.workloads.x-k8s.io.yaml", version)))
    skipped = NOT_YET.get((plural, version), set())
    assert not [s for s in skipped if s in ours], f"{plural} {version}: NOT_YET names fields we have now"
    missing = sorted(p for p in theirs if p not in ours and not any(p == s or p.startswith(s + ".") or p.startswith(s + "[]") for s in skipped))
    assert not missing, f"{plural} {version}: upstream fields we lack"
    differ = sorted(
        f"{p}: upstream {_kind(theirs[p])}, ours {_kind(ours[p])}"
        for p in theirs
        if p in ours and not _accepts(_kind(ours[p]), _kind(theirs[p]))
    )
    assert not differ, f"{plural} {version}: fields typed differently"


def _accepts(ours: str, theirs: str) -> bool:
    """Ours takes every value of theirs: the same type, int-or-string for either, or untyped."""
    return ours == theirs or "None" in (ours, theirs) or (ours == "int-or-string" and theirs in ("integer", "string"))
