"""Drain-safe scale-down (roles[].drainPolicy): exclude, wait for the drained signal or the
timeout, then shrink; scaling back up cancels; deleting the group drains through finalize."""

import copy

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hooks import constants as c
from hooks.core.observed import wants_pods
from tests.support import ROOT, condition, example_group, finalize, observe, parent, related_pods, request, sync
from tests.support import pod as support_pod

GROUP = parent(
    {
        "apiVersion": c.API_VERSION_V1ALPHA1,
        "kind": c.KIND_RBG,
        "metadata": {"name": "uniffle"},
        "spec": {
            "roles": [
                {"name": "coordinator", "replicas": 1, "workload": {"apiVersion": "apps/v1", "kind": "Deployment"},
                 "template": {"spec": {"containers": [{"name": "c", "image": "uniffle:1"}]}}},
                {"name": "server", "replicas": 4, "drainPolicy": {"timeoutSeconds": 60}, "servicePorts": [{"name": "rpc", "port": 19999}],
                 "template": {"spec": {"containers": [{"name": "s", "image": "uniffle:1"}]}}},
            ]
        },
    }
)


def pod(name, drained=False):
    """tests.support.pod: a Running, Ready server pod, annotated drained if `drained`."""
    drained_ = {c.ANNOTATION_DRAINED: "true"} if drained else None
    return support_pod(name, uid=f"uid-{name}", role="server", annotations=drained_, phase="Running", ready=True)


def running():
    """The group with every role created and Ready at 4 servers."""
    children = observe(sync(request(GROUP)).children)
    return observe(sync(request(GROUP, children)).children)


def step(group, children, pods, finalizing=False):
    return (finalize if finalizing else sync)(request(group, children, related=related_pods(pods), finalizing=finalizing))


def scaled(n):
    g = copy.deepcopy(GROUP)
    g["spec"]["roles"][1]["replicas"] = n
    g["metadata"]["generation"] = 2
    return g


def servers(result):
    return next(ch for ch in result.children if ch["metadata"]["name"] == "uniffle-server" and ch["kind"] == "StatefulSet")["spec"]["replicas"]


def discovery(result):
    cm = next(ch for ch in result.children if ch["metadata"]["name"] == "uniffle-discovery")
    return yaml.safe_load(cm["data"][c.DISCOVERY_FILE])["roles"]["server"]


def jobs(result):
    return [ch["metadata"]["name"] for ch in result.children if ch["kind"] == c.KIND_JOB]


PODS = [pod(f"uniffle-server-{i}") for i in range(4)]


def test_a_scale_down_excludes_the_leaving_members_and_waits_for_them():
    children = running()
    result = step(scaled(2), children, PODS)
    assert servers(result) == 4
    assert discovery(result)["excluded"] == ["uniffle-server-2.s-uniffle-server", "uniffle-server-3.s-uniffle-server"]
    assert len(discovery(result)["instances"]) == 4  # still running, still listed
    assert jobs(result) == ["uniffle-server-drain"]
    (report,) = result.status["draining"]
    assert report["members"] == ["uniffle-server-2", "uniffle-server-3"] and report["waitingFor"] == report["members"]
    cond = condition(result.status, c.COND_DRAINING)
    assert (cond["status"], cond["reason"]) == ("True", c.REASON_WAITING_FOR_DRAIN)
    assert "waiting for uniffle-server-2, uniffle-server-3" in cond["message"]

    half = step(scaled(2), children, [*PODS[:3], pod("uniffle-server-3", drained=True)])
    assert servers(half) == 4 and half.status["draining"][0]["waitingFor"] == ["uniffle-server-2"]


def test_once_every_leaving_member_is_drained_or_gone_the_role_shrinks_and_the_exclusion_goes():
    children = running()
    result = step(scaled(2), children, [*PODS[:2], pod("uniffle-server-2", drained=True)])  # server-3 already gone
    assert servers(result) == 2
    assert "excluded" not in discovery(result) and jobs(result) == [] and "draining" not in result.status
    assert condition(result.status, c.COND_DRAINING)["reason"] == c.REASON_NOTHING_TO_DRAIN


