"""Behaviour of the sync and finalize core: gates, freezes, scaling, removal, status."""

import copy
import json

import pytest

from hooks import constants as c
from hooks.api import SyncRequest
from hooks.children.revision import template_hash
from hooks.core import rbg
from hooks.core.observed import customize, wants_pods
from hooks.naming import group_unique_key
from tests.support import V1ALPHA1, by_kind, condition, example_group, observe, related_pods, request, sync
from tests.support import pod as support_pod
from tests.support.pods import workload_revision
from tests.support.requests import as_hub

MINIMAL = V1ALPHA1 / "minimal.yaml"
DIAMOND = V1ALPHA1 / "diamond.yaml"


def _group(**spec_changes):
    group = example_group(MINIMAL)
    group["spec"].update(spec_changes)
    return group


def _names(result):
    return sorted(f"{ch['kind']}/{ch['metadata']['name']}" for ch in result.children)


def test_dependant_waits_until_dependency_ready():
    group = _group()
    first = sync(request(group))
    db = template_hash(group["spec"]["roles"][0]["template"])
    assert _names(first) == ["ConfigMap/minimal-discovery", f"ControllerRevision/minimal-db-{db}", "Service/s-minimal-db", "StatefulSet/minimal-db"]
    progressing = condition(first.status, c.COND_PROGRESSING)
    assert (progressing["status"], progressing["reason"]) == ("True", c.REASON_WAITING_FOR_DEPENDENCIES)
    assert progressing["message"] == "app waits for db"

    not_ready = sync(request(group, observe(first.children, ready=False)))
    assert "StatefulSet/minimal-app" not in _names(not_ready)

    ready = sync(request(group, observe(first.children, ready=True)))
    assert "StatefulSet/minimal-app" in _names(ready)


@pytest.mark.parametrize(
    "status_change",
    [
        pytest.param({"observedGeneration": 0}, id="status-of-an-older-generation"),
        pytest.param({"readyReplicas": 0}, id="not-all-ready"),
        pytest.param({"updatedReplicas": 0}, id="not-updated"),
    ],
)
def test_dependency_ready_means_all_desired_replicas_at_current_generation(status_change):
    group = _group()
    children = observe(sync(request(group)).children)
    children[c.CHILD_STATEFULSET]["default/minimal-db"]["status"].update(status_change)
    assert "StatefulSet/minimal-app" not in _names(sync(request(group, children)))


def test_dependency_scaled_but_not_yet_observed_is_not_ready():
    group = _group()
    children = observe(sync(request(group)).children)
    group["spec"]["roles"][0]["replicas"] = 3  # db: observed spec still says 1
    assert "StatefulSet/minimal-app" not in _names(sync(request(group, children)))


def test_started_role_is_never_withdrawn_and_still_updated_when_dependency_unready():
    group = _group()
    everything = sync(request(group, observe(sync(request(group)).children))).children
    group["spec"]["roles"][1]["replicas"] = 5
    result = sync(request(group, observe(everything, ready=False)))
    app = by_kind(result.children)[("StatefulSet", "minimal-app")]
    assert app["spec"]["replicas"] == 5


def _gated(gate="Pods", **spec_changes):
    group = _group(**spec_changes)
    group["metadata"].setdefault("annotations", {})[c.ANNOTATION_STARTUP_GATE] = gate
    return group


