"""A role's RoleBasedGroupScalingAdapter: the /scale target HPA, KEDA and `kubectl scale` write."""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..naming import workload_name


def scaling_adapter(group: str, role: str, replicas: int, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """`labels`: the role's scalingAdapter.labels; the group and role labels win."""
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND_RBGSA,
        "metadata": {"name": workload_name(group, role), "labels": {**(labels or {}), c.LABEL_GROUP_NAME: group, c.LABEL_ROLE_NAME: role}},
        "spec": {"replicas": replicas, "scaleTargetRef": {"name": group, "role": role}},
    }
