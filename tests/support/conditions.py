"""Status conditions: found by type in a status, an object with a status, or a hook's Result."""

from __future__ import annotations

from typing import Any


def conditions_of(x: Any) -> list[dict[str, Any]]:
    """The conditions of a status dict, of an object's status, or of a Result's status."""
    if not isinstance(x, dict) and hasattr(x, "status"):  # a hook Result
        x = x.status
    if isinstance(x, dict) and "conditions" not in x and isinstance(x.get("status"), dict):  # an object
        x = x["status"]
    return list((x or {}).get("conditions") or [])


def find_condition(x: Any, type_: str) -> dict[str, Any] | None:
    """The condition of that type, or None."""
    return next((cond for cond in conditions_of(x) if cond.get("type") == type_), None)


def condition(x: Any, type_: str) -> dict[str, Any]:
    """The condition of that type, which must be there."""
    found = find_condition(x, type_)
    if found is None:
        raise AssertionError(f"no {type_} condition in {[cond.get('type') for cond in conditions_of(x)]}")
    return found
