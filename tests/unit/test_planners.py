"""Each planner of hooks.core called directly: a table of inputs -> the whole decision it returns.

In the style of kubernetes-sigs/lws `leaderworkerset_controller_test.go`: every case names its
inputs and writes out the whole expected value (the frozen decision, or the dict / tuple the
planner returns), so a failure shows pytest's diff of the whole thing, not of one field. The
expected values are literals: nothing in them is computed by the code under test.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from hooks.api import KubeScheduling, RoleBasedGroupSpec, RoleSpec, VolcanoScheduling
from hooks.core import rollout as rollout_planner
from hooks.core import topology
from hooks.core.coordination import Coordinated, Hold, coordinate
from hooks.core.drain import Drain, Rollouts, drain, hold_rollouts
from hooks.core.gang import Gang, schedule
from hooks.core.observed import Observed
from hooks.core.recovery import Recovery, recover
from hooks.core.runtimes import Runtimes, runtimes
from hooks.core.scaling import Sizes, sizes
from hooks.core.services import service_of
from hooks.core.rbg import held
from hooks.decisions import PodDecision, RolePlan, Rollout
from hooks.validation import pod_templates
from tests.support import hub

Obj = dict[str, Any]

NS, G = "ns", "g"
NOW = "2026-01-01T00:05:00Z"
# sha1("ns/g"): the group's unique key (hooks.naming.group_unique_key), written out.
KEY = "182ee2e1b01506bac5b83161ea4629b213d9e4f9"
LAST_APPLIED = "metacontroller.k8s.io/last-applied-configuration"
GROUP_LABEL = "rolebasedgroup.workloads.x-k8s.io/name"
ROLE_LABEL = "rolebasedgroup.workloads.x-k8s.io/role"
UNIQUE_KEY_LABEL = "rolebasedgroup.workloads.x-k8s.io/group-unique-key"
REVISION_LABEL = "controller-revision-hash"
DRAINED = "rolebasedgroup.workloads.x-k8s.io/drained"
KUBE_PG = "PodGroup.scheduling.x-k8s.io/v1alpha1"
VOLCANO_PG = "PodGroup.scheduling.volcano.sh/v1beta1"

CONTAINER = {"name": "app", "image": "busybox"}
TEMPLATE: Obj = {"spec": {"containers": [CONTAINER]}}


# --- inputs ----------------------------------------------------------------------------------


def role(name: str = "app", kind: str = "StatefulSet", template: Obj | None = None, **fields: Any) -> Obj:
    """A role as written in a group's spec (camelCase fields)."""
    api = "leaderworkerset.x-k8s.io/v1" if kind == "LeaderWorkerSet" else "apps/v1"
    return {"name": name, "workload": {"apiVersion": api, "kind": kind}, "template": copy.deepcopy(template or TEMPLATE), **fields}


def spec(*roles: Obj, **fields: Any) -> RoleBasedGroupSpec:
    return hub.spec({"roles": list(roles) or [role()], **fields})


def role_spec(**kw: Any) -> RoleSpec:
    return spec(role(**kw)).roles[0]


def strategy(**rolling_update: Any) -> Obj:
    return {"rolloutStrategy": {"rollingUpdate": rolling_update}}


def seen(child: Obj, *, status: Obj | None = None, generation: int = 1, uid: str | None = None, created: str | None = None) -> Obj:
    """`child` as Metacontroller observes it once applied: its last-applied annotation, a generation, a status."""
    obj = copy.deepcopy(child)
    meta = obj["metadata"]
    meta["annotations"] = {**(meta.get("annotations") or {}), LAST_APPLIED: json.dumps(child, separators=(",", ":"))}
    meta["namespace"] = NS
    meta["generation"] = generation
    if uid is not None:
        meta["uid"] = uid
    if created is not None:
        meta["creationTimestamp"] = created
    if status is not None:
        obj["status"] = status
    return obj


def observed(*objs: Obj, pods: dict[str, list[Obj]] | None = None, profiles: dict[str, Obj] | None = None) -> Observed:
    return Observed({(o["kind"], o["metadata"]["name"]): o for o in objs}, pods, profiles or {})



def sts(name: str, replicas: int, *, template: Obj | None = None, partition: int | None = None, service: str | None = None, kind: str = "StatefulSet") -> Obj:
    """A role workload as the hooks return it, reduced to what the planners read."""
    body: Obj = {"replicas": replicas, "template": copy.deepcopy(template or TEMPLATE)}
    if service is not None:
        body["serviceName"] = service
    if partition is not None:
        body["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": body}


def lws(name: str, replicas: int, size: int, template: Obj | None = None) -> Obj:
    t = copy.deepcopy(template or TEMPLATE)
    return {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "leaderWorkerTemplate": {"size": size, "leaderTemplate": t, "workerTemplate": copy.deepcopy(t)}},
    }


def service(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"clusterIP": "None"}}


def pod(name: str, role_name: str, *, revision: str | None = None, ready: bool | None = None, annotations: dict[str, str] | None = None, **extra: Any) -> Obj:
    meta: Obj = {"name": name, "namespace": NS, "labels": {GROUP_LABEL: G, ROLE_LABEL: role_name}}
    if revision is not None:
        meta["labels"][REVISION_LABEL] = revision
    if annotations is not None:
        meta["annotations"] = annotations
    meta.update(extra.pop("metadata", {}))
    out: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta}
    status = extra.pop("status", {})
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    if status:
        out["status"] = status
    return out


# --- expected values ---------------------------------------------------------------------------


def condition(type_: str, status: str, reason: str, message: str) -> Obj:
    return {"type": type_, "status": status, "reason": reason, "message": message}


def timer(name: str, labels: dict[str, str], seconds: int, annotations: dict[str, str] | None = None) -> Obj:
    """A timer Job (hooks.children.timer), written out."""
    metadata: Obj = {"name": name, "labels": labels}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {
            "parallelism": 0,
            "backoffLimit": 0,
            "activeDeadlineSeconds": seconds,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "timer",
                            "image": "registry.k8s.io/pause:3.10",
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                                "runAsNonRoot": True,
                                "runAsUser": 65535,
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                        }
                    ],
                }
            },
        },
    }


# =============================================================================================
# hooks.core.rollout
# =============================================================================================


ROLLOUT_CASES = [
    pytest.param({}, Rollout(), id="no-rolloutStrategy"),
    pytest.param({"rolloutStrategy": {}}, Rollout(), id="rolloutStrategy-without-rollingUpdate"),
    pytest.param(strategy(), Rollout(given=True), id="empty-rollingUpdate-is-given"),
    pytest.param({"replicas": 4, **strategy(partition=3)}, Rollout(True, 3, 1, 0, False, False), id="partition-int"),
    pytest.param({"replicas": 5, **strategy(partition="50%")}, Rollout(True, 2, 1, 0), id="partition-50%-rounds-down"),
    pytest.param({"replicas": 3, **strategy(partition="100%")}, Rollout(True, 3, 1, 0), id="partition-100%"),
    pytest.param({"replicas": 4, **strategy(partition="2")}, Rollout(True, 2, 1, 0), id="partition-int-as-string"),
    pytest.param({"replicas": 4, **strategy(partition=1, paused=True)}, Rollout(True, 4, 1, 0, False, True), id="paused-holds-every-replica"),
    pytest.param({"replicas": 0, **strategy(paused=True)}, Rollout(True, 0, 1, 0, False, True), id="paused-at-zero-replicas"),
    pytest.param(
        {"replicas": 4, **strategy(type="Recreate", partition=2, maxUnavailable=1)},
        Rollout(True, 0, "100%", 0, recreate=True, type="Recreate"),
        id="recreate-ignores-partition-and-maxUnavailable",
    ),
    pytest.param({"replicas": 2, **strategy(type="Recreate", maxSurge=1)}, Rollout(True, 0, "100%", 1, True, False, "Recreate"), id="recreate-keeps-maxSurge"),
    pytest.param(
        {"replicas": 3, **strategy(type="Recreate", paused=True)}, Rollout(True, 3, 1, 0, True, True, "Recreate"), id="recreate-paused-holds-everything"
    ),
    pytest.param(
        {"replicas": 8, **strategy(maxUnavailable="25%", maxSurge=2)}, Rollout(True, 0, "25%", 2), id="maxUnavailable-and-maxSurge-given"
    ),
    pytest.param({"replicas": 2, **strategy(type="InPlaceIfPossible", maxUnavailable=0, maxSurge="50%")}, Rollout(True, 0, 1, "50%", type="InPlaceIfPossible"), id="in-place-if-possible-rolls"),
    # A StatefulSet refuses maxUnavailable 0 (it cannot surge): one pod at a time instead.
    pytest.param({"replicas": 4, **strategy(maxUnavailable=0, maxSurge=1)}, Rollout(True, 0, 1, 1), id="statefulset-max-unavailable-0-is-1"),
    pytest.param({"replicas": 4, **strategy(maxUnavailable="0%", maxSurge=1)}, Rollout(True, 0, 1, 1), id="statefulset-max-unavailable-0-percent-is-1"),
]


