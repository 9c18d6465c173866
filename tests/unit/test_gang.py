"""Gang scheduling (spec.podGroupPolicy): the PodGroup, its minMember, enrolled pods, registration."""

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hooks import constants as c
from hooks.api import KubeScheduling, SyncRequest, VolcanoScheduling
from hooks.children.podgroup import kube_pod_group, volcano_pod_group
from hooks.children.podtemplate import add_decision
from hooks.core import rbg
from hooks.core.gang import Gang
from tests.support.requests import as_hub
from tests.support import UPSTREAM_EXAMPLES, V1ALPHA1, example_group, find_condition, observe, parent, request, sync

KUBE, VOLCANO = c.CHILD_KUBE_POD_GROUP, c.CHILD_VOLCANO_POD_GROUP
PD = V1ALPHA1 / "pd-disagg.yaml"
TIME = "2026-01-01T00:01:00Z"


# --- helpers ------------------------------------------------------------------------------------


def _gang(group, kind):
    policy = KubeScheduling.model_validate({}) if kind == KUBE else VolcanoScheduling.model_validate({})
    return Gang(group, (), policy, registered=True)


def enrol(template, group, kind):
    """The template as built with the gang planner's decision for it (and nothing else decided)."""
    out = copy.deepcopy(template)
    add_decision(out, _gang(group, kind).enrol(template))
    return out


def enrolled(template, group, kind):
    return _gang(group, kind).enrolled(template)


def gang_request(group, children=None, registered=(KUBE, VOLCANO)):
    """A sync request with the `registered` PodGroup types (as tests.support.request(types=...))."""
    return request(group, children, types=registered)


def with_policy(path, policy, **spec):
    group = example_group(path)
    if policy is not None:
        group["spec"]["podGroupPolicy"] = policy
    group["spec"].update(spec)
    return group


def pod_groups(result):
    return [ch for ch in result.children if ch["kind"] == c.KIND_POD_GROUP]


def min_member(result):
    (pg,) = pod_groups(result)
    return pg["spec"]["minMember"]


def gang_condition(result):
    return find_condition(result, c.COND_GANG_SCHEDULING)


def templates(result):
    return {ch["metadata"]["name"]: ch["spec"]["template"] for ch in result.children if ch["kind"] in (c.KIND_STATEFULSET, c.KIND_DEPLOYMENT)}


def then(group, result, ready=True, registered=(KUBE, VOLCANO)):
    """The next request: the group with the status it was given, its children observed."""
    g = copy.deepcopy(group)
    g["status"] = result.status
    return gang_request(g, observe(result.children, ready=ready, time=TIME, types=registered), registered)


# --- constructors -------------------------------------------------------------------------------


def test_kube_pod_group_is_named_after_the_group_and_records_its_counted_roles():
    assert kube_pod_group("g", 3, ["a", "b"], KubeScheduling(schedule_timeout_seconds=120)) == {
        "apiVersion": "scheduling.x-k8s.io/v1alpha1",
        "kind": "PodGroup",
        "metadata": {"name": "g", "labels": {c.LABEL_GROUP_NAME: "g"}, "annotations": {c.ANNOTATION_GANG_ROLES: "a,b"}},
        "spec": {"minMember": 3, "scheduleTimeoutSeconds": 120},
    }


@pytest.mark.parametrize(
    ("policy", "spec"),
    [
        pytest.param({}, {"minMember": 2}, id="default-queue-left-to-the-api-server"),
        pytest.param({"queue": ""}, {"minMember": 2}, id="empty-queue"),
        pytest.param({"queue": "q", "priorityClassName": "high"}, {"minMember": 2, "queue": "q", "priorityClassName": "high"}, id="all"),
    ],
)
def test_volcano_pod_group(policy, spec):
    assert volcano_pod_group("g", 2, [], VolcanoScheduling.model_validate(policy)) == {
        "apiVersion": "scheduling.volcano.sh/v1beta1",
        "kind": "PodGroup",
        "metadata": {"name": "g", "labels": {c.LABEL_GROUP_NAME: "g"}, "annotations": {c.ANNOTATION_GANG_ROLES: ""}},
        "spec": spec,
    }


