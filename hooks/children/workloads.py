"""The workload of a role: one pure constructor per kind, from the role's plan and its built pod
templates (hooks.children.podtemplate). A new workload kind is one more constructor here."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import constants as c
from ..decisions import RolePlan
from .instancesets import role_instance_set
from .lws import leader_worker_set
from .podtemplate import selector_labels
from .workloadparts import workload_metadata


def statefulset(group: str, plan: RolePlan, templates: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    # rollingUpdate always present: with it absent, the StatefulSet controller recreates a pod it is
    # replacing at the old revision when its ordinal is below status.currentReplicas (Kubernetes'
    # newVersionedStatefulSetPod), so a pod can be replaced twice, the old template coming back between.
    # maxUnavailable only where it is not 1: Kubernetes' default, and all a StatefulSet does
    # without the MaxUnavailableStatefulSet feature gate.
    ro = plan.rollout
    rolling: dict[str, Any] = {"partition": ro.partition}
    if ro.given and ro.max_unavailable != 1:
        rolling["maxUnavailable"] = ro.max_unavailable
    spec: dict[str, Any] = {
        "replicas": plan.replicas,
        "serviceName": plan.service,
        "podManagementPolicy": plan.pod_management_policy,
        "selector": {"matchLabels": selector_labels(group, plan.role.name)},
        "template": templates[0],
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": rolling},
    }
    if plan.role.min_ready_seconds:
        spec["minReadySeconds"] = plan.role.min_ready_seconds
    return {"apiVersion": c.APPS_V1, "kind": c.KIND_STATEFULSET, "metadata": workload_metadata(group, plan.role, plan.labels), "spec": spec}


def deployment(group: str, plan: RolePlan, templates: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    ro = plan.rollout
    spec: dict[str, Any] = {
        "replicas": plan.replicas,
        "selector": {"matchLabels": selector_labels(group, plan.role.name)},
        "template": templates[0],
    }
    if ro.given:
        spec["strategy"] = (
            {"type": "Recreate"}
            if ro.recreate
            else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": ro.max_unavailable, "maxSurge": ro.max_surge}}
        )
    if ro.paused:
        spec["paused"] = True
    if plan.role.min_ready_seconds:
        spec["minReadySeconds"] = plan.role.min_ready_seconds
    return {"apiVersion": c.APPS_V1, "kind": c.KIND_DEPLOYMENT, "metadata": workload_metadata(group, plan.role, plan.labels), "spec": spec}


Builder = Callable[[str, RolePlan, tuple[dict[str, Any], ...]], dict[str, Any]]
BUILDERS: dict[str, Builder] = {
    c.KIND_STATEFULSET: statefulset, c.KIND_DEPLOYMENT: deployment, c.KIND_LWS: leader_worker_set, c.KIND_ROLE_INSTANCE_SET: role_instance_set,
}
# The pod label holding a pod's stable index, which ROLE_INDEX is read from (a Deployment's pods have none).
INDEX_LABELS: dict[str, str | None] = {
    c.KIND_STATEFULSET: c.LABEL_POD_INDEX, c.KIND_DEPLOYMENT: None, c.KIND_LWS: c.LABEL_LWS_GROUP_INDEX, c.KIND_ROLE_INSTANCE_SET: c.LABEL_ROLE_INSTANCE_INDEX,
}


def workload(group: str, plan: RolePlan, templates: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """The role's workload, of the kind its spec names."""
    return BUILDERS[plan.role.workload.kind](group, plan, templates)


def applied_size(child: dict[str, Any]) -> int:
    """Bytes of every annotation `child` carries once Metacontroller applied it: its own, and
    itself as JSON in the last-applied annotation (Go escapes <, > and & as 6 bytes each)."""
    text = json.dumps(child, separators=(",", ":"), ensure_ascii=False)
    own = child["metadata"].get("annotations") or {}
    return (
        len(text.encode())
        + 5 * sum(text.count(ch) for ch in "<>&")
        + len(c.ANNOTATION_LAST_APPLIED)
        + sum(len(k.encode()) + len(v.encode()) for k, v in own.items())
    )