@pytest.mark.parametrize("fields, want", ROLLOUT_CASES)
def test_rollout(fields: Obj, want: Rollout) -> None:
    assert rollout_planner.rollout(role_spec(**fields)) == want


GRACE_CASES = [
    pytest.param({}, TEMPLATE, (None, None), id="no-rolloutStrategy"),
    pytest.param(strategy(partition=1), TEMPLATE, (None, None), id="no-inPlaceUpdateStrategy"),
    pytest.param(strategy(inPlaceUpdateStrategy={}), TEMPLATE, (None, None), id="no-gracePeriodSeconds"),
    pytest.param(strategy(inPlaceUpdateStrategy={"gracePeriodSeconds": 0}), TEMPLATE, (None, None), id="zero-seconds-is-none"),
    pytest.param(strategy(inPlaceUpdateStrategy={"gracePeriodSeconds": 10}), TEMPLATE, (10, 40), id="default-grace-30-plus-seconds"),
    pytest.param(
        strategy(inPlaceUpdateStrategy={"gracePeriodSeconds": 10}),
        {"spec": {"terminationGracePeriodSeconds": 60, "containers": [CONTAINER]}},
        (10, 60),
        id="template-grace-longer-kept",
    ),
    pytest.param(
        strategy(inPlaceUpdateStrategy={"gracePeriodSeconds": 45}),
        {"spec": {"terminationGracePeriodSeconds": 60, "containers": [CONTAINER]}},
        (45, 75),
        id="template-grace-shorter-raised",
    ),
    pytest.param(
        strategy(inPlaceUpdateStrategy={"gracePeriodSeconds": 5}),
        {"spec": {"terminationGracePeriodSeconds": 0, "containers": [CONTAINER]}},
        (5, 35),
        id="template-grace-zero",
    ),
    pytest.param(strategy(type="Recreate", inPlaceUpdateStrategy={"gracePeriodSeconds": 20}), {}, (20, 50), id="recreate-too-template-without-spec"),
]


@pytest.mark.parametrize("fields, template, want", GRACE_CASES)
def test_grace(fields: Obj, template: Obj, want: tuple[int | None, int | None]) -> None:
    assert rollout_planner.grace(role_spec(**fields), template) == want


# =============================================================================================
# hooks.core.topology
# =============================================================================================

def _affinity(label: str) -> tuple[str, Obj]:
    same = {"matchLabels": {label: KEY}} if label == UNIQUE_KEY_LABEL else {"matchExpressions": [{"key": label, "operator": "In", "values": [KEY]}]}
    return ("podAffinity", {"labelSelector": same, "topologyKey": "zone"})


def _anti_affinity(label: str, **scope: Obj) -> tuple[str, Obj]:
    others = [{"key": label, "operator": "Exists"}, {"key": label, "operator": "NotIn", "values": [KEY]}]
    return ("podAntiAffinity", {"labelSelector": {"matchExpressions": others}, "topologyKey": "zone", **scope})


UNIQUE_HASH_LABEL = "rbg.workloads.x-k8s.io/group-unique-hash"
AFFINITY_ZONE = _affinity(UNIQUE_HASH_LABEL)
ANTI_AFFINITY_ZONE = _anti_affinity(UNIQUE_HASH_LABEL)
ANTI_AFFINITY_ZONE_CLUSTER = _anti_affinity(UNIQUE_HASH_LABEL, namespaceSelector={})
EXCLUSIVE = "rolebasedgroup.workloads.x-k8s.io/exclusive-topology"
EXCLUSIVE_NEW = "rbg.workloads.x-k8s.io/group-exclusive-topology"
COLOCATED = "rolebasedgroup.workloads.x-k8s.io/colocated-topology"
SCOPE = "rbg.workloads.x-k8s.io/exclusive-topology-scope"
OPT_OUT = "rolebasedgroup.workloads.x-k8s.io/disable-exclusive-topology"
OPT_OUT_NEW = "rbg.workloads.x-k8s.io/role-disable-exclusive"


TERMS_CASES = [
    pytest.param({}, (), id="none"),
    pytest.param({"example.com/other": "zone"}, (), id="unrelated-annotation"),
    pytest.param({EXCLUSIVE: ""}, (), id="exclusive-empty-value-is-none"),
    pytest.param({EXCLUSIVE: "zone"}, (AFFINITY_ZONE, ANTI_AFFINITY_ZONE), id="exclusive"),
    pytest.param({EXCLUSIVE_NEW: "zone"}, (AFFINITY_ZONE, ANTI_AFFINITY_ZONE), id="exclusive-newer-spelling"),
    pytest.param({COLOCATED: "zone"}, (AFFINITY_ZONE,), id="colocated"),
    pytest.param({EXCLUSIVE: "zone", COLOCATED: "rack"}, (AFFINITY_ZONE, ANTI_AFFINITY_ZONE), id="exclusive-wins-over-colocated"),
    pytest.param({EXCLUSIVE: "zone", SCOPE: "Cluster"}, (AFFINITY_ZONE, ANTI_AFFINITY_ZONE_CLUSTER), id="exclusive-cluster-scope"),
    pytest.param({EXCLUSIVE_NEW: "zone", SCOPE: "Namespace"}, (AFFINITY_ZONE, ANTI_AFFINITY_ZONE), id="exclusive-other-scope-is-namespace"),
    pytest.param({COLOCATED: "zone", SCOPE: "Cluster"}, (AFFINITY_ZONE,), id="scope-without-exclusive-does-nothing"),
]


@pytest.mark.parametrize("annotations, want", TERMS_CASES)
def test_terms(annotations: dict[str, str], want: tuple[Any, ...]) -> None:
    assert topology.terms(NS, G, annotations) == want


def test_terms_of_a_group_converted_from_v1alpha1_keep_its_label():
    """Upstream v0.7's selector on group-unique-hash for v1alpha2 groups; a converted group's pods
    keep the v1alpha1 group-unique-key terms they run with."""
    converted = {EXCLUSIVE: "zone", "rbg.workloads.x-k8s.io/api-origin": "v1alpha1"}
    assert topology.terms(NS, G, converted) == (_affinity(UNIQUE_KEY_LABEL), _anti_affinity(UNIQUE_KEY_LABEL))


TERMS = (AFFINITY_ZONE, ANTI_AFFINITY_ZONE)
OPTED_OUT_TEMPLATE = {"metadata": {"annotations": {OPT_OUT: "true"}}, "spec": {"containers": [CONTAINER]}}


PLACE_CASES = [
    pytest.param((), {}, (TEMPLATE,), ((),), id="no-terms"),
    pytest.param((), {}, (TEMPLATE, TEMPLATE), ((), ()), id="no-terms-two-templates"),
    pytest.param(TERMS, {}, (TEMPLATE,), (TERMS,), id="one-template-placed"),
    pytest.param(TERMS, {"annotations": {OPT_OUT: "true"}}, (TEMPLATE,), ((),), id="role-opts-out"),
    pytest.param(TERMS, {"annotations": {OPT_OUT_NEW: "true"}}, (TEMPLATE, TEMPLATE), ((), ()), id="role-opts-out-newer-spelling"),
    pytest.param(TERMS, {"annotations": {OPT_OUT: "false"}}, (TEMPLATE,), (TERMS,), id="opt-out-false-is-not-opting-out"),
    pytest.param(TERMS, {}, (TEMPLATE, OPTED_OUT_TEMPLATE), (TERMS, ()), id="lws-worker-template-opts-out"),
    pytest.param(TERMS, {}, (OPTED_OUT_TEMPLATE, TEMPLATE), ((), TERMS), id="lws-leader-template-opts-out"),
    pytest.param(TERMS, {}, ({"metadata": {"annotations": {OPT_OUT_NEW: "true"}}}, {"metadata": {}}), ((), TERMS), id="template-opt-out-newer-spelling"),
]


@pytest.mark.parametrize("group_terms, fields, templates, want", PLACE_CASES)
def test_place(group_terms: tuple[Any, ...], fields: Obj, templates: tuple[Obj, ...], want: tuple[Any, ...]) -> None:
    assert topology.place(group_terms, role_spec(**fields), templates) == want


LWS_PLACE_CASES = [
    pytest.param({}, (TERMS, TERMS), id="lws-both-templates-placed"),
    pytest.param({"patchWorkerTemplate": {"metadata": {"annotations": {OPT_OUT: "true"}}}}, (TERMS, ()), id="lws-worker-patch-opts-out"),
    pytest.param({"patchLeaderTemplate": {"metadata": {"annotations": {OPT_OUT_NEW: "true"}}}}, ((), TERMS), id="lws-leader-patch-opts-out"),
]


@pytest.mark.parametrize("patches, want", LWS_PLACE_CASES)
def test_place_lws_templates(patches: Obj, want: tuple[Any, ...]) -> None:
    """The leader and worker templates as the core makes them (hooks.validation.pod_templates) from one role."""
    lws_role = role_spec(name="inf", kind="LeaderWorkerSet", leaderWorkerSet={"size": 2, **patches})
    assert topology.place(TERMS, lws_role, pod_templates(lws_role)) == want


