"""The v1alpha1 <-> v1alpha2 conversion (hooks.conversion): lossless both ways over generated valid
objects of every kind, each mapping rule and stash case by table, the review's Failure results,
and upstream v0.7.0's examples of both versions.

Generated objects are defaulted as the API server stores them (each version's pydantic model,
validated and dumped with its defaults); every converted object validates against its target
version's model and is already defaulted, so the API server's defaulting changes nothing either.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from hooks import constants as c
from hooks.conversion import ConversionError, convert, review
from hooks.conversion import v1alpha1 as conv
from tests.support.examples import _shared

# v1alpha2 is hooks.api once hooks.api.v1alpha1 holds v1alpha1; until then hooks.api is v1alpha1.
api_v2: Any = importlib.import_module("hooks.api")
api_v1: Any = api_v2
if importlib.util.find_spec("hooks.api.v1alpha1") is not None:
    api_v1 = importlib.import_module("hooks.api.v1alpha1")
else:  # pragma: no cover
    api_v2 = None

needs_v2 = pytest.mark.skipif(api_v2 is None, reason="the v1alpha2 models (hooks.api beside hooks.api.v1alpha1) are not there yet")
V1, V2 = c.API_VERSION_V1ALPHA1, c.API_VERSION
KIND_CERP = c.KIND_ENGINE_RUNTIME_PROFILE
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXAMPLES = _shared() / "upstream" / "rbg-v0.7.0" / "examples"


def _models(api: Any) -> dict[str, type[BaseModel]]:
    return {
        c.KIND_RBG: api.RoleBasedGroupSpec,
        c.KIND_RBGS: api.RoleBasedGroupSetSpec,
        c.KIND_RBGSA: getattr(api, "RoleBasedGroupScalingAdapterSpec", None) or api_v2.RoleBasedGroupScalingAdapterSpec,
        KIND_CERP: getattr(api, "ClusterEngineRuntimeProfileSpec", None) or api_v2.ClusterEngineRuntimeProfileSpec,
    }


MODELS = {V1: _models(api_v1), **({V2: _models(api_v2)} if api_v2 is not None else {})}


def served(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` as the API server stores it: its spec validated and defaulted by its version's model."""
    out = copy.deepcopy(obj)
    out["spec"] = MODELS[obj["apiVersion"]][obj["kind"]].model_validate(obj["spec"]).model_dump(mode="json", by_alias=True, exclude_none=True)
    return out


def stash(obj: dict[str, Any]) -> Any:
    """The stash on a v1alpha1 object, None when it has none."""
    raw = obj["metadata"].get("annotations", {}).get(conv.STASH)
    return None if raw is None else json.loads(raw)


# --- strategies: valid objects of each kind and version --------------------------------------------

NAMES = ["prefill", "decode", "router", "a", "b"]
TEMPLATE_NAMES = ["base", "gpu"]
WORKLOADS = [{"apiVersion": v, "kind": k} for v, k in c.SUPPORTED_WORKLOADS]
RESTARTS = [c.RESTART_NONE, c.RESTART_RECREATE_GROUP, c.RESTART_RECREATE_ROLE]
text = st.text("abc-1", min_size=1, max_size=4)
# Labels and annotations of users: never under the prefixes the conversion owns.
user_map = st.dictionaries(st.sampled_from(["app", "team", "example.com/tier", "rolebasedgroup.workloads.x-k8s.io/exclusive-topology"]), text, max_size=2)
count = st.integers(0, 5)
int_or_percent = count | st.sampled_from(["0%", "25%", "100%"])


def maybe(draw: st.DrawFn, out: dict[str, Any], key: str, strategy: st.SearchStrategy[Any]) -> None:
    """out[key] = a drawn value, or no key at all."""
    if draw(st.booleans()):
        out[key] = draw(strategy)


def fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with each key present or not."""
    return st.fixed_dictionaries({}, optional=strategies)


containers = st.lists(st.fixed_dictionaries({"name": st.sampled_from(["main", "side"]), "image": st.sampled_from(["nginx:1", "sglang:2"])}), min_size=1, max_size=2, unique_by=lambda x: x["name"])
pod_templates = st.fixed_dictionaries({"spec": st.fixed_dictionaries({"containers": containers})}, optional={"metadata": st.fixed_dictionaries({"labels": user_map})})
patches = st.sampled_from([{}, {"metadata": {"labels": {"tier": "x"}}}, {"spec": {"containers": [{"name": "main", "image": "patched:1"}]}}])
rollouts = fields(
    rollingUpdate=fields(
        type=st.sampled_from(["Recreate", "InPlaceIfPossible"]),
        partition=int_or_percent,
        maxUnavailable=int_or_percent,
        maxSurge=int_or_percent,
        paused=st.booleans(),
        inPlaceUpdateStrategy=fields(gracePeriodSeconds=count),
    )
)
service_ports = st.lists(st.fixed_dictionaries({"name": st.sampled_from(["http", "grpc"]), "port": st.integers(1, 9000)}), max_size=2, unique_by=lambda p: p["name"])
engine_runtimes = st.lists(
    st.fixed_dictionaries({"profileName": st.sampled_from(["patio", "mooncake"])}, optional={"injectContainers": st.lists(text, max_size=1)}),
    max_size=2,
)
drain = fields(timeoutSeconds=st.integers(1, 600))
recovery = fields(backoffSeconds=st.integers(1, 60), maxBackoffSeconds=st.integers(60, 600), restartLimit=count)
set_rollouts = fields(rollingUpdate=fields(maxUnavailable=st.integers(1, 3) | st.just("50%")))


@st.composite
def common_role(draw: st.DrawFn, name: str, others: list[str]) -> dict[str, Any]:
    """The role fields both versions share."""
    role: dict[str, Any] = {"name": name}
    maybe(draw, role, "labels", user_map)
    maybe(draw, role, "annotations", user_map)
    maybe(draw, role, "replicas", count)
    maybe(draw, role, "rolloutStrategy", rollouts)
    maybe(draw, role, "drainPolicy", drain)
    maybe(draw, role, "dependencies", st.lists(st.sampled_from(others), unique=True) if others else st.just([]))
    maybe(draw, role, "servicePorts", service_ports)
    maybe(draw, role, "engineRuntimes", engine_runtimes)
    maybe(draw, role, "minReadySeconds", count)
    return role


@st.composite
def template_source(draw: st.DrawFn, templates: list[str]) -> dict[str, Any]:
    """v1alpha2's: template, or templateRef{name, patch}."""
    if draw(st.booleans()) and templates:
        ref = {"name": draw(st.sampled_from(templates))}
        maybe(draw, ref, "patch", patches)
        return {"templateRef": ref}
    return {"template": draw(pod_templates)}


