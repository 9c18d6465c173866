"""v1alpha1 specs as the core reads them: converted to v1alpha2 (hooks.conversion) as the API server
converts them, so the tests written against v1alpha1 run through the conversion."""

from __future__ import annotations

from typing import Any

from hooks import constants as c
from hooks.api import GroupSpec, RoleBasedGroupSpec, RoleSpec
from hooks.conversion.v1alpha1 import to_hub
from hooks.validation.policies import coordination, gang


def group(spec: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A v1alpha1 group of `spec`, converted to v1alpha2."""
    written = {"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": "g", "annotations": annotations or {}}, "spec": spec}
    return to_hub(written)


def spec(v1alpha1: dict[str, Any], annotations: dict[str, str] | None = None) -> GroupSpec:
    """A v1alpha1 group spec as the core plans it (templateRefs not resolved)."""
    converted = group(v1alpha1, annotations)
    notes = converted["metadata"].get("annotations") or {}
    coordinated, pod_group_policy = coordination(notes, None), gang(notes)
    assert isinstance(coordinated, list) and not hasattr(pod_group_policy, "path"), (coordinated, pod_group_policy)
    return GroupSpec.model_construct(**dict(RoleBasedGroupSpec.model_validate(converted["spec"])), coordination=coordinated, pod_group_policy=pod_group_policy)


def role(v1alpha1: dict[str, Any]) -> RoleSpec:
    """A v1alpha1 role as the core reads it."""
    return spec({"roles": [v1alpha1]}).roles[0]
