"""The hooks under the real Metacontroller: ordering, status, steady state, restarts, removal,
cycles, teardown and scaling, asserted on recorded watch events (see watch.py), never by polling.

Needs RBG_METACONTROLLER=/path/to/metacontroller; skipped otherwise (conftest.py).
"""

from __future__ import annotations

import copy
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import ConfigMap, Pod, Service
from lightkube.types import PatchType

from hooks import constants as c
from localcluster.cluster import LocalCluster
from rbgclient.kube import RoleBasedGroup, apply_manifests
from tests.e2e.watch import Event, Recorder, group_ready, pod_ready
from tests.support import EXAMPLES, ROOT, condition as cond, example_id, group_doc, pods_of, workload_kinds

pytestmark = pytest.mark.metacontroller

KINDS = (RoleBasedGroup, StatefulSet, Deployment, Service, ConfigMap, Pod)
WORKLOAD_KINDS = ("StatefulSet", "Deployment")
CHILD_KINDS = (*WORKLOAD_KINDS, "Service", "ConfigMap")
PD = ROOT / "examples" / "pd-disagg.yaml"
READY_TIMEOUT = 60


def roles(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in doc["spec"]["roles"]}


def set_spec(kube: Client, ns: str, name: str, spec: dict[str, Any]) -> int:
    """Replace the group's spec; returns the generation this produced."""
    patched = kube.patch(RoleBasedGroup, name, {"spec": spec}, namespace=ns, patch_type=PatchType.MERGE)
    return int(patched.metadata.generation)


def first_ready_rv(rec: Recorder, pod: str) -> int:
    return next(e.rv for e in rec.of("Pod", pod) if e.type != "DELETED" and pod_ready(e.obj))


def spec_writes(events: list[Event]) -> list[str]:
    """Writes to children among `events` (any event of a child kind: created, changed or deleted)."""
    return [f"{e.type} {e.kind}/{e.name} rv={e.rv}" for e in events if e.kind in CHILD_KINDS]


def apply_and_wait_ready(kube: Client, rec: Recorder, ns: str, path: Path) -> dict[str, Any]:
    apply_manifests(kube, [path], namespace=ns)
    doc = group_doc(path)
    rec.wait(group_ready(doc["metadata"]["name"]), READY_TIMEOUT, f"{doc['metadata']['name']} Ready")
    return doc


# --- startup -------------------------------------------------------------------------------------
@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_every_example_becomes_ready_in_dependency_order(mc_kube, rec, mc_ns, example):
    doc = apply_and_wait_ready(mc_kube, rec, mc_ns, example)
    name, spec_roles, kinds = doc["metadata"]["name"], roles(doc), workload_kinds(doc)

    # Each dependant's workload was created after every pod of each dependency was Ready.
    for role, spec in spec_roles.items():
        created = rec.of(kinds[role], f"{name}-{role}", "ADDED")
        assert len(created) == 1, f"{role}: created {len(created)} times"
        for dep in spec.get("dependencies") or []:
            dep_pods = pods_of(rec, name, dep)
            assert len(dep_pods) == spec_roles[dep].get("replicas", 1)
            last_ready = max(first_ready_rv(rec, p) for p in dep_pods)
            assert created[0].rv > last_ready, f"{role} created at rv {created[0].rv}, {dep} Ready at rv {last_ready}"

    # Status at each stage, as the API server stored it.
    statuses = [e.obj for e in rec.of("RoleBasedGroup", name) if (e.obj.get("status") or {}).get("conditions")]
    stages = []
    for group in statuses:
        status = group["status"]
        assert status["observedGeneration"] == group["metadata"]["generation"]
        ready, progressing = cond(group, "Ready"), cond(group, "Progressing")
        by_role = {s["name"]: s for s in status["roleStatuses"]}
        all_ready = all(by_role[r]["readyReplicas"] == s.get("replicas", 1) for r, s in spec_roles.items())
        assert (ready["status"] == "True") == all_ready, status
        assert cond(group, "InvalidSpec")["status"] == "False"
        if progressing["reason"] == c.REASON_WAITING_FOR_DEPENDENCIES:
            assert " waits for " in progressing["message"]
        stages.append((ready["reason"], progressing["reason"]))
    has_deps = any(s.get("dependencies") for s in spec_roles.values())
    if has_deps:
        assert (c.REASON_ROLES_NOT_READY, c.REASON_WAITING_FOR_DEPENDENCIES) in stages
    assert stages[-1] == (c.REASON_ALL_ROLES_READY, c.REASON_COMPLETE)
    final = statuses[-1]["status"]
    assert final["readyRoles"] == f"{len(spec_roles)}/{len(spec_roles)}"
    assert {s["name"]: s["readyReplicas"] for s in final["roleStatuses"]} == {
        r: s.get("replicas", 1) for r, s in spec_roles.items()
    }