@st.composite
def roles_v1(draw: st.DrawFn, name: str, others: list[str], templates: list[str]) -> dict[str, Any]:
    role = draw(common_role(name, others))
    maybe(draw, role, "restartPolicy", st.sampled_from(RESTARTS))
    maybe(draw, role, "workload", st.sampled_from(WORKLOADS))
    source = draw(template_source(templates))
    if "templateRef" in source:
        role["templateRef"] = {"name": source["templateRef"]["name"]}
        if "patch" in source["templateRef"]:
            role["templatePatch"] = source["templateRef"]["patch"]
    else:
        role["template"] = source["template"]
    maybe(draw, role, "leaderWorkerSet", fields(size=st.integers(1, 4), patchLeaderTemplate=patches, patchWorkerTemplate=patches))
    maybe(draw, role, "scalingAdapter", fields(enable=st.booleans()))
    return role


restart_configs = st.builds(
    lambda kind, base, extra, parts: {k: v for k, v in (("type", kind), ("baseDelaySeconds", base), ("maxDelaySeconds", base + extra)) if k in parts},
    st.sampled_from(RESTARTS),
    st.integers(0, 60),
    st.integers(0, 600),
    st.sets(st.sampled_from(["type", "baseDelaySeconds", "maxDelaySeconds"])),
)
legacy_restarts = st.sampled_from([c.RESTART_NONE, c.RESTART_RECREATE_ROLE])


@st.composite
def patterns(draw: st.DrawFn, templates: list[str]) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(conv.PATTERNS))
    if kind == conv.COMPONENTS:
        names = draw(st.lists(st.sampled_from(["leader", "worker", "router"]), min_size=1, max_size=3, unique=True))
        optional = fields(size=count, serviceName=text, labels=user_map, annotations=user_map)
        pattern: dict[str, Any] = {"components": [{"name": n, "template": draw(pod_templates), **draw(optional)} for n in names]}
        maybe(draw, pattern, "restartPolicy", legacy_restarts)
    else:
        pattern = draw(template_source(templates))
        if kind == conv.LEADER_WORKER:
            pattern |= draw(
                fields(
                    size=st.integers(1, 4),
                    leaderTemplatePatch=patches,
                    workerTemplatePatch=patches,
                    sharedServiceSelection=st.sampled_from(["All", "LeaderOnly"]),
                    restartPolicy=legacy_restarts,
                )
            )
    maybe(draw, pattern, "restartPolicyConfig", restart_configs)
    return kind, pattern


@st.composite
def roles_v2(draw: st.DrawFn, name: str, others: list[str], templates: list[str]) -> dict[str, Any]:
    role = draw(common_role(name, others))
    kind, pattern = draw(patterns(templates))
    role[kind] = pattern
    if draw(st.booleans()):
        role.setdefault("annotations", {})[c.ANNOTATION_ROLE_WORKLOAD_TYPE] = draw(st.sampled_from(c.WORKLOAD_TYPES))
    maybe(draw, role, "scalingAdapter", fields(enable=st.booleans(), labels=user_map))
    maybe(draw, role, "podManagementPolicy", st.sampled_from(["OrderedReady", "Parallel"]))
    return role


@st.composite
def coordinations(draw: st.DrawFn, names: list[str]) -> list[dict[str, Any]]:
    strategy = fields(
        rollingUpdate=fields(maxSkew=st.sampled_from(["10%", "50%"]), partition=int_or_percent, maxUnavailable=int_or_percent),
        scaling=fields(maxSkew=st.sampled_from(["20%"]), progression=st.sampled_from(["OrderScheduled", "OrderReady"])),
    )
    entry = st.fixed_dictionaries({"name": st.sampled_from(["pd", "all"]), "roles": st.lists(st.sampled_from(names), min_size=1, unique=True)}, optional={"strategy": strategy})
    return draw(st.lists(entry, max_size=2))


pod_group_policies = st.one_of(
    st.just({}),
    fields(kubeScheduling=fields(scheduleTimeoutSeconds=st.integers(1, 300)), volcanoScheduling=fields(queue=st.sampled_from(["default", "q1"]), priorityClassName=text)),
)


@st.composite
def group_specs(draw: st.DrawFn, version: str) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    templates = draw(st.lists(st.sampled_from(TEMPLATE_NAMES), max_size=2, unique=True))
    role = roles_v1 if version == V1 else roles_v2
    spec: dict[str, Any] = {"roles": [draw(role(n, [o for o in names if o != n], templates)) for n in names]}
    if draw(st.booleans()) or templates:
        spec["roleTemplates"] = [{"name": t, "template": draw(pod_templates)} for t in templates]
    if version == V1:
        maybe(draw, spec, "coordination", coordinations(names))
        maybe(draw, spec, "podGroupPolicy", pod_group_policies)
    maybe(draw, spec, "recoveryPolicy", recovery)
    maybe(draw, spec, "startupPolicy", st.sampled_from(["Ordered", "Parallel"]))
    maybe(draw, spec, "revisionHistoryLimit", count)
    return spec


