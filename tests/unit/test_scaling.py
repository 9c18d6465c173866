"""Scaling adapters: the group side (who sets a role's size) and the adapter's own status."""

import copy
from functools import partial

import pytest
import yaml

from hooks import constants as c
from hooks.app import create_app
from tests.support import ROOT, adapter_request, by_kind, condition, example_group, observe, parent, related_pods, request, sync, sync_adapter
from tests.support import pod as support_pod

MINIMAL = ROOT / "examples" / "minimal.yaml"
ADAPTER = (c.KIND_RBGSA, "minimal-app")


def group(replicas=2, enable=True):
    g = example_group(MINIMAL)
    app = g["spec"]["roles"][1]
    app["replicas"] = replicas
    if enable is not None:
        app["scalingAdapter"] = {"enable": enable}
    return g


def running(g, adapter_replicas=None):
    """The group after it started, its adapter's spec.replicas set to `adapter_replicas` (an HPA wrote it)."""
    children = observe(sync(request(g)).children)
    children = observe(sync(request(g, children)).children)
    if adapter_replicas is not None:
        children[c.CHILD_ADAPTER]["default/minimal-app"]["spec"]["replicas"] = adapter_replicas
    return children


def app_size(result):
    return by_kind(result.children)[(c.KIND_STATEFULSET, "minimal-app")]["spec"]["replicas"]


def app_status(result):
    return next(s for s in result.status["roleStatuses"] if s["name"] == "app")


def test_enable_creates_the_adapter_with_the_roles_size_before_the_role_starts():
    first = sync(request(group()))
    assert (c.KIND_STATEFULSET, "minimal-app") not in by_kind(first.children)  # waits for db
    assert by_kind(first.children)[ADAPTER] == {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND_RBGSA,
        "metadata": {"name": "minimal-app", "labels": {c.LABEL_GROUP_NAME: "minimal", c.LABEL_ROLE_NAME: "app"}},
        "spec": {"replicas": 2, "scaleTargetRef": {"name": "minimal", "role": "app"}},
    }


@pytest.mark.parametrize("spec_replicas", [2, 1, 7], ids=["unchanged", "apply-lowers-it", "apply-raises-it"])
def test_what_the_adapter_says_is_never_reverted(spec_replicas):
    """Upstream #306: a later apply of the group that changes `replicas` reset an autoscaled role."""
    children = running(group(), adapter_replicas=5)
    result = sync(request(group(spec_replicas), children))
    assert app_size(result) == 5
    assert by_kind(result.children)[ADAPTER]["spec"]["replicas"] == 5
    assert app_status(result)["replicas"] == 5
    assert app_status(result)["scalingAdapter"] == {"replicas": 5, "specReplicas": spec_replicas}


def test_an_apply_that_omits_replicas_keeps_the_adapters_size():
    g = group()
    del g["spec"]["roles"][1]["replicas"]  # the API server defaults it to 1
    g["spec"]["roles"][1]["replicas"] = 1
    assert app_size(sync(request(g, running(group(), adapter_replicas=4)))) == 4


def test_turning_enable_off_deletes_the_adapter_and_keeps_the_size_until_replicas_changes():
    children = running(group(), adapter_replicas=5)
    with_adapter = copy.deepcopy(group())
    with_adapter["status"] = sync(request(group(), children)).status
    off = copy.deepcopy(with_adapter)
    off["spec"]["roles"][1]["scalingAdapter"] = {"enable": False}
    result = sync(request(off, children))
    assert ADAPTER not in by_kind(result.children)
    assert app_size(result) == 5
    # Later syncs read the size from status, as the adapter is gone.
    gone = copy.deepcopy(children)
    gone[c.CHILD_ADAPTER] = {}
    off["status"] = result.status
    again = sync(request(off, gone))
    assert app_size(again) == 5 and app_status(again)["scalingAdapter"] == {"replicas": 5, "specReplicas": 2}
    # A new replicas in the spec takes over.
    off["spec"]["roles"][1]["replicas"] = 3
    changed = sync(request(off, gone))
    assert app_size(changed) == 3 and "scalingAdapter" not in app_status(changed)


def test_without_an_adapter_the_spec_sets_the_size():
    result = sync(request(group(3, enable=None), running(group(3, enable=None))))
    assert app_size(result) == 3 and ADAPTER not in by_kind(result.children)


def test_scaling_through_the_adapter_never_touches_the_pod_template():
    children = running(group())
    before = by_kind(sync(request(group(), children)).children)
    children[c.CHILD_ADAPTER]["default/minimal-app"]["spec"]["replicas"] = 9
    after = by_kind(sync(request(group(), children)).children)
    key = (c.KIND_STATEFULSET, "minimal-app")
    assert after[key]["spec"]["template"] == before[key]["spec"]["template"]
    assert "size: 9" in after[("ConfigMap", "minimal-discovery")]["data"]["config.yaml"]


# The adapter's own controller.

OWNER = {"apiVersion": c.API_VERSION, "kind": c.KIND_RBG, "name": "minimal", "uid": "00000000-0000-0000-0000-000000000001", "controller": True}


