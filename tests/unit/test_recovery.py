"""Failure recovery (roles[].restartPolicy): detection tables, and the recreation, backoff and
restart budget through the sync hook, each step observing what the previous answered."""

import copy

import pytest

from hooks import constants as c
from hooks.api import RecoveryPolicy, RoleSpec
from hooks.core.recovery import backoff, detect, effective_policy, fingerprint
from tests.support import V1ALPHA1, condition, container_status, example_group, observe, related_pods, request, sync, terminated
from tests.support import pod as support_pod
from tests.support import hub

MINIMAL = V1ALPHA1 / "minimal.yaml"
T0 = "2026-01-01T00:10:00Z"
REV = "rev-1"
CREATED = "2026-01-01T00:02:00Z"


def pod(name, uid="uid-0000-a", revision=REV, restarts=0, generation=1, phase="Running", finished=T0, reason="OOMKilled"):
    """tests.support.pod: a Ready pod of the role its name says, its one container (named as the
    role) restarted `restarts` times, the last ending exit 137 (`reason`) at `finished`."""
    role = name.split("-")[1]
    last = terminated(reason, finished=finished) if restarts else None
    containers = [container_status(role, restarts=restarts, last_terminated=last)]
    return support_pod(name, uid=uid, generation=generation, created=CREATED, role=role, revision=revision, phase=phase, ready=True, containers=containers)


def pods_of(children, **changed):
    """A Ready pod for every replica of every observed StatefulSet; `changed` replaces some by name."""
    out = {}
    for sts in children[c.CHILD_STATEFULSET].values():
        for i in range(sts["spec"]["replicas"]):
            name = f"{sts['metadata']['name']}-{i}"
            out[name] = copy.deepcopy(changed.get(name.replace("-", "_"), pod(name)))
            owner = {"kind": "StatefulSet", "name": sts["metadata"]["name"], "uid": sts["metadata"]["uid"]}
            out[name]["metadata"]["ownerReferences"] = [owner]
    return [p for p in out.values() if p is not None]


def group(policy=c.RESTART_RECREATE_GROUP, role="app", **recovery):
    g = example_group(MINIMAL)
    for r in g["spec"]["roles"]:
        if r["name"] == role:
            r["restartPolicy"] = policy
    if recovery:
        g["spec"]["recoveryPolicy"] = recovery
    return g


def step(g, children, pods, status=None):
    """One sync: the group with `status`, its children, and its pods as related objects."""
    g = copy.deepcopy(g)
    if status is not None:
        g["status"] = status
    return sync(request(g, children, related=related_pods(pods)))


def kept(children, result):
    """`children` with the recovery-state ConfigMap `result` returned, as observed after it is applied."""
    out = copy.deepcopy(children)
    out[c.CHILD_CONFIGMAP].update(observe([ch for ch in result.children if ch["metadata"]["name"] == "minimal-recovery"])[c.CHILD_CONFIGMAP])
    return out


def observed(result, time="2026-01-01T00:01:00Z"):
    """The result's children observed, every StatefulSet rolling to REV."""
    return observe(result.children, time=time, update_revision=REV)


def running(g):
    """The group with every role created and Ready, and its first sync with pods (recorded)."""
    result = sync(request(g))
    result = sync(request(g, observed(result)))
    children = observed(result)
    first = step(g, children, pods_of(children))
    return children, first


def workloads(result):
    return sorted(ch["metadata"]["name"] for ch in result.children if ch["kind"] in (c.KIND_STATEFULSET, c.KIND_DEPLOYMENT))


def jobs(result):
    return [ch for ch in result.children if ch["kind"] == c.KIND_JOB]


# --- detection ------------------------------------------------------------------------------------

