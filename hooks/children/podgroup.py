"""The group's PodGroup for gang scheduling: one pure constructor per kind (hooks.core.gang sizes it).

Both are named `<group>` and carry, in ANNOTATION_GANG_ROLES, the roles their minMember counts.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import KubeScheduling, VolcanoScheduling


def _metadata(group: str, roles: list[str]) -> dict[str, Any]:
    return {"name": group, "labels": {c.LABEL_GROUP_NAME: group}, "annotations": {c.ANNOTATION_GANG_ROLES: ",".join(roles)}}


def kube_pod_group(group: str, min_member: int, roles: list[str], policy: KubeScheduling) -> dict[str, Any]:
    """A scheduler-plugins PodGroup: coscheduling binds none of its pods until `min_member` of them
    can be placed, and releases what it reserved after scheduleTimeoutSeconds."""
    spec = {"minMember": min_member, "scheduleTimeoutSeconds": policy.schedule_timeout_seconds}
    return {"apiVersion": c.KUBE_POD_GROUP_API_VERSION, "kind": c.KIND_POD_GROUP, "metadata": _metadata(group, roles), "spec": spec}


def volcano_pod_group(group: str, min_member: int, roles: list[str], policy: VolcanoScheduling) -> dict[str, Any]:
    """A Volcano PodGroup; without a queue the API server sets Volcano's `default` queue."""
    spec: dict[str, Any] = {"minMember": min_member}
    if policy.queue:
        spec["queue"] = policy.queue
    if policy.priority_class_name:
        spec["priorityClassName"] = policy.priority_class_name
    return {"apiVersion": c.VOLCANO_POD_GROUP_API_VERSION, "kind": c.KIND_POD_GROUP, "metadata": _metadata(group, roles), "spec": spec}