def test_the_pods_startup_gate_orders_startup_from_the_pods_and_writes_nothing_in_steady_state(mc_kube, rec, mc_ns):
    """The group observes its pods (related objects): the router still starts only once every
    prefill and decode pod is Ready, the group becomes Ready, and then nothing is written."""
    doc = group_doc(PD)
    doc["metadata"].setdefault("annotations", {})[c.ANNOTATION_STARTUP_GATE] = c.STARTUP_GATE_PODS
    name, spec_roles = doc["metadata"]["name"], roles(doc)
    apply_manifests(mc_kube, [doc], namespace=mc_ns)
    rec.wait(group_ready(name), READY_TIMEOUT, f"{name} Ready")
    for role, spec in spec_roles.items():
        created = rec.of("StatefulSet", f"{name}-{role}", "ADDED")
        assert len(created) == 1, f"{role}: created {len(created)} times"
        for dep in spec.get("dependencies") or []:
            last_ready = max(first_ready_rv(rec, p) for p in pods_of(rec, name, dep))
            assert created[0].rv > last_ready, f"{role} created at rv {created[0].rv}, {dep} Ready at rv {last_ready}"
    rec.quiet(3)
    steady = rec.quiet(10)
    assert spec_writes(steady) == [] and [e.name for e in steady if e.kind == "RoleBasedGroup"] == []


# --- steady state ----------------------------------------------------------------------------------
def test_steady_state_makes_no_writes_also_after_a_metacontroller_restart(mc_cluster, mc_kube, rec, mc_ns):
    apply_and_wait_ready(mc_kube, rec, mc_ns, PD)
    rec.quiet(3)  # let the last status write and pod updates settle
    steady = rec.quiet(15)
    assert spec_writes(steady) == []
    assert [f"{e.type} {e.kind}/{e.name}" for e in steady if e.kind == "RoleBasedGroup"] == []

    synced = hook_calls(mc_cluster, mc_ns)
    mc_cluster.restart("metacontroller")
    after = rec.quiet(15)
    assert hook_calls(mc_cluster, mc_ns) > synced, "Metacontroller did not resync the group after its restart"
    assert spec_writes(after) == []
    assert [f"{e.type} {e.kind}/{e.name}" for e in after if e.kind == "RoleBasedGroup"] == []


def hook_calls(cluster: LocalCluster, ns: str) -> int:
    """Sync requests for groups of `ns` that the hook server logged."""
    log = (cluster.logs / "hooks.log").read_text(errors="replace")
    return log.count(f'"parent":"{ns}/')


# --- hook server crash ------------------------------------------------------------------------------
def test_hook_server_killed_during_startup_converges_without_duplicates(mc_cluster, mc_kube, rec, mc_ns):
    apply_manifests(mc_kube, [PD], namespace=mc_ns)
    rec.wait(lambda r: bool(r.live("StatefulSet")), READY_TIMEOUT, "a first workload")
    mc_cluster.kill("hooks", signal.SIGKILL)
    rec.quiet(3)  # Metacontroller's syncs fail meanwhile
    mc_cluster.start_component("hooks")
    rec.wait(group_ready("sglang-pd"), READY_TIMEOUT, "sglang-pd Ready after the hook server came back")

    for kind in CHILD_KINDS:
        added = [e.name for e in rec.of(kind, type_="ADDED")]
        assert len(added) == len(set(added)), f"{kind} created twice: {added}"
        assert rec.of(kind, type_="DELETED") == []
    assert rec.of("Pod", type_="DELETED") == []
    assert len(rec.live("Pod")) == 5


# --- spec changes ------------------------------------------------------------------------------------
def test_removing_a_role_deletes_its_children(mc_kube, rec, mc_ns):
    doc = apply_and_wait_ready(mc_kube, rec, mc_ns, PD)
    spec = copy.deepcopy(doc["spec"])
    spec["roles"] = [r for r in spec["roles"] if r["name"] != "router"]
    generation = set_spec(mc_kube, mc_ns, "sglang-pd", spec)
    rec.wait(
        lambda r: r.get("StatefulSet", "sglang-pd-router") is None and r.get("Service", "s-sglang-pd-router") is None,
        READY_TIMEOUT, "the router's StatefulSet and Service deleted",
    )
    rec.wait(group_ready("sglang-pd", generation), READY_TIMEOUT, "sglang-pd Ready with two roles")
    assert sorted(rec.live("StatefulSet")) == ["sglang-pd-decode", "sglang-pd-prefill"]
    discovery = yaml.safe_load(rec.get("ConfigMap", "sglang-pd-discovery")["data"][c.DISCOVERY_FILE])
    assert sorted(discovery["roles"]) == ["decode", "prefill"]
    assert [e.name for e in rec.of("StatefulSet", type_="DELETED")] == ["sglang-pd-router"]