STS = hub.role({"name": "app", "template": {"spec": {"containers": [{"name": "app", "image": "x"}]}}})
DEPLOY = hub.role({"name": "app", "template": {"spec": {"containers": [{"name": "app", "image": "x"}]}}, "workload": {"apiVersion": "apps/v1", "kind": "Deployment"}})
WORKLOAD = {"metadata": {"name": "minimal-app", "generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 2, "updateRevision": REV}}
KNOWN = {"minimal-app-0": fingerprint(pod("minimal-app-0")), "minimal-app-1": fingerprint(pod("minimal-app-1", uid="uid-1111-b"))}
APP1 = pod("minimal-app-1", uid="uid-1111-b")


@pytest.mark.parametrize(
    "role, pods, known, workload, reasons",
    [
        pytest.param(STS, [pod("minimal-app-0"), APP1], KNOWN, WORKLOAD, [], id="nothing-changed"),
        pytest.param(STS, [pod("minimal-app-0", restarts=1), APP1], KNOWN, WORKLOAD, ["OOMKilled"], id="container-restart"),
        pytest.param(STS, [pod("minimal-app-0", restarts=1, generation=2), APP1], KNOWN, WORKLOAD, [], id="restart-after-in-place-update"),
        pytest.param(STS, [pod("minimal-app-0", phase="Failed"), APP1], KNOWN, WORKLOAD, ["PodFailed"], id="pod-failed"),
        pytest.param(STS, [pod("minimal-app-0", uid="uid-9999-z"), APP1], KNOWN, WORKLOAD, ["PodReplaced"], id="replaced-by-the-controller"),
        pytest.param(STS, [pod("minimal-app-0", uid="uid-9999-z", revision="rev-2"), APP1], KNOWN, WORKLOAD, [], id="replaced-by-a-rollout"),
        pytest.param(STS, [APP1], KNOWN, WORKLOAD, ["PodDeleted"], id="deleted"),
        pytest.param(STS, [APP1], KNOWN, {**WORKLOAD, "status": {"observedGeneration": 1, "updateRevision": REV}}, [], id="deleted-while-the-status-is-stale"),
        pytest.param(STS, [APP1], KNOWN, {**WORKLOAD, "status": {"observedGeneration": 2, "updateRevision": "rev-2"}}, [], id="deleted-by-a-rollout"),
        pytest.param(STS, [pod("minimal-app-0")], KNOWN, {**WORKLOAD, "spec": {"replicas": 1}}, [], id="scaled-down"),
        pytest.param(STS, [pod("minimal-app-0", restarts=3), APP1], None, WORKLOAD, [], id="role-seen-first-time"),
        pytest.param(STS, [pod("minimal-app-0", restarts=1)], {}, WORKLOAD, ["OOMKilled"], id="new-pod-that-restarted-already"),
        pytest.param(DEPLOY, [pod("minimal-app-0", uid="uid-9999-z")], KNOWN, WORKLOAD, [], id="deployment-pod-replaced"),
    ],
)
def test_what_counts_as_a_failure(role, pods, known, workload, reasons):
    assert [f.reason for f in detect(role, workload, pods, known, T0)] == reasons


def test_a_restart_is_reported_with_its_container_exit_code_and_time():
    (failure,) = detect(STS, WORKLOAD, [pod("minimal-app-0", restarts=2, finished="2026-01-01T00:09:30Z"), APP1], KNOWN, T0)
    assert failure.cause() == {
        "role": "app",
        "pod": "minimal-app-0",
        "reason": "OOMKilled",
        "time": "2026-01-01T00:09:30Z",
        "container": "app",
        "exitCode": 137,
    }


@pytest.mark.parametrize("streak, seconds", [(0, 0), (1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (60, 600)])
def test_backoff_doubles_up_to_its_cap(streak, seconds):
    assert backoff(RecoveryPolicy.model_validate({}), streak) == seconds


# --- through the sync hook ------------------------------------------------------------------------


def test_a_container_restart_recreates_every_role_once_then_in_dependency_order():
    g = group()
    children, first = running(g)
    assert first.status["recovery"]["phase"] == "Watching"
    assert workloads(first) == ["minimal-app", "minimal-db"]
    crashed = pods_of(children, minimal_app_1=pod("minimal-app-1", restarts=1))

    decided = step(g, children, crashed, first.status)
    rec = decided.status["recovery"]
    assert (rec["phase"], rec["restartCount"], rec["streak"], rec["roles"]) == ("Recreating", 1, 1, ["db", "app"])
    assert rec["lastCause"] == {"role": "app", "pod": "minimal-app-1", "reason": "OOMKilled", "time": T0, "container": "app", "exitCode": 137}
    # Nothing is deleted until the decision is observed in the state ConfigMap: a stale status
    # in Metacontroller's cache can not repeat it.
    assert workloads(decided) == ["minimal-app", "minimal-db"]
    assert step(g, children, crashed, first.status).response() == decided.response()
    children = kept(children, decided)
    recreating = step(g, children, crashed, first.status)  # the status is stale: the ConfigMap's copy is newer
    assert recreating.status["recovery"] == rec
    assert workloads(recreating) == []  # Metacontroller deletes them
    assert condition(recreating.status, c.COND_RECOVERING)["reason"] == c.REASON_RECREATING
    # The ControllerRevisions stay: a recreation keeps the rollout history.
    assert {ch["kind"] for ch in recreating.children} >= {c.KIND_CONTROLLER_REVISION}

    # Until the workloads and their pods are gone, nothing changes and nothing is counted again.
    again = step(g, children, crashed, recreating.status)
    assert again.response() == recreating.response()
    no_workloads = {**children, c.CHILD_STATEFULSET: {}}
    assert step(g, no_workloads, crashed, recreating.status).status["recovery"]["phase"] == "Recreating"

    # All gone: the roles come back through the dependency gate, db first.
    gone = step(g, no_workloads, [], recreating.status)
    assert gone.status["recovery"]["phase"] == "Watching"
    assert gone.status["recovery"]["restartCount"] == 1
    assert workloads(gone) == ["minimal-db"]


def _recreated_once(g):
    """The group after one recreation, running again with fresh pods."""
    children, first = running(g)
    crashed = pods_of(children, minimal_app_1=pod("minimal-app-1", restarts=1))
    recreating = step(g, children, crashed, first.status)
    children = kept(children, recreating)
    gone = step(g, {**children, c.CHILD_STATEFULSET: {}}, [], recreating.status)
    children = kept(children, gone)
    fresh = {name: pod(name, uid="uid-2222-" + name[-1]) for name in ("minimal-db-0", "minimal-app-0", "minimal-app-1")}
    back = step(g, children, list(fresh.values()), gone.status)
    assert back.status["recovery"]["phase"] == "Watching"
    return children, fresh, back


def test_a_second_failure_in_a_series_waits_for_the_backoff_timer():
    g = group()
    children, fresh, back = _recreated_once(g)
    crashed = [*fresh.values()][:2] + [pod("minimal-app-1", uid="uid-2222-1", restarts=1, finished="2026-01-01T00:12:00Z")]
    waiting = step(g, children, crashed, back.status)
    rec = waiting.status["recovery"]
    assert (rec["phase"], rec["restartCount"], rec["streak"]) == ("BackingOff", 1, 1)
    (timer,) = jobs(waiting)
    assert timer["metadata"]["name"] == "minimal-backoff-2"
    assert timer["spec"]["activeDeadlineSeconds"] == 30 and timer["spec"]["parallelism"] == 0
    assert workloads(waiting) == ["minimal-app", "minimal-db"]  # kept, crash logs and all, while it waits

    with_timer = observe(waiting.children)
    with_timer[c.CHILD_STATEFULSET] = children[c.CHILD_STATEFULSET]
    assert step(g, with_timer, crashed, waiting.status).response() == waiting.response()
    job = with_timer[c.CHILD_JOB]["default/minimal-backoff-2"]
    job["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "lastTransitionTime": "2026-01-01T00:12:31Z"}]}
    fired = step(g, with_timer, crashed, waiting.status)
    rec = fired.status["recovery"]
    assert (rec["phase"], rec["restartCount"], rec["streak"]) == ("Recreating", 2, 2)
    assert len(jobs(fired)) == 1 and len(workloads(fired)) == 2  # until the decision is observed
    committed = step(g, kept(with_timer, fired), crashed, waiting.status)
    assert committed.status["recovery"] == rec
    assert jobs(committed) == [] and workloads(committed) == []


def test_a_failure_long_after_the_last_recreation_starts_a_new_series():
    g = group()
    children, fresh, back = _recreated_once(g)
    later = [*fresh.values()][:2] + [pod("minimal-app-1", uid="uid-2222-1", restarts=1, finished="2026-01-01T03:00:00Z")]
    rec = step(g, children, later, back.status).status["recovery"]
    assert (rec["phase"], rec["restartCount"], rec["streak"]) == ("Recreating", 2, 1)


def test_recovery_gives_up_after_its_restart_limit_until_the_spec_changes():
    g = group(restartLimit=1)
    children, fresh, back = _recreated_once(g)
    crashed = [*fresh.values()][:2] + [pod("minimal-app-1", uid="uid-2222-1", restarts=1, finished="2026-01-01T00:12:00Z")]
    gave_up = step(g, children, crashed, back.status)
    cond = condition(gave_up.status, c.COND_RECOVERING)
    assert (cond["status"], cond["reason"]) == ("False", c.REASON_RESTART_LIMIT_REACHED)
    assert "minimal-app-1 container app exited 137 (OOMKilled)" in cond["message"]
    assert workloads(gave_up) == ["minimal-app", "minimal-db"] and not jobs(gave_up)
    assert step(g, children, crashed, gave_up.status).response() == gave_up.response()
    # A new generation: recovery watches again, from what runs now.
    g2 = copy.deepcopy(g)
    g2["metadata"]["generation"] = 2
    rec = step(g2, children, crashed, gave_up.status).status["recovery"]
    assert rec["phase"] == "Watching" and rec["restartCount"] == 1


def test_role_instance_policy_recreates_only_the_failed_role():
    g = group(policy=c.RESTART_RECREATE_ROLE)
    children, first = running(g)
    crashed = pods_of(children, minimal_app_0=pod("minimal-app-0", phase="Failed"))
    result = step(g, children, crashed, first.status)
    assert result.status["recovery"]["roles"] == ["app"]
    assert workloads(step(g, kept(children, result), crashed, first.status)) == ["minimal-db"]


def test_roles_without_a_policy_are_not_watched():
    g = group(policy="None")
    children, first = running(g)
    assert "recovery" not in first.status
    crashed = pods_of(children, minimal_app_1=pod("minimal-app-1", restarts=5))
    assert workloads(step(g, children, crashed)) == ["minimal-app", "minimal-db"]


def test_without_pods_observed_recovery_says_so_and_touches_nothing():
    g = group()
    result = sync(request(g))
    result = sync(request(g, observed(result)))
    cond = condition(result.status, c.COND_RECOVERING)
    assert (cond["status"], cond["reason"]) == ("False", c.REASON_PODS_NOT_OBSERVED)
    assert workloads(result) == ["minimal-app", "minimal-db"]


def test_a_role_whose_workload_is_gone_waits_for_its_previous_pods_to_go():
    g = group(policy="None", role="app")
    g["metadata"]["annotations"] = {c.ANNOTATION_COLOCATED_TOPOLOGY: "zone"}  # pods observed
    children, _ = running(g)
    children[c.CHILD_STATEFULSET] = {k: v for k, v in children[c.CHILD_STATEFULSET].items() if not k.endswith("-app")}
    owned = pod("minimal-app-0")
    owned["metadata"]["ownerReferences"] = [{"kind": "StatefulSet", "name": "minimal-app", "uid": "gone"}]
    result = step(g, children, [pod("minimal-db-0"), owned])
    assert workloads(result) == ["minimal-db"]
    assert condition(result.status, c.COND_PROGRESSING)["message"] == "app waits for its previous pods to go"
    # Orphaned on purpose (no owner): a new workload adopts it.
    assert workloads(step(g, children, [pod("minimal-db-0"), pod("minimal-app-0")])) == ["minimal-app", "minimal-db"]


def _delayed(name: str, base: int | None = None, most: int | None = None) -> RoleSpec:
    config = {k: v for k, v in (("baseDelaySeconds", base), ("maxDelaySeconds", most)) if v is not None}
    return RoleSpec.model_validate({"name": name, "standalonePattern": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}},
                                                                       "restartPolicyConfig": {"type": "RecreateRoleInstanceOnPodRestart", **config}}})


@pytest.mark.parametrize(
    "roles,want",
    [
        pytest.param([_delayed("a")], (30, 600), id="none-set-the-groups"),
        pytest.param([_delayed("a", 120)], (120, 600), id="a-longer-base-replaces-the-groups"),
        pytest.param([_delayed("a", 120, 900), _delayed("b", 60)], (60, 900), id="the-smallest-each"),
        pytest.param([_delayed("a", 90, 20)], (90, 90), id="the-longest-wait-never-below-the-first"),
    ],
)
def test_role_restart_delays_replace_the_groups(roles, want):
    got = effective_policy(None, roles)
    assert (got.backoff_seconds, got.max_backoff_seconds) == want
