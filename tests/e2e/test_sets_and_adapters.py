"""RoleBasedGroupSets and RoleBasedGroupScalingAdapters under the real Metacontroller (and the real
HPA controller), asserted on recorded watch events (see watch.py) wherever order matters.

Needs RBG_METACONTROLLER=/path/to/metacontroller; skipped otherwise (conftest.py).
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from lightkube.resources.core_v1 import ConfigMap, Pod
from lightkube.types import PatchType

from hooks import constants as c
from localcluster.cluster import LocalCluster
from rbgclient.kube import RoleBasedGroup, apply_manifests, condition, has_condition
from tests.e2e.watch import Event, Recorder, group_ready, pod_ready
from tests.support import ROOT, UPSTREAM_EXAMPLES, condition as cond, pods_of, uids

pytestmark = pytest.mark.metacontroller

RoleBasedGroupSet = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_RBGS, "rolebasedgroupsets")
SeedSet = create_namespaced_resource(c.SEED_GROUP, c.VERSION_V1ALPHA1, c.KIND_RBGS, c.SEED_PLURAL)
Adapter = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_RBGSA, "rolebasedgroupscalingadapters")

SET, SEED_SET = "RoleBasedGroupSet", "SeedRoleBasedGroupSet"  # the recorder's names for the two set kinds
KINDS = (
    RoleBasedGroupSet, (SEED_SET, SeedSet), RoleBasedGroup, Adapter,
    StatefulSet, Deployment, ConfigMap, Pod, HorizontalPodAutoscaler,
)
UPSTREAM_SETS = UPSTREAM_EXAMPLES / "rbgs"
SET_EXAMPLES = [
    UPSTREAM_SETS / "rbgs-base.yaml", UPSTREAM_SETS / "exclusive-topology.yaml", ROOT / "examples" / "sets" / "pd-set.yaml",
]
SEED = ROOT / "examples" / "sets" / "seed-set.yaml"
AUTOSCALED = ROOT / "examples" / "autoscaling" / "pd-autoscaled.yaml"
HPA_CPU = ROOT / "examples" / "autoscaling" / "hpa-cpu.yaml"
READY_TIMEOUT = 60
Obj = dict[str, Any]


# --- documents --------------------------------------------------------------------------------------
def doc_of(path: Path) -> Obj:
    return next(d for d in yaml.safe_load_all(path.read_text()) if d)


def small_set(name: str, replicas: int, image: str = "nginx:1.27", **spec: Any) -> Obj:
    """A set of groups of one StatefulSet role with two pods."""
    role = {"name": "worker", "replicas": 2, "standalonePattern": {"template": {"spec": {"containers": [{"name": "w", "image": image}]}}}}
    return {
        "apiVersion": c.API_VERSION, "kind": c.KIND_RBGS, "metadata": {"name": name},
        "spec": {"replicas": replicas, **spec, "groupTemplate": {"spec": {"roles": [role]}}},
    }


def set_roles(doc: Obj) -> list[Obj]:
    """The roles of a set's group template: v1alpha2's groupTemplate.spec, v1alpha1's template."""
    return doc["spec"]["groupTemplate"]["spec"]["roles"] if "groupTemplate" in doc["spec"] else doc["spec"]["template"]["roles"]


def small_group(name: str, replicas: int = 2, adapter: bool = True) -> Obj:
    role = {
        "name": "worker", "replicas": replicas, "scalingAdapter": {"enable": adapter},
        "standalonePattern": {"template": {"spec": {"containers": [{"name": "w", "image": "nginx:1.27"}]}}},
    }
    return {"apiVersion": c.API_VERSION, "kind": c.KIND_RBG, "metadata": {"name": name}, "spec": {"roles": [role]}}


def patch_spec(kube: Client, resource: Any, ns: str, name: str, spec: Obj) -> int:
    """Merge-patch the spec (lists are replaced whole); returns the generation this produced."""
    return int(kube.patch(resource, name, {"spec": spec}, namespace=ns, patch_type=PatchType.MERGE).metadata.generation)


def kubectl(cluster: LocalCluster, *args: str) -> str:
    done = cluster.kubectl(*args)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


# --- reading the record ------------------------------------------------------------------------------
def labels(obj: Obj) -> dict[str, str]:
    return obj["metadata"].get("labels") or {}