# =============================================================================================
# hooks.core.services
# =============================================================================================

LONG_GROUP = "g" * 30


SERVICE_OF_CASES = [
    pytest.param(G, {"name": "db"}, [], "s-g-db", id="new-statefulset-role"),
    pytest.param(G, {"name": "db"}, [seen(sts("g-db", 1, service="kept-name"))], "kept-name", id="observed-statefulset-keeps-serviceName"),
    pytest.param(G, {"name": "db"}, [seen(sts("g-db", 1, service="kept")), seen(service("g-db"))], "kept", id="serviceName-wins-over-legacy-service"),
    pytest.param(G, {"name": "db"}, [seen(service("g-db"))], "g-db", id="observed-legacy-service-kept"),
    pytest.param(G, {"name": "db"}, [seen(sts("g-db", 1, service="")), seen(service("g-db"))], "g-db", id="empty-serviceName-then-legacy-service"),
    pytest.param(G, {"name": "db"}, [seen(service("s-g-db"))], "s-g-db", id="observed-new-service"),
    pytest.param(G, {"name": "db"}, [seen(sts("g-db", 1, kind="Deployment"))], "s-g-db", id="observed-deployment-of-that-name-ignored"),
    pytest.param(LONG_GROUP, {"name": "r" * 30}, [], f"s-{LONG_GROUP}-{'r' * 30}", id="name-of-63-is-kept"),
    pytest.param(G, {"name": "web", "kind": "Deployment"}, [], "g-web", id="deployment-role-workload-name"),
    pytest.param(G, {"name": "web", "kind": "Deployment"}, [seen(service("s-g-web"))], "g-web", id="deployment-role-ignores-services"),
    pytest.param(G, {"name": "inf", "kind": "LeaderWorkerSet"}, [], "g-inf", id="lws-role-workload-name"),
]


@pytest.mark.parametrize("group, fields, seen_objects, want", SERVICE_OF_CASES)
def test_service_of(group: str, fields: Obj, seen_objects: list[Obj], want: str) -> None:
    assert service_of(group, role_spec(**fields), observed(*seen_objects)) == want


# =============================================================================================
# hooks.core.gang
# =============================================================================================

TWO_ROLES = (role("prefill"), role("decode", kind="LeaderWorkerSet", leaderWorkerSet={"size": 4}))
KUBE = KubeScheduling.model_validate({"scheduleTimeoutSeconds": 120})
VOLCANO = VolcanoScheduling.model_validate({"queue": "q1", "priorityClassName": "high"})


SCHEDULE_CASES = [
    pytest.param(None, {}, Gang(G, ("prefill", "decode")), id="no-podGroupPolicy"),
    pytest.param({}, {KUBE_PG: {}}, Gang(G, ("prefill", "decode")), id="empty-podGroupPolicy"),
    pytest.param({"kubeScheduling": {"scheduleTimeoutSeconds": 120}}, {KUBE_PG: {}}, Gang(G, ("prefill", "decode"), KUBE, True, False), id="kube-registered"),
    pytest.param({"kubeScheduling": {"scheduleTimeoutSeconds": 120}}, {VOLCANO_PG: {}}, Gang(G, ("prefill", "decode"), KUBE, False, False), id="kube-unregistered"),
    pytest.param(
        {"volcanoScheduling": {"queue": "q1", "priorityClassName": "high"}}, {VOLCANO_PG: {}}, Gang(G, ("prefill", "decode"), VOLCANO, True, False), id="volcano-registered"
    ),
    pytest.param(
        {"volcanoScheduling": {"queue": "q1", "priorityClassName": "high"}}, {}, Gang(G, ("prefill", "decode"), VOLCANO, False, False), id="volcano-unregistered"
    ),
    pytest.param(
        {"kubeScheduling": {"scheduleTimeoutSeconds": 120}, "volcanoScheduling": {"queue": "q1"}},
        {KUBE_PG: {}, VOLCANO_PG: {}},
        Gang(G, ("prefill", "decode"), KUBE, True, True),
        id="both-kube-taken-volcano-ignored",
    ),
    pytest.param(
        {"kubeScheduling": {"scheduleTimeoutSeconds": 120}, "volcanoScheduling": {"queue": "q1"}},
        {VOLCANO_PG: {}},
        Gang(G, ("prefill", "decode"), KUBE, False, True),
        id="both-only-volcano-registered-kube-still-taken",
    ),
]


@pytest.mark.parametrize("policy, children, want", SCHEDULE_CASES)
def test_schedule(policy: Obj | None, children: Obj, want: Gang) -> None:
    fields = {} if policy is None else {"podGroupPolicy": policy}
    assert schedule(G, spec(*TWO_ROLES, **fields), children) == want


KUBE_MARKS = (("scheduling.x-k8s.io/pod-group", G), ("pod-group.scheduling.sigs.k8s.io/name", G))
VOLCANO_MARK = (("scheduling.k8s.io/group-name", G),)
NAMED_SCHEDULER = {"spec": {"schedulerName": "my-scheduler", "containers": [CONTAINER]}}


ENROL_CASES = [
    pytest.param(Gang(G, ("a",)), TEMPLATE, PodDecision(), id="no-policy"),
    pytest.param(Gang(G, ("a",), KUBE, True), TEMPLATE, PodDecision(labels=KUBE_MARKS), id="kube-registered-both-labels"),
    pytest.param(Gang(G, ("a",), KUBE, True, True), NAMED_SCHEDULER, PodDecision(labels=KUBE_MARKS), id="kube-keeps-scheduler-as-is"),
    pytest.param(Gang(G, ("a",), KUBE, False), TEMPLATE, PodDecision(), id="kube-unregistered-not-enrolled"),
    pytest.param(Gang(G, ("a",), VOLCANO, True), TEMPLATE, PodDecision(annotations=VOLCANO_MARK, scheduler_name="volcano"), id="volcano-gets-scheduler"),
    pytest.param(Gang(G, ("a",), VOLCANO, True), NAMED_SCHEDULER, PodDecision(annotations=VOLCANO_MARK), id="volcano-template-names-scheduler"),
    pytest.param(Gang(G, ("a",), VOLCANO, False), TEMPLATE, PodDecision(), id="volcano-unregistered-not-enrolled"),
]


@pytest.mark.parametrize("gang, template, want", ENROL_CASES)
def test_enrol(gang: Gang, template: Obj, want: PodDecision) -> None:
    assert gang.enrol(template) == want


GANG_ROLES = "rolebasedgroup.workloads.x-k8s.io/gang-roles"
KUBE_ENROLLED = {"metadata": {"labels": {"scheduling.x-k8s.io/pod-group": G, "pod-group.scheduling.sigs.k8s.io/name": G}}, "spec": {"containers": [CONTAINER]}}


def kube_pod_group(min_member: int, roles: str) -> Obj:
    return {
        "apiVersion": "scheduling.x-k8s.io/v1alpha1",
        "kind": "PodGroup",
        "metadata": {"name": G, "labels": {GROUP_LABEL: G}, "annotations": {GANG_ROLES: roles}},
        "spec": {"minMember": min_member, "scheduleTimeoutSeconds": 120},
    }


def gang_condition(status: str, reason: str, message: str) -> Obj:
    return condition("GangScheduling", status, reason, message)


PAUSED_DEPLOYMENT = {**sts("g-web", 3, kind="Deployment"), "spec": {"replicas": 3, "paused": True, "template": TEMPLATE}}
ENROLLED_DB = sts("g-db", 2, template=KUBE_ENROLLED)


