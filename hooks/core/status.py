"""Status conditions: stable types and reasons; lastTransitionTime moves only on a change of status."""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..validation import Invalid

CONDITION_ORDER = (c.COND_READY, c.COND_PROGRESSING, c.COND_INVALID_SPEC, c.COND_DISCOVERY_TRUNCATED, c.COND_COORDINATING, c.COND_RECOVERING, c.COND_DRAINING, c.COND_GANG_SCHEDULING, c.COND_LEADER_WORKER_SETS, c.COND_ROLE_INSTANCE_SETS, c.COND_ENGINE_RUNTIMES, c.COND_PODS_SCHEDULED, c.COND_BOUND, c.COND_ROLE_INSTANCE_READY, c.COND_ROLE_INSTANCE_AVAILABLE, c.COND_RESTARTING, c.COND_FAILED_UPDATE)


def condition(type_: str, status: bool, reason: str, message: str) -> dict[str, Any]:
    return {"type": type_, "status": "True" if status else "False", "reason": reason, "message": message}


def merge_conditions(
    previous: list[dict[str, Any]], new: list[dict[str, Any]], *, now: str, generation: int
) -> list[dict[str, Any]]:
    """New conditions in a fixed order, keeping the previous transition time where status is unchanged."""
    before = {cond.get("type"): cond for cond in previous}
    out = []
    for cond in sorted(new, key=lambda x: CONDITION_ORDER.index(x["type"])):
        old = before.get(cond["type"])
        since = old.get("lastTransitionTime") if old and old.get("status") == cond["status"] else None
        out.append({**cond, "lastTransitionTime": since or now, "observedGeneration": generation})
    return out


def frozen_conditions(previous: dict[str, Any], invalid: Invalid, now: str, generation: int) -> list[dict[str, Any]]:
    """Conditions of a parent frozen by an invalid spec: InvalidSpec says why; what Ready,
    Progressing and DiscoveryTruncated said still holds, as the children are kept as they are."""
    held = (c.COND_READY, c.COND_PROGRESSING, c.COND_DISCOVERY_TRUNCATED)
    kept = [cond for cond in previous.get("conditions") or [] if cond.get("type") in held]
    new = [condition(c.COND_INVALID_SPEC, True, invalid.reason, invalid.message)]
    if not any(cond.get("type") == c.COND_READY for cond in kept):
        new.append(condition(c.COND_READY, False, invalid.reason, "the spec is invalid; see the InvalidSpec condition"))
    new += [{k: v for k, v in cond.items() if k not in ("lastTransitionTime", "observedGeneration")} for cond in kept]
    return merge_conditions(previous.get("conditions") or [], new, now=now, generation=generation)
