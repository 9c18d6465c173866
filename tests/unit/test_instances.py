"""RoleInstance (its pods) and RoleInstanceSet (its instances): the cores as tables and properties."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hooks import constants as c
from hooks.api import InstanceSetSyncRequest, InstanceSyncRequest, RoleInstanceSetSpec
from hooks.core import instance, ris
from tests.support import requests as rq
from tests.support.examples import UPSTREAM_EXAMPLES

Obj = dict[str, Any]
NS = "ns"


def container(image: str = "engine:1", **extra: Any) -> Obj:
    return {"name": "main", "image": image, **extra}


def component(name: str, size: int | None = 1, image: str = "engine:1", **extra: Any) -> Obj:
    out: Obj = {"name": name, "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [container(image)]}}, **extra}
    if size is not None:
        out["size"] = size
    return out


def rins(components: list[Obj], *, labels: Obj | None = None, annotations: Obj | None = None, status: Obj | None = None, **spec: Any) -> Obj:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND_ROLE_INSTANCE,
        "metadata": {"name": "g-r-0", "namespace": NS, "generation": 1, "uid": "u", "labels": labels or {}, "annotations": annotations or {}, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"components": components, **spec},
        "status": status,
    }


def sync_instance(parent: Obj, pods: list[Obj] | None = None) -> instance.Result:
    req = {"controller": {}, "parent": parent, "children": {c.CHILD_POD: {f"{NS}/{p['metadata']['name']}": p for p in pods or []}}}
    return instance.sync(InstanceSyncRequest.model_validate(req))


def observed(pod: Obj, *, ready: bool = True, phase: str = "Running", restarts: int = 0, uid: str | None = None, **meta: Any) -> Obj:
    """A pod as the API server returns it after Metacontroller created it from `pod`."""
    out = copy.deepcopy(pod)
    out["metadata"] = {**out["metadata"], "uid": uid or f"uid-{pod['metadata']['name']}", **meta}
    out["metadata"].setdefault("annotations", {})[c.ANNOTATION_LAST_APPLIED] = json.dumps(pod)
    out["spec"] = {**out["spec"], "nodeName": "n1"}
    out["status"] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [{"name": "main", "restartCount": restarts}],
    }
    return out


def names(result: instance.Result) -> list[str]:
    return [p["metadata"]["name"] for p in result.children]


def cond(status: Obj, type_: str) -> Obj:
    return next(x for x in status["conditions"] if x["type"] == type_)


# --- RoleInstance ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role_type, comps, want",
    [
        pytest.param(None, [component("leader"), component("worker", 2)], ["g-r-0-leader-0", "g-r-0-worker-0", "g-r-0-worker-1"], id="components"),
        pytest.param("LeaderWorkerSet", [component("leader"), component("worker", 2)], ["g-r-0-0", "g-r-0-1", "g-r-0-2"], id="leader-worker"),
        pytest.param("PodTemplate", [component("r")], ["g-r-0"], id="standalone"),
        pytest.param(None, [component("a", None), component("b", 0)], ["g-r-0-a-0"], id="size-unset-is-1-and-0-is-none"),
    ],
)
def test_pod_names_as_upstream(role_type, comps, want):
    labels = {c.LABEL_ROLE_TYPE: role_type} if role_type else {}
    assert names(sync_instance(rins(comps, labels=labels))) == want


def test_pods_carry_identity_labels_and_a_stable_dns_name():
    comps = [component("leader", serviceName="svc", labels={"tier": "l"}, annotations={"a": "b"})]
    pod = sync_instance(rins(comps, labels={c.LABEL_ROLE_INSTANCE_INDEX: "0", "other": "no"})).children[0]
    labels = pod["metadata"]["labels"]
    assert labels[c.LABEL_ROLE_INSTANCE_NAME] == "g-r-0" and labels[c.LABEL_ROLE_INSTANCE_INDEX] == "0"
    assert labels[c.LABEL_COMPONENT_NAME] == "leader" and labels[c.LABEL_COMPONENT_ID] == "0"
    assert labels["tier"] == "l" and labels["app"] == "x" and "other" not in labels
    assert pod["metadata"]["annotations"] == {"a": "b"}
    assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("g-r-0-leader-0", "svc")


def test_ready_once_every_pod_is_ready_at_the_current_template():
    parent = rins([component("a"), component("b", 2)])
    built = sync_instance(parent).children
    assert cond(sync_instance(parent).status, c.COND_ROLE_INSTANCE_READY)["status"] == "False"
    some = sync_instance(parent, [observed(built[0]), observed(built[1]), observed(built[2], ready=False)])
    assert cond(some.status, c.COND_ROLE_INSTANCE_READY)["status"] == "False"
    assert [s["readyReplicas"] for s in some.status["componentStatuses"]] == [1, 1]
    every = sync_instance(parent, [observed(p) for p in built])
    assert cond(every.status, c.COND_ROLE_INSTANCE_READY)["status"] == "True"
    assert every.children == built  # steady state: the same pods, no write


def test_an_image_change_updates_the_live_pods_and_a_spec_change_recreates_them():
    old = sync_instance(rins([component("a")])).children
    pods = [observed(p, restarts=2) for p in old]
    new_image = sync_instance(rins([component("a", image="engine:2")]), pods)
    assert names(new_image) == ["g-r-0-a-0"] and new_image.children[0]["spec"]["containers"][0]["image"] == "engine:2"
    assert new_image.status["inPlaceUpdateContainerBaselines"] == {"g-r-0-a-0": {"main": {"restartCount": 3}}}
    other = component("a")
    other["template"]["spec"]["containers"][0]["args"] = ["--x"]
    assert names(sync_instance(rins([other]), pods)) == []  # left out: deleted, created again once gone


def test_in_place_only_keeps_the_old_pod_and_says_why():
    old = sync_instance(rins([component("a")])).children
    other = component("a")
    other["template"]["spec"]["containers"][0]["args"] = ["--x"]
    result = sync_instance(rins([other], annotations={c.ANNOTATION_UPDATE_TYPE: "InPlaceOnly"}), [observed(p) for p in old])
    assert result.children == old
    failed = cond(result.status, c.COND_FAILED_UPDATE)
    assert failed["status"] == "True" and "g-r-0-a-0" in failed["message"]


def test_the_in_place_restart_is_not_a_failure_but_a_further_one_recreates_the_instance():
    parent = rins([component("a"), component("b")], restartPolicy=c.RESTART_RECREATE_ROLE)
    old = sync_instance(parent).children
    updated_parent = rins([component("a", image="engine:2"), component("b")], restartPolicy=c.RESTART_RECREATE_ROLE)
    first = sync_instance(updated_parent, [observed(p) for p in old])
    after = [observed(p, restarts=1 if p["metadata"]["name"] == "g-r-0-a-0" else 0) for p in first.children]
    parent2 = {**updated_parent, "status": first.status}
    steady = sync_instance(parent2, after)
    assert names(steady) == ["g-r-0-a-0", "g-r-0-b-0"] and "lastFailure" not in steady.status
    crashed = [observed(p, restarts=2 if p["metadata"]["name"] == "g-r-0-a-0" else 0) for p in first.children]
    recreated = through_stamp(parent2, crashed)
    assert names(recreated) == []  # every pod of the instance goes
    assert recreated.status["restarts"] == 1 and recreated.status["lastFailure"]["pod"] == "g-r-0-a-0"
    assert cond(recreated.status, c.COND_RESTARTING)["status"] == "True"
    # The same failure seen again (the pod not yet gone) is not counted twice.
    again = through_stamp({**parent2, "status": recreated.status}, crashed)
    assert again.status["restarts"] == 1 and names(again) == []


def test_a_stale_status_after_a_recreation_loses_nothing():
    """Metacontroller may sync with a parent older than its own last status write: the record the
    pods carry is the instance's memory then, and their replacements carry it on."""
    parent = rins([component("a")], restartPolicy=c.RESTART_RECREATE_ROLE)
    built = sync_instance(parent).children
    gone = through_stamp(parent, [observed(built[0], restarts=1, uid="p1")])
    fresh = sync_instance({**parent, "status": gone.status})  # the pods gone: created again
    record = fresh.children[0]["metadata"]["annotations"][c.ANNOTATION_RECOVERY_RECORD]
    assert json.loads(record)["restarts"] == 1
    stale = sync_instance(parent, [observed(p, uid="p2") for p in fresh.children])  # parent as before the first recreation
    assert stale.status["restarts"] == 1 and stale.status["lastFailure"]["uid"] == "p1" and names(stale) == ["g-r-0-a-0"]