def go_json(value: Any) -> str:
    """JSON as another writer (upstream's Go conversion, a hand edit) may have spelt it: not ours."""
    return json.dumps(value, indent=1)


@st.composite
def group_annotations_v2(draw: st.DrawFn, names: list[str]) -> dict[str, str]:
    """A v1alpha2 group's annotations: a user's, gang scheduling written natively, upstream's
    conversion keys (as we write them, as another writer did, or stale), the api-origin marker."""
    out = draw(user_map)
    gang = draw(st.sampled_from(["none", "native", "converted", "stale"]))
    if gang == "native":
        optional = {c.ANNOTATION_GANG_TIMEOUT: st.sampled_from(["60", "120"]), c.ANNOTATION_GANG_VOLCANO_QUEUE: text, c.ANNOTATION_GANG_VOLCANO_PRIORITY: text}
        out |= {c.ANNOTATION_GANG: "true", **draw(st.fixed_dictionaries({}, optional=optional))}
    elif gang in ("converted", "stale"):
        policy = api_v1.PodGroupPolicy.model_validate(draw(pod_group_policies)).model_dump(mode="json", by_alias=True, exclude_none=True)
        out[conv.PGP] = draw(st.sampled_from([conv.dump, go_json]))(policy)
        converted = conv.gang_annotations(policy, name_the_queue=draw(st.booleans()))  # ours, or upstream's
        out.update(converted if gang == "converted" else {c.ANNOTATION_GANG: "true", c.ANNOTATION_GANG_TIMEOUT: "7"})
    if draw(st.booleans()):
        coordination = [api_v1.Coordination.model_validate(x).model_dump(mode="json", by_alias=True, exclude_none=True) for x in draw(coordinations(names))]
        out[conv.COORD] = draw(st.sampled_from([conv.dump, go_json]))(coordination)
    maybe(draw, out, conv.ORIGIN, st.sampled_from([conv.ORIGIN_V1, "elsewhere"]))
    return out


@st.composite
def metadata(draw: st.DrawFn, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "g", "namespace": "default", "uid": "u-1", "generation": draw(st.integers(1, 9))}
    maybe(draw, meta, "labels", user_map)
    annotations = {**draw(user_map), **(annotations or {})}
    if annotations:
        meta["annotations"] = annotations
    return meta