BARE = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}


@pytest.mark.parametrize(
    ("kind", "template", "expected"),
    [
        pytest.param(
            KUBE,
            BARE,
            {"metadata": {"labels": {"app": "x", c.LABEL_POD_GROUP: "g", c.LABEL_POD_GROUP_LEGACY: "g"}}, "spec": BARE["spec"]},
            id="kube-both-label-spellings",
        ),
        pytest.param(
            VOLCANO,
            BARE,
            {
                "metadata": {"labels": {"app": "x"}, "annotations": {c.ANNOTATION_VOLCANO_GROUP_NAME: "g"}},
                "spec": {**BARE["spec"], "schedulerName": "volcano"},
            },
            id="volcano-annotation-and-scheduler",
        ),
        pytest.param(
            VOLCANO,
            {"metadata": {"annotations": {"a": "b"}}, "spec": {"schedulerName": "volcano-gpu", "containers": []}},
            {"metadata": {"annotations": {"a": "b", c.ANNOTATION_VOLCANO_GROUP_NAME: "g"}}, "spec": {"schedulerName": "volcano-gpu", "containers": []}},
            id="volcano-keeps-the-templates-scheduler",
        ),
        pytest.param(
            KUBE,
            {"metadata": {"labels": {c.LABEL_POD_GROUP: "other"}}, "spec": {}},
            {"metadata": {"labels": {c.LABEL_POD_GROUP: "g", c.LABEL_POD_GROUP_LEGACY: "g"}}, "spec": {}},
            id="ours-win",
        ),
    ],
)
def test_enrol(kind, template, expected):
    before = copy.deepcopy(template)
    assert enrol(template, "g", kind) == expected
    assert template == before  # the input is not changed
    assert enrolled(expected, "g", kind) and not enrolled(template, "g", kind)
    assert not enrolled(expected, "other-group", kind)


# --- registration: the PodGroup types are optional ----------------------------------------------


def test_without_pod_group_policy_nothing_changes():
    group = example_group(PD)
    plain = sync(request(group))
    registered = sync(gang_request(group))
    assert registered.children == plain.children and gang_condition(registered) is None


@pytest.mark.parametrize(("policy", "kind", "overlay"), [({"kubeScheduling": {}}, KUBE, "scheduler-plugins"), ({"volcanoScheduling": {}}, VOLCANO, "volcano")])
def test_an_unregistered_pod_group_type_gives_no_pod_group_no_enrolled_pod_and_says_which_overlay(policy, kind, overlay):
    group = with_policy(PD, policy)
    other = VOLCANO if kind == KUBE else KUBE
    got = sync(gang_request(group, registered=(other,)))
    assert pod_groups(got) == []
    assert templates(got) == templates(sync(request(example_group(PD))))  # everything else reconciles as usual
    cond = gang_condition(got)
    assert (cond["status"], cond["reason"]) == ("False", c.REASON_POD_GROUP_NOT_REGISTERED)
    assert f"kubectl apply --server-side -k overlays/{overlay}" in cond["message"]
    assert kind.split(".", 1)[1] in cond["message"]


def test_the_optional_types_are_validated_where_present_and_never_required():
    group = example_group(PD)
    SyncRequest.model_validate(as_hub(request(group)))  # absent: not registered
    for bad in (None, {"default/x": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}}):
        req = request(group)
        req["children"][KUBE] = bad
        with pytest.raises(ValidationError):
            SyncRequest.model_validate(as_hub(req))