POD_GROUPS_CASES = [
    pytest.param(Gang(G, ("db",)), {"db": sts("g-db", 2)}, [], ([], []), id="no-policy-nothing"),
    pytest.param(
        Gang(G, ("db",), KUBE, False, True),
        {"db": sts("g-db", 2)},
        [],
        (
            [],
            [
                gang_condition(
                    "False",
                    "PodGroupNotRegistered",
                    "podGroupPolicy.kubeScheduling needs PodGroups of scheduling.x-k8s.io/v1alpha1, a child type the rolebasedgroup "
                    "controller is not registered for: install scheduler-plugins (its coscheduling plugin), then `kubectl apply "
                    "--server-side -k overlays/scheduler-plugins`; until then no PodGroup is made and no pod is enrolled "
                    "(volcanoScheduling is ignored: kubeScheduling is given too)",
                )
            ],
        ),
        id="unregistered-says-which-overlay",
    ),
    pytest.param(
        Gang(G, ("db", "inf"), KUBE, True),
        {"db": sts("g-db", 2, template=KUBE_ENROLLED), "inf": lws("g-inf", 3, 4, template=KUBE_ENROLLED)},
        [],
        (
            [kube_pod_group(14, "db,inf")],
            [gang_condition("True", "AllRolesEnrolled", "PodGroup g (scheduling.x-k8s.io/v1alpha1) minMember 14: db 2, inf 12")],
        ),
        id="minMember-replicas-times-lws-size",
    ),
    pytest.param(
        Gang(G, ("db", "web"), KUBE, True),
        {"db": sts("g-db", 2, template=KUBE_ENROLLED), "web": PAUSED_DEPLOYMENT},
        [],
        (
            [kube_pod_group(2, "db")],
            [
                gang_condition(
                    "True",
                    "EnrollingRoles",
                    "PodGroup g (scheduling.x-k8s.io/v1alpha1) minMember 2: db 2; web counted once every pod runs the enrolled template",
                )
            ],
        ),
        id="paused-new-deployment-not-counted",
    ),
    pytest.param(
        Gang(G, ("db", "web"), KUBE, True),
        {"db": ENROLLED_DB},
        [],
        (
            [kube_pod_group(2, "db")],
            [gang_condition("True", "AllRolesEnrolled", "PodGroup g (scheduling.x-k8s.io/v1alpha1) minMember 2: db 2; web counted once created")],
        ),
        id="role-not-returned-waits",
    ),
    pytest.param(
        Gang(G, ("db",), KUBE, True),
        {"db": ENROLLED_DB},
        [
            seen(ENROLLED_DB, status={"observedGeneration": 1, "updatedReplicas": 0}),
            seen(kube_pod_group(2, "db")),
        ],
        (
            [kube_pod_group(2, "db")],
            [gang_condition("True", "AllRolesEnrolled", "PodGroup g (scheduling.x-k8s.io/v1alpha1) minMember 2: db 2")],
        ),
        id="counted-before-stays-counted",
    ),
    pytest.param(
        Gang(G, ("db",), KUBE, True),
        {"db": ENROLLED_DB},
        [seen(ENROLLED_DB, status={"observedGeneration": 1, "updatedReplicas": 1}), seen(kube_pod_group(1, ""))],
        (
            [kube_pod_group(1, "")],
            [
                gang_condition(
                    "True",
                    "EnrollingRoles",
                    "PodGroup g (scheduling.x-k8s.io/v1alpha1) minMember 1: no role counted yet; db counted once every pod runs the enrolled template",
                )
            ],
        ),
        id="running-role-rolling-onto-enrolled-template-not-yet-counted",
    ),
    pytest.param(
        Gang(G, ("db",), KUBE, True),
        {"db": ENROLLED_DB},
        [seen(ENROLLED_DB, status={"observedGeneration": 1, "updatedReplicas": 2}), seen(kube_pod_group(1, ""))],
        (
            [kube_pod_group(2, "db")],
            [gang_condition("True", "AllRolesEnrolled", "PodGroup g (scheduling.x-k8s.io/v1alpha1) minMember 2: db 2")],
        ),
        id="counted-once-every-replica-updated",
    ),
    pytest.param(
        Gang(G, ("db",), KUBE, True),
        {"db": ENROLLED_DB},
        [seen(sts("g-db", 2), status={"observedGeneration": 1, "updatedReplicas": 2}), seen(kube_pod_group(2, "db"))],
        (
            [kube_pod_group(1, "")],
            [
                gang_condition(
                    "True",
                    "EnrollingRoles",
                    "PodGroup g (scheduling.x-k8s.io/v1alpha1) minMember 1: no role counted yet; db counted once every pod runs the enrolled template",
                )
            ],
        ),
        id="counted-before-but-applied-template-not-enrolled",
    ),
    pytest.param(
        Gang(G, ("db",), VOLCANO, True),
        {"db": sts("g-db", 5)},
        [],
        (
            [
                {
                    "apiVersion": "scheduling.volcano.sh/v1beta1",
                    "kind": "PodGroup",
                    "metadata": {"name": G, "labels": {GROUP_LABEL: G}, "annotations": {GANG_ROLES: "db"}},
                    "spec": {"minMember": 5, "queue": "q1", "priorityClassName": "high"},
                }
            ],
            [gang_condition("True", "AllRolesEnrolled", "PodGroup g (scheduling.volcano.sh/v1beta1) minMember 5: db 5")],
        ),
        id="volcano-queue-and-priority",
    ),
]


@pytest.mark.parametrize("gang, workloads, seen_objects, want", POD_GROUPS_CASES)
def test_pod_groups(gang: Gang, workloads: dict[str, Obj], seen_objects: list[Obj], want: tuple[list[Obj], list[Obj]]) -> None:
    assert gang.pod_groups(workloads, observed(*seen_objects)) == want


# =============================================================================================
# hooks.core.coordination
# =============================================================================================

NEW_TEMPLATE: Obj = {"metadata": {"labels": {"version": "2"}}, "spec": {"containers": [{"name": "app", "image": "busybox:2"}]}}


def coordinated_spec(strategy_: Obj, kinds: dict[str, str] | None = None, sizes_: dict[str, int] | None = None) -> RoleBasedGroupSpec:
    """prefill and decode (10 replicas each, StatefulSets unless `kinds` says), kept in step by `strategy_`."""
    kinds, sizes_ = kinds or {}, sizes_ or {}
    names = [*(sizes_ or {"prefill": 10, "decode": 10})]
    roles = [role(n, kind=kinds.get(n, "StatefulSet"), replicas=sizes_.get(n, 10)) for n in names]
    return spec(*roles, coordination=[{"name": "pd", "roles": names, "strategy": strategy_}])


def plans_of(s: RoleBasedGroupSpec) -> dict[str, RolePlan]:
    return {r.name: RolePlan(r, r.replicas, f"s-g-{r.name}", (TEMPLATE,)) for r in s.roles}


def rolling(name: str, *, applied: Obj, partition: int, updated: int, replicas: int = 10, generation: int = 1, kind: str = "StatefulSet", paused: bool = False) -> Obj:
    """A coordinated workload mid-rollout: last applied with `applied` at `partition`, `updated` pods at the update revision."""
    child = sts(name, replicas, template=applied, partition=None if kind == "Deployment" else partition, kind=kind)
    if paused:
        child["spec"]["paused"] = True
    return seen(child, generation=generation, status={"observedGeneration": 1, "replicas": replicas, "updatedReplicas": updated})


def grown(name: str, *, replicas: int, created: int, ready: int) -> Obj:
    """A workload being scaled up: last applied with `replicas`, `created` pods made, `ready` of them Ready."""
    return seen(sts(name, replicas), status={"observedGeneration": 1, "replicas": created, "readyReplicas": ready, "updatedReplicas": created})


SKEW_20 = {"rollingUpdate": {"maxSkew": "20%"}}