def test_the_pods_startup_gate_starts_a_dependant_on_its_dependency_pods_before_the_workload_status():
    group = _gated()
    spec = as_hub(request(group))["parent"]["spec"]
    asks = customize("default", "minimal", group["metadata"]["annotations"], spec)["relatedResources"]
    assert [r["labelSelector"] for r in asks if r["resource"] == "pods"] == [{"matchLabels": {c.LABEL_GROUP_UNIQUE_KEY: group_unique_key("default", "minimal")}}]

    first = sync(request(group))
    children = observe(first.children, ready=False, revisions=True)  # the StatefulSet controller: 0 ready
    db = children[c.CHILD_STATEFULSET]["default/minimal-db"]
    pending = support_pod("minimal-db-0", group="minimal", role="db", revision=workload_revision(db), ready=False)
    assert "StatefulSet/minimal-app" not in _names(sync(request(group, children, related=related_pods([pending]))))
    ready = support_pod("minimal-db-0", group="minimal", role="db", revision=workload_revision(db), ready=True)
    assert "StatefulSet/minimal-app" in _names(sync(request(group, children, related=related_pods([ready]))))
    old = support_pod("minimal-db-0", group="minimal", role="db", revision="minimal-db-rev0", ready=True)
    assert "StatefulSet/minimal-app" not in _names(sync(request(group, children, related=related_pods([old])))), "a pod of an older revision"


@pytest.mark.parametrize(
    "group",
    [
        pytest.param(lambda: _group(), id="default"),
        pytest.param(lambda: _gated("Workloads"), id="workloads"),
        pytest.param(lambda: _gated(startupPolicy="Parallel"), id="parallel"),
    ],
)
def test_without_the_pods_gate_a_group_observes_no_pods(group):
    g = group()
    assert not wants_pods(g["metadata"].get("annotations") or {}, as_hub(request(g))["parent"]["spec"])


def test_an_unknown_startup_gate_is_invalid_and_named():
    result = sync(request(_gated("Eventually")))
    invalid = condition(result.status, c.COND_INVALID_SPEC)
    assert invalid["status"] == "True" and f"metadata.annotations[{c.ANNOTATION_STARTUP_GATE}]" in invalid["message"]
    assert "'Eventually' is not one of Workloads, Pods" in invalid["message"]


def test_parallel_starts_every_role_at_once():
    result = sync(request(_group(startupPolicy="Parallel")))
    assert {"StatefulSet/minimal-db", "StatefulSet/minimal-app"} <= set(_names(result))


def test_diamond_starts_in_dependency_order():
    group = example_group(DIAMOND)
    first = sync(request(group))
    assert [n for n in _names(first) if n.startswith("StatefulSet")] == ["StatefulSet/diamond-store"]
    assert condition(first.status, c.COND_PROGRESSING)["message"] == (
        "api waits for cache, index; cache waits for store; index waits for store"
    )
    # cache ready but index not: api keeps waiting, on index only.
    second = sync(request(group, observe(first.children)))
    third = sync(request(group, observe(second.children, ready={"store", "cache"})))
    assert "StatefulSet/diamond-api" not in _names(third)
    assert condition(third.status, c.COND_PROGRESSING)["message"] == "api waits for index"


def _cycle(group):
    group["spec"]["roles"][0]["dependencies"] = ["app"]  # db <-> app
    return group


def test_cycle_on_a_running_group_changes_nothing_and_says_why():
    group = _group()
    running = sync(request(group, observe(sync(request(group)).children)))
    observed = observe(running.children)
    group["status"] = running.status
    result = sync(request(_cycle(group), observed))
    assert by_kind(result.children) == by_kind(running.children)  # as last applied: no create, update or delete
    invalid = condition(result.status, c.COND_INVALID_SPEC)
    assert (invalid["status"], invalid["reason"]) == ("True", c.REASON_DEPENDENCY_CYCLE)
    assert "app, db" in invalid["message"]
    assert {k: v for k, v in result.status.items() if k != "conditions"} == {
        k: v for k, v in running.status.items() if k != "conditions"
    }  # roleStatuses and readyRoles as they were


def test_cycle_on_a_new_group_creates_nothing():
    result = sync(request(_cycle(_group())))
    assert result.children == []
    assert condition(result.status, c.COND_READY)["reason"] == c.REASON_DEPENDENCY_CYCLE


def test_fixing_the_spec_converges():
    group = _cycle(_group())
    frozen = sync(request(group))
    group["status"] = frozen.status
    group["spec"]["roles"][0]["dependencies"] = []
    fixed = sync(request(group))
    assert condition(fixed.status, c.COND_INVALID_SPEC)["status"] == "False"
    assert "StatefulSet/minimal-db" in _names(fixed)