def members(r: Recorder, set_name: str) -> dict[int, Obj]:
    groups = r.live("RoleBasedGroup").values()
    return {int(labels(g)[c.LABEL_SET_INDEX]): g for g in groups if labels(g).get(c.LABEL_SET_NAME) == set_name}


def template_hash(obj: Obj) -> str | None:
    return (obj["metadata"].get("annotations") or {}).get(c.ANNOTATION_SET_TEMPLATE_HASH)


def role_size(group: Obj) -> int:
    return sum(r.get("replicas", 1) for r in group["spec"]["roles"])


def discovery(r: Recorder, group: str) -> Obj:
    return yaml.safe_load(r.get("ConfigMap", f"{group}-discovery")["data"][c.DISCOVERY_FILE])


def held(r: Recorder, group: str, role: str = "worker") -> Obj | None:
    """roleStatuses[].scalingAdapter: the size the adapter set, and the role's replicas then."""
    statuses = ((r.get("RoleBasedGroup", group) or {}).get("status") or {}).get("roleStatuses") or []
    return next((s.get("scalingAdapter") for s in statuses if s["name"] == role), None)


def by_rv(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e.rv)


def first_rv(events: list[Event], predicate: Callable[[Event], bool]) -> int | None:
    return next((e.rv for e in by_rv(events) if e.type != "DELETED" and predicate(e)), None)


def reported_ready(e: Event, generation: int = 1) -> bool:
    """The group's own status says Ready for a generation >= `generation`, its current one."""
    meta, status = e.obj["metadata"], e.obj.get("status") or {}
    current = status.get("observedGeneration") == meta["generation"]
    return meta["generation"] >= generation and current and has_condition(e.obj, "Ready")


def all_pods_rv(r: Recorder, group: str, count: int, ok: Callable[[Obj], bool], after: int = 0) -> int | None:
    """The first revision after `after` at which the group has exactly `count` pods and each is `ok`,
    replaying the recorded pod events in revision order (the truth, whatever the group's status says)."""
    live: dict[str, Obj] = {}
    for e in by_rv(r.of("Pod")):
        if labels(e.obj).get(c.LABEL_GROUP_NAME) != group:
            continue
        if e.type == "DELETED":
            live.pop(e.name, None)
        else:
            live[e.name] = e.obj
        if e.rv > after and len(live) == count and all(ok(p) for p in live.values()):
            return e.rv
    return None


def sizes_history(r: Recorder, group: str, role: str) -> str:
    """Who said what about the role's size, in revision order: for failure messages."""
    lines = []
    for e in by_rv(r.events):
        if e.kind == "RoleBasedGroup" and e.name == group:
            status = e.obj.get("status") or {}
            mine = [s for s in status.get("roleStatuses") or [] if s.get("name") == role]
            scaling = [x.get("scalingAdapter") for x in e.obj["spec"]["roles"] if x["name"] == role]
            generations = f"gen={e.obj['metadata']['generation']} observed={status.get('observedGeneration')}"
            lines.append(f"{e.rv} {e.type} group {generations} scalingAdapter={scaling} roleStatus={mine}")
        elif e.kind in ("StatefulSet", c.KIND_RBGSA) and e.name == f"{group}-{role}":
            ready = (e.obj.get("status") or {}).get("readyReplicas")
            lines.append(f"{e.rv} {e.type} {e.kind} spec.replicas={e.obj['spec'].get('replicas')} readyReplicas={ready}")
    return "\n".join(lines)


def running(p: Obj) -> bool:
    return pod_ready(p) and not p["metadata"].get("deletionTimestamp")


# --- waiting -------------------------------------------------------------------------------------------
def set_ready(name: str, kind: str = SET, generation: int = 1) -> Callable[[Recorder], bool]:
    """The set's status is for its current generation (>= `generation`) and every wanted member is Ready and updated."""

    def check(r: Recorder) -> bool:
        s = r.get(kind, name)
        if s is None:
            return False
        status, want = s.get("status") or {}, s["spec"]["replicas"]
        return (
            s["metadata"]["generation"] >= generation
            and status.get("observedGeneration") == s["metadata"]["generation"]
            and has_condition(s, "Ready")
            and status.get("replicas") == status.get("readyReplicas") == status.get("updatedReplicas") == want
            and len(members(r, name)) == want
        )

    return check