COORDINATE_CASES = [
    pytest.param(
        spec(role("prefill"), role("decode")),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [],
        Coordinated({}, []),
        id="no-coordination",
    ),
    pytest.param(
        coordinated_spec(SKEW_20),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [rolling("g-prefill", applied=NEW_TEMPLATE, partition=4, updated=6), rolling("g-decode", applied=NEW_TEMPLATE, partition=8, updated=2)],
        Coordinated(
            {"prefill": Hold(partition=4), "decode": Hold(partition=6)},
            ["pd: prefill 6/10 updated, waits (maxSkew 20%); decode 2/10 updated, may reach 4"],
        ),
        id="rolling-maxSkew-prefill-ahead-waits-decode-catches-up",
    ),
    pytest.param(
        coordinated_spec(SKEW_20),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [rolling("g-prefill", applied=TEMPLATE, partition=0, updated=10), rolling("g-decode", applied=TEMPLATE, partition=0, updated=10)],
        Coordinated(
            {"prefill": Hold(partition=8), "decode": Hold(partition=8)},
            ["pd: prefill 0/10 updated, may reach 2; decode 0/10 updated, may reach 2"],
        ),
        id="rolling-new-template-first-step",
    ),
    pytest.param(
        coordinated_spec({"rollingUpdate": {"maxSkew": "100%", "maxUnavailable": 1}}),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [rolling("g-prefill", applied=TEMPLATE, partition=0, updated=10), rolling("g-decode", applied=TEMPLATE, partition=0, updated=10)],
        Coordinated(
            {"prefill": Hold(partition=9), "decode": Hold(partition=9)},
            ["pd: prefill 0/10 updated, may reach 1; decode 0/10 updated, may reach 1"],
        ),
        id="rolling-maxUnavailable-bounds-the-step",
    ),
    pytest.param(
        coordinated_spec(SKEW_20, kinds={"decode": "Deployment"}),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [
            rolling("g-prefill", applied=NEW_TEMPLATE, partition=8, updated=2),
            rolling("g-decode", applied=NEW_TEMPLATE, partition=0, updated=6, kind="Deployment"),
        ],
        Coordinated(
            {"prefill": Hold(partition=6), "decode": Hold(paused=True)},
            ["pd: prefill 2/10 updated, may reach 4; decode 6/10 updated, waits (maxSkew 20%)"],
        ),
        id="rolling-deployment-ahead-is-paused",
    ),
    pytest.param(
        coordinated_spec(SKEW_20),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [
            rolling("g-prefill", applied=NEW_TEMPLATE, partition=4, updated=6),
            rolling("g-decode", applied=NEW_TEMPLATE, partition=8, updated=9, generation=2),
        ],
        Coordinated(
            {"prefill": Hold(partition=4), "decode": Hold(partition=8)},
            ["pd: prefill 6/10 updated, waits (maxSkew 20%); decode 0/10 updated, may reach 2"],
        ),
        id="rolling-stale-status-holds-what-was-applied",
    ),
    pytest.param(
        coordinated_spec({"rollingUpdate": {"maxSkew": "20%", "partition": "20%"}}),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [rolling("g-prefill", applied=NEW_TEMPLATE, partition=2, updated=8), rolling("g-decode", applied=NEW_TEMPLATE, partition=2, updated=8)],
        Coordinated(
            {"prefill": Hold(partition=2), "decode": Hold(partition=2)},
            ["pd: prefill 8/10 updated; decode 8/10 updated"],
        ),
        id="rolling-canary-partition-reached",
    ),
    pytest.param(
        coordinated_spec(SKEW_20),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [rolling("g-prefill", applied=NEW_TEMPLATE, partition=0, updated=10), rolling("g-decode", applied=NEW_TEMPLATE, partition=0, updated=10)],
        Coordinated({}, []),
        id="rolling-done-nothing-to-do",
    ),
    pytest.param(
        coordinated_spec(SKEW_20, kinds={"decode": "LeaderWorkerSet"}),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [rolling("g-prefill", applied=TEMPLATE, partition=0, updated=10)],
        Coordinated({"prefill": Hold(partition=8)}, ["pd: prefill 0/10 updated, may reach 2"]),
        id="rolling-lws-role-left-out",
    ),
    pytest.param(
        coordinated_spec(SKEW_20),
        {"prefill": NEW_TEMPLATE, "decode": NEW_TEMPLATE},
        [rolling("g-prefill", applied=TEMPLATE, partition=0, updated=10)],
        Coordinated({"prefill": Hold(partition=8)}, ["pd: prefill 0/10 updated, may reach 2"]),
        id="rolling-role-not-created-left-out",
    ),
    pytest.param(
        coordinated_spec({"scaling": {"maxSkew": "25%", "progression": "OrderReady"}}, sizes_={"prefill": 4, "decode": 4}),
        {"prefill": TEMPLATE, "decode": TEMPLATE},
        [grown("g-prefill", replicas=2, created=2, ready=2), grown("g-decode", replicas=1, created=1, ready=1)],
        Coordinated(
            {"prefill": Hold(replicas=2), "decode": Hold(replicas=2)},
            ["pd: prefill 2/4 scaled, waits (maxSkew 25%); decode 1/4 scaled, may reach 2"],
        ),
        id="scaling-order-ready-laggard-catches-up",
    ),
    pytest.param(
        coordinated_spec({"scaling": {"maxSkew": "25%"}}, sizes_={"prefill": 4, "decode": 4}),
        {"prefill": TEMPLATE, "decode": TEMPLATE},
        [grown("g-prefill", replicas=4, created=4, ready=0), grown("g-decode", replicas=2, created=2, ready=0)],
        Coordinated(
            {"prefill": Hold(replicas=4), "decode": Hold(replicas=3)},
            ["pd: prefill 4/4 scaled; decode 2/4 scaled, may reach 3"],
        ),
        id="scaling-order-scheduled-counts-created-pods",
    ),
    pytest.param(
        coordinated_spec({"scaling": {}}, sizes_={"prefill": 4, "decode": 2}),
        {"prefill": TEMPLATE, "decode": TEMPLATE},
        [],
        Coordinated(
            {"prefill": Hold(replicas=1), "decode": Hold(replicas=1)},
            ["pd: prefill 0/4 scaled, may reach 1; decode 0/2 scaled, may reach 1"],
        ),
        id="scaling-new-roles-never-stall",
    ),
    pytest.param(
        coordinated_spec({"scaling": {"maxSkew": "25%"}}, sizes_={"prefill": 4, "decode": 2}),
        {"prefill": TEMPLATE, "decode": TEMPLATE},
        [grown("g-prefill", replicas=4, created=4, ready=4), grown("g-decode", replicas=5, created=5, ready=5)],
        Coordinated({}, []),
        id="scaling-at-or-above-size-nothing-to-do",
    ),
]


@pytest.mark.parametrize("s, templates, seen_objects, want", COORDINATE_CASES)
def test_coordinate(s: RoleBasedGroupSpec, templates: dict[str, Obj], seen_objects: list[Obj], want: Coordinated) -> None:
    assert coordinate(G, s, plans_of(s), templates, observed(*seen_objects)) == want


# =============================================================================================
# hooks.core.drain
# =============================================================================================

DRAIN_MEMBER = "rolebasedgroup.workloads.x-k8s.io/drain-member"
DRAIN_LABELS = {GROUP_LABEL: G, ROLE_LABEL: "s"}
TIMER_CREATED = "2026-01-01T00:02:00Z"
FIRED = {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}
DRAINING = role("s", replicas=2, drainPolicy={"timeoutSeconds": 300})


def members(*ordinals: int, drained_: tuple[int, ...] = ()) -> dict[str, list[Obj]]:
    """Pods g-s-<ordinal> of role s; those in `drained_` annotated drained."""
    return {"s": [pod(f"g-s-{i}", "s", annotations={DRAINED: "true"} if i in drained_ else None) for i in ordinals]}


def drain_entry(members_: list[str], waiting: list[str], reason: str, since: str = NOW) -> Obj:
    return {"role": "s", "members": members_, "waitingFor": waiting, "since": since, "timeoutSeconds": 300, "reason": reason}


DRAIN_CASES = [
    pytest.param(
        spec(role("s", replicas=2)), [seen(sts("g-s", 4))], members(0, 1, 2, 3), False, Drain(), id="no-drainPolicy-shrinks-at-once"
    ),
    pytest.param(
        spec(DRAINING),
        [seen(sts("g-s", 4))],
        members(0, 1, 2, 3),
        False,
        Drain(
            held={"s": 4},
            excluded={"s": [2, 3]},
            timers=[("s", timer("g-s-drain", DRAIN_LABELS, 300))],
            report=[drain_entry(["g-s-2", "g-s-3"], ["g-s-2", "g-s-3"], "ScaleDown")],
        ),
        id="scale-down-holds-and-excludes-the-leaving-members",
    ),
    pytest.param(
        spec(DRAINING),
        [seen(sts("g-s", 4)), seen(timer("g-s-drain", DRAIN_LABELS, 300), created=TIMER_CREATED)],
        members(0, 1, 2),
        False,
        Drain(
            held={"s": 4},
            excluded={"s": [2, 3]},
            timers=[("s", timer("g-s-drain", DRAIN_LABELS, 300))],
            report=[drain_entry(["g-s-2", "g-s-3"], ["g-s-2"], "ScaleDown", since=TIMER_CREATED)],
        ),
        id="gone-member-not-waited-for-since-the-timer",
    ),
    pytest.param(spec(DRAINING), [seen(sts("g-s", 4))], members(0, 1, 2, 3, drained_=(2, 3)), False, Drain(), id="all-drained-shrinks"),
    pytest.param(spec(DRAINING), [seen(sts("g-s", 4))], members(0, 1, 3, drained_=(3,)), False, Drain(), id="drained-or-gone-shrinks"),
    pytest.param(
        spec(DRAINING),
        [seen(sts("g-s", 4)), seen(timer("g-s-drain", DRAIN_LABELS, 300), status=FIRED)],
        members(0, 1, 2, 3),
        False,
        Drain(),
        id="timer-fired-shrinks",
    ),
    pytest.param(spec(DRAINING), [seen(sts("g-s", 4))], None, False, Drain(), id="pods-not-observed-shrinks"),
    pytest.param(
        spec(DRAINING),
        [seen(sts("g-s", 3))],
        members(0, 1, 2, drained_=(1,)),
        True,
        Drain(
            held={"s": 3},
            excluded={"s": [0, 1, 2]},
            timers=[("s", timer("g-s-drain", DRAIN_LABELS, 300))],
            report=[drain_entry(["g-s-0", "g-s-1", "g-s-2"], ["g-s-0", "g-s-2"], "GroupDeleted")],
        ),
        id="finalizing-drains-every-member",
    ),
    pytest.param(spec(DRAINING), [seen(sts("g-s", 1))], members(0), False, Drain(), id="scale-up-no-drain"),
    pytest.param(spec(DRAINING), [], members(0, 1, 2, 3), False, Drain(), id="workload-not-observed"),
    pytest.param(
        spec(role("s", kind="Deployment", replicas=2, drainPolicy={"timeoutSeconds": 300})),
        [seen(sts("g-s", 4, kind="Deployment"))],
        members(0, 1, 2, 3),
        False,
        Drain(),
        id="deployment-role-does-not-drain",
    ),
]


