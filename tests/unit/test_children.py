"""Table tests of each child builder: the whole object is compared."""

import re

import pytest
import yaml

from hooks import constants as c
from hooks.api import GroupSpec, RoleBasedGroupSpec, RoleSpec
from hooks.children.discovery import Cut, discovery_configmap, discovery_document
from hooks.children.service import headless_service
from hooks.validation import Invalid, validate
from hooks.naming import group_unique_key
from tests.support.plans import pod_template as build_pod_template, workload_of
from tests.support import hub

KEY = group_unique_key("ns", "g")
SELECTOR = {c.LABEL_GROUP_NAME: "g", c.LABEL_ROLE_NAME: "r"}
POD_LABELS = {**SELECTOR, c.LABEL_GROUP_NAME_V2: "g", c.LABEL_ROLE_NAME_V2: "r", c.LABEL_GROUP_UNIQUE_KEY: KEY}
BASE_ENV = [
    {"name": "GROUP_NAME", "value": "g"},
    {"name": "RBG_GROUP_NAME", "value": "g"},
    {"name": "ROLE_NAME", "value": "r"},
    {"name": "RBG_ROLE_NAME", "value": "r"},
]
INDEX_ENV = [
    {"name": n, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}}}
    for n in ("ROLE_INDEX", "RBG_ROLE_INDEX")
]
MOUNT = {"name": "rbg-cluster-config", "mountPath": "/etc/rbg", "readOnly": True}
VOLUME = {"name": "rbg-cluster-config", "configMap": {"name": "g-discovery"}}


def role(**extra) -> RoleSpec:
    return hub.role({"name": "r", "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}, **extra})


def named(group, spec):
    """Each role's Service as `<group>-<role>`: the builders use the names they are given."""
    return {r.name: f"{group}-{r.name}" for r in spec.roles}


def pod(env, **container):
    return {
        "spec": {"containers": [{"name": "c", "image": "i", **container, "env": env, "volumeMounts": [MOUNT]}], "volumes": [VOLUME]},
        "metadata": {"labels": POD_LABELS},
    }


def test_statefulset():
    got = workload_of("ns", "g", role(replicas=3, labels={"team": "x"}, annotations={"a": "b"}, minReadySeconds=5))
    assert got == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "g-r", "labels": {"team": "x", **SELECTOR}, "annotations": {"a": "b"}},
        "spec": {
            "replicas": 3,
            "serviceName": "s-g-r",
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": SELECTOR},
            "template": pod(BASE_ENV + INDEX_ENV),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "minReadySeconds": 5,
        },
    }


@pytest.mark.parametrize(
    "rolling,partition",
    [({"partition": 2}, 2), ({"partition": "50%"}, 2), ({"paused": True}, 4), ({"partition": "1"}, 1)],
)
def test_statefulset_partition(rolling, partition):
    got = workload_of("ns", "g", role(replicas=4, rolloutStrategy={"rollingUpdate": rolling}))
    assert got["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}}


@pytest.mark.parametrize(
    "rolling,update",
    [
        pytest.param({"maxUnavailable": 2}, {"partition": 0, "maxUnavailable": 2}, id="max-unavailable"),
        pytest.param({"maxUnavailable": "50%", "partition": 1}, {"partition": 1, "maxUnavailable": "50%"}, id="percent"),
        pytest.param({"type": "Recreate", "partition": 3}, {"partition": 0, "maxUnavailable": "100%"}, id="recreate-all-at-once"),
        pytest.param({"type": "Recreate", "paused": True}, {"partition": 4}, id="paused-recreate-waits"),
        pytest.param({"type": "InPlaceIfPossible"}, {"partition": 0}, id="in-place-rolls-one-by-one"),
    ],
)
def test_statefulset_rolling_update(rolling, update):
    got = workload_of("ns", "g", role(replicas=4, rolloutStrategy={"rollingUpdate": rolling}))
    assert got["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": update}


@pytest.mark.parametrize(
    "rolling,strategy",
    [
        pytest.param({"type": "Recreate"}, {"type": "Recreate"}, id="recreate"),
        pytest.param({"maxSurge": "25%"}, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}}, id="rolling"),
    ],
)
def test_deployment_strategy(rolling, strategy):
    assert workload_of("ns", "g", role(workload={"apiVersion": "apps/v1", "kind": "Deployment"}, rolloutStrategy={"rollingUpdate": rolling}))["spec"]["strategy"] == strategy


