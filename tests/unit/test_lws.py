"""LeaderWorkerSet roles: the constructor (hooks.children.lws), the dependency gate, discovery,
gang size, placement, recovery, registration, and upstream's five LWS examples."""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooks import constants as c
from hooks.api import RoleSpec
from hooks.children.discovery import discovery_document
from tests.support.plans import services_of, workload_of as leader_worker_set
from hooks.core.observed import is_ready, wants_pods
from hooks.validation import parse_spec
from tests.support import UPSTREAM_EXAMPLES, by_kind, condition, example_group, observe, parent, request, sync
from tests.support import hub

UPSTREAM_LWS = ["rbg-with-lws-workload", "exclusive-topology", "restart-policy", "rolling-update", "rolling-update-with-partition"]
LWS = {"apiVersion": c.LWS_API_VERSION, "kind": c.KIND_LWS}
CONTAINER = {"name": "main", "image": "nginx", "ports": [{"name": "http", "containerPort": 80}]}


def _role(**fields: Any) -> RoleSpec:
    return hub.role({"name": "lws", "workload": LWS, "template": {"spec": {"containers": [CONTAINER]}}, **fields})


def _upstream(name: str) -> dict[str, Any]:
    return example_group(UPSTREAM_EXAMPLES / "basics" / f"{name}.yaml")


# tests.support.observe with the LeaderWorkerSet type registered: _observe(desired, ready=True)
# (an LWS's status in groups, Available when ready), and _with_lws(): nothing observed yet.
_observe = partial(observe, types=(c.CHILD_LWS,))
_with_lws = partial(observe, (), types=(c.CHILD_LWS,))


def _run(group: dict[str, Any], ready: bool = True) -> list[Any]:
    """Startup with LeaderWorkerSets registered: results until the answer no longer changes."""
    results = [sync(request(group, _with_lws()))]
    for _ in range(6):
        with_status = {**copy.deepcopy(group), "status": results[-1].status}
        results.append(sync(request(with_status, _observe(results[-1].children, ready))))
        if results[-1].children == results[-2].children and results[-1].status == results[-2].status:
            break
    return results


def _env(template: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in template["spec"]["containers"][0]["env"]}


# --- the constructor ---------------------------------------------------------------------------