def set_settled(name: str, kind: str = SET, generation: int = 1) -> Callable[[Recorder], bool]:
    """set_ready, and the record shows every member Ready and exactly its pods, all Ready: each kind
    reaches the recorder on its own watch, so a member's or pod's last event may follow the set's."""
    ready = set_ready(name, kind, generation)

    def check(r: Recorder) -> bool:
        if not ready(r):
            return False
        group = members(r, name).values()
        pods = [p for m in group for p in pods_of(r, m["metadata"]["name"]).values()]
        return (
            all(group_ready(m["metadata"]["name"])(r) for m in group)
            and len(pods) == sum(map(role_size, group)) and all(map(running, pods))
        )

    return check


def assert_set_ready(
    cluster: LocalCluster, rec: Recorder, ns: str, name: str, kind: str = SET, generation: int = 1
) -> dict[int, Obj]:
    """Waits for the set and its members to be Ready, checks their labels, their pods' and the
    set's selector; returns the members."""
    rec.wait(set_settled(name, kind, generation), READY_TIMEOUT, f"{kind} {name}, its members and their pods Ready")
    s = rec.get(kind, name)
    assert s["status"]["selector"] == f"{c.LABEL_SET_NAME}={name}"
    group = members(rec, name)
    assert sorted(group) == list(range(s["spec"]["replicas"]))
    for i, m in group.items():
        assert m["apiVersion"] == c.API_VERSION and m["metadata"]["name"] == f"{name}-{i}"
        assert labels(m)[c.LABEL_SET_NAME] == name and labels(m)[c.LABEL_SET_INDEX] == str(i)
    pods = {n: p for m in group.values() for n, p in pods_of(rec, m["metadata"]["name"]).items()}
    for n, p in pods.items():
        member = labels(p)[c.LABEL_GROUP_NAME]
        assert labels(p)[c.LABEL_SET_NAME] == name and member == f"{name}-{labels(p)[c.LABEL_SET_INDEX]}", n
    selected = kubectl(cluster, "get", "pods", "-n", ns, "-l", s["status"]["selector"], "-o", "name").split()
    assert sorted(selected) == sorted(f"pod/{n}" for n in pods)
    return group


# --- 1. examples ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("example", SET_EXAMPLES, ids=lambda p: p.stem)
def test_set_example_becomes_ready(mc_cluster, mc_kube, rec, mc_ns, example):
    apply_manifests(mc_kube, [example], namespace=mc_ns)
    doc = doc_of(example)
    group = assert_set_ready(mc_cluster, rec, mc_ns, doc["metadata"]["name"])
    for m in group.values():
        assert [r["name"] for r in m["spec"]["roles"]] == [r["name"] for r in set_roles(doc)]
        for k, v in (doc["metadata"].get("labels") or {}).items():
            assert labels(m)[k] == v  # the set's labels reach every member
        for k, v in (doc["metadata"].get("annotations") or {}).items():
            assert m["metadata"]["annotations"][k] == v


def test_seed_form_makes_the_members_the_upstream_form_would(mc_cluster, mc_kube, rec, mc_ns):
    seed = doc_of(SEED)
    roles = [{"name": r["role"], **{k: v for k, v in r.items() if k != "role"}} for r in seed["spec"]["groupTemplate"]["roles"]]
    twin = {  # the same set in upstream's spelling, by hand
        "apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBGS, "metadata": {"name": "demo-twin"},
        "spec": {**{k: v for k, v in seed["spec"].items() if k != "groupTemplate"}, "template": {"roles": roles}},
    }
    apply_manifests(mc_kube, [SEED, twin], namespace=mc_ns)
    from_seed = assert_set_ready(mc_cluster, rec, mc_ns, "demo-group", kind=SEED_SET)
    from_twin = assert_set_ready(mc_cluster, rec, mc_ns, "demo-twin")

    def member(m: Obj) -> str:
        meta = m["metadata"]
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != c.ANNOTATION_LAST_APPLIED}
        shown = {"kind": m["kind"], "labels": meta.get("labels"), "annotations": annotations, "spec": m["spec"]}
        # Metacontroller's generateSelector label: the owning set's uid.
        uid = meta["ownerReferences"][0]["uid"]
        return json.dumps(shown, sort_keys=True, indent=1).replace("demo-twin", "demo-group").replace(uid, "<set uid>")

    for i in from_seed:
        seed_member, twin_member = member(from_seed[i]), member(from_twin[i])
        diff = difflib.unified_diff(twin_member.splitlines(), seed_member.splitlines(), "upstream form", "seed form", lineterm="")
        diff = "\n".join(diff)
        assert seed_member == twin_member, f"member {i}:\n{diff}"
    owner = from_seed[0]["metadata"]["ownerReferences"][0]
    assert (owner["apiVersion"], owner["kind"], owner["name"]) == (c.SEED_API_VERSION, c.KIND_RBGS, "demo-group")


