"""Drain-safe scale-down, upgrade and deletion under the real Metacontroller, with the Uniffle
example (examples/uniffle/uniffle.yaml): KWOK stands in for the containers, and the test sets the
drained annotation as the application would. Asserted on recorded watch events.

Needs RBG_METACONTROLLER=/path/to/metacontroller; skipped otherwise (conftest.py).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import ConfigMap, Pod
from lightkube.types import PatchType

from hooks import constants as c
from rbgclient.kube import RoleBasedGroup, apply_manifests
from tests.e2e.watch import Recorder, group_ready, pod_ready
from tests.support import ROOT, role_template

pytestmark = pytest.mark.metacontroller

KINDS = (RoleBasedGroup, StatefulSet, Deployment, Pod, ConfigMap, Job)
TIMEOUT = 90
STS = "uniffle-shuffle-server"
Obj = dict[str, Any]


def uniffle(timeout: int = 600) -> Obj:
    doc = next(d for d in yaml.safe_load_all((ROOT / "examples" / "uniffle" / "uniffle.yaml").read_text()) if d)
    doc["spec"]["roles"][2]["drainPolicy"]["timeoutSeconds"] = timeout
    return doc


def servers(spec: Obj, **changes: Any) -> Obj:
    out = copy.deepcopy(spec)
    out["roles"][2].update(changes)
    return out


def patch_spec(kube: Client, ns: str, spec: Obj) -> None:
    kube.patch(RoleBasedGroup, "uniffle", {"spec": spec}, namespace=ns, patch_type=PatchType.MERGE)


def drain(kube: Client, ns: str, pod: str) -> int:
    """What the application does once no client depends on the server; the write's resourceVersion."""
    done = kube.patch(Pod, pod, {"metadata": {"annotations": {c.ANNOTATION_DRAINED: "true"}}}, namespace=ns, patch_type=PatchType.MERGE)
    return int(done.metadata.resourceVersion)


def excluded(rec: Recorder) -> list[str]:
    cm = rec.get("ConfigMap", "uniffle-discovery") or {"data": {c.DISCOVERY_FILE: "roles: {}"}}
    return (yaml.safe_load(cm["data"][c.DISCOVERY_FILE])["roles"].get("shuffle-server") or {}).get("excluded", [])


def replicas(rec: Recorder) -> int:
    return int((rec.get("StatefulSet", STS) or {"spec": {"replicas": -1}})["spec"]["replicas"])


def started(kube: Client, rec: Recorder, ns: str, timeout: int = 600) -> Obj:
    doc = uniffle(timeout)
    apply_manifests(kube, [doc], namespace=ns)
    rec.wait(group_ready("uniffle"), TIMEOUT, "uniffle Ready")
    return doc["spec"]


def test_a_scale_down_waits_for_each_leaving_server_to_drain(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    spec = started(mc_kube, rec, mc_ns)
    patch_spec(mc_kube, mc_ns, servers(spec, replicas=1))
    rec.wait(lambda r: len(excluded(r)) == 2, TIMEOUT, "the two leaving servers excluded")
    assert excluded(rec) == [f"{STS}-1.s-{STS}", f"{STS}-2.s-{STS}"]
    rec.quiet(3)
    assert replicas(rec) == 3  # nothing goes before it is drained
    status = rec.get("RoleBasedGroup", "uniffle")["status"]
    assert status["draining"][0]["waitingFor"] == [f"{STS}-1", f"{STS}-2"]
    first = drain(mc_kube, mc_ns, f"{STS}-2")
    rec.wait(lambda r: r.get("RoleBasedGroup", "uniffle")["status"]["draining"][0]["waitingFor"] == [f"{STS}-1"], TIMEOUT, "one left")
    assert replicas(rec) == 3
    last = drain(mc_kube, mc_ns, f"{STS}-1")
    rec.wait(lambda r: replicas(r) == 1 and not excluded(r), TIMEOUT, "the servers to go")
    shrunk = min(e.rv for e in rec.of("StatefulSet", STS) if e.obj["spec"]["replicas"] == 1)
    assert shrunk > max(first, last)
    rec.wait(lambda r: set(r.live("Pod")) >= {f"{STS}-0"} and f"{STS}-1" not in r.live("Pod"), TIMEOUT, "server pods gone")
    assert rec.get("Job", f"{STS}-drain") is None


def test_a_scale_down_goes_ahead_after_the_timeout(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    spec = started(mc_kube, rec, mc_ns, timeout=3)
    patch_spec(mc_kube, mc_ns, servers(spec, replicas=2))
    rec.wait(lambda r: excluded(r) == [f"{STS}-2.s-{STS}"], TIMEOUT, "the leaving server excluded")
    since = max(e.at for e in rec.of("ConfigMap", "uniffle-discovery"))
    # The ConfigMap and the StatefulSet change in one sync; their events come on two watches.
    rec.wait(lambda r: replicas(r) == 2 and not excluded(r), TIMEOUT, "the timeout")
    went = min(e.at for e in rec.of("StatefulSet", STS) if e.obj["spec"]["replicas"] == 2)
    assert went - since >= 2  # the Job's clock: whole seconds
    assert rec.of("Job", f"{STS}-drain", "ADDED")


def test_an_upgrade_drains_one_server_at_a_time(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    spec = started(mc_kube, rec, mc_ns)
    old = {name: pod["metadata"]["uid"] for name, pod in rec.live("Pod").items() if name.startswith(STS)}
    upgraded = copy.deepcopy(spec)
    role_template(upgraded["roles"][2])["spec"]["containers"][0]["image"] = "apache/uniffle:0.10.0"
    patch_spec(mc_kube, mc_ns, upgraded)
    drained_at = {}
    for k in (2, 1, 0):
        pod = f"{STS}-{k}"
        rec.wait(lambda r, pod=pod: excluded(r) == [f"{pod}.s-{STS}"], TIMEOUT, f"{pod} excluded")
        assert rec.get("Pod", pod)["metadata"]["uid"] == old[pod]  # not replaced before it drains
        drained_at[pod] = drain(mc_kube, mc_ns, pod)
        rec.wait(
            lambda r, pod=pod: (p := r.get("Pod", pod)) is not None and p["metadata"]["uid"] != old[pod] and pod_ready(p),
            TIMEOUT,
            f"{pod} replaced and Ready",
        )
    deleted = {name: min(e.rv for e in rec.of("Pod", name, "DELETED")) for name in drained_at}
    for name, rv in drained_at.items():
        assert deleted[name] > rv, f"{name} deleted before it drained"
    assert deleted[f"{STS}-2"] < deleted[f"{STS}-1"] < deleted[f"{STS}-0"]  # one at a time, from the top
    rec.wait(group_ready("uniffle", generation=2), TIMEOUT, "uniffle Ready at the new image")


def test_deleting_the_group_drains_the_servers_first(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    started(mc_kube, rec, mc_ns)
    mc_kube.delete(RoleBasedGroup, "uniffle", namespace=mc_ns)
    rec.wait(lambda r: len(excluded(r)) == 3, TIMEOUT, "every server excluded")
    rec.quiet(3)
    assert replicas(rec) == 3
    last = max(drain(mc_kube, mc_ns, f"{STS}-{k}") for k in range(3))
    rec.wait(lambda r: r.get("RoleBasedGroup", "uniffle") is None, TIMEOUT, "the group gone")
    (gone,) = rec.of("StatefulSet", STS, "DELETED")
    assert gone.rv > last