# --- what the upstream examples make --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "spec"),
    [
        ("scheduler-plugins-gang", KUBE, {"minMember": 2, "scheduleTimeoutSeconds": 120}),
        ("volcano-gang", VOLCANO, {"minMember": 2, "queue": "default"}),
    ],
)
def test_upstream_gang_examples(name, kind, spec):
    got = sync(gang_request(example_group(UPSTREAM_EXAMPLES / "basics" / f"{name}.yaml")))
    (pg,) = pod_groups(got)
    assert f"{pg['kind']}.{pg['apiVersion']}" == kind
    assert pg["metadata"] == {"name": name, "labels": {c.LABEL_GROUP_NAME: name}, "annotations": {c.ANNOTATION_GANG_ROLES: "role-sts,role-deploy"}}
    assert pg["spec"] == spec
    for template in templates(got).values():
        assert enrolled(template, name, kind)
        if kind == VOLCANO:
            assert template["spec"]["schedulerName"] == "volcano"
            assert template["metadata"]["annotations"] == {c.ANNOTATION_VOLCANO_GROUP_NAME: name}
        else:
            assert {c.LABEL_POD_GROUP: name, c.LABEL_POD_GROUP_LEGACY: name}.items() <= template["metadata"]["labels"].items()
    cond = gang_condition(got)
    assert (cond["status"], cond["reason"]) == ("True", c.REASON_ALL_ROLES_ENROLLED)
    assert cond["message"] == f"PodGroup {name} ({kind.split('.', 1)[1]}) minMember 2: role-sts 1, role-deploy 1"


def test_kube_scheduling_wins_when_both_are_given_and_says_so():
    got = sync(gang_request(with_policy(PD, {"kubeScheduling": {}, "volcanoScheduling": {"queue": "q"}})))
    (pg,) = pod_groups(got)
    assert pg["apiVersion"] == c.KUBE_POD_GROUP_API_VERSION and pg["spec"]["scheduleTimeoutSeconds"] == 60
    assert gang_condition(got)["message"].endswith("(volcanoScheduling is ignored: kubeScheduling is given too)")


# --- minMember ------------------------------------------------------------------------------------


def test_ordered_startup_grows_the_pod_group_stage_by_stage():
    group = with_policy(PD, {"kubeScheduling": {}})
    first = sync(gang_request(group))
    # router waits for prefill and decode: its pod is not counted, so the gang can be placed.
    assert min_member(first) == 4
    assert gang_condition(first)["message"].endswith("minMember 4: prefill 2, decode 2; router counted once created")
    waiting = sync(then(group, first, ready=False))
    assert min_member(waiting) == 4 and "sglang-pd-router" not in templates(waiting)
    opened = sync(then(group, waiting))
    assert "sglang-pd-router" in templates(opened)
    assert min_member(opened) == 5  # in the answer that creates the router
    assert pod_groups(opened)[0]["metadata"]["annotations"][c.ANNOTATION_GANG_ROLES] == "router,prefill,decode"
    steady = sync(then(group, opened))
    assert steady.children == opened.children


def test_a_created_role_stays_counted_while_its_controller_catches_up():
    group = with_policy(PD, {"kubeScheduling": {}})
    first = sync(gang_request(group))
    req = then(group, first)
    for key in (c.CHILD_STATEFULSET, c.CHILD_DEPLOYMENT):
        for obj in req["children"][key].values():
            obj["status"] = {}  # not yet seen by its controller
    assert min_member(sync(req)) == 4


def test_parallel_startup_counts_every_role_at_once():
    got = sync(gang_request(with_policy(PD, {"volcanoScheduling": {}}, startupPolicy="Parallel")))
    assert min_member(got) == 5


def test_scaling_changes_min_member_in_the_answer_that_changes_replicas():
    group = with_policy(PD, {"kubeScheduling": {}}, startupPolicy="Parallel")
    first = sync(gang_request(group))
    for replicas, expected in ((5, 8), (0, 3)):
        scaled = copy.deepcopy(group)
        scaled["spec"]["roles"][1]["replicas"] = replicas  # prefill
        got = sync(then(scaled, first))
        assert min_member(got) == expected
        assert templates(got) == templates(first)  # no pod restarts for it


def test_min_member_is_at_least_one_and_at_most_int32():
    group = with_policy(PD, {"kubeScheduling": {}}, startupPolicy="Parallel")
    for role in group["spec"]["roles"]:
        role["replicas"] = 0
    assert min_member(sync(gang_request(group))) == 1  # scheduler-plugins' minimum; no pod to hold back
    for role in group["spec"]["roles"]:
        role["replicas"] = c.INT32_MAX
    assert min_member(sync(gang_request(group))) == c.INT32_MAX