@pytest.mark.parametrize("s, seen_objects, pods, finalizing, want", DRAIN_CASES)
def test_drain(s: RoleBasedGroupSpec, seen_objects: list[Obj], pods: dict[str, list[Obj]] | None, finalizing: bool, want: Drain) -> None:
    assert drain(G, s, observed(*seen_objects, pods=pods), finalizing, NOW) == want


DRAINING_3 = spec(role("s", replicas=3, drainPolicy={"timeoutSeconds": 300})).roles[0]
ROLLING = {"observedGeneration": 1, "updateRevision": "rev2"}


def drain_plan(role_: RoleSpec = DRAINING_3, partition: int = 0) -> dict[str, RolePlan]:
    return {"s": RolePlan(role_, 3, "s-g-s", (TEMPLATE,), rollout=Rollout(partition=partition))}


def at(*revisions: str | None, drained_: tuple[int, ...] = (), ready: bool = True) -> dict[str, list[Obj]]:
    """Pods g-s-<i> of role s at revisions[i] (None: gone), Ready unless `ready` is False."""
    return {
        "s": [
            pod(f"g-s-{i}", "s", revision=rev, ready=ready, annotations={DRAINED: "true"} if i in drained_ else None)
            for i, rev in enumerate(revisions)
            if rev is not None
        ]
    }


def member_timer(member: str) -> Obj:
    return timer("g-s-drain", DRAIN_LABELS, 300, annotations={DRAIN_MEMBER: member})


HOLD_ROLLOUTS_CASES = [
    pytest.param(
        drain_plan(spec(role("s", replicas=3)).roles[0]),
        [seen(sts("g-s", 3, template=TEMPLATE))],
        None,
        set(),
        Rollouts(),
        id="no-drainPolicy",
    ),
    pytest.param(drain_plan(), [], None, set(), Rollouts(), id="workload-not-observed"),
    pytest.param(
        drain_plan(), [seen(sts("g-s", 3, template=TEMPLATE), status=ROLLING)], None, set(), Rollouts(partitions={"s": 3}), id="new-template-held-at-replicas"
    ),
    pytest.param(
        drain_plan(partition=3), [seen(sts("g-s", 3, template=TEMPLATE), status=ROLLING)], None, set(), Rollouts(), id="new-template-plan-already-holds-all"
    ),
    pytest.param(drain_plan(), [seen(sts("g-s", 3, template=TEMPLATE), status=ROLLING)], None, {"s"}, Rollouts(), id="role-draining-a-scale-down-skipped"),
    pytest.param(
        drain_plan(),
        [seen(sts("g-s", 3, template=NEW_TEMPLATE, partition=2), generation=2, status=ROLLING)],
        at("rev1", "rev1", "rev1"),
        set(),
        Rollouts(partitions={"s": 2}),
        id="stale-status-keeps-applied-partition",
    ),
    pytest.param(
        drain_plan(),
        [seen(sts("g-s", 3, template=NEW_TEMPLATE, partition=2), status={"observedGeneration": 1})],
        at("rev1", "rev1", "rev1"),
        set(),
        Rollouts(partitions={"s": 2}),
        id="no-updateRevision-keeps-applied-partition",
    ),
    pytest.param(
        drain_plan(), [seen(sts("g-s", 3, template=NEW_TEMPLATE), status=ROLLING)], at("rev2", "rev2", "rev2"), set(), Rollouts(), id="all-updated"
    ),
    pytest.param(
        drain_plan(),
        [seen(sts("g-s", 3, template=NEW_TEMPLATE, partition=3), status=ROLLING)],
        at("rev1", "rev1", "rev1"),
        set(),
        Rollouts(
            partitions={"s": 3},
            excluded={"s": [2]},
            timers=[("s", member_timer("g-s-2"))],
            report=[{"role": "s", "members": ["g-s-2"], "waitingFor": ["g-s-2"], "since": NOW, "timeoutSeconds": 300, "reason": "RollingUpdate"}],
        ),
        id="highest-old-pod-waits-to-drain",
    ),
    pytest.param(
        drain_plan(),
        [seen(sts("g-s", 3, template=NEW_TEMPLATE, partition=3), status=ROLLING)],
        at("rev1", "rev1", "rev1", drained_=(2,)),
        set(),
        Rollouts(partitions={"s": 2}),
        id="drained-pod-let-through",
    ),
    pytest.param(
        drain_plan(),
        [seen(sts("g-s", 3, template=NEW_TEMPLATE, partition=3), status=ROLLING), seen(member_timer("g-s-2"), status=FIRED)],
        at("rev1", "rev1", "rev1"),
        set(),
        Rollouts(partitions={"s": 2}),
        id="its-timer-fired-let-through",
    ),
    pytest.param(
        drain_plan(),
        [
            seen(sts("g-s", 3, template=NEW_TEMPLATE, partition=2), status=ROLLING),
            seen(member_timer("g-s-2"), status=FIRED, created=TIMER_CREATED),
        ],
        at("rev1", "rev1", "rev2"),
        set(),
        Rollouts(
            partitions={"s": 2},
            excluded={"s": [1]},
            timers=[("s", member_timer("g-s-1"))],
            report=[{"role": "s", "members": ["g-s-1"], "waitingFor": ["g-s-1"], "since": TIMER_CREATED, "timeoutSeconds": 300, "reason": "RollingUpdate"}],
        ),
        id="another-members-fired-timer-does-not-count",
    ),
    pytest.param(
        drain_plan(),
        [seen(sts("g-s", 3, template=NEW_TEMPLATE, partition=2), status=ROLLING)],
        at("rev1", "rev1", "rev2", ready=False),
        set(),
        Rollouts(partitions={"s": 2}),
        id="updated-pod-above-not-ready-holds",
    ),
    pytest.param(
        drain_plan(),
        [seen(sts("g-s", 3, template=NEW_TEMPLATE, partition=1), status=ROLLING)],
        at("rev1", None, "rev2"),
        set(),
        Rollouts(partitions={"s": 1}),
        id="missing-pod-being-replaced",
    ),
]


@pytest.mark.parametrize("plans, seen_objects, pods, skip, want", HOLD_ROLLOUTS_CASES)
def test_hold_rollouts(plans: dict[str, RolePlan], seen_objects: list[Obj], pods: dict[str, list[Obj]] | None, skip: set[str], want: Rollouts) -> None:
    assert hold_rollouts(G, plans, {"s": NEW_TEMPLATE}, observed(*seen_objects, pods=pods), skip, NOW) == want


# =============================================================================================
# hooks.core.recovery
# =============================================================================================

RECREATE_GROUP = "RecreateRBGOnPodRestart"
RECREATE_ROLE = "RecreateRoleInstanceOnPodRestart"
APP_WORKLOAD = seen(sts("g-app", 1), uid="uid-wl-app", status={"observedGeneration": 1, "replicas": 1, "updateRevision": "rev1"})
DB_WORKLOAD = seen(sts("g-db", 1), uid="uid-wl-db", status={"observedGeneration": 1, "replicas": 1, "updateRevision": "rev1"})
WATCHED = {"app": {"g-app-0": "11111111 rev1 0 1"}}
WATCHING_STATE = {"phase": "Watching", "restartCount": 0, "streak": 0, "pods": WATCHED, "version": 1}
EVICTED = {"role": "app", "pod": "g-app-0", "reason": "Evicted", "time": NOW, "message": "node pressure"}
RECREATING_STATE = {
    "phase": "Recreating",
    "restartCount": 1,
    "streak": 1,
    "roles": ["app"],
    "workloads": {"app": "uid-wl-app"},
    "lastCause": EVICTED,
    "lastRecreationTime": NOW,
    "pods": WATCHED,
    "version": 2,
}


def app_pod(**extra: Any) -> Obj:
    return pod("g-app-0", "app", revision="rev1", metadata={"uid": "11111111-aaaa"}, **extra)


