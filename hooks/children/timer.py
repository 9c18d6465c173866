"""Timers: a Job that runs no pod and fails when its time is up.

`parallelism: 0` keeps the Job controller from creating pods; it still starts the Job's clock and
marks it Failed (reason DeadlineExceeded) `activeDeadlineSeconds` later. That status change is the
event that ends a recovery backoff (hooks.core.recovery, hooks.core.instance), an instance's
minReadySeconds (hooks.core.instance) or a drain (hooks.core.drain), so the
hooks never read a clock.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..naming import backoff_timer_name, drain_timer_name

_SECURE = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 65535,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def backoff_timer(group: str, streak: int, seconds: int) -> dict[str, Any]:
    return _timer(backoff_timer_name(group, streak), {c.LABEL_GROUP_NAME: group}, seconds)


def instance_timer(name: str, instance: str, seconds: int) -> dict[str, Any]:
    """A RoleInstance's timer (hooks.core.instance): the backoff before its next recreation, or
    its minReadySeconds."""
    return _timer(name, {c.LABEL_ROLE_INSTANCE_NAME: instance}, seconds)


def drain_timer(group: str, role: str, seconds: int, member: str | None = None) -> dict[str, Any]:
    """A role's drain timeout; labelled with the role, so the finalize hook keeps it with the role.
    A rolling update's names the one member it times: a fired timer of another member does not count."""
    job = _timer(drain_timer_name(group, role), {c.LABEL_GROUP_NAME: group, c.LABEL_ROLE_NAME: role}, seconds)
    if member is not None:
        job["metadata"]["annotations"] = {c.ANNOTATION_DRAIN_MEMBER: member}
    return job


def _timer(name: str, labels: dict[str, str], seconds: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": c.KIND_JOB,
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "parallelism": 0,
            "backoffLimit": 0,
            "activeDeadlineSeconds": seconds,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "timer", "image": c.TIMER_IMAGE, "securityContext": _SECURE}],
                }
            },
        },
    }


def timer_fired(job: dict[str, Any] | None) -> bool:
    """Whether the Job controller ended the timer: Failed (or about to be) at its deadline."""
    conditions = ((job or {}).get("status") or {}).get("conditions") or []
    return any(
        cond.get("type") in ("Failed", "FailureTarget") and cond.get("status") == "True" and cond.get("reason") == "DeadlineExceeded"
        for cond in conditions
        if isinstance(cond, dict)
    )