# --- 2. kubectl scale rbgs ------------------------------------------------------------------------------
def test_kubectl_scale_adds_and_removes_the_highest_members(mc_cluster, mc_kube, rec, mc_ns):
    apply_manifests(mc_kube, [small_set("web", 2)], namespace=mc_ns)
    assert_set_ready(mc_cluster, rec, mc_ns, "web")
    first = uids(pods_of(rec, "web-0"))

    kubectl(mc_cluster, "scale", "rbgs", "web", "--replicas=3", "-n", mc_ns)
    assert sorted(assert_set_ready(mc_cluster, rec, mc_ns, "web", generation=2)) == [0, 1, 2]
    assert sorted(e.name for e in rec.of("RoleBasedGroup", type_="ADDED")) == ["web-0", "web-1", "web-2"]

    kubectl(mc_cluster, "scale", "rbgs", "web", "--replicas=1", "-n", mc_ns)
    rec.wait(
        lambda r: set_ready("web", generation=3)(r) and not pods_of(r, "web-1") and not pods_of(r, "web-2"),
        READY_TIMEOUT, "web at one member, the others' pods gone",
    )
    assert sorted(assert_set_ready(mc_cluster, rec, mc_ns, "web", generation=3)) == [0]
    assert sorted(e.name for e in rec.of("RoleBasedGroup", type_="DELETED")) == ["web-1", "web-2"]
    assert uids(pods_of(rec, "web-0")) == first
    assert [e.name for e in rec.of("Pod", type_="DELETED") if labels(e.obj)[c.LABEL_GROUP_NAME] == "web-0"] == []