def test_the_lws_of_upstreams_example():
    result = _run(_upstream("rbg-with-lws-workload"))[-1]
    lws = by_kind(result.children)[(c.KIND_LWS, "rbg-with-lws-workload-lws")]
    assert lws["apiVersion"] == "leaderworkerset.x-k8s.io/v1"
    assert lws["spec"]["replicas"] == 2
    lwt = lws["spec"]["leaderWorkerTemplate"]
    assert (lwt["size"], lwt["restartPolicy"]) == (2, "RecreateGroupOnPodRestart")
    leader, worker = lwt["leaderTemplate"], lwt["workerTemplate"]
    assert leader["metadata"]["labels"]["role"] == "leader" and worker["metadata"]["labels"]["role"] == "worker"
    assert leader["metadata"]["labels"]["appVersion"] == worker["metadata"]["labels"]["appVersion"] == "v1"
    # The patch's container merges into the template's by name: image and command stay, the probe is added.
    (nginx,) = leader["spec"]["containers"]
    assert nginx["image"].endswith("nginx:1.14.1-8.6") and nginx["command"][0] == "sh"
    assert nginx["readinessProbe"]["tcpSocket"] == {"port": 80}
    assert "readinessProbe" not in worker["spec"]["containers"][0]
    for template in (leader, worker):
        assert template["metadata"]["labels"][c.LABEL_ROLE_NAME] == "lws"
        env = _env(template)
        assert env["ROLE_INDEX"] == {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['leaderworkerset.sigs.k8s.io/group-index']"}}
        assert env["GROUP_NAME"] == "rbg-with-lws-workload" and env["ROLE_NAME"] == "lws"
        assert {"name": c.DISCOVERY_VOLUME, "mountPath": c.DISCOVERY_MOUNT_PATH, "readOnly": True} in template["spec"]["containers"][0]["volumeMounts"]
    assert condition(result.status, c.COND_READY)["status"] == "True"
    assert condition(result.status, c.COND_LEADER_WORKER_SETS)["reason"] == c.REASON_LWS_REGISTERED


@pytest.mark.parametrize(
    "policy,expected",
    [
        pytest.param(None, "RecreateGroupOnPodRestart", id="unset"),
        pytest.param("None", "None", id="none"),
        pytest.param("RecreateRoleInstanceOnPodRestart", "RecreateGroupOnPodRestart", id="instance"),
        pytest.param("RecreateRBGOnPodRestart", "RecreateGroupOnPodRestart", id="group"),
    ],
)
def test_restart_policy_maps_onto_lws(policy, expected):
    role = _role(**({"restartPolicy": policy} if policy else {}))
    assert leader_worker_set("ns", "g", role)["spec"]["leaderWorkerTemplate"]["restartPolicy"] == expected


@pytest.mark.parametrize(
    "rolling,expected",
    [
        pytest.param(None, {"type": "RollingUpdate"}, id="none"),
        pytest.param({}, {"partition": 0, "maxUnavailable": 1, "maxSurge": 0}, id="defaults"),
        pytest.param({"maxUnavailable": 2, "maxSurge": 2}, {"partition": 0, "maxUnavailable": 2, "maxSurge": 2}, id="upstream-rolling-update"),
        pytest.param({"maxUnavailable": 2, "maxSurge": 2, "partition": 1}, {"partition": 1, "maxUnavailable": 2, "maxSurge": 2}, id="partition"),
        pytest.param({"partition": "50%", "maxSurge": "25%"}, {"partition": 2, "maxUnavailable": 1, "maxSurge": "25%"}, id="percent"),
        pytest.param({"paused": True}, {"partition": 4, "maxUnavailable": 1, "maxSurge": 0}, id="paused"),
        pytest.param({"type": "Recreate", "partition": 3}, {"partition": 0, "maxUnavailable": "100%", "maxSurge": 0}, id="recreate"),
    ],
)
def test_rollout_strategy_maps_onto_lws(rolling, expected):
    role = _role(replicas=4, **({"rolloutStrategy": {"rollingUpdate": rolling}} if rolling is not None else {}))
    got = leader_worker_set("ns", "g", role)["spec"]["rolloutStrategy"]
    assert got == (expected if rolling is None else {"type": "RollingUpdate", "rollingUpdateConfiguration": expected})


def test_patches_merge_lists_by_their_kubernetes_keys():
    role = _role(
        template={"spec": {"containers": [{**CONTAINER, "env": [{"name": "A", "value": "1"}]}], "volumes": [{"name": "v", "emptyDir": {}}]}},
        leaderWorkerSet={
            "size": 3,
            "patchLeaderTemplate": {"spec": {"containers": [{"name": "main", "env": [{"name": "A", "value": "leader"}, {"name": "B", "value": "$(A)"}]}]}},
            "patchWorkerTemplate": {"spec": {"containers": [{"name": "side", "image": "busybox"}], "volumes": [{"name": "w", "emptyDir": {}}]}},
        },
    )
    lwt = leader_worker_set("ns", "g", role)["spec"]["leaderWorkerTemplate"]
    leader, worker = lwt["leaderTemplate"]["spec"], lwt["workerTemplate"]["spec"]
    assert [(e["name"], e.get("value")) for e in leader["containers"][0]["env"] if e["name"] in ("A", "B")] == [("A", "leader"), ("B", "$(A)")]
    assert [ct["name"] for ct in worker["containers"]] == ["main", "side"]
    assert [v["name"] for v in worker["volumes"]] == ["v", "w", c.DISCOVERY_VOLUME]
    assert [v["name"] for v in leader["volumes"]] == ["v", c.DISCOVERY_VOLUME]


def test_a_bad_patch_freezes_the_group_at_its_path():
    group = parent({"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": "g"}, "spec": {"roles": [
        {"name": "lws", "workload": LWS, "template": {"spec": {"containers": [CONTAINER]}},
         "leaderWorkerSet": {"size": 2, "patchWorkerTemplate": {"spec": {"containers": [{"image": "x"}]}}}},
    ]}})
    result = sync(request(group, _with_lws()))
    invalid = condition(result.status, c.COND_INVALID_SPEC)
    assert invalid["status"] == "True"
    assert invalid["message"].startswith("spec.roles[0].leaderWorkerPattern.workerTemplatePatch.spec.containers")
    assert result.children == []