def state_configmap(state: Obj) -> Obj:
    """The recovery state's ConfigMap (hooks.children.recoverystate): `state` as compact sorted JSON."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "g-recovery", "labels": {GROUP_LABEL: G}},
        "data": {"state.json": json.dumps(state, sort_keys=True, separators=(",", ":"))},
    }


def recovering(status: str, reason: str, message: str) -> Obj:
    return condition("Recovering", status, reason, message)


RESTARTED = {
    "phase": "Running",
    "containerStatuses": [
        {"name": "app", "restartCount": 1, "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-01-01T00:04:30Z"}}}
    ],
}
OOM = {"role": "app", "pod": "g-app-0", "reason": "OOMKilled", "time": "2026-01-01T00:04:30Z", "container": "app", "exitCode": 137}
GROUP_RECREATING_STATE = {
    "phase": "Recreating",
    "restartCount": 1,
    "streak": 1,
    "roles": ["app", "db"],
    "workloads": {"app": "uid-wl-app", "db": "uid-wl-db"},
    "lastCause": OOM,
    "lastRecreationTime": NOW,
    "pods": {"app": {"g-app-0": "11111111 rev1 1 1"}},
    "version": 2,
}
ROLE_RECREATING_STATE = {**GROUP_RECREATING_STATE, "roles": ["app"], "workloads": {"app": "uid-wl-app"}}

RECOVER_CASES = [
    pytest.param(spec(role("app")), observed(APP_WORKLOAD, pods={"app": [app_pod()]}), None, Recovery(), id="no-restartPolicy"),
    pytest.param(spec(role("app", restartPolicy="None")), observed(APP_WORKLOAD, pods={"app": [app_pod()]}), None, Recovery(), id="restartPolicy-None"),
    pytest.param(
        spec(role("app", kind="LeaderWorkerSet", restartPolicy=RECREATE_GROUP)), observed(pods={"app": [app_pod()]}), None, Recovery(), id="lws-role-left-to-lws"
    ),
    pytest.param(
        spec(role("app", restartPolicy=RECREATE_GROUP)),
        observed(APP_WORKLOAD),
        None,
        Recovery(
            status={"phase": "Watching", "version": 0},
            condition=recovering(
                "False", "PodsNotObserved", "app have a restartPolicy, but the group's pods are not observed: register the customize hook"
            ),
        ),
        id="pods-not-observed",
    ),
    pytest.param(
        spec(role("app", restartPolicy=RECREATE_GROUP)),
        observed(APP_WORKLOAD),
        WATCHING_STATE,
        Recovery(
            status=WATCHING_STATE,
            condition=recovering(
                "False", "PodsNotObserved", "app have a restartPolicy, but the group's pods are not observed: register the customize hook"
            ),
        ),
        id="pods-not-observed-keeps-the-state",
    ),
    pytest.param(
        spec(role("app", restartPolicy=RECREATE_GROUP)),
        observed(APP_WORKLOAD, pods={"app": [app_pod(status={"phase": "Running"})]}),
        None,
        Recovery(
            children=[state_configmap(WATCHING_STATE)],
            status=WATCHING_STATE,
            condition=recovering("False", "Watching", "watching the pods of app; no failure seen"),
        ),
        id="first-sight-records-the-pods",
    ),
    pytest.param(
        spec(role("app", restartPolicy=RECREATE_GROUP)),
        observed(APP_WORKLOAD, pods={"app": [app_pod(status={"phase": "Running"})]}),
        WATCHING_STATE,
        Recovery(
            children=[state_configmap(WATCHING_STATE)],
            status=WATCHING_STATE,
            condition=recovering("False", "Watching", "watching the pods of app; no failure seen"),
        ),
        id="nothing-changed-same-version",
    ),
    pytest.param(
        spec(role("app", restartPolicy=RECREATE_GROUP)),
        observed(APP_WORKLOAD, pods={"app": [app_pod(status={"phase": "Failed", "reason": "Evicted", "message": "node pressure"})]}),
        WATCHING_STATE,
        Recovery(
            children=[state_configmap(RECREATING_STATE)],
            status=RECREATING_STATE,
            condition=recovering(
                "True", "Recreating", "pod g-app-0 Evicted at 2026-01-01T00:05:00Z; recreating app: waiting for the workloads and pods of app to go"
            ),
        ),
        id="failed-pod-detected-decision-recorded-not-yet-acted-on",
    ),
    pytest.param(
        spec(role("app", restartPolicy=RECREATE_GROUP)),
        observed(
            APP_WORKLOAD,
            seen(state_configmap(RECREATING_STATE)),
            pods={"app": [app_pod(status={"phase": "Failed", "reason": "Evicted", "message": "node pressure"})]},
        ),
        WATCHING_STATE,
        Recovery(
            withheld=frozenset({"app"}),
            children=[state_configmap(RECREATING_STATE)],
            status=RECREATING_STATE,
            condition=recovering(
                "True", "Recreating", "pod g-app-0 Evicted at 2026-01-01T00:05:00Z; recreating app: waiting for the workloads and pods of app to go"
            ),
        ),
        id="decision-observed-in-configmap-withholds-the-workload",
    ),
    pytest.param(
        spec(role("app", restartPolicy=RECREATE_GROUP), role("db")),
        observed(APP_WORKLOAD, DB_WORKLOAD, pods={"app": [app_pod(status=RESTARTED)], "db": []}),
        WATCHING_STATE,
        Recovery(
            children=[state_configmap(GROUP_RECREATING_STATE)],
            status=GROUP_RECREATING_STATE,
            condition=recovering(
                "True",
                "Recreating",
                "pod g-app-0 container app exited 137 (OOMKilled) at 2026-01-01T00:04:30Z; recreating app, db: waiting for the workloads and pods of app, db to go",
            ),
        ),
        id="container-restart-recreates-the-whole-group",
    ),
    pytest.param(
        spec(role("app", restartPolicy=RECREATE_ROLE), role("db")),
        observed(APP_WORKLOAD, DB_WORKLOAD, pods={"app": [app_pod(status=RESTARTED)], "db": []}),
        WATCHING_STATE,
        Recovery(
            children=[state_configmap(ROLE_RECREATING_STATE)],
            status=ROLE_RECREATING_STATE,
            condition=recovering(
                "True",
                "Recreating",
                "pod g-app-0 container app exited 137 (OOMKilled) at 2026-01-01T00:04:30Z; recreating app: waiting for the workloads and pods of app to go",
            ),
        ),
        id="container-restart-recreates-only-its-role",
    ),
]


@pytest.mark.parametrize("s, seen_, recorded, want", RECOVER_CASES)
def test_recover(s: RoleBasedGroupSpec, seen_: Observed, recorded: Obj | None, want: Recovery) -> None:
    assert recover(G, s, seen_, copy.deepcopy(recorded), NOW, 1) == want


# =============================================================================================
# hooks.core.scaling
# =============================================================================================

ENABLED = {"scalingAdapter": {"enable": True}}


def adapter(replicas: Any) -> Obj:
    return {
        "apiVersion": "workloads.x-k8s.io/v1alpha2",
        "kind": "RoleBasedGroupScalingAdapter",
        "metadata": {"name": "g-app", "labels": {GROUP_LABEL: G, ROLE_LABEL: "app"}},
        "spec": {"replicas": replicas, "scaleTargetRef": {"name": G, "role": "app"}},
    }


def remembered(replicas: int, spec_replicas: int) -> Obj:
    """A group's status whose role app remembers the size its adapter gave it."""
    return {"roleStatuses": [{"name": "app", "replicas": spec_replicas, "scalingAdapter": {"replicas": replicas, "specReplicas": spec_replicas}}]}


SIZES_CASES = [
    pytest.param(spec(role("app", replicas=2)), [], None, Sizes(spec(role("app", replicas=2)), [], {}), id="no-adapter"),
    pytest.param(spec(role("app", replicas=2, scalingAdapter={"enable": False})), [], None, Sizes(spec(role("app", replicas=2, scalingAdapter={"enable": False})), [], {}), id="adapter-disabled-never-created"),
    pytest.param(spec(role("app", replicas=2, **ENABLED)), [], None, Sizes(spec(role("app", replicas=2, **ENABLED)), [adapter(2)], {}), id="enabled-not-yet-created-starts-at-replicas"),
    pytest.param(
        spec(role("app", replicas=2, **ENABLED)),
        [seen(adapter(5))],
        None,
        Sizes(spec(role("app", replicas=5, **ENABLED)), [adapter(5)], {"app": {"replicas": 5, "specReplicas": 2}}),
        id="created-adapter-sets-the-size",
    ),
    pytest.param(
        spec(role("app", replicas=2, **ENABLED)),
        [seen(adapter(0))],
        None,
        Sizes(spec(role("app", replicas=0, **ENABLED)), [adapter(0)], {"app": {"replicas": 0, "specReplicas": 2}}),
        id="adapter-scaled-to-zero",
    ),
    pytest.param(
        spec(role("app", replicas=2, **ENABLED)),
        [seen(adapter(-1))],
        None,
        Sizes(spec(role("app", replicas=2, **ENABLED)), [adapter(2)], {}),
        id="adapter-replicas-out-of-range-ignored",
    ),
    pytest.param(
        spec(role("app", replicas=2)),
        [seen(adapter(5))],
        None,
        Sizes(spec(role("app", replicas=5)), [], {"app": {"replicas": 5, "specReplicas": 2}}),
        id="turned-off-adapter-still-observed-has-the-last-word",
    ),
    pytest.param(
        spec(role("app", replicas=2)),
        [],
        remembered(5, 2),
        Sizes(spec(role("app", replicas=5)), [], {"app": {"replicas": 5, "specReplicas": 2}}),
        id="turned-off-size-remembered",
    ),
    pytest.param(spec(role("app", replicas=3)), [], remembered(5, 2), Sizes(spec(role("app", replicas=3)), [], {}), id="replicas-changed-spec-sets-the-size-again"),
    pytest.param(
        spec(role("app", replicas=2, **ENABLED), role("web", kind="Deployment", replicas=1)),
        [seen(adapter(4))],
        {"roleStatuses": "garbage"},
        Sizes(spec(role("app", replicas=4, **ENABLED), role("web", kind="Deployment", replicas=1)), [adapter(4)], {"app": {"replicas": 4, "specReplicas": 2}}),
        id="other-roles-untouched-malformed-status-ignored",
    ),
]