@pytest.mark.parametrize("partition,why", [("200%", "outside 0% to 100%"), ("-5%", "neither a count nor a percentage"), ("9999999999", "outside 0 to 2147483647")])
def test_a_partition_outside_int32_is_refused(partition, why):
    """By validation, before anything is planned or built: a builder never refuses a value."""
    got = validate("g", {"roles": [{**role().model_dump(by_alias=True, exclude_none=True), "replicas": c.INT32_MAX, "rolloutStrategy": {"rollingUpdate": {"partition": partition}}}]})
    assert isinstance(got, Invalid) and [p.path for p in got.problems] == ["spec.roles[0].rolloutStrategy.rollingUpdate.partition"]
    assert why in got.problems[0].message


def test_deployment_has_no_index_env():
    got = workload_of("ns", "g", role(workload={"apiVersion": "apps/v1", "kind": "Deployment"}, replicas=2, rolloutStrategy={"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}))
    assert got == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "g-r", "labels": SELECTOR},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": SELECTOR},
            "template": pod(BASE_ENV),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        },
    }


def test_headless_service():
    ports = [{"name": "http", "port": 8000}]
    assert headless_service("g", role(servicePorts=ports), "g-r") == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "g-r", "labels": SELECTOR},
        "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": SELECTOR, "ports": ports},
    }


def test_pod_template_keeps_user_values_after_injected_ones_and_canonicalises():
    template = {
        "metadata": {"labels": {"app": "x", c.LABEL_ROLE_NAME: "spoofed"}, "annotations": {"a": "b"}},
        "spec": {
            "initContainers": [{"name": "init", "image": "i"}],
            "containers": [
                {
                    "name": "c",
                    "image": "i",
                    "env": [
                        {"name": "ROLE_NAME", "value": "mine"},
                        {"name": "URL", "value": "http://$(GROUP_NAME)"},
                        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    ],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "other", "mountPath": "/etc/rbg"}],
                    "resources": {"limits": {"cpu": 1, "memory": "1.5Gi", "nvidia.com/gpu": "1"}, "requests": {"cpu": "0.5"}},
                }
            ],
            "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "1024Mi"}}, {"name": "rbg-cluster-config", "emptyDir": {}}],
        },
    }
    got = build_pod_template(template, namespace="ns", group="g", role="r", index_label=None)
    assert got["metadata"] == {"labels": {"app": "x", **POD_LABELS}, "annotations": {"a": "b"}}
    main, init = got["spec"]["containers"][0], got["spec"]["initContainers"][0]
    assert main["env"] == BASE_ENV + [
        {"name": "URL", "value": "http://$(GROUP_NAME)"},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP", "apiVersion": "v1"}}},
    ]
    assert main["volumeMounts"] == [{"name": "data", "mountPath": "/data"}, MOUNT]
    assert init["env"] == BASE_ENV and init["volumeMounts"] == [MOUNT]
    assert main["resources"] == {"limits": {"cpu": "1", "memory": "1536Mi", "nvidia.com/gpu": "1"}, "requests": {"cpu": "500m"}}
    assert got["spec"]["volumes"] == [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}, VOLUME]
    assert template["spec"]["containers"][0]["env"][0] == {"name": "ROLE_NAME", "value": "mine"}  # input untouched


def _spec(*roles) -> RoleBasedGroupSpec:
    return GroupSpec.model_validate({"roles": [r.model_dump(by_alias=True, exclude_none=True) for r in roles]})