def test_coordinated_scaling_counts_the_replicas_returned_not_the_target():
    group = with_policy(PD, {"kubeScheduling": {}}, startupPolicy="Parallel")
    first = sync(gang_request(group))
    grown = copy.deepcopy(group)
    grown["spec"]["coordination"] = [{"name": "pd", "roles": ["prefill", "decode"], "strategy": {"scaling": {"maxSkew": "10%"}}}]
    grown["spec"]["roles"][1]["replicas"] = 20
    grown["spec"]["roles"][2]["replicas"] = 20
    got = sync(then(grown, first))
    returned = sum(ch["spec"]["replicas"] for ch in got.children if ch["kind"] in (c.KIND_STATEFULSET, c.KIND_DEPLOYMENT))
    assert returned < 41 and min_member(got) == returned


def test_a_paused_deployment_is_counted_once_it_has_its_pods():
    group = with_policy(UPSTREAM_EXAMPLES / "basics" / "scheduler-plugins-gang.yaml", {"kubeScheduling": {}})
    group["spec"]["roles"][1]["rolloutStrategy"] = {"rollingUpdate": {"paused": True}}  # role-deploy
    got = sync(gang_request(group))
    assert min_member(got) == 1 and gang_condition(got)["reason"] == c.REASON_ENROLLING_ROLES


def test_pod_group_policy_added_to_a_running_group_counts_each_role_once_its_pods_are_enrolled():
    plain = with_policy(PD, None, startupPolicy="Parallel")
    running = sync(gang_request(plain))
    gang = with_policy(PD, {"kubeScheduling": {}}, startupPolicy="Parallel")
    # The templates change (the pods roll onto the labels), and no role is counted yet: the first
    # relabelled pod must find its PodGroup satisfiable while the others still run unlabelled.
    added = sync(then(gang, running))
    assert min_member(added) == 1
    assert all(enrolled(t, "sglang-pd", KUBE) for t in templates(added).values())
    cond = gang_condition(added)
    assert cond["reason"] == c.REASON_ENROLLING_ROLES
    assert cond["message"] == (
        "PodGroup sglang-pd (scheduling.x-k8s.io/v1alpha1) minMember 1: no role counted yet; "
        "router, prefill, decode counted once every pod runs the enrolled template"
    )
    # Applied; the StatefulSet controller has not seen the new generation yet: still not counted.
    req = then(gang, added)
    for obj in req["children"][c.CHILD_STATEFULSET].values():
        obj["metadata"]["generation"] = 2
    assert min_member(sync(req)) == 1
    # prefill has rolled (status at its generation, every replica updated): it is counted, and stays counted.
    for obj in req["children"][c.CHILD_STATEFULSET].values():
        if obj["metadata"]["name"] == "sglang-pd-prefill":
            obj["status"]["observedGeneration"] = 2
    rolled = sync(req)
    assert min_member(rolled) == 2 and gang_condition(rolled)["message"].startswith(
        "PodGroup sglang-pd (scheduling.x-k8s.io/v1alpha1) minMember 2: prefill 2; router, decode counted once"
    )
    later = then(gang, rolled)
    for obj in later["children"][c.CHILD_STATEFULSET].values():
        obj["metadata"]["generation"] = 3  # a scale or template change not yet seen by the controller
    assert min_member(sync(later)) == 2


def test_removing_pod_group_policy_drops_the_pod_group_and_the_enrolment():
    group = with_policy(PD, {"kubeScheduling": {}}, startupPolicy="Parallel")
    got = sync(gang_request(group))
    removed = copy.deepcopy(group)
    del removed["spec"]["podGroupPolicy"]
    after = sync(then(removed, got))
    assert pod_groups(after) == [] and gang_condition(after) is None
    assert not any(enrolled(t, "sglang-pd", KUBE) for t in templates(after).values())


def test_switching_scheduler_replaces_the_pod_group_and_counts_afresh():
    group = with_policy(PD, {"kubeScheduling": {}}, startupPolicy="Parallel")
    got = sync(gang_request(group))
    switched = with_policy(PD, {"volcanoScheduling": {}}, startupPolicy="Parallel")
    after = sync(then(switched, got))
    (pg,) = pod_groups(after)
    assert pg["apiVersion"] == c.VOLCANO_POD_GROUP_API_VERSION and pg["spec"]["minMember"] == 1