def adapter_parent(name="minimal-app", role="app", replicas=2, owners=(OWNER,)):
    """An adapter as the API server sends it (no uid), last scaled through /scale at 00:09."""
    managed = [
        {"manager": "metacontroller", "time": "2026-01-01T00:01:00Z", "fieldsV1": {"f:spec": {"f:replicas": {}, "f:scaleTargetRef": {}}}},
        {"manager": "kube-controller-manager", "subresource": "scale", "time": "2026-01-01T00:09:00Z", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {"manager": "kubectl", "time": "2026-01-01T00:10:00Z", "fieldsV1": {"f:metadata": {"f:labels": {}}}},
    ]
    doc = {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND_RBGSA,
        "metadata": {"name": name, "ownerReferences": list(owners), "managedFields": managed},
        "spec": {"replicas": replicas, "scaleTargetRef": {"name": "minimal", "role": role}},
    }
    return parent(doc, uid=None)


# A pod of the group's role app: pod(name, ready=True, namespace="default").
pod = partial(support_pod, group="minimal", role="app", ready=True)


def adapter_sync(parent_obj, target=True, pods=()):
    g = group()
    g["metadata"]["uid"] = OWNER["uid"]
    related = {c.CHILD_RBG: {"default/minimal": g} if target else {}, **related_pods(pods)}
    return sync_adapter(adapter_request(parent_obj, related))


def test_a_bound_adapter_reports_the_roles_pods_and_its_selector():
    pods = [pod("minimal-app-0"), pod("minimal-app-1", ready=False), pod("minimal-app-2", namespace="other")]
    status = adapter_sync(adapter_parent(), pods=pods).status
    assert {k: v for k, v in status.items() if k != "conditions"} == {
        "phase": "Bound",
        "replicas": 2,  # pods, the unit HPA multiplies by; the other namespace's pod is not counted
        "readyReplicas": 1,
        "selector": f"{c.LABEL_GROUP_NAME}=minimal,{c.LABEL_ROLE_NAME}=app",
        "lastScaleTime": "2026-01-01T00:09:00Z",  # the HPA's write through /scale, not kubectl's label edit
    }
    assert condition(status, c.COND_BOUND)["status"] == "True"


@pytest.mark.parametrize(
    "parent_obj, target, reason, says",
    [
        pytest.param(adapter_parent(), False, c.REASON_TARGET_GROUP_NOT_FOUND, "RoleBasedGroup minimal (namespace default) not found", id="no-group"),
        pytest.param(adapter_parent(role="nope"), True, c.REASON_TARGET_ROLE_NOT_FOUND, "has no role nope", id="no-role"),
        pytest.param(adapter_parent(role="db"), True, c.REASON_SCALING_ADAPTER_NOT_ENABLED, "does not set scalingAdapter.enable", id="not-enabled"),
        pytest.param(adapter_parent(name="mine", owners=()), True, c.REASON_NOT_THE_GROUPS_ADAPTER, "follows only its own adapter minimal-app", id="hand-made"),
    ],
)
def test_an_adapter_that_is_not_bound_says_why(parent_obj, target, reason, says):
    status = adapter_sync(parent_obj, target=target).status
    bound = condition(status, c.COND_BOUND)
    assert status["phase"] == "NotBound" and bound["status"] == "False" and bound["reason"] == reason
    assert says in bound["message"]


def test_adapter_customize_asks_for_the_target_group_and_the_roles_pods():
    got = create_app().test_client().post("/rbgsa/customize", json={"controller": {}, "parent": adapter_parent()})
    assert got.status_code == 200
    rules = got.get_json()["relatedResources"]
    assert rules[0] == {"apiVersion": c.API_VERSION, "resource": "rolebasedgroups", "namespace": "default", "names": ["minimal"]}
    assert rules[1]["resource"] == "pods"
    assert rules[1]["labelSelector"] == {"matchLabels": {c.LABEL_GROUP_NAME: "minimal", c.LABEL_ROLE_NAME: "app"}}


def test_the_autoscaling_example_gives_each_role_an_adapter_its_hpas_target():
    g = example_group(ROOT / "examples" / "autoscaling" / "pd-autoscaled.yaml")
    adapters = {ch["metadata"]["name"] for ch in sync(request(g)).children if ch["kind"] == c.KIND_RBGSA}
    assert adapters == {"sglang-pd-as-prefill", "sglang-pd-as-decode"}
    for hpa in ("hpa-cpu.yaml", "hpa-queue-length.yaml"):
        doc = yaml.safe_load((ROOT / "examples" / "autoscaling" / hpa).read_text())
        assert doc["spec"]["scaleTargetRef"]["kind"] == c.KIND_RBGSA and doc["spec"]["scaleTargetRef"]["name"] in adapters


def test_last_scale_time_of_a_scale_write_without_a_time():
    """A write through /scale leaves a managedFields entry without a time (kubernetes#131892)."""
    parent_obj = adapter_parent()
    parent_obj["metadata"]["managedFields"] = [
        {"manager": "kubectl", "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {"manager": "metacontroller", "time": "2026-01-01T00:03:00Z", "fieldsV1": {"f:metadata": {}}},
    ]
    parent_obj["metadata"]["generation"] = 3
    parent_obj["status"] = {"observedGeneration": 2, "lastScaleTime": "2026-01-01T00:01:00Z"}
    assert adapter_sync(parent_obj).status["lastScaleTime"] == "2026-01-01T00:03:00Z"
    parent_obj["status"]["observedGeneration"] = 3  # nothing new: the time stays
    parent_obj["status"]["lastScaleTime"] = "2026-01-01T00:02:00Z"
    assert adapter_sync(parent_obj).status["lastScaleTime"] == "2026-01-01T00:02:00Z"


def test_turning_enable_off_right_after_a_scale_keeps_the_adapters_last_size():
    children = running(group(), adapter_replicas=6)  # the HPA wrote 6; status never saw it
    off = group()
    off["spec"]["roles"][1]["scalingAdapter"] = {"enable": False}
    result = sync(request(off, children))
    assert app_size(result) == 6 and app_status(result)["scalingAdapter"] == {"replicas": 6, "specReplicas": 2}
