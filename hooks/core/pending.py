"""Why a group's pods wait: the scheduler's own word, read from the pods it could not place.

Only for a group whose pods are observed (hooks.core.observed.wants_pods): each unschedulable pod
carries PodScheduled=False with the scheduler's reason and message ("0/4 nodes are available: 4
node(s) didn't match pod affinity rules"); the condition quotes the first, by role and name.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import RoleBasedGroupSpec
from .observed import Observed
from .status import condition


def _unscheduled(pod: dict[str, Any]) -> dict[str, Any] | None:
    status = pod.get("status")
    for cond in (status.get("conditions") if isinstance(status, dict) else None) or []:
        if isinstance(cond, dict) and cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return cond
    return None


def scheduling_condition(spec: RoleBasedGroupSpec, observed: Observed) -> dict[str, Any] | None:
    """PodsScheduled: False with the scheduler's reason while a pod of the group can not be placed."""
    if observed.pods is None:
        return None
    waiting = [(role.name, pod, cond) for role in spec.roles for pod in observed.role_pods(role.name) or [] if (cond := _unscheduled(pod))]
    if not waiting:
        return condition(c.COND_PODS_SCHEDULED, True, c.REASON_ALL_PODS_SCHEDULED, "no pod of the group waits for the scheduler")
    role, pod, cond = waiting[0]
    reason = str(cond.get("reason") or c.REASON_UNSCHEDULABLE)
    message = f"{len(waiting)} pod(s) wait for the scheduler; {pod['metadata'].get('name')} ({role}): {cond.get('message') or reason}"
    return condition(c.COND_PODS_SCHEDULED, False, reason, message[:1024])
