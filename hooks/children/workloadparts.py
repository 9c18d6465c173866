"""What the constructors of every kind of role workload share: metadata."""

from __future__ import annotations

from typing import Any

from ..api import RoleSpec
from ..naming import workload_name
from .podtemplate import selector_labels


def workload_metadata(group: str, role: RoleSpec) -> dict[str, Any]:
    """Name `<group>-<role>`, the role's labels and annotations, and the selector labels."""
    meta: dict[str, Any] = {
        "name": workload_name(group, role.name),
        "labels": {**role.labels, **selector_labels(group, role.name)},
    }
    if role.annotations:
        meta["annotations"] = dict(role.annotations)
    return meta