@settings(max_examples=60, deadline=None)
@given(replicas=st.integers(0, 40), size=st.integers(1, 9), image=st.sampled_from(["a", "b"]), labels=st.dictionaries(st.sampled_from(["x", "y"]), st.sampled_from(["1", "2"])))
def test_the_constructor_is_pure_and_complete(replicas, size, image, labels):
    role = _role(replicas=replicas, leaderWorkerSet={"size": size, "patchLeaderTemplate": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}}})
    before = role.model_dump_json()
    a, b = leader_worker_set("ns", "g", role), leader_worker_set("ns", "g", role)
    assert a == b and role.model_dump_json() == before
    assert (a["metadata"]["name"], a["spec"]["replicas"], a["spec"]["leaderWorkerTemplate"]["size"]) == ("g-lws", replicas, size)
    lwt = a["spec"]["leaderWorkerTemplate"]
    assert lwt["leaderTemplate"]["spec"]["containers"][0]["image"] == image
    assert lwt["workerTemplate"]["spec"]["containers"][0]["image"] == "nginx"
    for template in (lwt["leaderTemplate"], lwt["workerTemplate"]):
        assert [e["name"] for e in template["spec"]["containers"][0]["env"]][:6] == [*c.ENV_GROUP_NAME, *c.ENV_ROLE_NAME, *c.ENV_ROLE_INDEX]
        assert {c.LABEL_GROUP_NAME: "g", c.LABEL_ROLE_NAME: "lws"}.items() <= template["metadata"]["labels"].items()
    # Discovery: one instance per group, its leader and size - 1 workers, all in the LWS's Service.
    spec = parse_spec("g", {"roles": [role.model_dump(by_alias=True, exclude_none=True)]})
    doc, cuts = discovery_document("g", spec, {"lws"}, services_of("g", spec))  # type: ignore[arg-type]
    instances = doc["roles"]["lws"]["instances"]
    assert not cuts and [i["address"] for i in instances] == [f"g-lws-{i}.g-lws" for i in range(replicas)]
    assert all(i.get("workers", []) == [f"g-lws-{n}-{j}.g-lws" for j in range(1, size)] for n, i in enumerate(instances))


# --- readiness and the dependency gate ---------------------------------------------------------


def _status_lws(**status: Any) -> dict[str, Any]:
    return {"kind": c.KIND_LWS, "metadata": {"name": "g-lws", "generation": 2}, "spec": {"replicas": 3}, "status": status}


