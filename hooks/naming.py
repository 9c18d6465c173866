"""Names of the children of a RoleBasedGroup, as upstream spells them."""

import hashlib
import json
from typing import Any


def workload_name(group: str, role: str) -> str:
    """StatefulSet / Deployment of a role; its pods are "<group>-<role>-<ordinal>"."""
    return f"{group}-{role}"


def service_name(group: str, role: str) -> str:
    """Headless Service of a StatefulSet role, as upstream names it since v0.5 ("s-" keeps it apart
    from the workload's name); hooks.core.services decides which name a role's Service has."""
    return f"s-{group}-{role}"


def legacy_service_name(group: str, role: str) -> str:
    """Headless Service of a StatefulSet role as upstream v0.3-v0.4 (and this project, before) named it."""
    return f"{group}-{role}"


def discovery_name(group: str) -> str:
    """The group's discovery ConfigMap, mounted at /etc/rbg."""
    return f"{group}-discovery"


def group_unique_key(namespace: str, group: str) -> str:
    return hashlib.sha1(f"{namespace}/{group}".encode()).hexdigest()


def _canonical(value: Any) -> Any:
    """Integral floats as ints: the API server hands `1.0` back as `1` (Go's unstructured JSON)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def content_hash(value: Any, length: int) -> str:
    """The first `length` hex digits of the SHA-256 of `value` as canonical JSON (sorted keys)."""
    text = json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def backoff_timer_name(group: str, streak: int) -> str:
    """The Job that times the backoff before a group's `streak`-th recreation in a row."""
    return f"{group}-backoff-{streak}"


def drain_timer_name(group: str, role: str) -> str:
    """The Job that times a role's drain ("<group>-<role>-drain": 52 + 6 characters at most)."""
    return f"{group}-{role}-drain"


def recovery_state_name(group: str) -> str:
    """The ConfigMap that keeps a copy of the group's failure-recovery state."""
    return f"{group}-recovery"
