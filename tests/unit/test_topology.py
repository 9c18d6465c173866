"""Topology placement from the group's annotations: the affinity terms on its workloads."""

import copy

import pytest

from hooks import constants as c
from hooks.naming import group_unique_key
from tests.support import V1ALPHA1, by_kind, example_group, request, sync

MINIMAL = V1ALPHA1 / "minimal.yaml"
KEY = group_unique_key("default", "minimal")


def affinity(group, role="db"):
    return by_kind(sync(request(group)).children)[(c.KIND_STATEFULSET, f"minimal-{role}")]["spec"]["template"]["spec"].get("affinity")


def annotated(group_annotations, **role_changes):
    g = example_group(MINIMAL)
    g["metadata"]["annotations"] = group_annotations
    g["spec"]["roles"][0].update(role_changes)
    return g


TOGETHER = {"labelSelector": {"matchLabels": {c.LABEL_GROUP_UNIQUE_KEY: KEY}}, "topologyKey": "topology.kubernetes.io/zone"}
APART = {
    "labelSelector": {"matchExpressions": [
        {"key": c.LABEL_GROUP_UNIQUE_KEY, "operator": "Exists"},
        {"key": c.LABEL_GROUP_UNIQUE_KEY, "operator": "NotIn", "values": [KEY]},
    ]},
    "topologyKey": "topology.kubernetes.io/zone",
}
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


@pytest.mark.parametrize("key", c.ANNOTATIONS_EXCLUSIVE_TOPOLOGY)
def test_exclusive_topology_in_either_spelling(key):
    got = affinity(annotated({key: "topology.kubernetes.io/zone"}))
    assert got == {"podAffinity": {REQUIRED: [TOGETHER]}, "podAntiAffinity": {REQUIRED: [APART]}}


def test_exclusive_topology_keeps_out_only_groups_of_its_own_namespace_unless_asked_for_the_cluster():
    """As upstream: an anti-affinity term without namespaceSelector matches pods of the pod's own
    namespace, so a group elsewhere is neither kept out nor able to deny domains to this one."""
    zone = {c.ANNOTATIONS_EXCLUSIVE_TOPOLOGY[0]: "topology.kubernetes.io/zone"}
    (term,) = affinity(annotated(zone))["podAntiAffinity"][REQUIRED]
    assert "namespaceSelector" not in term and "namespaces" not in term
    cluster = {**zone, c.ANNOTATION_EXCLUSIVE_TOPOLOGY_SCOPE: c.EXCLUSIVE_SCOPE_CLUSTER}
    assert affinity(annotated(cluster))["podAntiAffinity"][REQUIRED] == [{**APART, "namespaceSelector": {}}]
    assert affinity(annotated(cluster))["podAffinity"] == affinity(annotated(zone))["podAffinity"]


def test_colocated_topology_keeps_the_group_together_without_keeping_others_out():
    got = affinity(annotated({c.ANNOTATION_COLOCATED_TOPOLOGY: "topology.kubernetes.io/zone"}))
    assert got == {"podAffinity": {REQUIRED: [TOGETHER]}}


@pytest.mark.parametrize("key", c.ANNOTATIONS_DISABLE_EXCLUSIVE_TOPOLOGY)
def test_a_role_opts_out_on_itself_or_on_its_pod_template(key):
    exclusive = {c.ANNOTATIONS_EXCLUSIVE_TOPOLOGY[0]: "topology.kubernetes.io/zone"}
    assert affinity(annotated(exclusive, annotations={key: "true"})) is None
    g = annotated(exclusive)
    g["spec"]["roles"][0]["template"].setdefault("metadata", {})["annotations"] = {key: "true"}
    assert affinity(g) is None
    g["spec"]["startupPolicy"] = "Parallel"
    assert affinity(g, role="app") is not None  # the other role still takes part


def test_the_users_own_affinity_terms_come_first():
    own = {"labelSelector": {"matchLabels": {"cache": "warm"}}, "topologyKey": "kubernetes.io/hostname"}
    g = annotated({c.ANNOTATIONS_EXCLUSIVE_TOPOLOGY[0]: "topology.kubernetes.io/zone"})
    g["spec"]["roles"][0]["template"]["spec"]["affinity"] = {"podAffinity": {REQUIRED: [copy.deepcopy(own)]}}
    assert affinity(g)["podAffinity"][REQUIRED] == [own, TOGETHER]


def test_no_annotation_no_affinity():
    assert affinity(example_group(MINIMAL)) is None
