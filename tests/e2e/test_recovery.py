"""Failure recovery under the real Metacontroller, asserted on recorded watch events: a container
restart (written to the pod's status as the kubelet writes it) recreates the whole group once, in
dependency order, with the same pod names; the next failure waits for the backoff timer Job (the
real Job controller fails it at its deadline); the one after that exhausts the restart budget.

Needs RBG_METACONTROLLER=/path/to/metacontroller; skipped otherwise (conftest.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from hooks import constants as c
from rbgclient.kube import RoleBasedGroup, apply_manifests, as_dict, condition
from tests.e2e.watch import Recorder, group_ready, pod_ready

pytestmark = pytest.mark.metacontroller

KINDS = (RoleBasedGroup, StatefulSet, Pod, Job)
TIMEOUT = 90
BACKOFF = 3

Obj = dict[str, Any]


def group_doc() -> Obj:
    def role(name: str, replicas: int, deps: list[str]) -> Obj:
        return {
            "name": name,
            "replicas": replicas,
            "dependencies": deps,
            "restartPolicy": c.RESTART_RECREATE_GROUP,
            "template": {"spec": {"containers": [{"name": name, "image": "registry.k8s.io/pause:3.10"}]}},
        }

    return {
        "apiVersion": c.API_VERSION_V1ALPHA1,
        "kind": c.KIND_RBG,
        "metadata": {"name": "rec"},
        "spec": {
            "roles": [role("db", 1, []), role("app", 2, ["db"])],
            "recoveryPolicy": {"backoffSeconds": BACKOFF, "restartLimit": 2},
        },
    }


def crash(kube: Client, ns: str, name: str, exit_code: int = 137, reason: str = "OOMKilled") -> None:
    """What the kubelet writes when a container exits and is restarted in place."""
    status = as_dict(kube.get(Pod, name, namespace=ns))["status"]
    running = status["containerStatuses"][0]
    running["lastState"] = {
        "terminated": {"exitCode": exit_code, "reason": reason, "startedAt": running["state"]["running"]["startedAt"],
                       "finishedAt": running["state"]["running"]["startedAt"]}
    }
    running["restartCount"] = running.get("restartCount", 0) + 1
    kube.patch(Pod.Status, name, {"status": {"containerStatuses": [running]}}, namespace=ns, patch_type=PatchType.MERGE)


def recovery(rec: Recorder) -> Obj:
    return (rec.get("RoleBasedGroup", "rec") or {}).get("status", {}).get("recovery") or {}


def settled(count: int):
    """Recovered `count` times, watching again, and Ready."""

    def check(rec: Recorder) -> bool:
        r = recovery(rec)
        return r.get("phase") == "Watching" and r.get("restartCount") == count and group_ready("rec")(rec)

    return check


def first_rv(rec: Recorder, kind: str, name: str, type_: str, after: int = 0) -> int:
    return min(e.rv for e in rec.of(kind, name, type_) if e.rv > after)


def test_restarts_recreate_the_group_in_order_then_back_off_then_give_up(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    apply_manifests(mc_kube, [group_doc()], namespace=mc_ns)
    rec.wait(settled(0), TIMEOUT, "rec Ready and watched")
    before = {name: pod["metadata"]["uid"] for name, pod in rec.live("Pod").items()}
    assert sorted(before) == ["rec-app-0", "rec-app-1", "rec-db-0"]

    # 1. A container restart: the group is recreated once, db before app, same pod names.
    start = max(e.rv for e in rec.events)
    crash(mc_kube, mc_ns, "rec-app-1")
    rec.wait(settled(1), TIMEOUT, "the first recreation")
    for sts in ("rec-db", "rec-app"):
        assert len([e for e in rec.of("StatefulSet", sts, "DELETED") if e.rv > start]) == 1
        assert len([e for e in rec.of("StatefulSet", sts, "ADDED") if e.rv > start]) == 1
    db_ready = min(e.rv for e in rec.of("Pod", "rec-db-0") if e.rv > start and pod_ready(e.obj))
    assert first_rv(rec, "StatefulSet", "rec-app", "ADDED", start) > db_ready  # dependency order
    after = {name: pod["metadata"]["uid"] for name, pod in rec.live("Pod").items()}
    assert sorted(after) == sorted(before) and not set(after.values()) & set(before.values())
    r = recovery(rec)
    assert r["lastCause"] == {"role": "app", "pod": "rec-app-1", "reason": "OOMKilled", "exitCode": 137, "container": "app",
                              "time": r["lastCause"]["time"]}
    assert rec.of("Job") == []  # the first of a series: no backoff

    # 2. Again, within the series: a backoff timer Job first; the group is recreated only once it fires.
    start = max(e.rv for e in rec.events)
    crash(mc_kube, mc_ns, "rec-db-0", exit_code=1, reason="Error")
    rec.wait(settled(2), TIMEOUT + BACKOFF, "the second recreation")
    (added,) = [e for e in rec.of("Job", type_="ADDED") if e.rv > start]
    assert added.name == "rec-backoff-2" and added.obj["spec"]["activeDeadlineSeconds"] == BACKOFF
    fired = min(e.rv for e in rec.of("Job", "rec-backoff-2") if condition(e.obj, "Failed"))
    deleted = [e for e in rec.of("StatefulSet", type_="DELETED") if e.rv > start]
    assert len(deleted) == 2 and min(e.rv for e in deleted) > fired
    # The Job's clock, not ours: its startTime is kept to the second, so it may fire up to 1 s early.
    assert min(e.at for e in deleted) - added.at >= BACKOFF - 1
    assert rec.get("Job", "rec-backoff-2") is None  # removed once it fired

    # 3. A third within the series exhausts restartLimit 2: recovery says so and leaves the group be.
    start = max(e.rv for e in rec.events)
    crash(mc_kube, mc_ns, "rec-app-0")

    def gave_up(r: Recorder) -> bool:
        cond = condition(r.get("RoleBasedGroup", "rec") or {}, c.COND_RECOVERING) or {}
        return cond.get("reason") == c.REASON_RESTART_LIMIT_REACHED

    rec.wait(gave_up, TIMEOUT, "recovery to give up")
    rec.quiet(BACKOFF + 2)
    assert [e for e in rec.of("StatefulSet", type_="DELETED") if e.rv > start] == []
    assert recovery(rec)["phase"] == "GaveUp" and recovery(rec)["restartCount"] == 2


def test_a_deleted_pod_replaced_by_its_statefulset_recreates_its_role_once(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    doc = group_doc()
    for role in doc["spec"]["roles"]:
        role["restartPolicy"] = c.RESTART_RECREATE_ROLE if role["name"] == "app" else "None"
    apply_manifests(mc_kube, [doc], namespace=mc_ns)
    rec.wait(settled(0), TIMEOUT, "rec Ready and watched")
    db_uid = rec.get("Pod", "rec-db-0")["metadata"]["uid"]
    start = max(e.rv for e in rec.events)

    # The StatefulSet controller puts a new rec-app-0 in its place, often before the hooks see the gap.
    mc_kube.delete(Pod, "rec-app-0", namespace=mc_ns)
    rec.wait(settled(1), TIMEOUT, "the app role recreated")
    rec.quiet(3)
    assert len([e for e in rec.of("StatefulSet", "rec-app", "DELETED") if e.rv > start]) == 1
    assert [e for e in rec.of("StatefulSet", "rec-db") if e.rv > start and e.type == "DELETED"] == []
    assert rec.get("Pod", "rec-db-0")["metadata"]["uid"] == db_uid  # the other role is untouched
    r = recovery(rec)
    assert r["restartCount"] == 1 and r["lastCause"]["pod"] == "rec-app-0"
    assert r["lastCause"]["reason"] in ("PodReplaced", "PodDeleted")
