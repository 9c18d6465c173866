"""The headless Service each StatefulSet role's pods are named in: `<pod>.<service>`.

Upstream names it `s-<group>-<role>` since v0.5, and its own examples hard-code that DNS name
(a router started with `--prefill http://<group>-prefill-0.s-<group>-prefill:8000`). A running
role keeps the name it has: its StatefulSet's `serviceName` (immutable), else a Service
`<group>-<role>` already there (a group created before, as upstream's
GetCompatibleHeadlessServiceName keeps it); pods then keep their DNS names and are not replaced.
Validation keeps `<group>-<role>` within 52 characters, so `s-<group>-<role>` is a DNS label.
A RoleInstanceSet role's pods are named in the same Service (a component may name its own).
A LeaderWorkerSet role's pods are in the LeaderWorkerSet's own Service, `<group>-<role>`.
"""

from __future__ import annotations

from .. import constants as c
from ..api import RoleSpec
from ..naming import legacy_service_name, service_name, workload_name
from .observed import Observed


def service_of(group: str, role: RoleSpec, observed: Observed) -> str:
    if role.workload.kind not in (c.KIND_STATEFULSET, c.KIND_ROLE_INSTANCE_SET):
        return workload_name(group, role.name)
    legacy = legacy_service_name(group, role.name)
    running = observed.objects.get((c.KIND_STATEFULSET, workload_name(group, role.name)))
    kept = ((running or {}).get("spec") or {}).get("serviceName")
    if isinstance(kept, str) and kept:
        return kept
    if (c.KIND_SERVICE, legacy) in observed.objects:
        return legacy
    return service_name(group, role.name)