def test_child_without_last_applied_annotation_is_kept_as_observed():
    group = _group()
    observed = observe(sync(request(group)).children)
    sts = observed[c.CHILD_STATEFULSET]["default/minimal-db"]
    del sts["metadata"]["annotations"][c.ANNOTATION_LAST_APPLIED]
    result = sync(request(_cycle(group), observed))
    kept = by_kind(result.children)[("StatefulSet", "minimal-db")]
    assert "status" not in kept and kept["spec"] == sts["spec"]
    assert set(kept["metadata"]) == {"name", "labels", "annotations"}


@pytest.mark.parametrize("annotation", [":", "0", "[[[", '{"kind": "Secret"}'], ids=["not-json", "a-number", "truncated", "another-object"])
def test_a_last_applied_annotation_edited_by_hand_counts_as_none(annotation):
    group = _group()
    observed = observe(sync(request(group)).children)
    sts = observed[c.CHILD_STATEFULSET]["default/minimal-db"]
    sts["metadata"]["annotations"][c.ANNOTATION_LAST_APPLIED] = annotation
    kept = by_kind(sync(request(_cycle(group), observed)).children)[("StatefulSet", "minimal-db")]
    assert kept["spec"] == sts["spec"] and kept["metadata"]["annotations"] == {c.ANNOTATION_LAST_APPLIED: annotation}


def test_scaling_changes_replicas_and_discovery_but_never_the_pod_template():
    group = _group()
    before = by_kind(sync(request(group, observe(sync(request(group)).children))).children)
    group["spec"]["roles"][0]["replicas"] = 3
    after = by_kind(sync(request(group, observe(list(before.values())))).children)
    key = ("StatefulSet", "minimal-db")
    assert after[key]["spec"]["replicas"] == 3
    assert after[key]["spec"]["template"] == before[key]["spec"]["template"]
    cm = after[("ConfigMap", "minimal-discovery")]["data"]["config.yaml"]
    assert "minimal-db-2.s-minimal-db" in cm and cm != before[("ConfigMap", "minimal-discovery")]["data"]["config.yaml"]


def test_removing_a_role_drops_its_children():
    group = _group(startupPolicy="Parallel")
    observed = observe(sync(request(group)).children)
    group["spec"]["roles"] = group["spec"]["roles"][:1]
    names = _names(sync(request(group, observed)))
    assert not [n for n in names if "minimal-app" in n]
    assert "StatefulSet/minimal-db" in names


def test_switching_workload_kind_replaces_the_workload_at_once():
    group = _group()
    observed = observe(sync(request(group, observe(sync(request(group)).children))).children, ready=False)
    group["spec"]["roles"][1]["workload"] = {"apiVersion": "apps/v1", "kind": "Deployment"}
    names = _names(sync(request(group, observed)))
    assert "Deployment/minimal-app" in names and "StatefulSet/minimal-app" not in names


def test_last_transition_time_moves_only_when_status_changes():
    group = _group()
    first = sync(request(group))
    group["status"] = first.status
    observed = observe(first.children, ready=False, time="2026-01-01T00:05:00Z")
    second = sync(request(group, observed))
    before, after = condition(first.status, c.COND_READY), condition(second.status, c.COND_READY)
    assert before["status"] == after["status"] == "False"
    assert after["lastTransitionTime"] == before["lastTransitionTime"] == "2026-01-01T00:00:00Z"

    group["status"] = second.status
    observed = observe(first.children, ready=True, time="2026-01-01T00:07:00Z")
    third = sync(request(group, observe(sync(request(group, observed)).children, time="2026-01-01T00:09:00Z")))
    ready = condition(third.status, c.COND_READY)
    assert ready["status"] == "True" and ready["lastTransitionTime"] == "2026-01-01T00:09:00Z"


