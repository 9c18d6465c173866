"""Topology placement from the group's annotations: its pods in one domain of a node label.

- `rolebasedgroup.workloads.x-k8s.io/exclusive-topology: <node label key>` (newer upstream:
  `rbg.workloads.x-k8s.io/group-exclusive-topology`): every pod of the group in one domain of that
  label (required pod affinity to the group's unique key) and no pod of another group of its
  namespace there (required anti-affinity to any other unique key), as upstream. With
  `rbg.workloads.x-k8s.io/exclusive-topology-scope: Cluster` (ours) groups of every namespace are
  kept out: the group then denies its domain to every tenant of the cluster. On a set, the
  annotation reaches every member: each member gets a domain of its own.
- `rolebasedgroup.workloads.x-k8s.io/colocated-topology: <node label key>`: one domain for the
  group, without keeping other groups out (affinity only).
- A role opts out with the annotation `rolebasedgroup.workloads.x-k8s.io/disable-exclusive-topology:
  "true"` (newer: `rbg.workloads.x-k8s.io/role-disable-exclusive`), on the role or on its pod template.

A v1alpha2 group's terms select upstream's `rbg.workloads.x-k8s.io/group-unique-hash` label (its
pods carry it); a group converted from v1alpha1 keeps `rolebasedgroup.workloads.x-k8s.io/group-unique-key`,
which every pod carries. The scheduler enforces required anti-affinity both ways, so an existing
converted group's terms keep a v1alpha2 group out of its domain and the other way round.

The terms go after the user's own required terms, in each pod template of a role that takes part
(a LeaderWorkerSet's leader and worker templates each). The first pod of a group may go anywhere
(the scheduler lets a pod satisfy its own affinity); the others follow it.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import RoleSpec
from ..decisions import AffinityTerm
from ..naming import group_unique_key
from . import conventions


def _opted_out(annotations: dict[str, Any] | None) -> bool:
    return any((annotations or {}).get(key) == "true" for key in c.ANNOTATIONS_DISABLE_EXCLUSIVE_TOPOLOGY)


def domain(annotations: dict[str, str]) -> tuple[str, bool] | None:
    """The node label key, and whether other groups are kept out; None: no placement asked."""
    for key in c.ANNOTATIONS_EXCLUSIVE_TOPOLOGY:
        if annotations.get(key):
            return annotations[key], True
    if annotations.get(c.ANNOTATION_COLOCATED_TOPOLOGY):
        return annotations[c.ANNOTATION_COLOCATED_TOPOLOGY], False
    return None


def terms(namespace: str, group: str, annotations: dict[str, str]) -> tuple[AffinityTerm, ...]:
    """The required terms the group's annotations ask for (none: no placement)."""
    asked = domain(annotations)
    if asked is None:
        return ()
    key, exclusive = asked
    mine = group_unique_key(namespace, group)
    if conventions.converted(annotations):
        label, same = c.LABEL_GROUP_UNIQUE_KEY, {"matchLabels": {c.LABEL_GROUP_UNIQUE_KEY: mine}}
    else:
        label, same = c.LABEL_GROUP_UNIQUE_HASH, {"matchExpressions": [{"key": c.LABEL_GROUP_UNIQUE_HASH, "operator": "In", "values": [mine]}]}
    out: list[AffinityTerm] = [("podAffinity", {"labelSelector": same, "topologyKey": key})]
    if exclusive:
        others: dict[str, Any] = {
            "labelSelector": {
                "matchExpressions": [
                    {"key": label, "operator": "Exists"},
                    {"key": label, "operator": "NotIn", "values": [mine]},
                ]
            },
            "topologyKey": key,
        }
        if annotations.get(c.ANNOTATION_EXCLUSIVE_TOPOLOGY_SCOPE) == c.EXCLUSIVE_SCOPE_CLUSTER:
            others["namespaceSelector"] = {}  # every namespace; without it, the pod's own
        out.append(("podAntiAffinity", others))
    return tuple(out)


def place(group_terms: tuple[AffinityTerm, ...], role: RoleSpec, templates: tuple[dict[str, Any], ...]) -> tuple[tuple[AffinityTerm, ...], ...]:
    """The terms each of the role's pod templates gets: none where the role or the template opts out."""
    if not group_terms or _opted_out(role.annotations):
        return tuple(() for _ in templates)
    return tuple(() if _opted_out((t.get("metadata") or {}).get("annotations")) else group_terms for t in templates)
