"""A role's own rollout, from its rolloutStrategy: the partition and pace its workload starts
from, before coordination (hooks.core.coordination) or a drain (hooks.core.drain) hold it.

- `partition`: an ordinal, or a percentage of replicas rounded down; all of them while `paused`.
- `type: Recreate` replaces every pod at once: a StatefulSet or LeaderWorkerSet gets partition 0
  and maxUnavailable 100%, a Deployment its Recreate strategy.
- `inPlaceUpdateStrategy.gracePeriodSeconds`: upstream's time between a pod turning not-ready and
  its update. Pods here are replaced, not updated in place, so the same drain is given on the way
  out: a deleted pod leaves the Service endpoints at once, then each container without a preStop
  hook of its own sleeps that long before it is stopped (the termination grace period leaving 30 s
  after it).
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import RoleSpec
from ..decisions import Rollout

DEFAULT_GRACE_SECONDS = 30


def partition_of(role: RoleSpec, replicas: int) -> int:
    """The partition `rollingUpdate.partition` gives at `replicas` (hooks.validation checked it parses)."""
    ru = role.rollout_strategy.rolling_update if role.rollout_strategy else None
    if ru is None:
        return 0
    if ru.paused:
        return replicas
    if isinstance(ru.partition, str) and ru.partition.endswith("%"):
        return replicas * int(ru.partition[:-1]) // 100
    return int(ru.partition)


def rollout(role: RoleSpec) -> Rollout:
    """The role's rollout at its current size (`role.replicas`)."""
    ru = role.rollout_strategy.rolling_update if role.rollout_strategy else None
    if ru is None:
        return Rollout()
    recreate = ru.type == "Recreate"
    if recreate and not ru.paused:
        return Rollout(True, 0, "100%", ru.max_surge, recreate=True, type=ru.type)
    unavailable = ru.max_unavailable
    if role.workload.kind == c.KIND_STATEFULSET and unavailable in (0, "0%"):
        unavailable = 1  # a StatefulSet cannot surge, and its API refuses 0: one pod at a time, its default
    return Rollout(True, partition_of(role, role.replicas), unavailable, ru.max_surge, recreate, ru.paused, ru.type)


def grace(role: RoleSpec, template: dict[str, Any]) -> tuple[int | None, int | None]:
    """The preStop sleep the role's containers get, and the termination grace period of `template`
    then (both None: no gracePeriodSeconds, the template as it is)."""
    ru = role.rollout_strategy.rolling_update if role.rollout_strategy else None
    seconds = ru.in_place_update_strategy.grace_period_seconds if ru and ru.in_place_update_strategy else None
    if not seconds:
        return None, None
    own = (template.get("spec") or {}).get("terminationGracePeriodSeconds") or DEFAULT_GRACE_SECONDS
    return seconds, max(own, seconds + DEFAULT_GRACE_SECONDS)