def test_an_invalid_spec_keeps_the_pod_group_as_it_is():
    group = with_policy(PD, {"kubeScheduling": {}}, startupPolicy="Parallel")
    got = sync(gang_request(group))
    broken = copy.deepcopy(group)
    broken["spec"]["roles"][1]["dependencies"] = ["decode"]
    broken["spec"]["roles"][2]["dependencies"] = ["prefill"]
    frozen = sync(then(broken, got))
    assert pod_groups(frozen) == pod_groups(got)


def test_finalize_keeps_the_pod_group_until_the_last_workload_goes():
    group = with_policy(PD, {"kubeScheduling": {}}, startupPolicy="Parallel")
    got = sync(gang_request(group))
    req = then(group, got)
    req["parent"]["metadata"]["deletionTimestamp"] = TIME
    req["finalizing"] = True
    assert pod_groups(rbg.finalize(SyncRequest.model_validate(as_hub(req)))) == pod_groups(got)
    for key in (c.CHILD_STATEFULSET, c.CHILD_DEPLOYMENT):
        req["children"][key] = {}
    assert pod_groups(rbg.finalize(SyncRequest.model_validate(as_hub(req)))) == []


# --- property: no reachable state holds a PodGroup that can not be satisfied ---------------------
#
# A small model of the cluster: Metacontroller applies each answer, the workload controllers create
# missing pods at once from the current template and replace a pod of an older template one at a
# time (the next only once that one runs, so never while a gang waits for it), and the spec
# changes at random (scaling, templates, podGroupPolicy, types registered later). In every state,
# each PodGroup's minMember is at most the enrolled pods that exist or that the controllers create
# at once (or 1: the pod being placed counts itself).

ROLES = ["a", "b", "c"]
POLICIES = [None, {"kubeScheduling": {}}, {"volcanoScheduling": {}}, {"kubeScheduling": {}, "volcanoScheduling": {}}]
WORKLOADS = (c.KIND_STATEFULSET, c.KIND_DEPLOYMENT)


def _enrolled_in(template, kind):
    meta = template.get("metadata") or {}
    if kind == KUBE:
        return (meta.get("labels") or {}).get(c.LABEL_POD_GROUP) == "g"
    return (meta.get("annotations") or {}).get(c.ANNOTATION_VOLCANO_GROUP_NAME) == "g"


class Cluster:
    def __init__(self, group, registered):
        self.group, self.registered = group, set(registered)
        self.objects = {}  # (child type, name) -> stored object
        self.pods = {}  # workload name -> {ordinal: the template the pod was made from}

    def request(self):
        children = {key: {} for key in (*c.CHILD_TYPES, *sorted(self.registered))}
        for (key, name), obj in sorted(self.objects.items()):
            children[key][f"default/{name}"] = obj
        return request(self.group, children)

    def sync(self):
        result = sync(self.request())
        self.group["status"] = result.status
        returned = {}
        for ch in result.children:
            key, name = f"{ch['kind']}.{ch['apiVersion']}", ch["metadata"]["name"]
            assert key in c.CHILD_TYPES or key in self.registered, f"{key} returned unregistered"
            returned[(key, name)] = ch
            obj = self.objects.get((key, name))
            generation = 1 if obj is None else obj["metadata"]["generation"] + (json.loads(obj["metadata"]["annotations"][c.ANNOTATION_LAST_APPLIED]).get("spec") != ch.get("spec"))
            stored = copy.deepcopy(ch)
            meta = stored["metadata"]
            meta.update(namespace="default", generation=generation, creationTimestamp=TIME)
            meta.setdefault("annotations", {})[c.ANNOTATION_LAST_APPLIED] = json.dumps(ch, separators=(",", ":"))
            stored["status"] = (obj or {}).get("status") or {}
            self.objects[(key, name)] = stored
        for gone in set(self.objects) - set(returned):
            del self.objects[gone]
            self.pods.pop(gone[1], None)

    def workloads(self):
        return [obj for (key, _), obj in sorted(self.objects.items()) if obj["kind"] in WORKLOADS]

    def controller(self, obj):
        """One pass of the workload's controller: status at its generation, missing pods created,
        pods beyond replicas deleted, one pod of an older template replaced."""
        name, replicas, template = obj["metadata"]["name"], obj["spec"]["replicas"], obj["spec"]["template"]
        pods = self.pods.setdefault(name, {})
        for i in [i for i in pods if i >= replicas]:
            del pods[i]
        for i in range(replicas):
            pods.setdefault(i, template)
        old = [i for i, t in pods.items() if t != template]
        if old:
            del pods[max(old)]  # recreated from the current template by the next pass
        obj["status"] = {
            "observedGeneration": obj["metadata"]["generation"],
            "replicas": len(pods),
            "readyReplicas": len(pods),
            "updatedReplicas": sum(t == template for t in pods.values()),
        }

    def check(self):
        for (key, name), pg in self.objects.items():
            if pg["kind"] != c.KIND_POD_GROUP:
                continue
            may_exist = 0
            for obj in self.workloads():
                replicas, template = obj["spec"]["replicas"], obj["spec"]["template"]
                pods = self.pods.get(obj["metadata"]["name"], {})
                may_exist += sum(1 for i in range(replicas) if _enrolled_in(pods.get(i, template), key))
            assert pg["spec"]["minMember"] <= max(1, may_exist), (pg["spec"], may_exist, self.pods)