AVAILABLE = {"type": "Available", "status": "True", "reason": "AllGroupsReady", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "status,ready",
    [
        pytest.param({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "conditions": [AVAILABLE]}, True, id="available"),
        pytest.param({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "conditions": [AVAILABLE]}, False, id="stale-generation"),
        pytest.param({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 3}, False, id="no-available"),
        pytest.param({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "conditions": [{**AVAILABLE, "status": "False"}]}, False, id="available-false"),
        pytest.param({"observedGeneration": 2, "replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "conditions": [AVAILABLE]}, False, id="a-group-not-ready"),
        pytest.param({"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 2, "conditions": [AVAILABLE]}, False, id="a-group-not-updated"),
        pytest.param({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "conditions": [{**AVAILABLE, "observedGeneration": 2}]}, True, id="old-lws-condition-generation"),
        pytest.param({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "conditions": [{**AVAILABLE, "observedGeneration": 1}]}, False, id="old-lws-stale-condition"),
    ],
)
def test_lws_readiness(status, ready):
    assert is_ready(_status_lws(**status), 3) is ready


def test_lws_readiness_needs_the_desired_replicas():
    obj = _status_lws(observedGeneration=2, replicas=3, readyReplicas=3, updatedReplicas=3, conditions=[AVAILABLE])
    assert is_ready(obj, 4) is False


def _gated() -> dict[str, Any]:
    return parent({"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": "g"}, "spec": {"roles": [
        {"name": "router", "dependencies": ["model"], "template": {"spec": {"containers": [CONTAINER]}}},
        {"name": "model", "replicas": 2, "workload": LWS, "leaderWorkerSet": {"size": 4}, "template": {"spec": {"containers": [CONTAINER]}}},
    ]}})


def test_a_dependant_waits_for_the_lws_to_be_available():
    first = sync(request(_gated(), _with_lws()))
    assert (c.KIND_STATEFULSET, "g-router") not in by_kind(first.children)
    waiting = sync(request({**_gated(), "status": first.status}, _observe(first.children, ready=False)))
    assert (c.KIND_STATEFULSET, "g-router") not in by_kind(waiting.children)
    assert condition(waiting.status, c.COND_PROGRESSING)["message"] == "router waits for model"
    ready = sync(request({**_gated(), "status": waiting.status}, _observe(waiting.children, ready=True)))
    assert (c.KIND_STATEFULSET, "g-router") in by_kind(ready.children)
    model = next(s for s in ready.status["roleStatuses"] if s["name"] == "model")
    assert (model["replicas"], model["readyReplicas"]) == (2, 2)


def test_no_service_of_ours_for_an_lws_role():
    """LWS makes its own headless Service, named as the LWS: one of ours would clash with it."""
    children = by_kind(_run(_gated())[-1].children)
    assert (c.KIND_LWS, "g-model") in children and ("Service", "g-model") not in children


# --- registration ------------------------------------------------------------------------------


def test_unregistered_lws_type_creates_everything_else_and_names_the_overlay():
    result = sync(request(_upstream("rbg-with-lws-workload")))  # no LeaderWorkerSet key: not registered
    kinds = by_kind(result.children)
    assert (c.KIND_STATEFULSET, "rbg-with-lws-workload-sts") in kinds
    assert not any(kind == c.KIND_LWS for kind, _ in kinds)
    cond = condition(result.status, c.COND_LEADER_WORKER_SETS)
    assert (cond["status"], cond["reason"]) == ("False", c.REASON_LWS_NOT_REGISTERED)
    assert "overlays/leaderworkerset" in cond["message"]
    assert "lws (not created)" in condition(result.status, c.COND_READY)["message"]
    assert condition(result.status, c.COND_INVALID_SPEC)["status"] == "False"


def test_groups_without_lws_roles_get_no_lws_condition():
    result = sync(request(example_group(UPSTREAM_EXAMPLES / "basics" / "rbg-base.yaml"), _with_lws()))
    assert all(cond["type"] != c.COND_LEADER_WORKER_SETS for cond in result.status["conditions"])


# --- gang, placement, recovery -----------------------------------------------------------------


def test_min_member_counts_size_times_replicas_and_enrols_both_templates():
    group = _gated()
    group["spec"]["podGroupPolicy"] = {"kubeScheduling": {}}
    children = _with_lws()
    children[c.CHILD_KUBE_POD_GROUP] = {}
    result = sync(request(group, children))
    kinds = by_kind(result.children)
    assert kinds[(c.KIND_POD_GROUP, "g")]["spec"]["minMember"] == 8  # model: 2 groups of 4; router not created yet
    lwt = kinds[(c.KIND_LWS, "g-model")]["spec"]["leaderWorkerTemplate"]
    for template in (lwt["leaderTemplate"], lwt["workerTemplate"]):
        assert template["metadata"]["labels"][c.LABEL_POD_GROUP] == "g"


def test_exclusive_topology_reaches_leaders_and_workers():
    result = _run(_upstream("exclusive-topology"))[-1]
    lwt = by_kind(result.children)[(c.KIND_LWS, "nginx-cluster-lws")]["spec"]["leaderWorkerTemplate"]
    for template in (lwt["leaderTemplate"], lwt["workerTemplate"]):
        terms = template["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert terms[0]["topologyKey"] == "kubernetes.io/hostname"


def test_recovery_leaves_lws_roles_to_lws():
    """restart-policy.yaml: sts has RecreateRBGOnPodRestart; the LWS role is never withheld by it."""
    group = _upstream("restart-policy")
    group["spec"]["roles"][2]["restartPolicy"] = "RecreateRBGOnPodRestart"
    results = _run(group)
    assert (c.KIND_LWS, "restart-policy-lws") in by_kind(results[-1].children)
    assert condition(results[-1].status, c.COND_RECOVERING)["message"].startswith("sts have a restartPolicy")


def test_a_policy_on_an_lws_role_alone_observes_no_pods():
    spec = _gated()["spec"]
    spec["roles"][1]["restartPolicy"] = "RecreateRBGOnPodRestart"
    assert not wants_pods({}, hub.group(spec)["spec"])
    spec["roles"][0]["restartPolicy"] = "RecreateRBGOnPodRestart"
    assert wants_pods({}, hub.group(spec)["spec"])


# --- upstream's five LWS examples --------------------------------------------------------------


@pytest.mark.parametrize("name", UPSTREAM_LWS)
def test_upstream_lws_examples_validate_render_and_reach_ready(name):
    group = _upstream(name)
    assert not hasattr(parse_spec(group["metadata"]["name"], hub.group(group["spec"])["spec"]), "problems")
    result = _run(group)[-1]
    assert condition(result.status, c.COND_INVALID_SPEC)["status"] == "False"
    assert condition(result.status, c.COND_READY)["status"] == "True", condition(result.status, c.COND_READY)["message"]
    lws = [ch for ch in result.children if ch["kind"] == c.KIND_LWS]
    assert len(lws) == 1 and lws[0]["metadata"]["name"] == f"{group['metadata']['name']}-lws"