def test_an_ignored_component_never_triggers_a_recreation():
    ignored = component("monitor", annotations={c.ANNOTATION_RESTART_TRIGGER_POLICY: c.RESTART_TRIGGER_IGNORE})
    parent = rins([component("a"), ignored], restartPolicy=c.RESTART_RECREATE_ROLE)
    built = sync_instance(parent).children
    pods = [observed(p, restarts=5 if "monitor" in p["metadata"]["name"] else 0) for p in built]
    result = sync_instance(parent, pods)
    assert names(result) == ["g-r-0-a-0", "g-r-0-monitor-0"] and "lastFailure" not in result.status


def test_a_failed_pod_alone_is_replaced_without_recreate_policy():
    parent = rins([component("a", 2)])
    built = sync_instance(parent).children
    pods = [observed(built[0], phase="Failed", ready=False), observed(built[1])]
    assert names(sync_instance(parent, pods)) == ["g-r-0-a-1"]  # deleted first (upstream #342)
    gone = sync_instance(parent, [pods[1]])
    assert names(gone) == ["g-r-0-a-0", "g-r-0-a-1"]  # then created again


def test_a_terminating_pod_is_created_again_only_once_gone():
    parent = rins([component("a")])
    built = sync_instance(parent).children
    assert names(sync_instance(parent, [observed(built[0], deletionTimestamp="2026-01-01T00:00:05Z")])) == []


def test_start_after_waits_for_its_components():
    router = component("router", annotations={c.ANNOTATION_COMPONENT_DEPENDS_ON: json.dumps({"startAfter": ["leader"]})})
    parent = rins([component("leader"), router])
    assert names(sync_instance(parent)) == ["g-r-0-leader-0"]
    leader = sync_instance(parent).children[0]
    assert names(sync_instance(parent, [observed(leader, ready=False)])) == ["g-r-0-leader-0"]
    assert names(sync_instance(parent, [observed(leader)])) == ["g-r-0-leader-0", "g-r-0-router-0"]


def test_a_start_after_cycle_falls_back_to_parallel():
    a = component("a", annotations={c.ANNOTATION_COMPONENT_DEPENDS_ON: json.dumps({"startAfter": ["b"]})})
    b = component("b", annotations={c.ANNOTATION_COMPONENT_DEPENDS_ON: json.dumps({"startAfter": ["a"]})})
    assert names(sync_instance(rins([a, b]))) == ["g-r-0-a-0", "g-r-0-b-0"]


def test_an_invalid_instance_keeps_its_pods_and_says_why():
    built = sync_instance(rins([component("a")])).children
    bad = rins([component("a")])
    bad["spec"]["readyPolicy"] = "Sometimes"
    result = sync_instance(bad, [observed(p) for p in built])
    assert result.children == built
    assert cond(result.status, c.COND_INVALID_SPEC)["status"] == "True"


def test_same_request_same_bytes():
    parent = rins([component("a", 2), component("b")], restartPolicy=c.RESTART_RECREATE_ROLE)
    built = sync_instance(parent).children
    pods = [observed(p) for p in built]
    first, second = sync_instance(parent, pods), sync_instance(parent, pods)
    assert json.dumps(first.response(), sort_keys=False) == json.dumps(second.response(), sort_keys=False)


# --- RoleInstanceSet ---------------------------------------------------------------------------


def set_parent(replicas: int = 3, image: str = "engine:1", **spec: Any) -> Obj:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND_ROLE_INSTANCE_SET,
        "metadata": {"name": "g-r", "namespace": NS, "generation": 1, "uid": "s", "labels": {c.LABEL_ROLE_TYPE: "Components"}, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"replicas": replicas, "roleInstanceTemplate": {"components": [component("a", image=image)]}, **spec},
    }


def sync_set(parent: Obj, instances: list[Obj] | None = None, revisions: list[Obj] | None = None) -> ris.Result:
    """The set's sync; its result's children are its instances (its ControllerRevisions: `.revisions`)."""
    children = {
        c.CHILD_ROLE_INSTANCE: {f"{NS}/{i['metadata']['name']}": i for i in instances or []},
        c.CHILD_CONTROLLER_REVISION: {f"{NS}/{r['metadata']['name']}": r for r in revisions or []},
    }
    result = ris.sync(InstanceSetSyncRequest.model_validate({"controller": {}, "parent": parent, "children": children}))
    return SetResult(result.status, [ch for ch in result.children if ch["kind"] == c.KIND_ROLE_INSTANCE], [ch for ch in result.children if ch["kind"] != c.KIND_ROLE_INSTANCE])


@dataclass(frozen=True)
class SetResult:
    status: Obj
    children: list[Obj]
    revisions: list[Obj]


def observed_instance(obj: Obj, ready: bool = True, **meta: Any) -> Obj:
    out = copy.deepcopy(obj)
    out["metadata"] = {**out["metadata"], "generation": 1, **meta}
    out["metadata"].setdefault("annotations", {})[c.ANNOTATION_LAST_APPLIED] = json.dumps(obj)
    out["status"] = {"observedGeneration": 1, "conditions": [{"type": c.COND_ROLE_INSTANCE_READY, "status": "True" if ready else "False"}]}
    return out


def set_names(result: ris.Result) -> list[str]:
    return [i["metadata"]["name"] for i in result.children]


def test_a_set_creates_its_instances_with_the_template():
    result = sync_set(set_parent())
    assert set_names(result) == ["g-r-0", "g-r-1", "g-r-2"]
    inst = result.children[1]
    assert inst["spec"]["components"][0]["name"] == "a"
    assert inst["metadata"]["labels"][c.LABEL_ROLE_INSTANCE_INDEX] == "1" and inst["metadata"]["labels"][c.LABEL_ROLE_TYPE] == "Components"
    assert result.status["replicas"] == 0 and result.status["labelSelector"] == f"{c.LABEL_ROLE_INSTANCE_OWNER}=g-r"