def test_a_cycle_on_a_live_group_deletes_nothing_and_the_fix_converges(mc_kube, rec, mc_ns):
    doc = apply_and_wait_ready(mc_kube, rec, mc_ns, PD)
    rec.quiet(2)
    cyclic = copy.deepcopy(doc["spec"])
    for role in cyclic["roles"]:
        if role["name"] in ("prefill", "decode"):
            role["dependencies"] = ["decode" if role["name"] == "prefill" else "prefill"]
    start = len(rec.events)
    generation = set_spec(mc_kube, mc_ns, "sglang-pd", cyclic)

    def invalid(r: Recorder) -> bool:
        g = r.get("RoleBasedGroup", "sglang-pd")
        return g is not None and (g.get("status") or {}).get("observedGeneration") == generation and any(
            x["type"] == "InvalidSpec" and x["status"] == "True" for x in (g.get("status") or {}).get("conditions", [])
        )

    rec.wait(invalid, READY_TIMEOUT, "InvalidSpec")
    rec.quiet(5)
    group = rec.get("RoleBasedGroup", "sglang-pd")
    invalid_cond = cond(group, "InvalidSpec")
    assert invalid_cond["reason"] == c.REASON_DEPENDENCY_CYCLE and "decode" in invalid_cond["message"]
    assert group["status"]["observedGeneration"] == group["metadata"]["generation"]
    assert spec_writes(rec.events[start:]) == [], "a frozen group must keep its children as they are"

    generation = set_spec(mc_kube, mc_ns, "sglang-pd", doc["spec"])
    rec.wait(group_ready("sglang-pd", generation), READY_TIMEOUT, "Ready after the fix")
    assert cond(rec.get("RoleBasedGroup", "sglang-pd"), "InvalidSpec")["status"] == "False"
    assert rec.of("StatefulSet", type_="DELETED") == [] and rec.of("Pod", type_="DELETED") == []


# --- teardown -----------------------------------------------------------------------------------------
def test_deleting_a_group_finalizes_in_reverse_dependency_order(mc_kube, rec, mc_ns):
    apply_and_wait_ready(mc_kube, rec, mc_ns, PD)
    mc_kube.delete(RoleBasedGroup, "sglang-pd", namespace=mc_ns)
    rec.wait(lambda r: r.get("RoleBasedGroup", "sglang-pd") is None, READY_TIMEOUT, "the group gone")

    deleted = {e.kind + "/" + e.name: e.rv for e in rec.events if e.type == "DELETED" and e.kind in CHILD_KINDS}
    router = deleted["StatefulSet/sglang-pd-router"]
    assert router < deleted["StatefulSet/sglang-pd-prefill"] and router < deleted["StatefulSet/sglang-pd-decode"]
    last_workload = max(rv for k, rv in deleted.items() if k.startswith("StatefulSet/"))
    assert deleted["ConfigMap/sglang-pd-discovery"] > last_workload
    group_deleted = rec.of("RoleBasedGroup", "sglang-pd", "DELETED")[0].rv
    assert max(deleted.values()) < group_deleted  # the finalizer held the group until every child was gone
    for kind in CHILD_KINDS:
        assert [n for n in rec.live(kind) if n.startswith("sglang-pd-") and n != "sglang-pd-frontend"] == []


# --- scaling --------------------------------------------------------------------------------------------
def test_scaling_keeps_every_other_pod_and_updates_discovery(mc_kube, rec, mc_ns):
    doc = apply_and_wait_ready(mc_kube, rec, mc_ns, PD)
    uids = {n: p["metadata"]["uid"] for n, p in rec.live("Pod").items()}

    def scale(replicas: int) -> dict[str, Any]:
        spec = copy.deepcopy(doc["spec"])
        next(r for r in spec["roles"] if r["name"] == "prefill")["replicas"] = replicas
        ready = group_ready("sglang-pd", set_spec(mc_kube, mc_ns, "sglang-pd", spec))
        rec.wait(
            lambda r: ready(r) and len(pods_of(r, "sglang-pd", "prefill")) == replicas,
            READY_TIMEOUT, f"prefill at {replicas} replicas and Ready",
        )
        return yaml.safe_load(rec.get("ConfigMap", "sglang-pd-discovery")["data"][c.DISCOVERY_FILE])

    up = scale(4)
    now = {n: p["metadata"]["uid"] for n, p in rec.live("Pod").items()}
    assert {n: now[n] for n in uids} == uids  # every pod kept its UID
    assert sorted(set(now) - set(uids)) == ["sglang-pd-prefill-2", "sglang-pd-prefill-3"]
    assert up["roles"]["prefill"]["size"] == 4
    assert [i["address"] for i in up["roles"]["prefill"]["instances"]] == [
        f"sglang-pd-prefill-{i}.s-sglang-pd-prefill" for i in range(4)
    ]

    down = scale(1)
    after = {n: p["metadata"]["uid"] for n, p in rec.live("Pod").items()}
    assert sorted(set(uids) - set(after)) == ["sglang-pd-prefill-1"]  # the highest index goes
    assert all(uids[n] == uid for n, uid in after.items() if n in uids)
    assert [i["address"] for i in down["roles"]["prefill"]["instances"]] == ["sglang-pd-prefill-0.s-sglang-pd-prefill"]
    # No workload but prefill's changed its spec while scaling.
    changed = {e.name for e in rec.of("StatefulSet", type_="MODIFIED") if e.obj["metadata"]["generation"] > 1}
    assert changed == {"sglang-pd-prefill"}
