"""v1alpha2's pod labels and RBG_* variables (upstream's doc-ref/variables.md), decided per pod template.

Groups converted from v1alpha1 (annotation ANNOTATION_API_ORIGIN) get none of them: their pods
keep the labels and variables they run with, so reading them as v1alpha2 rolls nothing. Every
group keeps the v1alpha1-era ones (hooks.children.podtemplate), which running peers look up.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import RoleSpec
from ..naming import group_unique_key, workload_name

_POD_NAME = {"name": c.ENV_ROLE_INSTANCE_NAME, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}


def converted(annotations: dict[str, str]) -> bool:
    return annotations.get(c.ANNOTATION_API_ORIGIN) == c.VERSION_V1ALPHA1


def labels(namespace: str, group: str, annotations: dict[str, str], group_labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Every pod's: the group's uid and unique-hash labels, and the set's name on a set's member."""
    if converted(annotations):
        return ()
    key = group_unique_key(namespace, group)
    out = [(c.LABEL_GROUP_UID, key), (c.LABEL_GROUP_UNIQUE_HASH, key)]
    if c.LABEL_SET_NAME in group_labels:
        out.append((c.LABEL_GROUPSET_NAME, group_labels[c.LABEL_SET_NAME]))
    return tuple(out)


def _from_label(name: str, label: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": f"metadata.labels['{label}']"}}}


def env(namespace: str, group: str, annotations: dict[str, str], role: RoleSpec, templates: int, service: str) -> tuple[tuple[dict[str, Any], ...], ...]:
    """Each pod template's variables: the instance name; a LeaderWorkerSet's leader and worker
    templates also their component and the leader-worker variables; a RoleInstanceSet role's pods
    read theirs from the identity labels their RoleInstance gives them (hooks.core.instance), as upstream."""
    if converted(annotations):
        return ((),) * templates
    if role.workload.kind == c.KIND_ROLE_INSTANCE_SET:
        own = (
            _from_label(c.ENV_ROLE_INSTANCE_NAME, c.LABEL_ROLE_INSTANCE_NAME),
            _from_label(c.ENV_COMPONENT_NAME, c.LABEL_COMPONENT_NAME),
            _from_label(c.ENV_COMPONENT_INDEX, c.LABEL_COMPONENT_ID),
        )
        if role.leader_worker_pattern is None:
            return (own,) * templates
        lwp = (
            {"name": c.ENV_LWP_LEADER_ADDRESS, "value": f"$({c.ENV_ROLE_INSTANCE_NAME})-0.{service}.{namespace}"},
            _from_label(c.ENV_LWP_WORKER_INDEX, c.LABEL_COMPONENT_INDEX),
            _from_label(c.ENV_LWP_GROUP_SIZE, c.LABEL_COMPONENT_SIZE),
        )
        return ((*own, *lwp),) * templates
    if role.workload.kind != c.KIND_LWS:
        return ((_POD_NAME,),) * templates
    instance = {"name": c.ENV_ROLE_INSTANCE_NAME, "value": f"{workload_name(group, role.name)}-$({c.ENV_ROLE_INDEX[1]})"}
    lwp = (
        {"name": c.ENV_COMPONENT_INDEX, "value": "$(LWS_WORKER_INDEX)"},
        {"name": c.ENV_LWP_LEADER_ADDRESS, "value": "$(LWS_LEADER_ADDRESS)"},
        {"name": c.ENV_LWP_WORKER_INDEX, "value": "$(LWS_WORKER_INDEX)"},
        {"name": c.ENV_LWP_GROUP_SIZE, "value": "$(LWS_GROUP_SIZE)"},
    )
    components = ("leader", "worker")[:templates]
    return tuple((instance, {"name": c.ENV_COMPONENT_NAME, "value": name}, *lwp) for name in components)