def test_ordered_ready_creates_one_at_a_time():
    parent = set_parent(podManagementPolicy="OrderedReady")
    first = sync_set(parent)
    assert set_names(first) == ["g-r-0"]
    assert set_names(sync_set(parent, [observed_instance(first.children[0], ready=False)])) == ["g-r-0"]
    assert set_names(sync_set(parent, [observed_instance(first.children[0])])) == ["g-r-0", "g-r-1"]


def test_scale_down_removes_named_instances_first_then_the_highest():
    built = sync_set(set_parent(4)).children
    obs = [observed_instance(i) for i in built]
    assert set_names(sync_set(set_parent(2), obs)) == ["g-r-0", "g-r-1"]
    named = set_parent(2, scaleStrategy={"roleInstanceToDelete": ["g-r-1"]})
    assert set_names(sync_set(named, obs)) == ["g-r-0", "g-r-2"]
    # Scaling up again fills the lowest free index.
    kept = [o for o in obs if o["metadata"]["name"] in ("g-r-0", "g-r-2")]
    assert set_names(sync_set(set_parent(3), kept)) == ["g-r-0", "g-r-1", "g-r-2"]


def test_a_rollout_goes_from_the_highest_index_within_max_unavailable_and_partition():
    obs = [observed_instance(i) for i in sync_set(set_parent(4)).children]
    new = set_parent(4, image="engine:2", updateStrategy={"maxUnavailable": 1, "partition": 1})
    result = sync_set(new, obs)
    images = {i["metadata"]["name"]: i["spec"]["components"][0]["template"]["spec"]["containers"][0]["image"] for i in result.children}
    assert images == {"g-r-0": "engine:1", "g-r-1": "engine:1", "g-r-2": "engine:1", "g-r-3": "engine:2"}
    paused = set_parent(4, image="engine:2", updateStrategy={"paused": True})
    assert all(i["spec"]["components"][0]["template"]["spec"]["containers"][0]["image"] == "engine:1" for i in sync_set(paused, obs).children)


def test_recreate_deletes_the_instance_to_create_it_again():
    obs = [observed_instance(i) for i in sync_set(set_parent(2)).children]
    result = sync_set(set_parent(2, image="engine:2", updateStrategy={"type": "Recreate", "maxUnavailable": 1}), obs)
    assert set_names(result) == ["g-r-0"]


def test_ready_when_every_instance_is_ready_at_the_template():
    built = sync_set(set_parent(2)).children
    result = sync_set(set_parent(2), [observed_instance(i) for i in built])
    assert cond(result.status, c.COND_READY)["status"] == "True"
    assert (result.status["readyReplicas"], result.status["updatedReadyReplicas"]) == (2, 2)
    assert result.children == built


@given(
    replicas=st.integers(0, 6),
    existing=st.sets(st.integers(0, 7), max_size=7),
    ready=st.sets(st.integers(0, 7)),
    outdated=st.sets(st.integers(0, 7)),
    max_unavailable=st.one_of(st.integers(1, 4), st.sampled_from(["10%", "50%", "100%"])),
    partition=st.integers(0, 6),
)
@settings(max_examples=300, deadline=None)
def test_plan_properties(replicas, existing, ready, outdated, max_unavailable, partition):
    """Never more than maxUnavailable instances down for an update (an already-down one aside),
    never an index below the partition updated, and every outdated ready one in reach is updated
    or waiting on the budget."""
    spec = RoleInstanceSetSpec.model_validate(
        {"replicas": replicas, "roleInstanceTemplate": {"components": [component("a")]}, "updateStrategy": {"maxUnavailable": max_unavailable, "partition": partition}}
    )
    alive = {
        i: {
            "metadata": {"name": f"g-r-{i}", "generation": 1, "labels": {c.LABEL_CONTROLLER_REVISION_HASH: "old" if i in outdated else "new"}},
            "status": {"observedGeneration": 1, "conditions": [{"type": c.COND_ROLE_INSTANCE_READY, "status": "True" if i in ready else "False"}]},
        }
        for i in existing
    }
    p = ris.plan(spec, "g-r", alive, set(), "new")
    kept = set(p.keep) | set(p.update)
    assert len(kept) + len(p.create) == replicas or len(kept) == min(len(existing), replicas)
    assert all(i >= partition for i in p.update)
    taken_down = [i for i in p.update if i in ready]
    budget = max(ris._count(max_unavailable, replicas, "10%", round_up=False), 1)
    assert len(taken_down) <= max(budget, 0)


# --- A group's RoleInstanceSet roles -----------------------------------------------------------

CUSTOM = UPSTREAM_EXAMPLES.parent.parent / "rbg-v0.7.0" / "examples" / "basic" / "rbg" / "patterns" / "custom-components-pattern.yaml"


def _group(path) -> Obj:
    doc = next(d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == c.KIND_RBG)
    doc["metadata"] |= {"namespace": "default", "uid": "g", "generation": 1, "creationTimestamp": "2026-01-01T00:00:00Z"}
    return doc


def _by_kind(result, kind):
    return [ch for ch in result.children if ch["kind"] == kind]


