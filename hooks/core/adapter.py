"""The RoleBasedGroupScalingAdapter core: (adapter, its target group and the role's pods) -> status.

The adapter has no children. The group is what acts on it (hooks.core.scaling); this only
reports, for HPA and people: whether the adapter is bound, the role's pods (`replicas`,
`readyReplicas`: the unit HPA multiplies by), the selector of exactly those pods, and when its
size was last set. Pure: the target group and pods come as related objects (customize hook).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .. import constants as c
from ..api import AdapterParent, AdapterSyncRequest, RoleBasedGroupScalingAdapterSpec
from ..naming import workload_name
from .observed import latest_time, pod_ready
from .result import Result
from .status import condition, merge_conditions


def _spec(parent: AdapterParent) -> RoleBasedGroupScalingAdapterSpec | None:
    try:
        return RoleBasedGroupScalingAdapterSpec.model_validate(parent.spec)
    except ValidationError:
        return None


def customize(parent: AdapterParent) -> dict[str, Any]:
    """The target group, and the pods of the target role."""
    spec = _spec(parent)
    if spec is None:
        return {"relatedResources": []}
    ref = spec.scale_target_ref
    return {
        "relatedResources": [
            {"apiVersion": c.API_VERSION, "resource": "rolebasedgroups", "namespace": parent.metadata.namespace, "names": [ref.name]},
            {
                "apiVersion": "v1",
                "resource": "pods",
                "namespace": parent.metadata.namespace,
                "labelSelector": {"matchLabels": {c.LABEL_GROUP_NAME: ref.name, c.LABEL_ROLE_NAME: ref.role}},
            },
        ]
    }


def selector(group: str, role: str) -> str:
    return f"{c.LABEL_GROUP_NAME}={group},{c.LABEL_ROLE_NAME}={role}"


def binding(parent: AdapterParent, spec: RoleBasedGroupScalingAdapterSpec | None, group: dict[str, Any] | None) -> tuple[bool, str, str]:
    """Whether the target group follows this adapter, with a reason and a message."""
    if spec is None:
        return False, c.REASON_INVALID_FIELDS, "spec.scaleTargetRef must name a group and a role"
    ref = spec.scale_target_ref
    where = f"RoleBasedGroup {ref.name} (namespace {parent.metadata.namespace})"
    if group is None:
        return False, c.REASON_TARGET_GROUP_NOT_FOUND, f"{where} not found"
    roles = (group.get("spec") or {}).get("roles") or []
    role = next((r for r in roles if isinstance(r, dict) and r.get("name") == ref.role), None)
    if role is None:
        return False, c.REASON_TARGET_ROLE_NOT_FOUND, f"{where} has no role {ref.role}"
    if not (role.get("scalingAdapter") or {}).get("enable"):
        return False, c.REASON_SCALING_ADAPTER_NOT_ENABLED, f"role {ref.role} of {where} does not set scalingAdapter.enable: true"
    uid = (group.get("metadata") or {}).get("uid")
    owned = any(ref_.get("uid") == uid for ref_ in parent.metadata.ownerReferences)
    if parent.metadata.name != workload_name(ref.name, ref.role) or not owned:
        return False, c.REASON_NOT_THE_GROUPS_ADAPTER, (
            f"{where} follows only its own adapter {workload_name(ref.name, ref.role)}, which it creates"
        )
    return True, c.REASON_BOUND, f"role {ref.role} of {where} takes its size from spec.replicas"


def last_scale_time(parent: AdapterParent, now: str) -> str | None:
    """When spec.replicas was last written, as near as a request tells.

    Kubernetes records no time for a write through /scale (kubernetes/kubernetes#131892), the
    way HPA, KEDA and `kubectl scale` write. So: a managedFields entry that owns spec.replicas and
    has a time, or, when the spec changed since status was last written (generation ahead of
    observedGeneration), the newest time in the request; else what status said before.
    """
    times = [
        time
        for f in parent.metadata.managedFields
        if isinstance(time := f.get("time"), str) and "f:replicas" in ((f.get("fieldsV1") or {}).get("f:spec") or {})
    ]
    status = parent.status or {}
    previous = status.get("lastScaleTime") if isinstance(status.get("lastScaleTime"), str) else None
    seen = status.get("observedGeneration")
    if isinstance(seen, int) and seen > 0 and parent.metadata.generation > seen:
        times.append(now)
    return max([*times, *([previous] if previous else [])], default=None)


def sync(request: AdapterSyncRequest) -> Result:
    parent = request.parent
    namespace = parent.metadata.namespace
    spec = _spec(parent)
    groups = [g for g in (request.related.get(c.CHILD_RBG) or {}).values() if isinstance(g, dict)]
    group = next(
        (g for g in groups if spec and g.get("metadata", {}).get("name") == spec.scale_target_ref.name and g["metadata"].get("namespace") == namespace),
        None,
    )
    pods = [p for p in (request.related.get(c.RELATED_POD) or {}).values() if isinstance(p, dict) and (p.get("metadata") or {}).get("namespace") == namespace]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    bound, reason, message = binding(parent, spec, group)
    status: dict[str, Any] = {"phase": c.PHASE_BOUND if bound else c.PHASE_NOT_BOUND}
    if spec is not None:
        ref = spec.scale_target_ref
        status |= {"replicas": len(live), "readyReplicas": sum(map(pod_ready, live)), "selector": selector(ref.name, ref.role)}
    now = latest_time(parent, [*([group] if group else []), *pods])
    if (scaled := last_scale_time(parent, now)) is not None:
        status["lastScaleTime"] = scaled
    status["conditions"] = merge_conditions(
        (parent.status or {}).get("conditions") or [],
        [condition(c.COND_BOUND, bound, reason, message)],
        now=now,
        generation=parent.metadata.generation,
    )
    return Result(status=status, children=[])
