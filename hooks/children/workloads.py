"""StatefulSet and Deployment of a role: one pure constructor per kind (LeaderWorkerSet: hooks.children.lws)."""

from __future__ import annotations

import json
from typing import Any

from .. import constants as c
from ..api import RoleSpec
from ..naming import service_name
from .lws import leader_worker_set
from .podtemplate import build_pod_template, selector_labels
from .workloadparts import drained, partition, workload_metadata


def _rolling_update(role: RoleSpec) -> dict[str, Any] | None:
    """StatefulSet rollingUpdate: partition, and maxUnavailable where it is not 1 (Kubernetes'
    default, and all a StatefulSet does without the MaxUnavailableStatefulSet feature gate).
    Recreate replaces every pod at once: no partition, all of them unavailable."""
    ru = role.rollout_strategy.rolling_update if role.rollout_strategy else None
    if ru is None:
        return None
    out: dict[str, Any] = {}
    at = partition(role)
    if ru.type == "Recreate" and not ru.paused:
        at, out["maxUnavailable"] = 0, "100%"
    elif ru.max_unavailable != 1:
        out["maxUnavailable"] = ru.max_unavailable
    return {"partition": at, **out}


def statefulset(namespace: str, group: str, role: RoleSpec) -> dict[str, Any]:
    # rollingUpdate always present: with it absent, the StatefulSet controller recreates a pod it is
    # replacing at the old revision when its ordinal is below status.currentReplicas (Kubernetes'
    # newVersionedStatefulSetPod), so a pod can be replaced twice, the old template coming back between.
    update: dict[str, Any] = {"type": "RollingUpdate", "rollingUpdate": _rolling_update(role) or {"partition": 0}}
    spec: dict[str, Any] = {
        "replicas": role.replicas,
        "serviceName": service_name(group, role.name),
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": selector_labels(group, role.name)},
        "template": drained(build_pod_template(role.pod_template, namespace=namespace, group=group, role=role.name, index_label=c.LABEL_POD_INDEX), role),
        "updateStrategy": update,
    }
    if role.min_ready_seconds:
        spec["minReadySeconds"] = role.min_ready_seconds
    return {"apiVersion": c.APPS_V1, "kind": c.KIND_STATEFULSET, "metadata": workload_metadata(group, role), "spec": spec}


def deployment(namespace: str, group: str, role: RoleSpec) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": role.replicas,
        "selector": {"matchLabels": selector_labels(group, role.name)},
        "template": drained(build_pod_template(role.pod_template, namespace=namespace, group=group, role=role.name, index_label=None), role),
    }
    ru = role.rollout_strategy.rolling_update if role.rollout_strategy else None
    if ru is not None:
        spec["strategy"] = (
            {"type": "Recreate"}
            if ru.type == "Recreate"
            else {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": ru.max_unavailable, "maxSurge": ru.max_surge}}
        )
        if ru.paused:
            spec["paused"] = True
    if role.min_ready_seconds:
        spec["minReadySeconds"] = role.min_ready_seconds
    return {"apiVersion": c.APPS_V1, "kind": c.KIND_DEPLOYMENT, "metadata": workload_metadata(group, role), "spec": spec}


BUILDERS = {c.KIND_STATEFULSET: statefulset, c.KIND_DEPLOYMENT: deployment, c.KIND_LWS: leader_worker_set}


def workload(namespace: str, group: str, role: RoleSpec) -> dict[str, Any]:
    """The role's workload; ValueError if Metacontroller could not store it (see applied_size)."""
    child = BUILDERS[role.workload.kind](namespace, group, role)
    size = applied_size(child)
    if size > c.MAX_ANNOTATIONS_BYTES:
        raise ValueError(
            f"role {role.name}: its {child['kind']} would carry {size} bytes of annotations once applied "
            f"(Metacontroller stores the whole object in {c.ANNOTATION_LAST_APPLIED}), over Kubernetes' "
            f"limit of {c.MAX_ANNOTATIONS_BYTES}: make the pod template smaller"
        )
    return child


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