def test_status_counts_come_from_observed_workloads():
    group = _group()
    observed = observe(sync(request(group)).children, ready=False)
    observed[c.CHILD_STATEFULSET]["default/minimal-db"]["status"].update(readyReplicas=0, updatedReplicas=1)
    status = sync(request(group, observed)).status
    assert status["roleStatuses"] == [
        {"name": "db", "replicas": 1, "readyReplicas": 0, "updatedReplicas": 1},
        {"name": "app", "replicas": 2, "readyReplicas": 0, "updatedReplicas": 0},
    ]
    assert status["readyRoles"] == "0/2"
    assert condition(status, c.COND_READY)["message"] == "roles not ready: db (0/1 ready), app (not created)"


def test_same_request_same_bytes():
    req = request(example_group(DIAMOND))
    assert json.dumps(sync(req).response()) == json.dumps(sync(copy.deepcopy(req)).response())


def _finalize(group, observed):
    req = request(group, observed)
    req["finalizing"] = True
    return rbg.finalize(SyncRequest.model_validate(as_hub(req)))


def test_finalize_tears_down_dependants_first():
    group = example_group(DIAMOND)
    current = sync(request(group)).children
    for _ in range(3):
        current = sync(request(group, observe(current))).children
    steps = []
    for _ in range(6):
        result = _finalize(group, observe(current))
        names = _names(result)
        # A role's history (its ControllerRevision) goes with its workload.
        revisions = {n.split("/")[1].rsplit("-", 1)[0] for n in names if n.startswith("ControllerRevision/")}
        assert revisions == {n.split("/")[1] for n in names if n.startswith("StatefulSet/")}
        steps.append(([n for n in names if not n.startswith("ControllerRevision/")], result.finalized))
        if result.finalized:
            break
        current = result.children
    assert steps == [
        (
            [
                "ConfigMap/diamond-discovery",
                "Service/s-diamond-cache",
                "Service/s-diamond-index",
                "Service/s-diamond-store",
                "StatefulSet/diamond-cache",
                "StatefulSet/diamond-index",
                "StatefulSet/diamond-store",
            ],
            False,
        ),
        (["ConfigMap/diamond-discovery", "Service/s-diamond-store", "StatefulSet/diamond-store"], False),
        (["ConfigMap/diamond-discovery"], False),  # workloads gone; the mount source goes last
        ([], False),
        ([], True),
    ]


def test_finalize_with_invalid_spec_deletes_everything():
    group = _group()
    observed = observe(sync(request(group)).children)
    result = _finalize(_cycle(group), observed)
    assert result.children == [] and result.finalized is False
    assert _finalize(_cycle(group), {key: {} for key in c.CHILD_TYPES}).finalized is True


def test_finalize_never_creates_a_missing_dependency():
    group = example_group(DIAMOND)
    current = sync(request(group)).children
    for _ in range(3):
        current = sync(request(group, observe(current))).children
    without_store = [ch for ch in current if ch["metadata"]["name"] != "diamond-store"]
    result = _finalize(group, observe(without_store))
    assert not [n for n in _names(result) if n.endswith("diamond-store")]


def test_a_partitioned_rollout_says_how_many_pods_are_updated():
    group = _group()
    observed = observe(sync(request(group)).children)
    observed[c.CHILD_STATEFULSET]["default/minimal-db"]["status"].update(readyReplicas=1, updatedReplicas=0)
    ready = condition(sync(request(group, observed)).status, c.COND_READY)
    assert ready["message"] == "roles not ready: db (1/1 ready, 0/1 updated), app (not created)"


def test_a_role_whose_workload_this_answer_changes_is_not_ready():
    """Its old status says nothing of the new spec: a set must not take the group for Ready."""
    group = _group()
    children = observe(sync(request(group)).children)
    children = observe(sync(request(group, children)).children)  # both roles up, every pod ready
    assert condition(sync(request(group, children)).status, c.COND_READY)["status"] == "True"
    group["spec"]["roles"][0]["template"]["spec"]["containers"][0]["image"] = "postgres:18"
    ready = condition(sync(request(group, children)).status, c.COND_READY)
    assert ready["status"] == "False" and "db" in ready["message"]
