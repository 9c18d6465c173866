"""A role's RoleInstanceSet `<group>-<role>`: its instances' components from the role's pattern
and its built pod templates (hooks.children.podtemplate), its rollout from the role's plan.

- customComponentsPattern: one component per entry, the role's headless Service where the entry
  names none;
- leaderWorkerPattern: `leader` (1 pod) and `worker` (size - 1 pods), as upstream;
- standalonePattern: one component named as the role, 1 pod.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..decisions import RolePlan
from .podtemplate import selector_labels
from .workloadparts import workload_metadata


def _labelled(template: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    meta = template.get("metadata") or {}
    return {**template, "metadata": {**meta, "labels": {**(meta.get("labels") or {}), **labels}}}


def components(plan: RolePlan, templates: tuple[dict[str, Any], ...]) -> tuple[str, list[dict[str, Any]]]:
    """The role type (upstream's role-type label) and the instance's components."""
    role = plan.role
    if role.custom_components_pattern is not None:
        out = []
        for comp, template in zip(role.custom_components_pattern.components, templates):
            size = 1 if comp.size is None else comp.size
            entry: dict[str, Any] = {"name": comp.name, "size": size, "serviceName": comp.service_name or plan.service}
            if comp.labels:
                entry["labels"] = dict(comp.labels)
            if comp.annotations:
                entry["annotations"] = dict(comp.annotations)
            entry["template"] = _labelled(template, {c.LABEL_COMPONENT_SIZE: str(size)})
            out.append(entry)
        return c.ROLE_TYPE_COMPONENTS, out
    if role.leader_worker_pattern is not None:
        size = role.leader_worker_pattern.size
        leader, worker = templates
        return c.ROLE_TYPE_LWS, [
            {"name": "leader", "size": 1, "serviceName": plan.service, "template": _labelled(leader, {c.LABEL_COMPONENT_NAME: "leader", c.LABEL_COMPONENT_SIZE: str(size)})},
            {"name": "worker", "size": size - 1, "serviceName": plan.service, "template": _labelled(worker, {c.LABEL_COMPONENT_NAME: "worker", c.LABEL_COMPONENT_SIZE: str(size)})},
        ]
    return c.ROLE_TYPE_POD, [{"name": role.name, "size": 1, "serviceName": plan.service, "template": _labelled(templates[0], {c.LABEL_COMPONENT_SIZE: "1"})}]


def role_instance_set(group: str, plan: RolePlan, templates: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    role, ro = plan.role, plan.rollout
    role_type, comps = components(plan, templates)
    instance: dict[str, Any] = {"components": comps}
    if role.restart_policy != c.RESTART_NONE:
        instance["restartPolicy"] = role.restart_policy
    strategy: dict[str, Any] = {"type": ro.type or "InPlaceIfPossible"}
    if ro.given:
        strategy |= {"partition": ro.partition, "maxUnavailable": ro.max_unavailable, "maxSurge": ro.max_surge}
    if ro.paused:
        strategy["paused"] = True
    spec: dict[str, Any] = {
        "replicas": plan.replicas,
        "selector": {"matchLabels": selector_labels(group, role.name)},
        "roleInstanceTemplate": instance,
        "podManagementPolicy": plan.pod_management_policy,
        "updateStrategy": strategy,
    }
    if role.min_ready_seconds:
        spec["minReadySeconds"] = role.min_ready_seconds
    meta = workload_metadata(group, role, (*plan.labels, (c.LABEL_ROLE_TYPE, role_type)))
    if plan.restart_delays is not None:
        base, most = plan.restart_delays
        meta["annotations"] = {**meta.get("annotations", {}), c.ANNOTATION_RESTART_BASE_DELAY: str(base), c.ANNOTATION_RESTART_MAX_DELAY: str(most)}
    return {"apiVersion": c.API_VERSION, "kind": c.KIND_ROLE_INSTANCE_SET, "metadata": meta, "spec": spec}
