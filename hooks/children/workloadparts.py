"""What the constructors of every kind of role workload share: metadata."""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import RoleSpec
from ..naming import workload_name
from .podtemplate import selector_labels


def workload_metadata(group: str, role: RoleSpec, labels: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """Name `<group>-<role>`, the role's labels and annotations (but the workload-type one, which is
    the role's, as upstream), `labels`, and the selector labels."""
    meta: dict[str, Any] = {
        "name": workload_name(group, role.name),
        "labels": {**role.labels, **dict(labels), **selector_labels(group, role.name)},
    }
    annotations = {k: v for k, v in role.annotations.items() if k != c.ANNOTATION_ROLE_WORKLOAD_TYPE}
    if annotations:
        meta["annotations"] = annotations
    return meta