@pytest.mark.parametrize("s, seen_objects, status, want", SIZES_CASES)
def test_sizes(s: RoleBasedGroupSpec, seen_objects: list[Obj], status: Obj | None, want: Sizes) -> None:
    assert sizes(G, s, observed(*seen_objects), status) == want


# =============================================================================================
# hooks.core.runtimes
# =============================================================================================

ENGINE_RUNTIMES = "rolebasedgroup.workloads.x-k8s.io/engine-runtimes"
PROXY = {"name": "proxy", "image": "envoy:1"}
CACHE = {"name": "cache", "emptyDir": {}}


def profile(name: str, body: Obj) -> Obj:
    return {"apiVersion": "workloads.x-k8s.io/v1alpha1", "kind": "ClusterEngineRuntimeProfile", "metadata": {"name": name}, "spec": body}


SIDECAR = profile("sidecar", {"containers": [PROXY], "volumes": [CACHE]})
SIDECAR_V2 = profile("sidecar", {"containers": [{"name": "proxy", "image": "envoy:2"}]})
SIDECAR_V2_ROLLING = profile("sidecar", {"containers": [{"name": "proxy", "image": "envoy:2"}], "updateStrategy": "RollingUpdate"})
BROKEN = profile("sidecar", {"containers": [{"image": "no-name"}]})
USES_SIDECAR = {"engineRuntimes": [{"profileName": "sidecar"}]}
RECORD_V1 = '{"sidecar":{"containers":[{"image":"envoy:1","name":"proxy"}],"initContainers":[],"volumes":[{"emptyDir":{},"name":"cache"}]}}'
RECORD_V2 = '{"sidecar":{"containers":[{"image":"envoy:2","name":"proxy"}],"initContainers":[],"volumes":[]}}'
WITH_V1 = {"spec": {"containers": [CONTAINER, PROXY], "volumes": [CACHE]}}
WITH_V2 = {"spec": {"containers": [CONTAINER, {"name": "proxy", "image": "envoy:2"}]}}


def recorded_workload(record: str) -> Obj:
    """The app role's workload, last applied with the profiles `record` says it was given."""
    child = sts("g-app", 1)
    child["metadata"]["annotations"] = {ENGINE_RUNTIMES: record}
    return seen(child)


def injected(template: Obj, record: str, **fields: Any) -> Obj:
    return role("app", template=template, annotations={ENGINE_RUNTIMES: record}, **USES_SIDECAR, **fields)


RUNTIMES_CASES = [
    pytest.param(spec(role("app")), [], {}, Runtimes(spec(role("app")), {}, frozenset(), None), id="no-engineRuntimes"),
    pytest.param(
        spec(role("app", **USES_SIDECAR), role("db")),
        [],
        {"sidecar": SIDECAR},
        Runtimes(
            spec(injected(WITH_V1, RECORD_V1), role("db")),
            {},
            frozenset(),
            condition("EngineRuntimes", "True", "ProfilesInjected", "profiles injected: app (sidecar)"),
        ),
        id="profile-present-injected-and-recorded",
    ),
    pytest.param(
        spec(role("app", engineRuntimes=[{"profileName": "sidecar", "containers": [{"name": "proxy", "args": ["--verbose"]}]}])),
        [],
        {"sidecar": SIDECAR},
        Runtimes(
            spec(
                role(
                    "app",
                    template={"spec": {"containers": [CONTAINER, {**PROXY, "args": ["--verbose"]}], "volumes": [CACHE]}},
                    annotations={ENGINE_RUNTIMES: RECORD_V1},
                    engineRuntimes=[{"profileName": "sidecar", "containers": [{"name": "proxy", "args": ["--verbose"]}]}],
                )
            ),
            {},
            frozenset(),
            condition("EngineRuntimes", "True", "ProfilesInjected", "profiles injected: app (sidecar)"),
        ),
        id="role-override-appends-args",
    ),
    pytest.param(
        spec(role("app", **USES_SIDECAR), role("db")),
        [],
        {},
        Runtimes(
            spec(role("app", **USES_SIDECAR), role("db")),
            {"app": ["sidecar (not found)"]},
            frozenset({"app"}),
            condition(
                "EngineRuntimes",
                "False",
                "ProfileNotFound",
                "ClusterEngineRuntimeProfile: app names sidecar (not found); these roles are left as they run (not created if they never were)",
            ),
        ),
        id="profile-missing-role-not-created-withheld",
    ),
    pytest.param(
        spec(role("app", **USES_SIDECAR)),
        [recorded_workload(RECORD_V1)],
        {},
        Runtimes(
            spec(role("app", **USES_SIDECAR)),
            {"app": ["sidecar (not found)"]},
            frozenset(),
            condition(
                "EngineRuntimes",
                "False",
                "ProfileNotFound",
                "ClusterEngineRuntimeProfile: app names sidecar (not found); these roles are left as they run (not created if they never were)",
            ),
        ),
        id="profile-missing-role-created-kept-not-withheld",
    ),
    pytest.param(
        spec(role("app", **USES_SIDECAR)),
        [],
        {"sidecar": BROKEN},
        Runtimes(
            spec(role("app", **USES_SIDECAR)),
            {"app": ["sidecar (not valid)"]},
            frozenset({"app"}),
            condition(
                "EngineRuntimes",
                "False",
                "ProfileNotFound",
                "ClusterEngineRuntimeProfile: app names sidecar (not valid); these roles are left as they run (not created if they never were)",
            ),
        ),
        id="profile-not-valid",
    ),
    pytest.param(
        spec(role("app", **USES_SIDECAR)),
        [recorded_workload(RECORD_V1)],
        {"sidecar": SIDECAR_V2},
        Runtimes(
            spec(injected(WITH_V1, RECORD_V1)),
            {},
            frozenset(),
            condition("EngineRuntimes", "True", "ProfilesInjected", "profiles injected: app (sidecar); app keeps the sidecar it was given (NoUpdate)"),
        ),
        id="changed-profile-NoUpdate-keeps-the-record",
    ),
    pytest.param(
        spec(role("app", **USES_SIDECAR)),
        [recorded_workload(RECORD_V1)],
        {"sidecar": SIDECAR_V2_ROLLING},
        Runtimes(
            spec(injected(WITH_V2, RECORD_V2)),
            {},
            frozenset(),
            condition("EngineRuntimes", "True", "ProfilesInjected", "profiles injected: app (sidecar)"),
        ),
        id="changed-profile-RollingUpdate-rolls",
    ),
]


@pytest.mark.parametrize("s, seen_objects, profiles, want", RUNTIMES_CASES)
def test_runtimes(s: RoleBasedGroupSpec, seen_objects: list[Obj], profiles: dict[str, Obj], want: Runtimes) -> None:
    assert runtimes(G, s, observed(*seen_objects, profiles=profiles)) == want


# =============================================================================================
# hooks.core.rbg.held: a plan with what coordination and a drain-safe rolling update hold it to
# =============================================================================================

APP = role_spec(name="app", replicas=4)


def app_plan(replicas: int = 4, **rollout_: Any) -> RolePlan:
    return RolePlan(APP, replicas, "s-g-app", (TEMPLATE,), (PodDecision(),), Rollout(True, **rollout_))


HELD_CASES = [
    pytest.param(Coordinated({}, []), Rollouts(), app_plan(partition=1), id="nothing-holds"),
    pytest.param(Coordinated({"other": Hold(partition=4)}, []), Rollouts(partitions={"other": 3}), app_plan(partition=1), id="other-roles-holds-ignored"),
    pytest.param(Coordinated({"app": Hold(partition=3)}, []), Rollouts(), app_plan(partition=3), id="coordination-raises-the-partition"),
    pytest.param(Coordinated({"app": Hold(partition=0)}, []), Rollouts(), app_plan(partition=1), id="coordination-partition-0-is-no-hold"),
    pytest.param(Coordinated({"app": Hold(partition=1)}, []), Rollouts(), app_plan(partition=1), id="coordination-never-lowers-the-partition"),
    pytest.param(Coordinated({"app": Hold(paused=True)}, []), Rollouts(), app_plan(partition=1, paused=True), id="coordination-pauses"),
    pytest.param(Coordinated({"app": Hold(replicas=2)}, []), Rollouts(), app_plan(2, partition=1), id="coordination-holds-the-replicas"),
    pytest.param(Coordinated({"app": Hold(replicas=0)}, []), Rollouts(), app_plan(0, partition=1), id="coordination-holds-the-replicas-at-zero"),
    pytest.param(Coordinated({"app": Hold(partition=3)}, []), Rollouts(partitions={"app": 2}), app_plan(partition=2), id="drain-partition-is-final"),
]


@pytest.mark.parametrize("coordinated, rolled, want", HELD_CASES)
def test_held(coordinated: Coordinated, rolled: Rollouts, want: RolePlan) -> None:
    assert held(app_plan(partition=1), coordinated, rolled) == want
