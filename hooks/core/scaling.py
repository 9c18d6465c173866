"""Who sets a role's size: its spec, or its scaling adapter.

A role with `scalingAdapter.enable` gets an adapter `<group>-<role>`, created with the role's
replicas. Once the adapter exists, its `spec.replicas` (what an HPA, KEDA or `kubectl scale`
wrote) is the role's size, and the adapter is returned with that very value, so our own apply
never reverts it; neither does a later apply of the group that omits or changes `replicas`.

Turning `enable` off deletes the adapter and the role keeps the size it had. The group's
status remembers it (`roleStatuses[].scalingAdapter`: that size and the role's `replicas` at the
time) until the role's `replicas` is changed: then the spec sets the size again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import constants as c
from ..api import RoleBasedGroupSpec, RoleSpec
from ..children.adapter import scaling_adapter
from ..naming import workload_name
from .observed import Observed


@dataclass(frozen=True)
class Sizes:
    spec: RoleBasedGroupSpec  # each role with the size it runs at
    adapters: list[dict[str, Any]]  # the adapter children
    held: dict[str, dict[str, int]]  # roleStatuses[].scalingAdapter, by role


def _adapter_replicas(observed: Observed, group: str, role: str) -> int | None:
    adapter = observed.objects.get((c.KIND_RBGSA, workload_name(group, role)))
    replicas = ((adapter or {}).get("spec") or {}).get("replicas")
    return replicas if isinstance(replicas, int) and 0 <= replicas <= c.INT32_MAX else None


def _previous(status: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    entries = (status or {}).get("roleStatuses")
    out = {}
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("scalingAdapter"), dict):
            out[str(entry.get("name"))] = entry["scalingAdapter"]
    return out


def _size(role: RoleSpec, from_adapter: int | None, held: dict[str, Any] | None) -> tuple[int, dict[str, int] | None]:
    """The role's size, and what status must remember of it."""
    if from_adapter is not None:  # also when `enable` was just turned off: the adapter's last word stands
        return from_adapter, {"replicas": from_adapter, "specReplicas": role.replicas}
    if role.scaling_adapter and role.scaling_adapter.enable:  # not created yet: it starts at the role's replicas
        return role.replicas, None
    if held and held.get("specReplicas") == role.replicas and isinstance(held.get("replicas"), int):
        return held["replicas"], {"replicas": held["replicas"], "specReplicas": role.replicas}
    return role.replicas, None


def sizes(group: str, spec: RoleBasedGroupSpec, observed: Observed, status: dict[str, Any] | None) -> Sizes:
    previous = _previous(status)
    roles, adapters, held = [], [], {}
    for role in spec.roles:
        size, memo = _size(role, _adapter_replicas(observed, group, role.name), previous.get(role.name))
        roles.append(role if size == role.replicas else role.model_copy(update={"replicas": size}))
        if memo is not None:
            held[role.name] = memo
        if role.scaling_adapter and role.scaling_adapter.enable:
            adapters.append(scaling_adapter(group, role.name, size, role.scaling_adapter.labels))
    return Sizes(spec.model_copy(update={"roles": roles}), adapters, held)