@st.composite
def gangs(draw):
    roles = []
    for i, name in enumerate(ROLES[: draw(st.integers(1, 3))]):
        roles.append({
            "name": name,
            "replicas": draw(st.integers(0, 3)),
            "dependencies": draw(st.lists(st.sampled_from(ROLES[:i]), unique=True)) if i else [],
            "workload": {"apiVersion": "apps/v1", "kind": draw(st.sampled_from(WORKLOADS))},
            "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}},
        })
    spec = {"roles": roles, "startupPolicy": draw(st.sampled_from(["Ordered", "Parallel"]))}
    if policy := draw(st.sampled_from(POLICIES)):
        spec["podGroupPolicy"] = policy
    return parent({"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": "g"}, "spec": spec})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gangs(), st.sets(st.sampled_from([KUBE, VOLCANO])), st.data())
def test_no_reachable_state_has_a_pod_group_larger_than_its_enrolled_pods(group, registered, data):
    cluster = Cluster(group, registered)
    for _ in range(data.draw(st.integers(1, 30))):
        action = data.draw(st.sampled_from(["sync", "sync", "controller", "scale", "image", "policy", "register"]))
        roles = cluster.group["spec"]["roles"]
        if action == "sync":
            cluster.sync()
        elif action == "controller" and cluster.workloads():
            cluster.controller(data.draw(st.sampled_from(cluster.workloads())))
        elif action == "scale":
            data.draw(st.sampled_from(roles))["replicas"] = data.draw(st.integers(0, 3))
        elif action == "image":
            data.draw(st.sampled_from(roles))["template"]["spec"]["containers"][0]["image"] = data.draw(st.sampled_from("ijk"))
        elif action == "policy":
            cluster.group["spec"].pop("podGroupPolicy", None)
            if policy := data.draw(st.sampled_from(POLICIES)):
                cluster.group["spec"]["podGroupPolicy"] = copy.deepcopy(policy)
        elif action == "register":  # an overlay applied later (registrations are never taken back here)
            cluster.registered.add(data.draw(st.sampled_from([KUBE, VOLCANO])))
        cluster.check()
    # Left alone, the gang comes to count every pod of every role.
    for _ in range(12):
        cluster.sync()
        for obj in cluster.workloads():
            cluster.controller(obj)
        cluster.check()
    pgs = [obj for obj in cluster.objects.values() if obj["kind"] == c.KIND_POD_GROUP]
    if pgs:
        (pg,) = pgs
        assert pg["spec"]["minMember"] == max(1, sum(obj["spec"]["replicas"] for obj in cluster.workloads()))
        assert len(cluster.workloads()) == len(cluster.group["spec"]["roles"])
