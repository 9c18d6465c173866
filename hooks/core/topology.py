"""Topology placement from the group's annotations: its pods in one domain of a node label.

- `rolebasedgroup.workloads.x-k8s.io/exclusive-topology: <node label key>` (newer upstream:
  `rbg.workloads.x-k8s.io/group-exclusive-topology`): every pod of the group in one domain of that
  label (required pod affinity to the group's unique key) and no pod of another group there
  (required anti-affinity to any other unique key). On a set, the annotation reaches every
  member: each member gets a domain of its own.
- `rolebasedgroup.workloads.x-k8s.io/colocated-topology: <node label key>`: one domain for the
  group, without keeping other groups out (affinity only).
- A role opts out with the annotation `rolebasedgroup.workloads.x-k8s.io/disable-exclusive-topology:
  "true"` (newer: `rbg.workloads.x-k8s.io/role-disable-exclusive`), on the role or on its pod template.

Applied to the built workloads' pod templates (a LeaderWorkerSet's leader and worker templates
each), after the user's own affinity terms. The first
pod of a group may go anywhere (the scheduler lets a pod satisfy its own affinity); the others follow it.
"""

from __future__ import annotations

import copy
from typing import Any

from .. import constants as c
from ..api import RoleBasedGroupSpec
from ..children.lws import pod_templates, with_pod_templates
from ..naming import group_unique_key

_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def _opted_out(meta: dict[str, Any]) -> bool:
    annotations = meta.get("annotations") or {}
    return any(annotations.get(key) == "true" for key in c.ANNOTATIONS_DISABLE_EXCLUSIVE_TOPOLOGY)


def domain(annotations: dict[str, str]) -> tuple[str, bool] | None:
    """The node label key, and whether other groups are kept out; None: no placement asked."""
    for key in c.ANNOTATIONS_EXCLUSIVE_TOPOLOGY:
        if annotations.get(key):
            return annotations[key], True
    if annotations.get(c.ANNOTATION_COLOCATED_TOPOLOGY):
        return annotations[c.ANNOTATION_COLOCATED_TOPOLOGY], False
    return None


def _terms(namespace: str, group: str, key: str, exclusive: bool) -> dict[str, Any]:
    mine = group_unique_key(namespace, group)
    together = {"labelSelector": {"matchLabels": {c.LABEL_GROUP_UNIQUE_KEY: mine}}, "topologyKey": key}
    out = {"podAffinity": [together]}
    if exclusive:
        others = {
            "labelSelector": {
                "matchExpressions": [
                    {"key": c.LABEL_GROUP_UNIQUE_KEY, "operator": "Exists"},
                    {"key": c.LABEL_GROUP_UNIQUE_KEY, "operator": "NotIn", "values": [mine]},
                ]
            },
            "topologyKey": key,
            # Any namespace: a group of another namespace must stay out too.
            "namespaceSelector": {},
        }
        out["podAntiAffinity"] = [others]
    return out


def place(
    namespace: str, group: str, annotations: dict[str, str], spec: RoleBasedGroupSpec, children: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The children with the group's placement added to every workload of a role that takes part."""
    asked = domain(annotations)
    if asked is None:
        return children
    terms = _terms(namespace, group, *asked)
    out_roles = {r.name for r in spec.roles if _opted_out({"annotations": r.annotations})}
    placed = []
    for child in children:
        role = (child["metadata"].get("labels") or {}).get(c.LABEL_ROLE_NAME)
        if child["kind"] not in c.WORKLOAD_KINDS or role in out_roles:
            placed.append(child)
            continue
        placed.append(with_pod_templates(child, [_placed(t, terms) for t in pod_templates(child)]))
    return placed


def _placed(template: dict[str, Any], terms: dict[str, Any]) -> dict[str, Any]:
    """The pod template with `terms` added to its required affinity, unless it opts out."""
    if _opted_out(template.get("metadata") or {}):
        return template
    template = copy.deepcopy(template)
    affinity = template["spec"].setdefault("affinity", {})
    for kind, add in terms.items():
        section = affinity.setdefault(kind, {})
        section[_REQUIRED] = [*(section.get(_REQUIRED) or []), *copy.deepcopy(add)]
    return template