def test_discovery_lists_only_resolvable_addresses():
    ports = [{"name": "http", "port": 8000, "targetPort": 8080}, {"name": "Bootstrap-Port", "port": 34000}]
    spec = _spec(
        role(name="prefill", replicas=2, servicePorts=ports),
        role(name="router", replicas=1, dependencies=["prefill"]),
        role(name="workers", replicas=3, workload={"apiVersion": "apps/v1", "kind": "Deployment"}),
    )
    assert discovery_document("pd", spec, started={"prefill", "workers"}, services=named("pd", spec)) == ({
        "group": {"name": "pd", "roles": ["prefill", "router", "workers"], "size": 3},
        "roles": {
            "prefill": {
                "size": 2,
                "instances": [
                    {"address": "pd-prefill-0.pd-prefill", "ports": {"http": 8080, "bootstrap_port": 34000}},
                    {"address": "pd-prefill-1.pd-prefill", "ports": {"http": 8080, "bootstrap_port": 34000}},
                ],
            },
            "router": {"size": 1, "instances": []},  # not created yet
            "workers": {"size": 3, "instances": []},  # Deployment pods have no stable names
        },
    }, [])


def test_discovery_configmap_holds_the_document_as_yaml():
    spec = _spec(role(name="a"))
    cm, cuts = discovery_configmap("g", spec, {"a"}, named("g", spec))
    assert cm["metadata"] == {"name": "g-discovery", "labels": {c.LABEL_GROUP_NAME: "g"}}
    doc = yaml.safe_load(cm["data"]["config.yaml"])
    assert re.fullmatch("[0-9a-f]{16}", doc.pop("version"))
    assert (doc, cuts) == discovery_document("g", spec, {"a"}, named("g", spec))


def test_the_discovery_version_changes_exactly_when_the_content_does():
    def file(**changes):
        return discovery_configmap("g", _spec(role(name="a", **changes)), {"a"}, {"a": "g-a"})[0]["data"]["config.yaml"]

    def version(text):
        return yaml.safe_load(text)["version"]

    assert version(file(replicas=2)) == version(file(replicas=2))
    assert version(file(replicas=2)) != version(file(replicas=3))
    # A change that does not reach the file (the pod template) keeps the version.
    assert file(replicas=2, template={"spec": {"containers": [{"name": "x", "image": "y:2"}]}}) == file(replicas=2)


def test_discovery_cuts_instance_lists_evenly_and_says_how_to_reach_the_rest():
    spec = _spec(
        role(name="router", replicas=1),
        role(name="prefill", replicas=1000, servicePorts=[{"name": "http", "port": 8000}]),
        role(name="decode", replicas=3),
    )
    doc, cuts = discovery_document("pd", spec, {"router", "prefill", "decode"}, named("pd", spec), budget=700)
    assert doc["roles"] == {
        "router": {"size": 1, "instances": [{"address": "pd-router-0.pd-router", "ports": {}}]},  # complete: as before
        "prefill": {
            "size": 1000,
            "truncated": True,
            "addressTemplate": "pd-prefill-{index}.pd-prefill",  # index 0 to size - 1
            "ports": {"http": 8000},
            "instances": [{"address": "pd-prefill-0.pd-prefill", "ports": {"http": 8000}}],
        },
        "decode": {"size": 3, "truncated": True, "addressTemplate": "pd-decode-{index}.pd-decode", "ports": {}, "instances": []},
    }
    assert cuts == [Cut("prefill", 1, 1000), Cut("decode", 0, 3)]


def test_grace_period_seconds_drains_a_pod_before_it_is_replaced():
    """Upstream #383: gracePeriodSeconds was ignored. Pods are replaced, so the drain comes on the way out."""
    template = {"spec": {"containers": [
        {"name": "engine", "image": "e"},
        {"name": "own", "image": "o", "lifecycle": {"preStop": {"exec": {"command": ["drain"]}}}},
    ]}}
    strategy = {"rollingUpdate": {"inPlaceUpdateStrategy": {"gracePeriodSeconds": 45}}}
    for kind in ("StatefulSet", "Deployment"):
        pod = workload_of("ns", "g", role(template=template, rolloutStrategy=strategy, workload={"apiVersion": "apps/v1", "kind": kind}))["spec"]["template"]["spec"]
        engine, own = pod["containers"]
        assert engine["lifecycle"] == {"preStop": {"sleep": {"seconds": 45}}}
        assert own["lifecycle"] == {"preStop": {"exec": {"command": ["drain"]}}}  # the user's own drain stands
        assert pod["terminationGracePeriodSeconds"] == 75
    plain = workload_of("ns", "g", role(template=template))["spec"]["template"]["spec"]
    assert "lifecycle" not in plain["containers"][0] and "terminationGracePeriodSeconds" not in plain
