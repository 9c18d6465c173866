"""The workload kind of each leaderWorkerPattern role that names none (the role-workload-type
annotation absent): the kind it runs as, else a LeaderWorkerSet where that child type is
registered (the LWS controller is installed), else a RoleInstanceSet where that one is. A role's
kind is fixed when its workload is created: registering the LWS controller later moves nothing.
The decision is written into the role as that annotation, which the rest of the core reads
(hooks.api.RoleSpec.workload) and no workload carries (hooks.children.workloadparts).
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import GroupSpec, RoleSpec
from ..naming import workload_name
from .observed import Observed


def _decided(group: str, role: RoleSpec, observed: Observed, children: dict[str, Any]) -> str | None:
    running = observed.workload(workload_name(group, role.name))
    if running is not None:
        return f"{running['apiVersion']}/{running['kind']}"
    if c.CHILD_LWS in children or c.CHILD_ROLE_INSTANCE_SET not in children:
        return None  # the pattern's default: a LeaderWorkerSet (or why it waits, hooks.core.rbg)
    return f"{c.API_VERSION}/{c.KIND_ROLE_INSTANCE_SET}"


def workload_kinds(group: str, spec: GroupSpec, observed: Observed, children: dict[str, Any]) -> GroupSpec:
    roles = []
    for role in spec.roles:
        kind = None
        if role.leader_worker_pattern is not None and c.ANNOTATION_ROLE_WORKLOAD_TYPE not in role.annotations:
            kind = _decided(group, role, observed, children)
        roles.append(role if kind is None else role.model_copy(update={"annotations": {**role.annotations, c.ANNOTATION_ROLE_WORKLOAD_TYPE: kind}}))
    return spec.model_copy(update={"roles": roles})
