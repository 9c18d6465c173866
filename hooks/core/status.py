"""Status conditions: stable types and reasons; lastTransitionTime moves only on a change of status."""

from __future__ import annotations

from typing import Any

from .. import constants as c

CONDITION_ORDER = (c.COND_READY, c.COND_PROGRESSING, c.COND_INVALID_SPEC, c.COND_DISCOVERY_TRUNCATED)


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