def test_a_custom_components_role_runs_on_a_role_instance_set_down_to_its_pods():
    group = _group(CUSTOM)
    result = rq.sync(rq.request(group, types=[c.CHILD_ROLE_INSTANCE_SET]))
    sets = _by_kind(result, c.KIND_ROLE_INSTANCE_SET)
    assert [s["metadata"]["name"] for s in sets] == ["custom-components-demo-engine"]
    assert [s["metadata"]["name"] for s in _by_kind(result, "Service")] == ["s-custom-components-demo-engine"]
    assert cond(result.status, c.COND_ROLE_INSTANCE_SETS)["status"] == "True"
    ris_obj = {**sets[0], "metadata": {**sets[0]["metadata"], "namespace": "default", "generation": 1, "uid": "s", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    spec = ris_obj["spec"]
    assert spec["replicas"] == 3 and spec["updateStrategy"]["type"] == "InPlaceIfPossible"
    assert spec["roleInstanceTemplate"]["restartPolicy"] == c.RESTART_RECREATE_ROLE
    assert [(x["name"], x["size"], x["serviceName"]) for x in spec["roleInstanceTemplate"]["components"]] == [
        ("custom-component-1", 1, "s-custom-components-demo-engine"),
        ("custom-component-2", 2, "s-custom-components-demo-engine"),
        ("monitoring-sidecar", 1, "s-custom-components-demo-engine"),
    ]
    instances = sync_set(ris_obj).children
    assert [i["metadata"]["name"] for i in instances] == [f"custom-components-demo-engine-{i}" for i in range(3)]
    inst = {**instances[0], "metadata": {**instances[0]["metadata"], "generation": 1, "uid": "i", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    pods = sync_instance(inst).children
    assert [p["metadata"]["name"] for p in pods] == [
        "custom-components-demo-engine-0-custom-component-1-0",
        "custom-components-demo-engine-0-custom-component-2-0",
        "custom-components-demo-engine-0-custom-component-2-1",
        "custom-components-demo-engine-0-monitoring-sidecar-0",
    ]
    pod = pods[1]
    labels = pod["metadata"]["labels"]
    assert labels[c.LABEL_GROUP_NAME] == "custom-components-demo" and labels[c.LABEL_ROLE_NAME] == "engine"
    assert labels[c.LABEL_ROLE_INSTANCE_INDEX] == "0" and labels[c.LABEL_COMPONENT_SIZE] == "2"
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env["RBG_ROLE_INSTANCE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.labels['{c.LABEL_ROLE_INSTANCE_NAME}']"
    assert env["ROLE_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.labels['{c.LABEL_ROLE_INSTANCE_INDEX}']"
    assert pod["spec"]["subdomain"] == "s-custom-components-demo-engine"


def test_without_the_registration_a_role_instance_set_role_waits_and_says_so():
    result = rq.sync(rq.request(_group(CUSTOM)))
    assert _by_kind(result, c.KIND_ROLE_INSTANCE_SET) == []
    reason = cond(result.status, c.COND_ROLE_INSTANCE_SETS)
    assert reason["status"] == "False" and reason["reason"] == c.REASON_ROLE_INSTANCE_SETS_UNAVAILABLE
    assert "overlays/without-pod-controllers" in reason["message"] and "metacontroller/" in reason["message"]


LEADER_WORKER = CUSTOM.parent / "leader-worker-pattern.yaml"


def test_a_leader_worker_role_runs_on_a_role_instance_set_without_the_lws_controller():
    group = _group(LEADER_WORKER)
    result = rq.sync(rq.request(group, types=[c.CHILD_ROLE_INSTANCE_SET]))
    sets = _by_kind(result, c.KIND_ROLE_INSTANCE_SET)
    assert len(sets) == 1 and _by_kind(result, c.KIND_LWS) == []
    comps = sets[0]["spec"]["roleInstanceTemplate"]["components"]
    size = group["spec"]["roles"][0]["leaderWorkerPattern"]["size"]
    assert [(x["name"], x["size"]) for x in comps] == [("leader", 1), ("worker", size - 1)]
    assert sets[0]["metadata"]["labels"][c.LABEL_ROLE_TYPE] == c.ROLE_TYPE_LWS
    assert c.ANNOTATION_ROLE_WORKLOAD_TYPE not in (sets[0]["metadata"].get("annotations") or {})
    env = {e["name"]: e for e in comps[1]["template"]["spec"]["containers"][0]["env"]}
    assert env["RBG_LWP_LEADER_ADDRESS"]["value"] == f"$(RBG_ROLE_INSTANCE_NAME)-0.{sets[0]['spec']['roleInstanceTemplate']['components'][0]['serviceName']}.default"


def test_a_leader_worker_role_keeps_the_kind_it_was_created_as():
    group = _group(LEADER_WORKER)
    both = [c.CHILD_ROLE_INSTANCE_SET, c.CHILD_LWS]
    assert len(_by_kind(rq.sync(rq.request(group, types=both)), c.KIND_LWS)) == 1  # the LWS controller is there: LWS
    on_ris = rq.sync(rq.request(group, types=[c.CHILD_ROLE_INSTANCE_SET]))
    observed_children = rq.observe(on_ris.children, types=both)  # the LWS controller installed since
    again = rq.sync(rq.request(group, children=observed_children))
    assert len(_by_kind(again, c.KIND_ROLE_INSTANCE_SET)) == 1 and _by_kind(again, c.KIND_LWS) == []


def test_discovery_lists_a_role_instance_set_roles_leaders_and_workers():
    group = _group(LEADER_WORKER)
    result = rq.sync(rq.request(group, types=[c.CHILD_ROLE_INSTANCE_SET]))
    doc = yaml.safe_load(_by_kind(result, "ConfigMap")[0]["data"]["config.yaml"])
    role = group["spec"]["roles"][0]
    name, svc = f"{group['metadata']['name']}-{role['name']}", _by_kind(result, "Service")[0]["metadata"]["name"]
    first = doc["roles"][role["name"]]["instances"][0]
    assert first["address"] == f"{name}-0-0.{svc}"
    assert first["workers"] == [f"{name}-0-{j}.{svc}" for j in range(1, role["leaderWorkerPattern"]["size"])]
    custom = rq.sync(rq.request(_group(CUSTOM), types=[c.CHILD_ROLE_INSTANCE_SET]))
    assert yaml.safe_load(_by_kind(custom, "ConfigMap")[0]["data"]["config.yaml"])["roles"]["engine"]["instances"] == []


V06 = UPSTREAM_EXAMPLES / "instanceset"


@pytest.mark.parametrize(
    "name, role_type, components",
    [
        ("instanceset-with-components.yaml", c.ROLE_TYPE_COMPONENTS, [("component-1", 1), ("component-2", 2), ("component-3", 3)]),
        ("instanceset-with-lws.yaml", c.ROLE_TYPE_LWS, [("leader", 1), ("worker", 2)]),
        ("instanceset-with-template.yaml", c.ROLE_TYPE_POD, [("engine", 1)]),
    ],
)
def test_upstream_v06_instance_set_roles_convert_to_role_instance_sets(name, role_type, components):
    """v1alpha1 `workload: workloads.x-k8s.io/v1alpha1/InstanceSet` (with `components`, a
    leaderWorkerSet or a template) runs as the same RoleInstanceSet a v1alpha2 role gets."""
    result = rq.sync(rq.request(_group(V06 / name), types=[c.CHILD_ROLE_INSTANCE_SET]))
    (ris_obj,) = _by_kind(result, c.KIND_ROLE_INSTANCE_SET)
    assert ris_obj["metadata"]["labels"][c.LABEL_ROLE_TYPE] == role_type
    assert [(x["name"], x["size"]) for x in ris_obj["spec"]["roleInstanceTemplate"]["components"]] == components
    assert cond(result.status, c.COND_INVALID_SPEC)["status"] == "False"


def _job(name: str, fired: bool) -> Obj:
    conds = [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}] if fired else []
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS, "creationTimestamp": "2026-01-01T00:10:00Z"}, "status": {"conditions": conds}}


def sync_with_jobs(parent: Obj, pods: list[Obj], jobs: list[Obj]) -> instance.Result:
    req = {
        "controller": {},
        "parent": parent,
        "children": {c.CHILD_POD: {f"{NS}/{p['metadata']['name']}": p for p in pods}, c.CHILD_JOB: {f"{NS}/{j['metadata']['name']}": j for j in jobs}},
    }
    return instance.sync(InstanceSyncRequest.model_validate(req))


def through_stamp(parent: Obj, pods: list[Obj], jobs: list[Obj] | None = None) -> instance.Result:
    """A recreation's two syncs: its record stamped on every pod, then, every pod carrying it,
    every pod left out. The second reads the parent as the first did (a stale status)."""
    stamping = sync_with_jobs(parent, pods, jobs or [])
    records = {p["metadata"]["name"]: p["metadata"]["annotations"][c.ANNOTATION_RECOVERY_RECORD] for p in stamping.children if p["kind"] == c.KIND_POD}
    assert sorted(records) == sorted(p["metadata"]["name"] for p in pods), "nothing deleted before the record is on every pod"
    stamped = copy.deepcopy(pods)
    for pod in stamped:
        pod["metadata"]["annotations"][c.ANNOTATION_RECOVERY_RECORD] = records[pod["metadata"]["name"]]
    return sync_with_jobs(parent, stamped, jobs or [])


def test_a_second_failure_in_a_row_waits_its_backoff_timed_by_a_job():
    annotations = {c.ANNOTATION_RESTART_BASE_DELAY: "20", c.ANNOTATION_RESTART_MAX_DELAY: "300"}
    parent = rins([component("a")], annotations=annotations, restartPolicy=c.RESTART_RECREATE_ROLE)
    built = sync_instance(parent).children
    first = through_stamp(parent, [observed(built[0], restarts=1, uid="p1")])
    assert names(first) == [] and first.status["streak"] == 1 and first.status["restarts"] == 1  # at once
    again = {**parent, "status": first.status}
    recreated = [observed(built[0], restarts=1, uid="p2", creationTimestamp="2026-01-01T00:01:00Z")]
    waiting = sync_with_jobs(again, recreated, [])
    assert names(waiting) == ["g-r-0-a-0", "g-r-0-backoff-2"]  # the pod stays, a 20 s timer
    (timer,) = [ch for ch in waiting.children if ch["kind"] == "Job"]
    assert timer["spec"]["activeDeadlineSeconds"] == 20 and timer["spec"]["parallelism"] == 0
    assert cond(waiting.status, c.COND_RESTARTING)["reason"] == c.REASON_BACKING_OFF and waiting.status["restarts"] == 1
    later = {**parent, "status": waiting.status}  # the timer's own writes come later: the series stays as decided
    assert names(sync_with_jobs(later, recreated, [_job("g-r-0-backoff-2", fired=False)])) == ["g-r-0-a-0", "g-r-0-backoff-2"]
    fired = through_stamp(later, recreated, [_job("g-r-0-backoff-2", fired=True)])
    assert names(fired) == [] and (fired.status["restarts"], fired.status["streak"]) == (2, 2)  # the timer goes too
    assert "backoff" not in fired.status


def test_a_failure_long_after_the_last_recreation_starts_a_new_series():
    parent = rins([component("a")], annotations={c.ANNOTATION_RESTART_MAX_DELAY: "60"}, restartPolicy=c.RESTART_RECREATE_ROLE,
                  status={"restarts": 3, "streak": 3, "lastRecreationTime": "2026-01-01T00:00:00Z", "lastFailure": {"pod": "x", "uid": "old", "reason": "Error", "time": "2026-01-01T00:00:00Z"}})
    built = sync_instance(parent).children
    late = observed(built[0], restarts=1, uid="new", creationTimestamp="2026-01-01T01:00:00Z")
    result = through_stamp(parent, [late])
    assert names(result) == [] and (result.status["restarts"], result.status["streak"]) == (4, 1)


def test_the_group_passes_its_backoff_to_the_instances():
    group = _group(CUSTOM)
    group["spec"]["recoveryPolicy"] = {"backoffSeconds": 7, "maxBackoffSeconds": 70}
    (ris_obj,) = _by_kind(rq.sync(rq.request(group, types=[c.CHILD_ROLE_INSTANCE_SET])), c.KIND_ROLE_INSTANCE_SET)
    assert {k: ris_obj["metadata"]["annotations"][k] for k in (c.ANNOTATION_RESTART_BASE_DELAY, c.ANNOTATION_RESTART_MAX_DELAY)} == {
        c.ANNOTATION_RESTART_BASE_DELAY: "7", c.ANNOTATION_RESTART_MAX_DELAY: "70"}
    ris_obj["metadata"] |= {"namespace": NS, "generation": 1, "uid": "s", "creationTimestamp": "2026-01-01T00:00:00Z"}
    inst = sync_set(ris_obj).children[0]
    assert inst["metadata"]["annotations"][c.ANNOTATION_RESTART_BASE_DELAY] == "7"


def test_an_update_during_an_update_never_stalls_on_instances_not_yet_ready():
    """Upstream #464: a second template change while instances of the first are NotReady. Those
    instances take the newest template at once (they are unavailable already), so the budget
    spent on them never holds the rollout."""
    obs = [observed_instance(i) for i in sync_set(set_parent(4)).children]
    first = sync_set(set_parent(4, image="engine:2", updateStrategy={"maxUnavailable": 1}), obs)
    rolled = {i["metadata"]["name"]: i for i in first.children}
    assert rolled["g-r-3"]["spec"]["components"][0]["template"]["spec"]["containers"][0]["image"] == "engine:2"
    mid = [observed_instance(rolled[o["metadata"]["name"]], ready=o["metadata"]["name"] != "g-r-3") for o in obs]  # g-r-3 NotReady at engine:2
    second = sync_set(set_parent(4, image="engine:3", updateStrategy={"maxUnavailable": 1}), mid)
    images = {i["metadata"]["name"]: i["spec"]["components"][0]["template"]["spec"]["containers"][0]["image"] for i in second.children}
    assert images == {"g-r-0": "engine:1", "g-r-1": "engine:1", "g-r-2": "engine:1", "g-r-3": "engine:3"}


@given(
    replicas=st.integers(1, 6),
    max_unavailable=st.integers(1, 3),
    steps=st.lists(st.tuples(st.sampled_from(["change", "fail", "tick", "tick", "tick"]), st.integers(0, 5)), max_size=25),
)
@settings(max_examples=200, deadline=None)
def test_rollout_sequences_keep_within_max_unavailable_and_finish(replicas, max_unavailable, steps):
    """A random sequence of template changes, instance failures and controller delays (an updated
    instance is Ready only a step later): the set never takes a Ready instance down beyond
    maxUnavailable, and once changes and failures stop it reaches every instance at the last
    template, Ready, within a bounded number of syncs."""
    spec = lambda rev: RoleInstanceSetSpec.model_validate(  # noqa: E731
        {"replicas": replicas, "roleInstanceTemplate": {"components": [component("a", image=f"engine:{rev}")]}, "updateStrategy": {"maxUnavailable": max_unavailable}}
    )
    rev, revision = 0, {}  # instance index -> revision it runs
    ready: dict[int, bool] = {}
    for i in range(replicas):
        revision[i], ready[i] = "r0", True

    def sync_once():
        alive = {
            i: {"metadata": {"name": f"g-r-{i}", "generation": 1, "labels": {c.LABEL_CONTROLLER_REVISION_HASH: revision[i]}},
                "status": {"observedGeneration": 1, "conditions": [{"type": c.COND_ROLE_INSTANCE_READY, "status": "True" if ready[i] else "False"}]}}
            for i in revision
        }
        p = ris.plan(spec(rev), "g-r", alive, set(), f"r{rev}")
        down_before = sum(1 for i in revision if not ready[i])
        taken = [i for i in p.update if ready[i]]
        assert down_before + len(taken) <= max(max_unavailable, down_before)
        for i in p.update:
            revision[i], ready[i] = f"r{rev}", False  # updating: not ready until a later tick

    for op, which in steps:
        if op == "change":
            rev += 1
        elif op == "fail":
            ready[which % replicas] = False
        sync_once()
        for i in revision:  # a tick: updated instances come up
            if revision[i] == f"r{rev}":
                ready[i] = True
    for _ in range(2 * replicas + 2):
        sync_once()
        for i in revision:
            ready[i] = True
    assert all(revision[i] == f"r{rev}" and ready[i] for i in revision)


@pytest.mark.parametrize("selection, leaders_only", [(None, False), ("All", False), ("LeaderOnly", True)])
def test_shared_service_selection_leader_only_selects_the_leaders(selection, leaders_only):
    group = _group(LEADER_WORKER)
    if selection:
        group["spec"]["roles"][0]["leaderWorkerPattern"]["sharedServiceSelection"] = selection
    result = rq.sync(rq.request(group, types=[c.CHILD_ROLE_INSTANCE_SET]))
    (svc,) = [s for s in _by_kind(result, "Service") if s["metadata"]["name"].endswith(group["spec"]["roles"][0]["name"])]
    assert (svc["spec"]["selector"].get(c.LABEL_COMPONENT_NAME) == "leader") is leaders_only


def test_pre_delete_holds_an_instance_until_its_handler_label_is_removed():
    hook = {"lifecycle": {"preDelete": {"labelsHandler": {"example.com/hold": "true"}}}}
    built = sync_set(set_parent(2, **hook)).children
    assert all(i["metadata"]["labels"]["example.com/hold"] == "true" for i in built)  # created with the handler label
    obs = [observed_instance(i) for i in built]
    shrunk = sync_set(set_parent(1, **hook), obs)
    held = {i["metadata"]["name"]: i["metadata"]["labels"] for i in shrunk.children}
    assert held["g-r-1"][c.LABEL_LIFECYCLE_STATE] == c.LIFECYCLE_PREPARING_DELETE and c.LABEL_LIFECYCLE_STATE not in held["g-r-0"]
    assert shrunk.status["replicas"] == 1
    released = copy.deepcopy(obs)
    del released[1]["metadata"]["labels"]["example.com/hold"]  # your controller is done with it
    after = sync_set(set_parent(1, **hook), released)
    assert set_names(after) == ["g-r-0"]
    # The label it removed from a kept instance is not put back.
    kept = copy.deepcopy(obs)
    del kept[0]["metadata"]["labels"]["example.com/hold"]
    assert "example.com/hold" not in sync_set(set_parent(2, **hook), kept).children[0]["metadata"]["labels"]


def test_max_surge_adds_new_instances_above_replicas_during_a_rollout_then_removes_them():
    obs = [observed_instance(i) for i in sync_set(set_parent(2)).children]
    strategy = {"updateStrategy": {"maxSurge": 1, "maxUnavailable": 0}}
    first = sync_set(set_parent(2, image="engine:2", **strategy), obs)
    assert set_names(first) == ["g-r-0", "g-r-1", "g-r-2"]  # the surge instance, nothing taken down yet
    images = lambda r: {i["metadata"]["name"]: i["spec"]["components"][0]["template"]["spec"]["containers"][0]["image"] for i in r.children}  # noqa: E731
    assert images(first) == {"g-r-0": "engine:1", "g-r-1": "engine:1", "g-r-2": "engine:2"}
    surge_ready = obs + [observed_instance(first.children[2])]
    second = sync_set(set_parent(2, image="engine:2", **strategy), surge_ready)
    assert images(second)["g-r-1"] == "engine:2" and images(second)["g-r-0"] == "engine:1"  # one old goes per Ready surge
    updating = [observed_instance(i, ready=i["metadata"]["name"] != "g-r-0") for i in sync_set(set_parent(2, image="engine:2")).children]
    surge = [observed_instance(first.children[2])]
    # Every instance at the new template, the last not yet Ready: the surge stays (found on a cluster).
    assert set_names(sync_set(set_parent(2, image="engine:2", **strategy), updating + surge)) == ["g-r-0", "g-r-1", "g-r-2"]
    done = [observed_instance(i) for i in sync_set(set_parent(2, image="engine:2")).children] + surge
    assert set_names(sync_set(set_parent(2, image="engine:2", **strategy), done)) == ["g-r-0", "g-r-1"]  # the surge goes


def test_a_large_max_surge_is_capped_at_replicas():
    obs = [observed_instance(i) for i in sync_set(set_parent(2)).children]
    result = sync_set(set_parent(2, image="engine:2", updateStrategy={"maxSurge": 10, "maxUnavailable": 0}), obs)
    assert set_names(result) == ["g-r-0", "g-r-1", "g-r-2", "g-r-3"]


# --- Component discovery and ports -------------------------------------------------------------

DISCOVERY = CUSTOM.parent / "custom-components-ordered-discovery.yaml"


def _pods_of_instance(group: Obj, index: int) -> dict[str, Obj]:
    sets = _by_kind(rq.sync(rq.request(group, types=[c.CHILD_ROLE_INSTANCE_SET])), c.KIND_ROLE_INSTANCE_SET)
    ris_obj = {**sets[0], "metadata": {**sets[0]["metadata"], "namespace": "default", "generation": 1, "uid": "s", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    inst = sync_set(ris_obj).children[index]
    inst = {**inst, "metadata": {**inst["metadata"], "generation": 1, "uid": "i", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    ready = [observed(p) for p in sync_instance(inst).children]  # router waits for leader and worker: give them Ready
    return {p["metadata"]["name"]: p for p in sync_instance(inst, ready).children}


def _env(pod: Obj) -> dict[str, str]:
    return {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"] if "value" in e}


def test_component_discovery_and_ports_reach_every_pod_as_upstream_documents():
    group = _group(DISCOVERY)
    group["spec"]["roles"][0]["replicas"] = 2
    pods = _pods_of_instance(group, 0)
    prefix, svc = "pd-server-prefill-0", "s-pd-server-prefill"
    leader, w0, w1, router = (_env(pods[f"{prefix}-{n}"]) for n in ("leader-0", "worker-0", "worker-1", "router-0"))
    address = f"{prefix}-leader-0.{svc}.default.svc.cluster.local"
    assert w0["LEADER_ADDR"] == w1["LEADER_ADDR"] == router["LEADER_ADDR"] == address
    assert leader["LEADER_GRPC_PORT"] == w0["LEADER_GRPC_PORT"] == w1["LEADER_GRPC_PORT"] == router["LEADER_GRPC_PORT"]
    assert router["WORKER_0_GRPC_PORT"] == w0["WORKER_GRPC_PORT"] and router["WORKER_1_GRPC_PORT"] == w1["WORKER_GRPC_PORT"]
    assert router["WORKER_1_ADDR"] == f"{prefix}-worker-1.{svc}.default.svc.cluster.local"
    ports = [int(leader["LEADER_GRPC_PORT"]), int(w0["WORKER_GRPC_PORT"]), int(w1["WORKER_GRPC_PORT"])]
    assert len(set(ports)) == 3 and all(30000 <= p < 35000 for p in ports)
    other = _pods_of_instance(group, 1)
    # RoleScoped: the set's, the same in every instance; PodScoped: each pod's own, the same when it is made again.
    assert _env(other["pd-server-prefill-1-leader-0"])["LEADER_GRPC_PORT"] == leader["LEADER_GRPC_PORT"]
    assert _env(_pods_of_instance(group, 0)[f"{prefix}-worker-1"]) == w1


def test_port_annotation_key_and_references():
    allocator = json.dumps({"allocations": [{"name": "http", "env": "HTTP_PORT", "annotationKey": "example.com/port"}]})
    reader = json.dumps({"references": [{"env": "PEER_HTTP", "from": "r.a.http"}]})
    comps = [component("a", 2, annotations={c.ANNOTATION_PORT_ALLOCATOR: allocator}), component("b", annotations={c.ANNOTATION_PORT_ALLOCATOR: reader})]
    pods = {p["metadata"]["name"]: p for p in sync_instance(rins(comps)).children}
    a0, b0 = pods["g-r-0-a-0"], pods["g-r-0-b-0"]
    assert a0["metadata"]["annotations"]["example.com/port"] == _env(a0)["HTTP_PORT"] == _env(b0)["PEER_HTTP"]
    assert _env(pods["g-r-0-a-1"])["HTTP_PORT"] != _env(a0)["HTTP_PORT"]


@pytest.mark.parametrize(
    "annotations, why",
    [
        ({c.ANNOTATION_COMPONENT_DISCOVERY: '{"addressRefs": [{"env": "X", "component": "nope"}]}'}, "'nope' is not a component"),
        ({c.ANNOTATION_COMPONENT_DISCOVERY: '{"addressRefs": [{"env": "X", "component": "a", "index": 5}]}'}, "component a has no pod 5"),
        ({c.ANNOTATION_COMPONENT_DISCOVERY: '{"portRefs": [{"env": "X", "component": "a", "portName": "grpc"}]}'}, "allocates no port 'grpc'"),
        ({c.ANNOTATION_COMPONENT_DISCOVERY: "{not json"}, "is not JSON"),
        ({c.ANNOTATION_PORT_ALLOCATOR: '{"allocations": [{"name": "p"}]}'}, "allocations[0].env is required"),
        ({c.ANNOTATION_PORT_ALLOCATOR: '{"allocations": [{"name": "p", "env": "P", "scope": "Node"}]}'}, "must be PodScoped or RoleScoped"),
    ],
)
def test_an_annotation_that_cannot_be_followed_keeps_the_pods_and_says_why(annotations, why):
    comps = [component("a", serviceName="s"), component("b", annotations=annotations)]
    running = [observed(p) for p in sync_instance(rins([component("a", serviceName="s"), component("b")])).children]
    result = sync_instance(rins(comps), running)
    assert sorted(names(result)) == ["g-r-0-a-0", "g-r-0-b-0"]
    invalid = cond(result.status, c.COND_INVALID_SPEC)
    assert invalid["status"] == "True" and why in invalid["message"], invalid["message"]


def test_a_set_keeps_its_template_history_within_the_limit():
    revisions: list[Obj] = []
    instances: list[Obj] = []
    hashes = []
    for image in ("engine:1", "engine:2", "engine:3", "engine:4"):
        # partition 2: instances 0 and 1 keep the first template, so its revision stays whatever the limit
        parent = set_parent(replicas=3, image=image, revisionHistoryLimit=1, updateStrategy={"partition": 2})
        result = sync_set(parent, instances, revisions)
        if not instances:
            instances = [observed_instance(i) for i in result.children]
        revisions = [{**r, "metadata": {**r["metadata"], "namespace": NS}} for r in result.revisions]
        hashes.append(result.status["updateRevision"])
    kept = {(r["metadata"]["name"], r["revision"]) for r in revisions}
    # engine:4 current (4), engine:3 the one older kept by the limit (3), engine:1 run by instances 0 and 1 (1); engine:2 gone
    assert kept == {(f"g-r-{hashes[3]}", 4), (f"g-r-{hashes[2]}", 3), (f"g-r-{hashes[0]}", 1)}
    current = next(r for r in revisions if r["revision"] == 4)
    assert current["data"]["roleInstanceTemplate"]["components"][0]["template"]["spec"]["containers"][0]["image"] == "engine:4"
    assert current["metadata"]["labels"][c.LABEL_CONTROLLER_REVISION_HASH] == hashes[3]
    again = sync_set(set_parent(replicas=3, image="engine:4", revisionHistoryLimit=1, updateStrategy={"partition": 2}), instances, revisions)
    assert [(r["metadata"]["name"], r["revision"], r["data"]) for r in again.revisions] == [(r["metadata"]["name"], r["revision"], r["data"]) for r in revisions]


def test_pre_delete_finalizers_hold_an_instance_and_mark_it_not_ready():
    hook = {"lifecycle": {"preDelete": {"finalizersHandler": ["example.com/drain"], "markPodNotReady": True}}}
    built = sync_set(set_parent(2, **hook)).children
    assert all(i["metadata"]["finalizers"] == ["example.com/drain"] for i in built)
    assert built[0]["metadata"]["annotations"][c.ANNOTATION_LIFECYCLE_NOT_READY] == c.LIFECYCLE_PREPARING_DELETE
    obs = [observed_instance(i) for i in built]
    held = {i["metadata"]["name"]: i for i in sync_set(set_parent(1, **hook), obs).children}
    assert held["g-r-1"]["metadata"]["labels"][c.LABEL_LIFECYCLE_STATE] == c.LIFECYCLE_PREPARING_DELETE
    # The instance hook, seeing its state, reports not Ready: traffic leaves it before it goes.
    inst = copy.deepcopy(held["g-r-1"])
    inst["metadata"] |= {"generation": 1, "uid": "i", "creationTimestamp": "2026-01-01T00:00:00Z"}
    pods = [observed(p) for p in sync_instance(inst).children]
    ready = cond(sync_instance(inst, pods).status, c.COND_ROLE_INSTANCE_READY)
    assert ready["status"] == "False" and ready["reason"] == c.REASON_LIFECYCLE_HOLD
    obs[1]["metadata"]["finalizers"] = []  # your controller is done
    assert set_names(sync_set(set_parent(1, **hook), obs)) == ["g-r-0"]


def _labels(result: SetResult) -> dict[str, dict[str, str]]:
    return {i["metadata"]["name"]: i["metadata"]["labels"] for i in result.children}


def test_in_place_update_hook_waits_for_its_handler_then_updates_and_reports_updated():
    hook = {"lifecycle": {"inPlaceUpdate": {"labelsHandler": {"example.com/serving": "true"}}}}
    obs = [observed_instance(i) for i in sync_set(set_parent(1, **hook)).children]
    # A new template: the instance keeps its old one, PreparingUpdate, while it carries the handler.
    step = sync_set(set_parent(1, image="engine:2", **hook), obs)
    assert _labels(step)["g-r-0"][c.LABEL_LIFECYCLE_STATE] == c.LIFECYCLE_PREPARING_UPDATE
    assert step.children[0]["spec"] == obs[0]["spec"]
    # Your controller takes the label off: updated, Updating.
    obs = [observed_instance(i) for i in step.children]
    del obs[0]["metadata"]["labels"]["example.com/serving"]
    step = sync_set(set_parent(1, image="engine:2", **hook), obs)
    assert _labels(step)["g-r-0"][c.LABEL_LIFECYCLE_STATE] == c.LIFECYCLE_UPDATING
    assert step.children[0]["spec"]["components"][0]["template"]["spec"]["containers"][0]["image"] == "engine:2"
    # Ready at the new template without the handler: Updated; the handler back: Normal.
    obs = [observed_instance(i) for i in step.children]
    step = sync_set(set_parent(1, image="engine:2", **hook), obs)
    assert _labels(step)["g-r-0"][c.LABEL_LIFECYCLE_STATE] == c.LIFECYCLE_UPDATED
    obs = [observed_instance(i) for i in step.children]
    obs[0]["metadata"]["labels"]["example.com/serving"] = "true"
    assert c.LABEL_LIFECYCLE_STATE not in _labels(sync_set(set_parent(1, image="engine:2", **hook), obs))["g-r-0"]
    # Updated and changed again before your controller hooked it: the set hooks it and waits.
    obs[0]["metadata"]["labels"] = {k: v for k, v in obs[0]["metadata"]["labels"].items() if k != "example.com/serving"}
    again = _labels(sync_set(set_parent(1, image="engine:3", **hook), obs))["g-r-0"]
    assert again[c.LABEL_LIFECYCLE_STATE] == c.LIFECYCLE_PREPARING_UPDATE and again["example.com/serving"] == "true"


def test_without_an_in_place_update_hook_an_update_writes_no_state():
    obs = [observed_instance(i) for i in sync_set(set_parent(1)).children]
    assert c.LABEL_LIFECYCLE_STATE not in _labels(sync_set(set_parent(1, image="engine:2"), obs))["g-r-0"]


def test_readiness_gates_wait_for_their_conditions_and_keep_them():
    gate = {"type": "example.com/Warm", "status": "False", "reason": "Loading", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    parent = rins([component("a")], readinessGates=[{"conditionType": "example.com/Warm"}], status={"conditions": [gate]})
    pods = [observed(p) for p in sync_instance(parent).children]
    status = sync_instance(parent, pods).status
    assert cond(status, c.COND_ROLE_INSTANCE_READY)["reason"] == c.REASON_READINESS_GATES
    assert cond(status, "example.com/Warm") == gate  # its owner's, kept as written
    parent["status"]["conditions"] = [{**gate, "status": "True"}]
    assert cond(sync_instance(parent, pods).status, c.COND_ROLE_INSTANCE_READY)["status"] == "True"


def test_scale_max_unavailable_paces_a_scale_up():
    parent = set_parent(1, scaleStrategy={"maxUnavailable": 2})
    obs = [observed_instance(i) for i in sync_set(parent).children]
    parent["spec"]["replicas"] = 6
    first = sync_set(parent, obs)
    assert set_names(first) == ["g-r-0", "g-r-1", "g-r-2"]  # two new at a time
    obs = [observed_instance(i, ready=i["metadata"]["name"] != "g-r-2") for i in first.children]
    assert set_names(sync_set(parent, obs)) == ["g-r-0", "g-r-1", "g-r-2", "g-r-3"]  # one still unavailable: one more


def test_min_ready_seconds_makes_an_instance_available_only_after_its_timer():
    parent = rins([component("a")], annotations={c.ANNOTATION_MIN_READY_SECONDS: "30"})
    pods = [observed(p) for p in sync_instance(parent).children]
    first = sync_instance(parent, pods)
    (timer,) = [ch for ch in first.children if ch["kind"] == "Job"]
    assert timer["spec"]["activeDeadlineSeconds"] == 30 and timer["metadata"]["name"].startswith("g-r-0-ready-")
    assert cond(first.status, c.COND_ROLE_INSTANCE_AVAILABLE)["status"] == "False"
    assert cond(first.status, c.COND_ROLE_INSTANCE_READY)["status"] == "True"
    parent["status"] = first.status
    fired = {**timer, "metadata": {**timer["metadata"], "namespace": NS}, "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}}
    second = sync_with_jobs(parent, pods, [fired])
    assert cond(second.status, c.COND_ROLE_INSTANCE_AVAILABLE)["status"] == "True"
    assert [ch for ch in second.children if ch["kind"] == "Job"] == []  # done: the timer goes
    parent["status"] = second.status
    assert cond(sync_instance(parent, pods).status, c.COND_ROLE_INSTANCE_AVAILABLE)["status"] == "True"  # and it stays


def test_a_rollout_counts_an_instance_unavailable_until_min_ready_seconds():
    obs = [observed_instance(i) for i in sync_set(set_parent(2, minReadySeconds=30)).children]  # Ready, not yet available
    rolled = sync_set(set_parent(2, image="engine:2", minReadySeconds=30), obs)
    assert rolled.status["availableReplicas"] == 0 and rolled.status["readyReplicas"] == 2
    assert all(i["metadata"]["annotations"][c.ANNOTATION_MIN_READY_SECONDS] == "30" for i in rolled.children)
    # Unavailable instances are updated at once (nothing more to lose), as an unready one is.
    assert {i["metadata"]["labels"][c.LABEL_CONTROLLER_REVISION_HASH] for i in rolled.children} == {rolled.status["updateRevision"]}
    for o in obs:
        o["status"]["conditions"].append({"type": c.COND_ROLE_INSTANCE_AVAILABLE, "status": "True"})
    paced = sync_set(set_parent(2, image="engine:2", minReadySeconds=30), obs)
    assert paced.status["availableReplicas"] == 2
    assert sum(i["metadata"]["labels"][c.LABEL_CONTROLLER_REVISION_HASH] == paced.status["updateRevision"] for i in paced.children) == 1


def test_removed_pods_go_in_delete_after_order():
    """Upstream's deleteAfter, and the reverse of startAfter: a component's removed pods are
    deleted once the removed pods of the components it waits for are all gone."""
    after_router = {c.ANNOTATION_COMPONENT_DEPENDS_ON: json.dumps({"deleteAfter": ["router"]})}
    starts_last = {c.ANNOTATION_COMPONENT_DEPENDS_ON: json.dumps({"startAfter": ["leader"]})}

    def spec(worker: int, router: int) -> Obj:
        return rins([component("leader"), component("worker", worker, annotations=after_router), component("router", router, annotations=starts_last)])

    full = spec(2, 2)
    pods = [observed(p) for p in sync_instance(full, [observed(p) for p in sync_instance(full).children]).children]
    assert len(pods) == 5
    shrunk = sync_instance(spec(1, 1), pods)
    assert sorted(names(shrunk)) == ["g-r-0-leader-0", "g-r-0-router-0", "g-r-0-worker-0", "g-r-0-worker-1"]  # router-1 goes first; worker-1 waits
    after = sync_instance(spec(1, 1), [p for p in pods if p["metadata"]["name"] != "g-r-0-router-1"])
    assert sorted(names(after)) == ["g-r-0-leader-0", "g-r-0-router-0", "g-r-0-worker-0"]
