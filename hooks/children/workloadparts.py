"""What the constructors of every kind of role workload share: metadata, partition, drain."""

from __future__ import annotations

from typing import Any

from .. import constants as c
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


def partition(role: RoleSpec) -> int | None:
    """The partition (StatefulSet: pods, LeaderWorkerSet: groups): an ordinal, a percentage of
    replicas (rounded down), or all of them when paused; None without rollingUpdate."""
    ru = role.rollout_strategy.rolling_update if role.rollout_strategy else None
    if ru is None:
        return None
    if ru.paused:
        return role.replicas
    if isinstance(ru.partition, str) and ru.partition.endswith("%"):
        at = role.replicas * int(ru.partition[:-1]) // 100
    else:
        at = int(ru.partition)
    if not 0 <= at <= c.INT32_MAX:
        raise ValueError(f"role {role.name}: partition {ru.partition!r} gives {at}, outside 0 to {c.INT32_MAX}")
    return at


def drained(template: dict[str, Any], role: RoleSpec) -> dict[str, Any]:
    """`inPlaceUpdateStrategy.gracePeriodSeconds`: upstream's time between a pod turning not-ready
    and its update. Pods here are replaced, not updated in place, so the same drain is given on the
    way out: a deleted pod leaves the Service endpoints at once, then each container without a
    preStop hook of its own sleeps that long before it is stopped (and the termination grace
    period leaves 30 s after it)."""
    ru = role.rollout_strategy.rolling_update if role.rollout_strategy else None
    seconds = ru.in_place_update_strategy.grace_period_seconds if ru and ru.in_place_update_strategy else None
    if not seconds:
        return template
    spec = template["spec"]
    for container in spec.get("containers", []):
        lifecycle = container.setdefault("lifecycle", {})
        lifecycle.setdefault("preStop", {"sleep": {"seconds": seconds}})
    spec["terminationGracePeriodSeconds"] = max(spec.get("terminationGracePeriodSeconds") or 30, seconds + 30)
    return template