# --- 3. rolling a template change -------------------------------------------------------------------------
def test_a_template_change_rolls_one_member_at_a_time(mc_cluster, mc_kube, rec, mc_ns):
    doc = small_set("roll", 3, rolloutStrategy={"rollingUpdate": {"maxUnavailable": 1}})
    apply_manifests(mc_kube, [doc], namespace=mc_ns)
    before = assert_set_ready(mc_cluster, rec, mc_ns, "roll")
    old_hash = {template_hash(m) for m in before.values()}
    start = max(e.rv for e in rec.events)

    template = copy.deepcopy(doc["spec"]["groupTemplate"])
    template["spec"]["roles"][0]["standalonePattern"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    generation = patch_spec(mc_kube, RoleBasedGroupSet, mc_ns, "roll", {"groupTemplate": template})
    after = assert_set_ready(mc_cluster, rec, mc_ns, "roll", generation=generation)
    new_hash = {template_hash(m) for m in after.values()}
    assert len(old_hash) == len(new_hash) == 1 and old_hash != new_hash

    def new_image(p: Obj) -> bool:
        return running(p) and p["spec"]["containers"][0]["image"] == "nginx:1.28"

    spans = {}  # member -> (rv of its template update, rv its own status said Ready, rv all its pods ran the new image)
    for i in range(3):
        events = [e for e in rec.of("RoleBasedGroup", f"roll-{i}") if e.rv > start]
        updated = first_rv(events, lambda e: template_hash(e.obj) in new_hash)
        generation_then = next(e.obj["metadata"]["generation"] for e in by_rv(events) if e.rv == updated)
        said = first_rv([e for e in events if e.rv > updated], lambda e: reported_ready(e, generation_then))
        really = all_pods_rv(rec, f"roll-{i}", 2, new_image, after=updated)
        assert None not in (updated, said, really), (i, updated, said, really)
        spans[i] = (updated, said, really)

    assert sorted(spans, key=lambda i: spans[i][0]) == [0, 1, 2], f"lowest index first: {spans}"
    for i in (1, 2):
        updated, ready_before = spans[i][0], max(spans[i - 1][1:])
        assert updated > ready_before, f"roll-{i} updated at rv {updated} before roll-{i - 1} was Ready again: {spans}"
    busy = {i: (updated, max(ready)) for i, (updated, *ready) in spans.items()}  # updated and not yet Ready
    overlaps = [(i, j) for i in busy for j in busy if i < j and busy[j][0] < busy[i][1] and busy[i][0] < busy[j][1]]
    assert overlaps == [], f"members updated and not Ready at once: {overlaps}; {spans}"
    final = rec.get(SET, "roll")["status"]
    assert final["updatedReplicas"] == final["readyReplicas"] == 3
    assert cond(rec.get(SET, "roll"), "Progressing")["reason"] == c.REASON_COMPLETE


# --- 4. Ordered startup ------------------------------------------------------------------------------------
def test_ordered_startup_creates_each_member_after_the_previous_is_ready(mc_cluster, mc_kube, rec, mc_ns):
    apply_manifests(mc_kube, [small_set("ord", 3, startupPolicy="Ordered")], namespace=mc_ns)
    assert_set_ready(mc_cluster, rec, mc_ns, "ord")
    for i in (1, 2):
        added = rec.of("RoleBasedGroup", f"ord-{i}", "ADDED")
        assert len(added) == 1
        said = first_rv(rec.of("RoleBasedGroup", f"ord-{i - 1}"), reported_ready)
        really = all_pods_rv(rec, f"ord-{i - 1}", 2, running)
        assert said is not None and really is not None
        assert added[0].rv > said, f"ord-{i} created at rv {added[0].rv}, ord-{i - 1} said Ready at rv {said}"
        assert added[0].rv > really, f"ord-{i} created at rv {added[0].rv}, ord-{i - 1}'s pods Ready at rv {really}"
    waits = [
        cond(e.obj, "Progressing")["message"] for e in rec.of(SET, "ord")
        if condition(e.obj, "Progressing") and cond(e.obj, "Progressing")["reason"] == c.REASON_WAITING_FOR_MEMBERS
    ]
    assert any("ord-1 waits for ord-0" in m for m in waits), waits


# --- 5. scaling adapters --------------------------------------------------------------------------------------
def adapter_bound(name: str, pods: int) -> Callable[[Recorder], bool]:
    def check(r: Recorder) -> bool:
        a = r.get(c.KIND_RBGSA, name)
        status = (a or {}).get("status") or {}
        return status.get("phase") == c.PHASE_BOUND and status.get("replicas") == status.get("readyReplicas") == pods

    return check


def role_at(group: str, role: str, replicas: int) -> Callable[[Recorder], bool]:
    """The role's StatefulSet wants `replicas` and has them all Ready; so do its pods in the record."""

    def check(r: Recorder) -> bool:
        sts = r.get("StatefulSet", f"{group}-{role}")
        pods = pods_of(r, group, role)
        return (
            sts is not None and sts["spec"]["replicas"] == replicas
            and (sts.get("status") or {}).get("readyReplicas") == replicas
            and len(pods) == replicas and all(map(running, pods.values()))
        )

    return check


def test_adapter_binds_scales_without_restarts_and_survives_a_reapply(mc_cluster, mc_kube, rec, mc_ns):
    group, adapter = "sglang-pd-as", "sglang-pd-as-prefill"
    apply_manifests(mc_kube, [AUTOSCALED], namespace=mc_ns)
    rec.wait(group_ready(group), READY_TIMEOUT, f"{group} Ready")
    rec.wait(adapter_bound(adapter, 2), READY_TIMEOUT, f"{adapter} Bound with 2 pods")
    rec.wait(adapter_bound(f"{group}-decode", 2), READY_TIMEOUT, f"{group}-decode Bound with 2 pods")
    a = rec.get(c.KIND_RBGSA, adapter)
    selector = f"{c.LABEL_GROUP_NAME}={group},{c.LABEL_ROLE_NAME}=prefill"
    assert a["status"]["selector"] == selector and a["spec"]["replicas"] == 2
    assert cond(a, c.COND_BOUND)["status"] == "True"
    assert a["metadata"]["ownerReferences"][0]["name"] == group
    selected = kubectl(mc_cluster, "get", "pods", "-n", mc_ns, "-l", selector, "-o", "name").split()
    assert sorted(selected) == sorted(f"pod/{n}" for n in pods_of(rec, group, "prefill"))

    kept = uids(pods_of(rec, group))
    sts = rec.get("StatefulSet", adapter)
    pod_template, revision = sts["spec"]["template"], sts["status"]["updateRevision"]
    version = discovery(rec, group)["version"]
    kubectl(mc_cluster, "scale", "rbgsa", adapter, "--replicas=4", "-n", mc_ns)
    rec.wait(role_at(group, "prefill", 4), READY_TIMEOUT, "prefill at 4 pods")
    rec.wait(lambda r: discovery(r, group)["roles"]["prefill"]["size"] == 4, READY_TIMEOUT, "discovery at 4 prefill")
    rec.wait(adapter_bound(adapter, 4), READY_TIMEOUT, f"{adapter} status at 4 pods")

    now = uids(pods_of(rec, group))
    assert {n: now[n] for n in kept} == kept, "a pod was replaced"
    assert sorted(set(now) - set(kept)) == [f"{adapter}-2", f"{adapter}-3"]
    sts = rec.get("StatefulSet", adapter)
    assert sts["spec"]["template"] == pod_template and sts["status"]["updateRevision"] == revision
    assert discovery(rec, group)["version"] != version
    assert rec.of("Pod", type_="DELETED") == []

    scale = json.loads(kubectl(
        mc_cluster, "get", "--raw",
        f"/apis/{c.API_VERSION}/namespaces/{mc_ns}/rolebasedgroupscalingadapters/{adapter}/scale",
    ))
    assert (scale["kind"], scale["spec"]["replicas"], scale["status"]["replicas"]) == ("Scale", 4, 4)
    assert scale["status"]["selector"] == selector

    # A chart upgrade re-applies the group with the role's old `replicas` (upstream #306): nothing reverts.
    upgrade = copy.deepcopy(doc_of(AUTOSCALED))
    upgrade["spec"]["roles"][0]["replicas"] = 1
    generation = apply_manifests(mc_kube, [upgrade], namespace=mc_ns)[0].metadata.generation
    assert generation == 2
    rec.wait(group_ready(group, generation), READY_TIMEOUT, f"{group} Ready at generation {generation}")
    rec.quiet(5)
    assert role_at(group, "prefill", 4)(rec)
    assert rec.get(c.KIND_RBGSA, adapter)["spec"]["replicas"] == 4
    assert [e.obj["spec"]["replicas"] for e in rec.of("StatefulSet", adapter)][-1] == 4
    assert {e.obj["spec"]["replicas"] for e in rec.of("StatefulSet", adapter) if e.obj["metadata"]["generation"] > 1} == {4}
    assert rec.of("Pod", type_="DELETED") == []
    assert held(rec, group, "prefill") == {"replicas": 4, "specReplicas": 1}


def test_kubectl_scale_sets_the_adapters_last_scale_time(mc_cluster, mc_kube, rec, mc_ns):
    apply_manifests(mc_kube, [small_group("timed")], namespace=mc_ns)
    rec.wait(adapter_bound("timed-worker", 2), READY_TIMEOUT, "timed-worker Bound with 2 pods")
    kubectl(mc_cluster, "scale", "rbgsa", "timed-worker", "--replicas=3", "-n", mc_ns)
    rec.wait(adapter_bound("timed-worker", 3), READY_TIMEOUT, "timed-worker status at 3 pods")
    a = rec.get(c.KIND_RBGSA, "timed-worker")
    scale_writes = [f for f in a["metadata"]["managedFields"] if f.get("subresource") == "scale"]
    assert a["status"].get("lastScaleTime"), f"no lastScaleTime; the /scale write's managedFields entry: {scale_writes}"


# --- 6. the real HPA controller -----------------------------------------------------------------------------
def test_hpa_reads_the_adapters_scale_and_changes_nothing_without_metrics(mc_cluster, mc_kube, rec, mc_ns):
    group, adapter = "sglang-pd-as", "sglang-pd-as-prefill"
    apply_manifests(mc_kube, [AUTOSCALED], namespace=mc_ns)
    rec.wait(group_ready(group), READY_TIMEOUT, f"{group} Ready")
    rec.wait(adapter_bound(adapter, 2), READY_TIMEOUT, f"{adapter} Bound with 2 pods")
    hpa = doc_of(HPA_CPU)
    assert hpa["spec"]["scaleTargetRef"]["name"] == adapter
    apply_manifests(mc_kube, [hpa], namespace=mc_ns)

    def hpa_tried(r: Recorder) -> bool:
        h = r.get("HorizontalPodAutoscaler", hpa["metadata"]["name"])
        return h is not None and has_condition(h, "AbleToScale") and has_condition(h, "ScalingActive", "False")

    rec.wait(hpa_tried, 60, "the HPA to read the scale subresource and fail to get CPU metrics")
    h = rec.get("HorizontalPodAutoscaler", hpa["metadata"]["name"])
    assert cond(h, "AbleToScale")["reason"] == "SucceededGetScale"
    assert cond(h, "ScalingActive")["reason"] == "FailedGetResourceMetric", cond(h, "ScalingActive")
    assert h["status"]["currentReplicas"] == 2

    quiet = rec.quiet(20)
    resized = [
        f"{e.kind}/{e.name} rv={e.rv}" for e in quiet if e.kind in (c.KIND_RBGSA, "StatefulSet") and e.obj["spec"]["replicas"] != 2
    ]
    assert resized == []
    assert rec.get(c.KIND_RBGSA, adapter)["spec"]["replicas"] == 2
    assert {e.obj["spec"]["replicas"] for e in rec.of("StatefulSet", adapter)} == {2}
    assert role_at(group, "prefill", 2)(rec)
    assert rec.of("Pod", type_="DELETED") == []


# --- 7. turning the adapter off ---------------------------------------------------------------------------
def test_disabling_the_adapter_deletes_it_and_keeps_the_size_until_replicas_changes(mc_cluster, mc_kube, rec, mc_ns):
    doc = small_group("toggle")
    apply_manifests(mc_kube, [doc], namespace=mc_ns)
    ready = group_ready("toggle")
    rec.wait(lambda r: ready(r) and adapter_bound("toggle-worker", 2)(r), READY_TIMEOUT, "toggle Ready, adapter Bound")
    kubectl(mc_cluster, "scale", "rbgsa", "toggle-worker", "--replicas=3", "-n", mc_ns)
    rec.wait(role_at("toggle", "worker", 3), READY_TIMEOUT, "worker at 3 pods")
    rec.wait(lambda r: held(r, "toggle") == {"replicas": 3, "specReplicas": 2}, READY_TIMEOUT, "status holding the adapter's size")
    kept = uids(pods_of(rec, "toggle"))

    off = small_group("toggle", adapter=False)["spec"]
    generation = patch_spec(mc_kube, RoleBasedGroup, mc_ns, "toggle", off)
    rec.wait(lambda r: bool(r.of(c.KIND_RBGSA, "toggle-worker", "DELETED")), READY_TIMEOUT, "the adapter deleted")
    rec.wait(group_ready("toggle", generation), READY_TIMEOUT, "toggle Ready without its adapter")
    rec.quiet(3)
    assert role_at("toggle", "worker", 3)(rec), "the role lost its adapter's size:\n" + sizes_history(rec, "toggle", "worker")
    assert uids(pods_of(rec, "toggle")) == kept
    assert held(rec, "toggle") == {"replicas": 3, "specReplicas": 2}

    generation = patch_spec(mc_kube, RoleBasedGroup, mc_ns, "toggle", small_group("toggle", replicas=1, adapter=False)["spec"])
    ready = group_ready("toggle", generation)
    rec.wait(lambda r: ready(r) and role_at("toggle", "worker", 1)(r), READY_TIMEOUT, "worker at 1 pod")
    assert held(rec, "toggle") is None
    assert uids(pods_of(rec, "toggle")) == {"toggle-worker-0": kept["toggle-worker-0"]}


# --- 8. an adapter without a group ------------------------------------------------------------------------------
def test_an_adapter_for_a_missing_group_is_not_bound(mc_kube, rec, mc_ns):
    apply_manifests(mc_kube, [{
        "apiVersion": c.API_VERSION, "kind": c.KIND_RBGSA, "metadata": {"name": "orphan"},
        "spec": {"replicas": 1, "scaleTargetRef": {"name": "missing", "role": "worker"}},
    }], namespace=mc_ns)

    def reported(r: Recorder) -> bool:
        return bool(((r.get(c.KIND_RBGSA, "orphan") or {}).get("status") or {}).get("conditions"))

    rec.wait(reported, READY_TIMEOUT, "the orphan adapter's status")
    a = rec.get(c.KIND_RBGSA, "orphan")
    assert a["status"]["phase"] == c.PHASE_NOT_BOUND
    bound = cond(a, c.COND_BOUND)
    assert (bound["status"], bound["reason"]) == ("False", c.REASON_TARGET_GROUP_NOT_FOUND)
    assert "missing" in bound["message"]
    assert a["status"]["replicas"] == 0