def test_the_timeout_goes_ahead_without_the_signal():
    children = running()
    waiting = step(scaled(2), children, PODS)
    timed = copy.deepcopy(children)
    timed.update({k: {**timed[k], **v} for k, v in observe([ch for ch in waiting.children if ch["kind"] == c.KIND_JOB]).items() if v})
    job = timed[c.CHILD_JOB]["default/uniffle-server-drain"]
    assert servers(step(scaled(2), timed, PODS)) == 4
    job["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}
    assert servers(step(scaled(2), timed, PODS)) == 2


def test_scaling_back_up_cancels_the_drain():
    children = running()
    result = step(scaled(5), children, PODS)
    assert servers(result) == 5 and "excluded" not in discovery(result) and jobs(result) == []


def test_deleting_the_group_drains_every_member_first():
    children = running()
    g = copy.deepcopy(GROUP)
    g["metadata"]["deletionTimestamp"] = "2026-01-01T00:05:00Z"
    result = step(g, children, PODS, finalizing=True)
    assert not result.finalized and servers(result) == 4 and jobs(result) == ["uniffle-server-drain"]
    assert len(discovery(result)["excluded"]) == 4 and result.status["draining"][0]["reason"] == "GroupDeleted"
    done = step(g, children, [pod(f"uniffle-server-{i}", drained=True) for i in range(4)], finalizing=True)
    assert all(ch["metadata"]["name"] != "uniffle-server" for ch in done.children)


def test_a_deployment_role_does_not_drain_and_says_so():
    g = copy.deepcopy(GROUP)
    g["spec"]["roles"][0]["drainPolicy"] = {}
    result = step(g, running(), PODS)
    assert "drainPolicy ignored for coordinator" in condition(result.status, c.COND_DRAINING)["message"]


def _at(children, result, revision):
    """`children` with the server StatefulSet as `result` returned it, its controller at `revision`."""
    out = copy.deepcopy(children)
    sts = observe([ch for ch in result.children if ch["metadata"]["name"] == "uniffle-server" and ch["kind"] == "StatefulSet"])
    out[c.CHILD_STATEFULSET].update(sts[c.CHILD_STATEFULSET])
    out[c.CHILD_STATEFULSET]["default/uniffle-server"]["status"]["updateRevision"] = revision
    return out


def partition(result):
    sts = next(ch for ch in result.children if ch["metadata"]["name"] == "uniffle-server" and ch["kind"] == "StatefulSet")
    return sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"]


def at(name, revision, drained=False):
    p = pod(name, drained)
    p["metadata"]["labels"][c.LABEL_REVISION] = revision
    return p


def test_a_rolling_update_drains_one_pod_at_a_time_through_the_partition():
    children = running()
    old = [at(f"uniffle-server-{i}", "rev-1") for i in range(4)]
    new = copy.deepcopy(GROUP)
    new["spec"]["roles"][1]["template"]["spec"]["containers"][0]["image"] = "uniffle:2"
    new["metadata"]["generation"] = 2
    changed = step(new, children, old)
    assert partition(changed) == 4  # the controller has not seen the template yet: hold every pod

    rolling = _at(children, changed, "rev-2")
    first = step(new, rolling, old)
    assert partition(first) == 4 and discovery(first)["excluded"] == ["uniffle-server-3.s-uniffle-server"]
    (timer,) = [ch for ch in first.children if ch["kind"] == c.KIND_JOB]
    assert timer["metadata"]["annotations"] == {c.ANNOTATION_DRAIN_MEMBER: "uniffle-server-3"}
    assert first.status["draining"][0]["reason"] == "RollingUpdate"

    released = step(new, rolling, [*old[:3], at("uniffle-server-3", "rev-1", drained=True)])
    assert partition(released) == 3 and "excluded" not in discovery(released)

    # server-3 replaced and Ready at rev-2: server-2 is next, drained first.
    second = step(new, rolling, [*old[:3], at("uniffle-server-3", "rev-2")])
    assert partition(second) == 3 and discovery(second)["excluded"] == ["uniffle-server-2.s-uniffle-server"]
    # A timer that fired for server-3 does not release server-2.
    fired = copy.deepcopy(rolling)
    job = observe([timer])[c.CHILD_JOB]["default/uniffle-server-drain"]
    job["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}
    fired[c.CHILD_JOB] = {"default/uniffle-server-drain": job}
    assert partition(step(new, fired, [*old[:3], at("uniffle-server-3", "rev-2")])) == 3
    # Every pod updated: nothing held.
    done = step(new, rolling, [at(f"uniffle-server-{i}", "rev-2") for i in range(4)])
    assert partition(done) == 0 and "draining" not in done.status


def test_the_uniffle_example_asks_for_its_pods_and_reports_no_drain():
    g = example_group(ROOT / "examples" / "uniffle" / "uniffle.yaml")
    assert wants_pods({}, g["spec"])
    result = sync(request(g))
    assert condition(result.status, c.COND_DRAINING)["reason"] == c.REASON_NOTHING_TO_DRAIN


@settings(max_examples=200, deadline=None)
@given(
    current=st.integers(1, 6),
    target=st.integers(0, 8),
    present=st.sets(st.integers(0, 5)),
    signalled=st.sets(st.integers(0, 5)),
    fired=st.booleans(),
)
def test_no_member_leaves_before_it_is_drained_or_its_time_is_up(current, target, present, signalled, fired):
    g = scaled(current)
    children = observe(sync(request(g, observe(sync(request(g)).children))).children)
    if fired:
        timer = observe([{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "uniffle-server-drain"}, "spec": {}}])
        children[c.CHILD_JOB] = timer[c.CHILD_JOB]
        children[c.CHILD_JOB]["default/uniffle-server-drain"]["status"] = {
            "conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]
        }
    pods = [pod(f"uniffle-server-{i}", drained=i in signalled) for i in range(current) if i in present]
    result = step(scaled(target), children, pods)
    leaving_undrained = [i for i in range(target, current) if i in present and i not in signalled]
    if target >= current or not leaving_undrained or fired:
        assert servers(result) == target and "excluded" not in discovery(result)
    else:
        assert servers(result) == current
        assert discovery(result)["excluded"] == [f"uniffle-server-{i}.s-uniffle-server" for i in range(target, current)]
        assert result.status["draining"][0]["waitingFor"] == [f"uniffle-server-{i}" for i in leaving_undrained]
