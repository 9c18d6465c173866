"""Engine runtime profiles (hooks.core.runtimes): injection, overrides, missing profiles, updateStrategy."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from hooks import constants as c
from hooks.api import EngineRuntime, SyncRequest
from hooks.core.observed import Observed, customize, profile_names
from hooks.core.runtimes import inject
from rbgcli.crdgen import profile_crd
from hooks.schemas.k8s import schema_problems
from tests.support.requests import as_hub
from tests.support import UPSTREAM_EXAMPLES, by_kind, condition, observe, parent, related_profiles, request, sync

SGLANG = UPSTREAM_EXAMPLES / "pd-disagg" / "sglang"


def _profile(name: str = "agent", strategy: str | None = None, image: str = "agent:1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": [{"name": "agent", "image": image}], **spec}
    if strategy is not None:
        body["updateStrategy"] = strategy
    return {"apiVersion": c.API_VERSION, "kind": c.KIND_ENGINE_RUNTIME_PROFILE, "metadata": {"name": name}, "spec": body}


def _group(*runtimes: dict[str, Any], replicas: int = 1) -> dict[str, Any]:
    role = {"name": "app", "replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}
    if runtimes:
        role["engineRuntimes"] = list(runtimes)
    return parent({"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": "g"}, "spec": {"roles": [role]}})


def _request(group: dict[str, Any], profiles: list[dict[str, Any]], children: dict[str, Any] | None = None) -> dict[str, Any]:
    """A sync request with these profiles related."""
    return request(group, children, related=related_profiles(profiles))


def _template(result: Any, name: str = "g-app") -> dict[str, Any]:
    return by_kind(result.children)[(c.KIND_STATEFULSET, name)]["spec"]["template"]


def _names(template: dict[str, Any], key: str = "containers") -> list[str]:
    return [x["name"] for x in template["spec"].get(key, [])]


# --- injection, as a table ------------------------------------------------------------------------
BASE = {"spec": {"containers": [{"name": "app", "image": "app:1", "args": ["--a"]}], "volumes": [{"name": "data", "emptyDir": {}}]}}


def _content(**kw: Any) -> dict[str, list[dict[str, Any]]]:
    return {"initContainers": kw.get("init", []), "containers": kw.get("containers", []), "volumes": kw.get("volumes", [])}


@pytest.mark.parametrize(
    ("runtimes", "want"),
    [
        pytest.param(
            [({"profileName": "p"}, _content(init=[{"name": "setup"}], containers=[{"name": "agent"}], volumes=[{"name": "sock", "emptyDir": {}}]))],
            {"initContainers": ["setup"], "containers": ["app", "agent"], "volumes": ["data", "sock"]},
            id="init-containers-containers-volumes-after-the-templates",
        ),
        pytest.param(
            [({"profileName": "p"}, _content(containers=[{"name": "app", "image": "other"}], volumes=[{"name": "data", "hostPath": {"path": "/x"}}]))],
            {"containers": ["app"], "volumes": ["data"]},
            id="the-templates-own-names-win",
        ),
        pytest.param(
            [({"profileName": "p"}, _content(containers=[{"name": "agent", "image": "p"}])), ({"profileName": "q"}, _content(containers=[{"name": "agent", "image": "q"}, {"name": "log"}]))],
            {"containers": ["app", "agent", "log"], "volumes": ["data"]},
            id="an-earlier-profile-wins",
        ),
        pytest.param(
            [({"profileName": "p"}, _content(init=[{"name": "app"}]))],
            {"containers": ["app"], "volumes": ["data"]},
            id="init-and-regular-containers-share-names",
        ),
    ],
)
def test_inject(runtimes: list[tuple[dict[str, Any], Any]], want: dict[str, list[str]]) -> None:
    before = copy.deepcopy(BASE)
    got = inject(BASE, [(EngineRuntime.model_validate(r), given) for r, given in runtimes])
    assert BASE == before  # the input is not changed
    assert {k: [x["name"] for x in v] for k, v in got["spec"].items()} == want
    assert got["spec"]["containers"][0] == BASE["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("override", "want"),
    [
        pytest.param({"name": "agent", "args": ["--b"]}, {"name": "agent", "command": ["run"], "args": ["--a", "--b"], "env": [{"name": "X", "value": "1"}]}, id="args-appended"),
        pytest.param({"name": "agent", "command": ["go"]}, {"name": "agent", "command": ["go"], "args": ["--a"], "env": [{"name": "X", "value": "1"}]}, id="command-replaced"),
        pytest.param(
            {"name": "agent", "env": [{"name": "X", "value": "2"}, {"name": "Y", "value": "3"}]},
            {"name": "agent", "command": ["run"], "args": ["--a"], "env": [{"name": "X", "value": "2"}, {"name": "Y", "value": "3"}]},
            id="env-merged-by-name",
        ),
        pytest.param({"name": "agent", "image": "evil", "resources": {"limits": {"cpu": "9"}}}, None, id="other-fields-ignored"),
        pytest.param({"name": "app", "args": ["--x"]}, None, id="only-injected-containers"),
    ],
)
def test_overrides(override: dict[str, Any], want: dict[str, Any] | None) -> None:
    agent = {"name": "agent", "command": ["run"], "args": ["--a"], "env": [{"name": "X", "value": "1"}]}
    runtime = EngineRuntime.model_validate({"profileName": "p", "containers": [override]})
    got = inject(BASE, [(runtime, _content(containers=[agent]))])
    assert got["spec"]["containers"] == [BASE["spec"]["containers"][0], want or agent]


# --- the sync hook ------------------------------------------------------------------------------
def test_profile_containers_reach_the_pod_template_with_our_env_and_mount() -> None:
    result = sync(_request(_group({"profileName": "agent"}), [_profile(initContainers=[{"name": "setup", "image": "s"}])]))
    template = _template(result)
    assert _names(template) == ["app", "agent"] and _names(template, "initContainers") == ["setup"]
    for ctr in template["spec"]["containers"] + template["spec"]["initContainers"]:
        assert [e["name"] for e in ctr["env"]][:2] == ["GROUP_NAME", "RBG_GROUP_NAME"]
        assert {"name": c.DISCOVERY_VOLUME, "mountPath": c.DISCOVERY_MOUNT_PATH, "readOnly": True} in ctr["volumeMounts"]
    cond = condition(result.status, c.COND_ENGINE_RUNTIMES)
    assert (cond["status"], cond["reason"], cond["message"]) == ("True", c.REASON_PROFILES_INJECTED, "profiles injected: app (agent)")


def test_groups_without_engine_runtimes_have_no_condition_and_no_record() -> None:
    result = sync(request(_group()))
    assert c.COND_ENGINE_RUNTIMES not in {cond["type"] for cond in result.status["conditions"]}
    assert "annotations" not in by_kind(result.children)[(c.KIND_STATEFULSET, "g-app")]["metadata"]


def test_the_rollout_history_records_the_template_as_written() -> None:
    result = sync(_request(_group({"profileName": "agent"}), [_profile()]))
    (revision,) = [ch for ch in result.children if ch["kind"] == c.KIND_CONTROLLER_REVISION]
    assert _names(revision["data"]["template"]) == ["app"]


def test_a_missing_profile_is_named_and_the_role_is_not_created() -> None:
    for related in ({}, {c.RELATED_ENGINE_RUNTIME_PROFILE: {}}):
        req = request(_group({"profileName": "agent"}))
        req["related"] = related
        result = sync(req)
        assert (c.KIND_STATEFULSET, "g-app") not in by_kind(result.children)
        cond = condition(result.status, c.COND_ENGINE_RUNTIMES)
        assert (cond["status"], cond["reason"]) == ("False", c.REASON_PROFILE_NOT_FOUND)
        assert "app names agent (not found)" in cond["message"]


def test_a_missing_profile_keeps_the_running_workload_exactly_as_last_applied() -> None:
    first = sync(_request(_group({"profileName": "agent"}), [_profile()]))
    children = observe(first.children)
    scaled = _group({"profileName": "agent"}, replicas=3)  # even a scale-up waits for the profile
    result = sync(_request(scaled, [], children))
    applied = json.loads(children[c.CHILD_STATEFULSET]["default/g-app"]["metadata"]["annotations"][c.ANNOTATION_LAST_APPLIED])
    assert by_kind(result.children)[(c.KIND_STATEFULSET, "g-app")] == applied
    same = sync(_request(_group({"profileName": "agent"}), [], children))
    assert by_kind(same.children)[(c.KIND_STATEFULSET, "g-app")] == applied
    assert condition(same.status, c.COND_READY)["status"] == "True"  # it runs as it did


def test_an_invalid_profile_is_named() -> None:
    bad = _profile()
    bad["spec"]["containers"] = [{"image": "no-name"}]
    cond = condition(sync(_request(_group({"profileName": "agent"}), [bad])).status, c.COND_ENGINE_RUNTIMES)
    assert cond["status"] == "False" and "agent (not valid)" in cond["message"]


@pytest.mark.parametrize(
    ("strategy", "rolls"),
    [pytest.param(None, False, id="default-NoUpdate"), pytest.param("NoUpdate", False, id="NoUpdate"), pytest.param("RollingUpdate", True, id="RollingUpdate")],
)
def test_a_profile_change_rolls_only_under_rolling_update(strategy: str | None, rolls: bool) -> None:
    group = _group({"profileName": "agent"})
    first = sync(_request(group, [_profile(strategy=strategy)]))
    children = observe(first.children)
    result = sync(_request(group, [_profile(strategy=strategy, image="agent:2")], children))
    agent = next(x for x in _template(result)["spec"]["containers"] if x["name"] == "agent")
    assert agent["image"] == ("agent:2" if rolls else "agent:1")
    assert (_template(result) == _template(first)) is not rolls
    cond = condition(result.status, c.COND_ENGINE_RUNTIMES)
    assert cond["status"] == "True" and ("app keeps the agent it was given (NoUpdate)" in cond["message"]) is not rolls


def test_no_update_keeps_what_was_given_through_a_change_of_the_role_and_a_new_workload_gets_the_profile() -> None:
    group = _group({"profileName": "agent"})
    children = observe(sync(_request(group, [_profile()])).children)
    changed = copy.deepcopy(group)
    changed["spec"]["roles"][0]["template"]["spec"]["containers"][0]["image"] = "app:2"
    result = sync(_request(changed, [_profile(image="agent:2")], children))
    images = [x["image"] for x in _template(result)["spec"]["containers"]]
    assert images == ["app:2", "agent:1"]
    fresh = sync(_request(changed, [_profile(image="agent:2")]))  # no workload yet: the profile as it is
    assert [x["image"] for x in _template(fresh)["spec"]["containers"]] == ["app:2", "agent:2"]


def test_steady_state_returns_the_same_children() -> None:
    group = _group({"profileName": "agent"})
    first = sync(_request(group, [_profile()]))
    assert sync(_request(group, [_profile()], observe(first.children))).children == first.children


# --- customize, related objects ---------------------------------------------------------------
def test_customize_asks_for_the_named_profiles_by_name() -> None:
    spec = {"roles": [{"name": "a", "engineRuntimes": [{"profileName": "q"}, {"profileName": "p"}]}, {"name": "b", "engineRuntimes": [{"profileName": "p"}]}]}
    assert profile_names(spec) == ["p", "q"]
    policy = {"apiVersion": c.API_VERSION, "resource": c.COORDINATED_POLICIES, "namespace": "ns", "names": ["g"]}  # always
    assert customize("ns", "g", {}, spec) == {
        "relatedResources": [{"apiVersion": c.API_VERSION, "resource": c.ENGINE_RUNTIME_PROFILES, "names": ["p", "q"]}, policy]
    }
    assert customize("ns", "g", {}, {"roles": [{"name": "a"}]}) == {"relatedResources": [policy]}
    spec["roles"][0]["standalonePattern"] = {"restartPolicyConfig": {"type": c.RESTART_RECREATE_ROLE}}  # pods too
    assert [r["resource"] for r in customize("ns", "g", {}, spec)["relatedResources"]] == ["pods", c.ENGINE_RUNTIME_PROFILES, c.COORDINATED_POLICIES]


def test_profiles_without_pods_leave_pods_unobserved() -> None:
    req = SyncRequest.model_validate(as_hub(_request(_group({"profileName": "agent"}), [_profile()])))
    observed = Observed.from_request(req.children, req.related, "default")
    assert observed.pods is None and list(observed.profiles) == ["agent"]


# --- upstream's example and CRD --------------------------------------------------------------------
def _upstream_profile() -> dict[str, Any]:
    (doc,) = [d for d in yaml.safe_load_all((SGLANG / "patio-profile.yaml").read_text()) if d]
    return dict(doc)


def test_upstream_profile_fits_our_crd_unchanged() -> None:
    schema = profile_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert list(schema_problems(_upstream_profile(), schema)) == []
    upstream = yaml.safe_load((UPSTREAM_EXAMPLES.parent / "crds" / "workloads.x-k8s.io_clusterengineruntimeprofiles.yaml").read_text())
    theirs = upstream["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    ours = schema["properties"]["spec"]["properties"]
    assert set(ours) == set(theirs) and ours["updateStrategy"]["enum"] == theirs["updateStrategy"]["enum"]
    assert (profile_crd()["spec"]["scope"], upstream["spec"]["scope"]) == ("Cluster", "Cluster")


def test_upstream_sglang_pd_example_gets_its_sidecar() -> None:
    docs = [d for d in yaml.safe_load_all((SGLANG / "sglang-pd.yaml").read_text()) if d and d["kind"] == c.KIND_RBG]
    group = parent(docs[0])
    result = sync(_request(group, [_upstream_profile()]))
    prefill = _template(result, "sglang-pd-prefill")
    agent = next(x for x in prefill["spec"]["containers"] if x["name"] == "patio-runtime")
    assert agent["image"] == "rolebasedgroup/rbgs-patio-runtime:v0.5.0-86d8c4f"
    assert agent["args"] == ['--instance-info={"data":{"port":8000,"worker_type":"prefill", "bootstrap_port":34000}}']
    assert [e["name"] for e in agent["env"]][-3:] == ["TOPO_TYPE", "SGL_ROUTER_ROLE_NAME", "SGL_ROUTER_PORT"]
    assert "patio-runtime" not in _names(_template(result, "sglang-pd-router"))