statuses = st.one_of(st.none(), st.just({"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "False", "reason": "Progressing"}]}))


def whole(version: str, kind: str, meta: dict[str, Any], spec: dict[str, Any], status: dict[str, Any] | None) -> dict[str, Any]:
    obj = {"apiVersion": version, "kind": kind, "metadata": meta, "spec": spec}
    if status is not None:
        obj["status"] = status
    return served(obj)


@st.composite
def groups(draw: st.DrawFn, version: str) -> dict[str, Any]:
    spec = draw(group_specs(version))
    names = [r["name"] for r in spec["roles"]]
    meta = draw(metadata(draw(group_annotations_v2(names)) if version == V2 else None))
    return whole(version, c.KIND_RBG, meta, spec, draw(statuses))


@st.composite
def sets(draw: st.DrawFn, version: str) -> dict[str, Any]:
    group = draw(group_specs(version))
    spec: dict[str, Any] = {}
    maybe(draw, spec, "replicas", count)
    if version == V1:
        spec["template"] = group
    else:
        template: dict[str, Any] = {"spec": group}
        maybe(draw, template, "labels", user_map)
        maybe(draw, template, "annotations", group_annotations_v2([r["name"] for r in group["roles"]]))
        spec["groupTemplate"] = template
    maybe(draw, spec, "startupPolicy", st.sampled_from(["Ordered", "Parallel"]))
    maybe(draw, spec, "rolloutStrategy", set_rollouts)
    return whole(version, c.KIND_RBGS, draw(metadata()), spec, draw(statuses))


@st.composite
def same_shape(draw: st.DrawFn, version: str) -> dict[str, Any]:
    if draw(st.booleans()):
        spec = draw(fields(replicas=count).map(lambda s: {**s, "scaleTargetRef": {"name": "g", "role": "decode"}}))
        return whole(version, c.KIND_RBGSA, draw(metadata()), spec, draw(statuses))
    spec = draw(fields(containers=st.lists(st.just({"name": "sidecar", "image": "s:1"}), max_size=1), updateStrategy=st.sampled_from(["NoUpdate", "RollingUpdate"])))
    meta = draw(metadata())
    del meta["namespace"]
    return whole(version, KIND_CERP, meta, spec, None)


def any_object(version: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(groups(version), sets(version), same_shape(version))


# --- properties --------------------------------------------------------------------------------------


def check_converted(obj: dict[str, Any], version: str) -> None:
    """`obj` is at `version`, valid there and already defaulted: defaulting changes nothing."""
    assert obj["apiVersion"] == version
    assert served(obj) == obj


@needs_v2
@SETTINGS
@given(any_object(V1))
def test_v1alpha1_to_v1alpha2_and_back_is_the_same_object(obj: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    hub = conv.to_hub(obj)
    assert obj == before, "the input is not mutated"
    check_converted(hub, V2)
    back = conv.from_hub(hub)
    assert hub == conv.to_hub(before), "the hub object is not mutated either"
    assert back == obj
    if obj["kind"] == c.KIND_RBG:
        assert stash(back) is None and hub["metadata"]["annotations"][conv.ORIGIN] == conv.ORIGIN_V1


@needs_v2
@SETTINGS
@given(any_object(V2))
def test_v1alpha2_to_v1alpha1_and_back_is_the_same_object(obj: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    down = conv.from_hub(obj)
    assert obj == before, "the input is not mutated"
    check_converted(down, V1)
    assert conv.to_hub(down) == obj


@needs_v2
@SETTINGS
@given(any_object(V1) | any_object(V2), st.sampled_from([V1, V2]))
def test_a_review_converts_every_object_deterministically(obj: dict[str, Any], desired: str) -> None:
    body = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {"uid": "r-1", "desiredAPIVersion": desired, "objects": [obj, obj]}}
    first, second = json.dumps(review(body)), json.dumps(review(copy.deepcopy(body)))
    assert first == second, "same input, same bytes"
    response = json.loads(first)["response"]
    assert response["uid"] == "r-1" and response["result"] == {"status": "Success"}
    expected = obj if obj["apiVersion"] == desired else (conv.to_hub(obj) if desired == V2 else conv.from_hub(obj))
    assert response["convertedObjects"] == [expected, expected]


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.text("ab/{", max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from(["name", "roles", "template", "components", "x"]), inner, max_size=2),
    max_leaves=6,
)


@st.composite
def corrupted(draw: st.DrawFn) -> dict[str, Any]:
    """A valid object of either version with one value somewhere in it replaced by junk."""
    obj = draw(any_object(V1) | any_object(V2))
    if obj["apiVersion"] == V1 and draw(st.booleans()):
        obj["metadata"].setdefault("annotations", {})[conv.STASH] = draw(st.sampled_from(["[]", '{"roles": {"a": {"fields": 1}}}', '{"annotations": []}']))
    holder: Any = obj
    while True:
        keys = list(holder) if isinstance(holder, dict) else list(range(len(holder)))
        if not keys:
            return obj
        key = draw(st.sampled_from(keys))
        if not isinstance(holder[key], (dict, list)) or draw(st.integers(0, 3)) == 0:
            holder[key] = draw(JUNK)
            return obj
        holder = holder[key]


@needs_v2
@SETTINGS
@given(corrupted(), st.sampled_from([V1, V2]))
def test_any_object_converts_or_fails_the_review_never_raises(obj: dict[str, Any], desired: str) -> None:
    response = review(request(desired, obj))["response"]
    assert response["result"]["status"] in ("Success", "Failure")
    assert (response["result"]["status"] == "Success") == (len(response["convertedObjects"]) == 1)


# --- table tests: the mapping ----------------------------------------------------------------------

TEMPLATE = {"spec": {"containers": [{"name": "main", "image": "nginx:1"}]}}


def group(version: str, roles: list[dict[str, Any]], annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    """A group as the API server stores it (defaulted)."""
    meta: dict[str, Any] = {"name": "g", "namespace": "default"}
    if annotations:
        meta["annotations"] = annotations
    return served({"apiVersion": version, "kind": c.KIND_RBG, "metadata": meta, "spec": {"roles": roles, **spec}})


def role_of(obj: dict[str, Any], i: int = 0) -> dict[str, Any]:
    roles: list[dict[str, Any]] = obj["spec"]["roles"]
    return roles[i]


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations", {}))


@needs_v2
@pytest.mark.parametrize(
    "role, pattern, expected",
    [
        pytest.param({"template": TEMPLATE}, conv.STANDALONE, {"template": TEMPLATE}, id="template-standalone"),
        pytest.param(
            {"templateRef": {"name": "base"}, "templatePatch": {"metadata": {"labels": {"x": "y"}}}},
            conv.STANDALONE,
            {"templateRef": {"name": "base", "patch": {"metadata": {"labels": {"x": "y"}}}}},
            id="templateRef-and-patch",
        ),
        pytest.param(
            {"template": TEMPLATE, "workload": {"apiVersion": c.LWS_API_VERSION, "kind": c.KIND_LWS}, "leaderWorkerSet": {"size": 3, "patchLeaderTemplate": {"metadata": {"labels": {"l": "1"}}}, "patchWorkerTemplate": {}}},
            conv.LEADER_WORKER,
            {"size": 3, "template": TEMPLATE, "leaderTemplatePatch": {"metadata": {"labels": {"l": "1"}}}, "workerTemplatePatch": {}},
            id="leaderWorkerSet-leaderWorkerPattern",
        ),
        pytest.param(
            {"template": TEMPLATE, "leaderWorkerSet": {"size": 3}},
            conv.LEADER_WORKER,
            {"size": 3, "template": TEMPLATE, "restartPolicy": "None"},
            id="leaderWorkerSet-on-a-StatefulSet-keeps-no-recovery",
        ),
        pytest.param({"template": TEMPLATE, "restartPolicy": "RecreateRBGOnPodRestart"}, conv.STANDALONE, {"template": TEMPLATE, "restartPolicyConfig": {"type": "RecreateRBGOnPodRestart"}}, id="restartPolicy-type"),
        pytest.param({"template": TEMPLATE, "restartPolicy": "None"}, conv.STANDALONE, {"template": TEMPLATE, "restartPolicyConfig": {"type": "None"}}, id="restartPolicy-None-explicit"),
        pytest.param(
            {"template": TEMPLATE, "restartPolicy": "None", "leaderWorkerSet": {}},
            conv.LEADER_WORKER,
            {"size": 1, "template": TEMPLATE, "restartPolicyConfig": {"type": "None"}},
            id="restartPolicy-None-leaderWorker",
        ),
    ],
)
def test_a_v1alpha1_role_maps_to_a_pattern(role: dict[str, Any], pattern: str, expected: dict[str, Any]) -> None:
    v1 = group(V1, [{"name": "r", **role}], roleTemplates=[{"name": "base", "template": TEMPLATE}])
    hub = conv.to_hub(v1)
    assert role_of(hub)[pattern] == expected
    assert [p for p in conv.PATTERNS if p in role_of(hub)] == [pattern]
    check_converted(hub, V2)
    assert conv.from_hub(hub) == v1


@needs_v2
@pytest.mark.parametrize(
    "workload", [{"apiVersion": "apps/v1", "kind": "StatefulSet"}, {"apiVersion": "apps/v1", "kind": "Deployment"}, {"apiVersion": c.LWS_API_VERSION, "kind": c.KIND_LWS}]
)
def test_the_workload_is_the_role_workload_type_annotation_as_upstream_writes_it(workload: dict[str, str]) -> None:
    hub = conv.to_hub(group(V1, [{"name": "r", "template": TEMPLATE, "workload": workload}]))
    assert role_of(hub)["annotations"] == {c.ANNOTATION_ROLE_WORKLOAD_TYPE: f"{workload['apiVersion']}/{workload['kind']}"}


@needs_v2
@pytest.mark.parametrize(
    "policy, gang",
    [
        pytest.param({"kubeScheduling": {"scheduleTimeoutSeconds": 120}}, {c.ANNOTATION_GANG: "true", c.ANNOTATION_GANG_TIMEOUT: "120"}, id="kube"),
        pytest.param({"kubeScheduling": {}}, {c.ANNOTATION_GANG: "true", c.ANNOTATION_GANG_TIMEOUT: "60"}, id="kube-default-timeout"),
        pytest.param(
            {"volcanoScheduling": {"queue": "q1", "priorityClassName": "high"}},
            {c.ANNOTATION_GANG: "true", c.ANNOTATION_GANG_VOLCANO_QUEUE: "q1", c.ANNOTATION_GANG_VOLCANO_PRIORITY: "high"},
            id="volcano",
        ),
        pytest.param({"volcanoScheduling": {}}, {c.ANNOTATION_GANG: "true", c.ANNOTATION_GANG_VOLCANO_QUEUE: "default"}, id="volcano-default-queue-named"),
        pytest.param(
            {"kubeScheduling": {"scheduleTimeoutSeconds": 5}, "volcanoScheduling": {"queue": "q1"}},
            {c.ANNOTATION_GANG: "true", c.ANNOTATION_GANG_TIMEOUT: "5"},
            id="kube-wins",
        ),
        pytest.param({}, {}, id="empty"),
    ],
)
def test_pod_group_policy_is_gang_annotations_and_upstreams_raw_annotation(policy: dict[str, Any], gang: dict[str, str]) -> None:
    v1 = group(V1, [{"name": "r", "template": TEMPLATE}], {"team": "x"}, podGroupPolicy=policy)
    hub = conv.to_hub(v1)
    assert annotations_of(hub) == {"team": "x", **gang, conv.PGP: conv.dump(v1["spec"]["podGroupPolicy"]), conv.ORIGIN: "v1alpha1"}
    assert "podGroupPolicy" not in hub["spec"]
    assert conv.from_hub(hub) == v1


@needs_v2
def test_coordination_is_upstreams_raw_annotation_and_the_marker_says_v1alpha1() -> None:
    coordination = [{"name": "pd", "roles": ["a", "b"], "strategy": {"scaling": {"maxSkew": "10%"}}}]
    v1 = group(V1, [{"name": "a", "template": TEMPLATE}, {"name": "b", "template": TEMPLATE}], coordination=coordination)
    hub = conv.to_hub(v1)
    assert json.loads(annotations_of(hub)[conv.COORD]) == v1["spec"]["coordination"]
    assert annotations_of(hub)[c.ANNOTATION_API_ORIGIN] == "v1alpha1"
    assert "coordination" not in hub["spec"]
    assert conv.from_hub(hub) == v1


@needs_v2
def test_a_set_template_is_the_group_template_with_its_annotations() -> None:
    template = {"roles": [{"name": "r", "template": TEMPLATE}], "podGroupPolicy": {"kubeScheduling": {}}, "coordination": [{"name": "c", "roles": ["r"]}]}
    v1 = served({"apiVersion": V1, "kind": c.KIND_RBGS, "metadata": {"name": "s"}, "spec": {"replicas": 2, "template": template}})
    hub = conv.to_hub(v1)
    group_template = hub["spec"]["groupTemplate"]
    assert group_template["labels"] == {} and group_template["spec"]["roles"][0]["standalonePattern"] == {"template": TEMPLATE}
    assert set(group_template["annotations"]) == {c.ANNOTATION_GANG, c.ANNOTATION_GANG_TIMEOUT, conv.PGP, conv.COORD, conv.ORIGIN}
    assert "annotations" not in hub["metadata"] and hub["spec"]["replicas"] == 2
    check_converted(hub, V2)
    assert conv.from_hub(hub) == v1


@needs_v2
@pytest.mark.parametrize("kind", [c.KIND_RBGSA, KIND_CERP])
def test_adapters_and_profiles_change_only_their_api_version(kind: str) -> None:
    spec = {"scaleTargetRef": {"name": "g", "role": "r"}, "replicas": 3} if kind == c.KIND_RBGSA else {"containers": [{"name": "s", "image": "s:1"}]}
    v1 = served({"apiVersion": V1, "kind": kind, "metadata": {"name": "x", "annotations": {"a": "b"}}, "spec": spec, "status": {"replicas": 1}})
    hub = conv.to_hub(v1)
    assert hub == {**v1, "apiVersion": V2}
    assert conv.from_hub(hub) == v1


# --- table tests: what the stash keeps, and edits in the other version winning ---------------------


def v2_role(**fields: Any) -> dict[str, Any]:
    return {"name": "r", "standalonePattern": {"template": TEMPLATE}, **fields}


@needs_v2
def test_a_role_without_the_workload_annotation_has_its_patterns_default_and_does_not_gain_it() -> None:
    hub = group(V2, [v2_role(), {"name": "l", "leaderWorkerPattern": {"template": TEMPLATE}}])
    v1 = conv.from_hub(hub)
    assert role_of(v1, 0)["workload"] == {"apiVersion": "apps/v1", "kind": "StatefulSet"}
    assert role_of(v1, 1)["workload"] == {"apiVersion": c.LWS_API_VERSION, "kind": c.KIND_LWS}
    assert conv.to_hub(v1) == hub
    # ...unless the v1alpha1 user changed the workload: that edit wins.
    role_of(v1, 0)["workload"] = {"apiVersion": "apps/v1", "kind": "Deployment"}
    again = conv.to_hub(v1)
    assert role_of(again, 0)["annotations"] == {c.ANNOTATION_ROLE_WORKLOAD_TYPE: "apps/v1/Deployment"}
    assert c.ANNOTATION_ROLE_WORKLOAD_TYPE not in role_of(again, 1)["annotations"]


@needs_v2
@pytest.mark.parametrize(
    "pattern, restart",
    [
        pytest.param(conv.LEADER_WORKER, {}, id="leaderWorker-default-RecreateRoleInstance"),
        pytest.param(conv.LEADER_WORKER, {"restartPolicy": "RecreateRoleInstanceOnPodRestart"}, id="deprecated-string"),
        pytest.param(conv.LEADER_WORKER, {"restartPolicy": "None", "restartPolicyConfig": {"type": "RecreateRBGOnPodRestart"}}, id="config-wins-over-string"),
        pytest.param(conv.STANDALONE, {"restartPolicyConfig": {"baseDelaySeconds": 5}}, id="delays-only"),
        pytest.param(conv.STANDALONE, {"restartPolicyConfig": {"type": "RecreateRoleInstanceOnPodRestart", "baseDelaySeconds": 5, "maxDelaySeconds": 50}}, id="delays"),
    ],
)
def test_restart_policies_v1alpha1_cannot_spell_come_back_as_written(pattern: str, restart: dict[str, Any]) -> None:
    hub = group(V2, [{"name": "r", pattern: {"template": TEMPLATE, **restart}}])
    v1 = conv.from_hub(hub)
    effective = api_v2.RoleSpec.model_validate(role_of(hub)).restart_policy
    # v1alpha1's absent policy: None, but a LeaderWorkerSet's, which recreates its groups itself.
    absent = "RecreateRoleInstanceOnPodRestart" if role_of(v1)["workload"]["kind"] == c.KIND_LWS else "None"
    assert role_of(v1).get("restartPolicy", absent) == effective, "the v1alpha1 view means what the object means"
    assert conv.to_hub(v1) == hub


@needs_v2
def test_a_restart_policy_edited_in_v1alpha1_wins_and_keeps_the_delays() -> None:
    hub = group(V2, [v2_role(standalonePattern={"template": TEMPLATE, "restartPolicyConfig": {"type": "None", "baseDelaySeconds": 5, "maxDelaySeconds": 50}})])
    v1 = conv.from_hub(hub)
    role_of(v1)["restartPolicy"] = "RecreateRBGOnPodRestart"
    assert role_of(conv.to_hub(v1))["standalonePattern"]["restartPolicyConfig"] == {"type": "RecreateRBGOnPodRestart", "baseDelaySeconds": 5, "maxDelaySeconds": 50}


@needs_v2
def test_a_custom_components_role_is_an_instance_set_role_in_v1alpha1_and_comes_back_whole() -> None:
    components = [
        {"name": "leader", "size": 1, "labels": {"tier": "l"}, "template": TEMPLATE},
        {"name": "worker", "size": 2, "serviceName": "w", "annotations": {"a": "b"}, "template": {"spec": {"containers": [{"name": "w", "image": "w:1"}]}}},
    ]
    hub = group(V2, [{"name": "r", "customComponentsPattern": {"components": components, "restartPolicyConfig": {"type": "None"}}}])
    v1 = conv.from_hub(hub)
    role = role_of(v1)
    # Upstream's v1alpha1 spelling: an InstanceSet role with components (which have no labels or annotations there).
    assert role["components"] == [{k: v for k, v in comp.items() if k not in ("labels", "annotations")} for comp in components]
    assert "template" not in role and "leaderWorkerSet" not in role and role["restartPolicy"] == "None"
    assert role["workload"] == {"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_INSTANCE_SET}
    assert stash(v1)["roles"]["r"]["componentMeta"] == {"leader": {"labels": {"tier": "l"}}, "worker": {"annotations": {"a": "b"}}}
    assert conv.to_hub(v1) == hub
    # A component's template edited in v1alpha1: the edit wins, its labels come back.
    edited = {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}
    role["components"][0]["template"] = edited
    again = role_of(conv.to_hub(v1))["customComponentsPattern"]
    assert again["components"] == [
        {**role_of(hub)["customComponentsPattern"]["components"][0], "template": edited},
        role_of(hub)["customComponentsPattern"]["components"][1],
    ]


def test_upstreams_v1alpha1_instance_set_runs_on_v1alpha2_role_instance_sets() -> None:
    v1 = group(V1, [{"name": "e", "workload": {"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_INSTANCE_SET}, "components": [{"name": "x", "size": 2, "template": TEMPLATE}]}])
    role = role_of(conv.to_hub(v1))
    assert role["customComponentsPattern"] == {"components": [{"name": "x", "size": 2, "template": TEMPLATE, "labels": {}, "annotations": {}}], "restartPolicy": "None"}
    assert role["annotations"] == {c.ANNOTATION_ROLE_WORKLOAD_TYPE: f"{c.API_VERSION}/{c.KIND_ROLE_INSTANCE_SET}"}
    assert conv.from_hub(conv.to_hub(v1)) == v1


@needs_v2
def test_v1alpha2_only_role_fields_survive_an_edit_of_another_field_in_v1alpha1() -> None:
    hub = group(
        V2,
        [
            v2_role(podManagementPolicy="OrderedReady", scalingAdapter={"enable": True, "labels": {"team": "x"}}),
            {"name": "l", "leaderWorkerPattern": {"template": TEMPLATE, "sharedServiceSelection": "LeaderOnly"}},
        ],
    )
    v1 = conv.from_hub(hub)
    assert "podManagementPolicy" not in role_of(v1) and role_of(v1)["scalingAdapter"] == {"enable": True}
    assert "sharedServiceSelection" not in str(v1["spec"])
    role_of(v1)["replicas"] = 7
    role_of(v1, 1)["replicas"] = 3
    again = conv.to_hub(v1)
    assert again["spec"]["roles"] == [{**role_of(hub), "replicas": 7}, {**role_of(hub, 1), "replicas": 3}]


@needs_v2
def test_a_role_added_or_removed_in_v1alpha1_has_no_stash() -> None:
    hub = group(V2, [v2_role(podManagementPolicy="OrderedReady"), {**v2_role(podManagementPolicy="OrderedReady"), "name": "s"}])
    v1 = conv.from_hub(hub)
    v1["spec"]["roles"] = [{**role_of(v1, 1), "name": "t"}, role_of(v1, 0)]  # s removed, t added
    again = conv.to_hub(v1)
    assert [(r["name"], r["podManagementPolicy"]) for r in again["spec"]["roles"]] == [("t", "Parallel"), ("r", "OrderedReady")]
    assert c.ANNOTATION_ROLE_WORKLOAD_TYPE in role_of(again, 0)["annotations"], "t is new in v1alpha1: its workload is written"


@needs_v2
def test_gang_annotations_written_in_v1alpha2_stay_plain_annotations_in_v1alpha1() -> None:
    gang = {c.ANNOTATION_GANG: "true", c.ANNOTATION_GANG_TIMEOUT: "90"}
    hub = group(V2, [v2_role()], gang)
    v1 = conv.from_hub(hub)
    assert "podGroupPolicy" not in v1["spec"] and {k: annotations_of(v1)[k] for k in gang} == gang
    assert conv.to_hub(v1) == hub


@needs_v2
def test_gang_annotations_edited_in_v1alpha2_win_over_upstreams_raw_annotation() -> None:
    v1 = group(V1, [{"name": "r", "template": TEMPLATE}], podGroupPolicy={"kubeScheduling": {"scheduleTimeoutSeconds": 60}})
    hub = conv.to_hub(v1)
    hub["metadata"]["annotations"][c.ANNOTATION_GANG_TIMEOUT] = "300"  # a v1alpha2 user's edit
    down = conv.from_hub(hub)
    assert "podGroupPolicy" not in down["spec"] and annotations_of(down)[c.ANNOTATION_GANG_TIMEOUT] == "300"
    assert stash(down)["annotations"] == {conv.PGP: annotations_of(hub)[conv.PGP]}
    assert conv.to_hub(down) == hub
    # ...and a podGroupPolicy written in v1alpha1 afterwards wins over the stash.
    down["spec"]["podGroupPolicy"] = {"volcanoScheduling": {"queue": "q"}}
    up = annotations_of(conv.to_hub(down))
    assert json.loads(up[conv.PGP]) == {"volcanoScheduling": {"queue": "q"}} and up[c.ANNOTATION_GANG_VOLCANO_QUEUE] == "q"


@needs_v2
def test_a_volcano_gang_upstreams_conversion_wrote_without_a_queue_is_a_pod_group_policy() -> None:
    written = {conv.PGP: '{"volcanoScheduling":{}}', c.ANNOTATION_GANG: "true", conv.ORIGIN: "v1alpha1"}
    hub = group(V2, [v2_role()], written)
    v1 = conv.from_hub(hub)
    assert v1["spec"]["podGroupPolicy"] == {"volcanoScheduling": {}} and c.ANNOTATION_GANG not in annotations_of(v1)
    assert conv.to_hub(v1) == hub


@needs_v2
def test_another_writers_json_comes_back_byte_for_byte_unless_edited() -> None:
    policy, coordination = {"kubeScheduling": {"scheduleTimeoutSeconds": 60}}, [{"name": "c", "roles": ["r"], "strategy": {}}]
    written = {conv.PGP: json.dumps(policy, indent=2), conv.COORD: json.dumps(coordination, indent=2), c.ANNOTATION_GANG: "true", c.ANNOTATION_GANG_TIMEOUT: "60"}
    hub = group(V2, [v2_role()], {**written, conv.ORIGIN: "v1alpha1"})
    v1 = conv.from_hub(hub)
    assert v1["spec"]["podGroupPolicy"] == policy and v1["spec"]["coordination"] == coordination
    assert conv.to_hub(v1) == hub
    v1["spec"]["coordination"][0]["roles"] = ["r", "r2"]
    assert json.loads(annotations_of(conv.to_hub(v1))[conv.COORD])[0]["roles"] == ["r", "r2"]


@needs_v2
def test_the_marker_stays_off_a_group_written_in_v1alpha2() -> None:
    hub = group(V2, [v2_role()])
    v1 = conv.from_hub(hub)
    assert stash(v1) == {"annotations": {conv.ORIGIN: None}, "roles": {"r": {"workloadType": None}}}
    assert conv.ORIGIN not in annotations_of(conv.to_hub(v1))


@needs_v2
def test_a_sets_group_labels_and_annotations_live_in_its_stash() -> None:
    group_template = {"labels": {"app": "x"}, "annotations": {"team": "y", c.ANNOTATION_GANG: "true"}, "spec": {"roles": [v2_role()]}}
    hub = served({"apiVersion": V2, "kind": c.KIND_RBGS, "metadata": {"name": "s", "annotations": {"own": "1"}}, "spec": {"groupTemplate": group_template}})
    v1 = conv.from_hub(hub)
    assert annotations_of(v1)["own"] == "1" and stash(v1)["groupTemplate"] == {"labels": {"app": "x"}, "annotations": {"team": "y", c.ANNOTATION_GANG: "true"}}
    check_converted(v1, V1)
    assert conv.to_hub(v1) == hub


# --- the review ------------------------------------------------------------------------------------------


def request(desired: str, *objects: Any) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "request": {"uid": "u-9", "desiredAPIVersion": desired, "objects": list(objects)}}


GOOD = {"apiVersion": V1, "kind": c.KIND_RBG, "metadata": {"name": "g", "namespace": "ns"}, "spec": {"roles": [{"name": "r", "template": TEMPLATE}]}}


@pytest.mark.parametrize(
    "desired, obj, message",
    [
        pytest.param(V2, {**GOOD, "kind": "Pod"}, "cannot convert Pod ns/g (workloads.x-k8s.io/v1alpha1): only RoleBasedGroup, ", id="wrong-kind"),
        pytest.param(V2, {**GOOD, "apiVersion": "apps/v1"}, "cannot convert RoleBasedGroup ns/g (apps/v1): only ", id="wrong-group"),
        pytest.param("workloads.x-k8s.io/v1beta1", GOOD, "cannot convert RoleBasedGroup ns/g (workloads.x-k8s.io/v1alpha1) to workloads.x-k8s.io/v1beta1: the desiredAPIVersion", id="unknown-version"),
        pytest.param(V2, {**GOOD, "spec": {"roles": {"r": {}}}}, "to workloads.x-k8s.io/v1alpha2: spec.roles is not a list", id="roles-not-a-list"),
        pytest.param(V2, {**GOOD, "spec": None}, "spec is not an object", id="no-spec"),
        pytest.param(
            V2,
            {**GOOD, "metadata": {"name": "g", "namespace": "ns", "annotations": {conv.STASH: "{not json"}}},
            f"metadata.annotations[{conv.STASH}] is not a JSON object",
            id="broken-stash",
        ),
        pytest.param(
            V2,
            {**GOOD, "metadata": {"name": "g", "namespace": "ns", "annotations": {conv.STASH: '{"roles": {"r": {"workloadType": 5}}}'}}},
            f"{conv.STASH}: role r: workloadType is not what this conversion writes there",
            id="stash-of-another-shape",
        ),
        pytest.param(V1, {**GOOD, "apiVersion": V2, "spec": {"roles": [{"name": "r"}]}}, "role r: exactly one of standalonePattern, ", id="no-pattern"),
        pytest.param(V2, "RoleBasedGroup", "cannot convert 'RoleBasedGroup' to workloads.x-k8s.io/v1alpha2: not an object", id="not-an-object"),
    ],
)
def test_an_object_that_cannot_be_converted_fails_the_review_naming_it(desired: str, obj: Any, message: str) -> None:
    response = review(request(desired, GOOD, obj))["response"]
    assert response["uid"] == "u-9" and response["convertedObjects"] == []
    assert response["result"]["status"] == "Failure" and message in response["result"]["message"], response["result"]["message"]


def test_objects_at_the_desired_version_pass_through_unchanged() -> None:
    response = review(request(V1, GOOD))
    assert response == {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview", "response": {"uid": "u-9", "convertedObjects": [GOOD], "result": {"status": "Success"}}}
    assert convert(GOOD, V1) is not GOOD


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([], id="not-an-object"),
        pytest.param({"apiVersion": "apiextensions.k8s.io/v1beta1", "kind": "ConversionReview", "request": {}}, id="other-review-version"),
        pytest.param({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview"}, id="no-request"),
        pytest.param({**request(V1), "request": {"desiredAPIVersion": V1, "objects": []}}, id="no-uid"),
        pytest.param({**request(V1), "request": {"uid": "u", "desiredAPIVersion": V1, "objects": {}}}, id="objects-not-a-list"),
    ],
)
def test_a_malformed_review_is_a_value_error(body: Any) -> None:
    with pytest.raises(ValueError):
        review(body)
    assert issubclass(ConversionError, ValueError)


# --- upstream v0.7.0's examples ------------------------------------------------------------------------


def example_documents(deprecated: bool) -> list[Any]:
    out = []
    for path in sorted(EXAMPLES.rglob("*.yaml")):
        if ("deprecated" in path.relative_to(EXAMPLES).parts) != deprecated:
            continue
        for i, doc in enumerate(d for d in yaml.safe_load_all(path.read_text()) if d):
            if doc.get("kind") in (c.KIND_RBG, c.KIND_RBGS):
                out.append(pytest.param(doc, id=f"{path.relative_to(EXAMPLES)}#{i}"))
    return out


def as_stored(doc: dict[str, Any]) -> dict[str, Any]:
    try:
        return served(doc)
    except ValidationError as error:
        pytest.skip(f"our {doc['apiVersion']} model rejects this upstream document: {str(error).splitlines()[1:3]}")


@needs_v2
@pytest.mark.parametrize("doc", example_documents(deprecated=True))
def test_every_v1alpha1_example_converts_up_and_back_to_itself(doc: dict[str, Any]) -> None:
    v1 = as_stored(doc)
    hub = conv.to_hub(v1)
    check_converted(hub, V2)
    assert conv.from_hub(hub) == v1


@needs_v2
@pytest.mark.parametrize("doc", example_documents(deprecated=False))
def test_every_v1alpha2_example_converts_down_and_back_to_itself(doc: dict[str, Any]) -> None:
    v2 = as_stored(doc)
    v1 = conv.from_hub(v2)
    check_converted(v1, V1)
    assert conv.to_hub(v1) == v2


def test_the_examples_are_there() -> None:
    assert len(example_documents(deprecated=True)) >= 20 and len(example_documents(deprecated=False)) >= 30
