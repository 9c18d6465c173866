"""RoleInstanceSets and RoleInstances under Metacontroller on the local cluster (KWOK nodes).

A customComponentsPattern group, as upstream v0.7.0 writes it, runs as group -> RoleInstanceSet ->
RoleInstances -> pods, each hook under its own registration, and becomes Ready; `kubectl get
ris,rins` shows them. An image change updates the live pods (same UIDs, same nodes); any other
template change recreates them; a container restart of a pod recreates its instance once (every
pod of it, none of another instance), and the cause stays in the instance's status; a second
crash in a row waits its backoff, timed by a Job, before the next recreation. Component discovery
gives pods their peers' addresses and ports; a set records its templates as ControllerRevisions.
A RoleInstanceSet written by hand: OrderedReady creation, a targeted scale-down held by a preDelete
finalizer, a partitioned rollout within maxUnavailable, a surge rollout that keeps every instance Ready.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import ControllerRevision
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from hooks import constants as c
from localcluster.cluster import LocalCluster
from rbgclient.kube import RoleBasedGroup, apply_manifests
from tests.e2e.test_recovery import crash
from tests.e2e.watch import Recorder, group_ready
from tests.support.examples import UPSTREAM_EXAMPLES, _shared

RoleInstanceSet = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_ROLE_INSTANCE_SET, "roleinstancesets")
RoleInstance = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_ROLE_INSTANCE, "roleinstances")
KINDS = (RoleBasedGroup, RoleInstanceSet, RoleInstance, Pod, Job)
PATTERNS = _shared() / "upstream" / "rbg-v0.7.0" / "examples" / "basic" / "rbg" / "patterns"
TIMEOUT = 120

Obj = dict[str, Any]
pytestmark = pytest.mark.metacontroller


def doc(name: str) -> Obj:
    (group,) = [d for d in yaml.safe_load_all((PATTERNS / name).read_text()) if d and d.get("kind") == c.KIND_RBG]
    group["metadata"].pop("namespace", None)
    return group


def pods_of(rec: Recorder, group: str) -> dict[str, Obj]:
    return {n: p for n, p in rec.live("Pod").items() if (p["metadata"].get("labels") or {}).get(c.LABEL_GROUP_NAME) == group and not p["metadata"].get("deletionTimestamp")}


def identity(pods: dict[str, Obj]) -> dict[str, tuple[str, str]]:
    return {n: (p["metadata"]["uid"], p["spec"].get("nodeName", "")) for n, p in pods.items()}


def image_of(pod: Obj) -> str:
    return pod["spec"]["containers"][0]["image"]


def expected_pods(group: Obj) -> int:
    role = group["spec"]["roles"][0]
    return role["replicas"] * sum(comp.get("size", 1) for comp in role["customComponentsPattern"]["components"])


def pod_ready(pod: Obj) -> bool:
    return any(x.get("type") == "Ready" and x.get("status") == "True" for x in (pod.get("status") or {}).get("conditions") or [])


def ready_with(rec: Recorder, group: Obj, generation: int = 1):
    name, n = group["metadata"]["name"], expected_pods(group)
    return lambda r: group_ready(name, generation)(r) and len(pods_of(r, name)) == n


def test_a_custom_components_group_runs_to_ready_and_kubectl_shows_its_instances(mc_kube: Client, mc_cluster: LocalCluster, rec: Recorder, mc_ns: str) -> None:
    group = doc("custom-components-pattern.yaml")
    apply_manifests(mc_kube, [group], namespace=mc_ns)
    rec.wait(ready_with(rec, group), TIMEOUT, "custom-components-demo Ready with every pod")
    rec.quiet(3)
    settled = len(rec.events)
    rec.quiet(6)
    assert rec.events[settled:] == [], "steady state: no write to the group, its sets, instances or pods"
    names = sorted(pods_of(rec, "custom-components-demo"))
    assert names[:4] == [
        "custom-components-demo-engine-0-custom-component-1-0",
        "custom-components-demo-engine-0-custom-component-2-0",
        "custom-components-demo-engine-0-custom-component-2-1",
        "custom-components-demo-engine-0-monitoring-sidecar-0",
    ]
    shown = mc_cluster.kubectl("get", "ris,rins", "-n", mc_ns)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(line.split()[:6] == ["roleinstanceset.workloads.x-k8s.io/custom-components-demo-engine", "3", "3", "3", "3", "3"] for line in lines), shown.stdout
    assert sum(1 for line in lines if line.startswith("roleinstance.workloads.x-k8s.io/") and line.split()[1] == "True") == 3, shown.stdout


def test_an_image_change_keeps_every_pod_and_node_and_another_change_replaces_them(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    group = doc("custom-components-pattern.yaml")
    apply_manifests(mc_kube, [group], namespace=mc_ns)
    rec.wait(ready_with(rec, group), TIMEOUT, "Ready")
    before = identity(pods_of(rec, "custom-components-demo"))

    images = copy.deepcopy(group)
    for comp in images["spec"]["roles"][0]["customComponentsPattern"]["components"]:
        comp["template"]["spec"]["containers"][0]["image"] = "registry.k8s.io/pause:3.10"
    apply_manifests(mc_kube, [images], namespace=mc_ns)
    rec.wait(
        lambda r: ready_with(r, images, 2)(r) and all(image_of(p) == "registry.k8s.io/pause:3.10" for p in pods_of(r, "custom-components-demo").values()),
        TIMEOUT, "every pod at the new image",
    )
    assert identity(pods_of(rec, "custom-components-demo")) == before  # in place: same pods, same nodes
    assert not [e for e in rec.of("Pod", type_="DELETED")], "no pod was deleted"

    args = copy.deepcopy(images)
    args["spec"]["roles"][0]["customComponentsPattern"]["components"][0]["template"]["spec"]["containers"][0]["args"] = ["--v=2"]
    apply_manifests(mc_kube, [args], namespace=mc_ns)
    changed = [n for n in before if "custom-component-1" in n]
    rec.wait(
        lambda r: ready_with(r, args, 3)(r) and all(p["spec"]["containers"][0].get("args") == ["--v=2"] for n, p in pods_of(r, "custom-components-demo").items() if n in changed),
        TIMEOUT, "component 1 recreated with its args",
    )
    after = identity(pods_of(rec, "custom-components-demo"))
    assert all(after[n][0] != before[n][0] for n in changed)  # recreated
    assert all(after[n] == before[n] for n in before if n not in changed)  # the others untouched
    history = mc_kube.list(ControllerRevision, namespace=mc_ns, labels={c.LABEL_ROLE_INSTANCE_OWNER: "custom-components-demo-engine"})
    assert sorted(r.revision for r in history) == [1, 2, 3], "each instance template the set ran, recorded"


def test_component_discovery_gives_each_pod_its_peers_addresses_and_ports(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    """Upstream's ordered-discovery example: the router starts after leader and workers are Ready,
    and every pod is told the leader's address and the ports allocated to its peers."""
    group = doc("custom-components-ordered-discovery.yaml")
    apply_manifests(mc_kube, [group], namespace=mc_ns)
    rec.wait(ready_with(rec, group), TIMEOUT, "pd-server Ready with every pod")
    pods = pods_of(rec, "pd-server")

    def env(name: str) -> dict[str, str]:
        return {e["name"]: e.get("value", "") for e in pods[f"pd-server-prefill-0-{name}"]["spec"]["containers"][0]["env"]}

    leader, worker, router = env("leader-0"), env("worker-1"), env("router-0")
    assert router["LEADER_ADDR"] == worker["LEADER_ADDR"] == f"pd-server-prefill-0-leader-0.s-pd-server-prefill.{mc_ns}.svc.cluster.local"
    assert router["LEADER_GRPC_PORT"] == worker["LEADER_GRPC_PORT"] == leader["LEADER_GRPC_PORT"]
    assert router["WORKER_1_GRPC_PORT"] == worker["WORKER_GRPC_PORT"]
    created = {n.rsplit("-0-", 1)[-1]: e.at for n in pods for e in rec.of("Pod", n, "ADDED")[:1]}
    became_ready = max(min(e.at for e in rec.of("Pod", n, "MODIFIED") if pod_ready(e.obj)) for n in pods if "router" not in n)
    assert created["router-0"] >= became_ready, "the router is created after its startAfter components run"


def test_a_crashed_container_recreates_its_instance_once_and_keeps_the_cause(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    group = doc("custom-components-pattern.yaml")
    apply_manifests(mc_kube, [group], namespace=mc_ns)
    rec.wait(ready_with(rec, group), TIMEOUT, "Ready")
    before = identity(pods_of(rec, "custom-components-demo"))
    crash(mc_kube, mc_ns, "custom-components-demo-engine-1-custom-component-2-0")

    def recreated(r: Recorder) -> bool:
        inst = r.get(c.KIND_ROLE_INSTANCE, "custom-components-demo-engine-1") or {}
        pods = pods_of(r, "custom-components-demo")
        mine = [n for n in before if n.startswith("custom-components-demo-engine-1-")]
        return (inst.get("status") or {}).get("restarts") == 1 and all(n in pods and pods[n]["metadata"]["uid"] != before[n][0] for n in mine) and ready_with(r, group)(r)

    rec.wait(recreated, TIMEOUT, "instance 1 recreated and Ready")
    rec.quiet(5)
    inst = rec.get(c.KIND_ROLE_INSTANCE, "custom-components-demo-engine-1")
    assert inst["status"]["restarts"] == 1 and inst["status"]["lastFailure"]["pod"] == "custom-components-demo-engine-1-custom-component-2-0"
    after = identity(pods_of(rec, "custom-components-demo"))
    assert all(after[n] == before[n] for n in before if not n.startswith("custom-components-demo-engine-1-"))  # other instances untouched
    # The monitoring component is annotated Ignore: its crash recreates nothing.
    crash(mc_kube, mc_ns, "custom-components-demo-engine-0-monitoring-sidecar-0")
    rec.quiet(8)
    assert (rec.get(c.KIND_ROLE_INSTANCE, "custom-components-demo-engine-0").get("status") or {}).get("restarts") is None


def test_a_second_crash_in_a_row_waits_its_backoff_then_recreates(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    group = doc("custom-components-pattern.yaml")
    group["spec"]["roles"][0]["replicas"] = 1
    group["spec"]["recoveryPolicy"] = {"backoffSeconds": 6, "maxBackoffSeconds": 120}
    apply_manifests(mc_kube, [group], namespace=mc_ns)
    rec.wait(ready_with(rec, group), TIMEOUT, "Ready")
    pod = "custom-components-demo-engine-0-custom-component-1-0"

    def restarts(n: int):
        return lambda r: ((r.get(c.KIND_ROLE_INSTANCE, "custom-components-demo-engine-0") or {}).get("status") or {}).get("restarts") == n and ready_with(r, group)(r)

    first_uid = rec.get("Pod", pod)["metadata"]["uid"]
    crash(mc_kube, mc_ns, pod)
    def replaced(uid: str):
        def check(r: Recorder) -> bool:
            now = r.get("Pod", pod) or {"metadata": {"uid": uid}}
            return now["metadata"]["uid"] != uid and pod_ready(now)
        return check

    rec.wait(lambda r: restarts(1)(r) and replaced(first_uid)(r), TIMEOUT, "recreated once, at once, and running")
    second_uid = rec.get("Pod", pod)["metadata"]["uid"]
    crashed_at = time.monotonic()
    crash(mc_kube, mc_ns, pod)
    rec.wait(lambda r: any(e.name == "custom-components-demo-engine-0-backoff-2" for e in r.of("Job")), 30, "the backoff timer Job")
    rec.wait(lambda r: restarts(2)(r) and replaced(second_uid)(r), TIMEOUT, "recreated again after the backoff")
    gone = min(e.at for e in rec.of("Pod", pod, "MODIFIED") + rec.of("Pod", pod, "DELETED") if e.obj["metadata"]["uid"] == second_uid and (e.type == "DELETED" or e.obj["metadata"].get("deletionTimestamp")))
    assert gone - crashed_at >= 6 - 0.5, f"deleted {gone - crashed_at:.1f} s after the crash, before the 6 s backoff"
    inst = rec.get(c.KIND_ROLE_INSTANCE, "custom-components-demo-engine-0")
    assert inst["status"]["streak"] == 2 and "backoff" not in inst["status"]


V06 = UPSTREAM_EXAMPLES
V06_GROUPS = [
    "instanceset/instanceset-with-components.yaml",
    "instanceset/instanceset-with-lws.yaml",
    "instanceset/instanceset-with-template.yaml",
    "mooncake/aggregated-with-mooncake.yaml",
    "mooncake/pd-disaggregated-with-mooncake.yaml",
]


def model_volume(namespace: str, claim: str) -> list[Obj]:
    """What the mooncake examples assume exists: the model's claim, bound to a volume."""
    volume = f"{namespace}-{claim}"
    access = ["ReadOnlyMany"]
    return [
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume},
         "spec": {"capacity": {"storage": "1Ti"}, "accessModes": access, "storageClassName": "", "hostPath": {"path": "/models"},
                  "claimRef": {"namespace": namespace, "name": claim}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim},
         "spec": {"accessModes": access, "storageClassName": "", "volumeName": volume, "resources": {"requests": {"storage": "1Ti"}}}},
    ]


@pytest.mark.parametrize("path", V06_GROUPS)
def test_upstream_v06_instance_set_groups_apply_unchanged_and_become_ready(mc_kube: Client, rec: Recorder, mc_ns: str, path: str) -> None:
    """Written as v1alpha1 with `workload: workloads.x-k8s.io/v1alpha1/InstanceSet`: converted by the
    webhook, run on RoleInstanceSets, Ready (the mooncake ones on nodes with RDMA NICs and GPUs, their
    model's claim bound)."""
    docs = [d for d in yaml.safe_load_all((V06 / path).read_text()) if d]
    for d in docs:
        d["metadata"].pop("namespace", None)
    claims = sorted({v["persistentVolumeClaim"]["claimName"] for d in docs if d["kind"] == c.KIND_RBG for r in d["spec"]["roles"]
                     for v in (r.get("template") or {}).get("spec", {}).get("volumes") or [] if "persistentVolumeClaim" in v})
    for claim in claims:
        apply_manifests(mc_kube, model_volume(mc_ns, claim), namespace=mc_ns)
    apply_manifests(mc_kube, docs, namespace=mc_ns)
    for group in (d for d in docs if d["kind"] == c.KIND_RBG):
        name = group["metadata"]["name"]
        rec.wait(group_ready(name), 2 * TIMEOUT, f"{name} Ready")
        sets = [n for n in rec.live(c.KIND_ROLE_INSTANCE_SET) if n.startswith(f"{name}-")]
        assert sets, f"{name}: no RoleInstanceSet"


def instance_set(name: str, replicas: int, **spec: Any) -> Obj:
    """A RoleInstanceSet written by hand: one-pod instances of a component `main`."""
    template = {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "main", "image": "engine:1"}]}}
    return {
        "apiVersion": f"{c.GROUP}/{c.VERSION}", "kind": c.KIND_ROLE_INSTANCE_SET, "metadata": {"name": name},
        "spec": {"replicas": replicas, "roleInstanceTemplate": {"components": [{"name": "main", "template": template}]}, **spec},
    }


def instances(rec: Recorder, name: str) -> dict[str, Obj]:
    return {n: o for n, o in rec.live(c.KIND_ROLE_INSTANCE).items() if n.startswith(f"{name}-") and not o["metadata"].get("deletionTimestamp")}


def instance_ready(obj: Obj) -> bool:
    return any(x.get("type") == c.COND_ROLE_INSTANCE_READY and x.get("status") == "True" for x in (obj.get("status") or {}).get("conditions") or [])


def set_ready(name: str, replicas: int):
    return lambda r: len(instances(r, name)) == replicas and all(instance_ready(o) for o in instances(r, name).values())


def test_ordered_ready_creation_targeted_scale_down_and_a_pre_delete_finalizer(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    hook = {"preDelete": {"finalizersHandler": ["example.com/drain"], "markPodNotReady": True}}
    ris = instance_set("ordered", 3, podManagementPolicy="OrderedReady", lifecycle=hook)
    apply_manifests(mc_kube, [ris], namespace=mc_ns)
    rec.wait(set_ready("ordered", 3), TIMEOUT, "three instances Ready")
    added = {e.name: e.at for e in rec.of(c.KIND_ROLE_INSTANCE, type_="ADDED")}
    ready_at = {n: min(e.at for e in rec.of(c.KIND_ROLE_INSTANCE, n) if instance_ready(e.obj)) for n in added}
    assert added["ordered-1"] >= ready_at["ordered-0"] and added["ordered-2"] >= ready_at["ordered-1"], "OrderedReady: each after the one below is Ready"
    assert all(o["metadata"].get("finalizers") == ["example.com/drain"] for o in instances(rec, "ordered").values())

    # Down to 2, naming instance 0: it is held, PreparingDelete and not Ready, while it carries the finalizer.
    apply_manifests(mc_kube, [instance_set("ordered", 2, podManagementPolicy="OrderedReady", lifecycle=hook, scaleStrategy={"roleInstanceToDelete": ["ordered-0"]})], namespace=mc_ns)

    def preparing(r: Recorder) -> bool:
        o = r.get(c.KIND_ROLE_INSTANCE, "ordered-0") or {}
        return (o.get("metadata", {}).get("labels") or {}).get(c.LABEL_LIFECYCLE_STATE) == c.LIFECYCLE_PREPARING_DELETE and not instance_ready(o)

    rec.wait(preparing, TIMEOUT, "ordered-0 PreparingDelete and not Ready")
    rec.quiet(3)
    assert "ordered-0" in rec.live(c.KIND_ROLE_INSTANCE) and set(instances(rec, "ordered")) == {"ordered-0", "ordered-1", "ordered-2"}
    mc_kube.patch(RoleInstance, "ordered-0", [{"op": "remove", "path": "/metadata/finalizers"}], namespace=mc_ns, patch_type=PatchType.JSON)
    rec.wait(lambda r: "ordered-0" not in r.live(c.KIND_ROLE_INSTANCE) and set(instances(r, "ordered")) == {"ordered-1", "ordered-2"}, TIMEOUT, "ordered-0 gone, 1 and 2 kept")


def test_a_partitioned_rollout_keeps_within_max_unavailable(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    strategy = {"partition": 1, "maxUnavailable": 1, "type": "RecreatePod"}
    apply_manifests(mc_kube, [instance_set("rolled", 4, updateStrategy=strategy)], namespace=mc_ns)
    rec.wait(set_ready("rolled", 4), TIMEOUT, "four instances Ready")
    changed = instance_set("rolled", 4, updateStrategy=strategy)
    changed["spec"]["roleInstanceTemplate"]["components"][0]["template"]["spec"]["containers"][0]["args"] = ["--v=2"]  # not in place: pods recreated
    start = len(rec.events)
    apply_manifests(mc_kube, [changed], namespace=mc_ns)

    def updated(r: Recorder) -> set[str]:
        want = (r.get(c.KIND_ROLE_INSTANCE_SET, "rolled") or {}).get("status", {}).get("updateRevision")
        return {n for n, o in instances(r, "rolled").items() if o["metadata"]["labels"].get(c.LABEL_CONTROLLER_REVISION_HASH) == want and instance_ready(o)}

    rec.wait(lambda r: updated(r) == {"rolled-1", "rolled-2", "rolled-3"} and set_ready("rolled", 4)(r), 2 * TIMEOUT, "instances 1-3 updated and Ready")
    # Replay the instances' events: never more than one not Ready at a time; instance 0 untouched.
    state = {n: True for n in instances(rec, "rolled")}
    worst = 0
    for e in rec.events[start:]:
        if e.kind == c.KIND_ROLE_INSTANCE and e.name in state:
            state[e.name] = instance_ready(e.obj) and not e.obj["metadata"].get("deletionTimestamp")
            worst = max(worst, sum(1 for v in state.values() if not v))
    assert worst <= 1, f"{worst} instances unavailable at once"
    assert not [e for e in rec.events[start:] if e.kind == c.KIND_ROLE_INSTANCE and e.name == "rolled-0" and e.type == "MODIFIED" and e.obj["metadata"].get("generation", 1) > 1]


def test_a_surge_rollout_keeps_every_instance_ready(mc_kube: Client, rec: Recorder, mc_ns: str) -> None:
    """maxSurge 1, maxUnavailable 0: a new instance `<set>-3` comes first, each old one goes only
    once a new one is Ready, so three instances are Ready throughout; the surge goes at the end."""
    strategy = {"maxSurge": 1, "maxUnavailable": 0, "type": "RecreatePod"}
    apply_manifests(mc_kube, [instance_set("surged", 3, updateStrategy=strategy)], namespace=mc_ns)
    rec.wait(set_ready("surged", 3), TIMEOUT, "three instances Ready")
    changed = instance_set("surged", 3, updateStrategy=strategy)
    changed["spec"]["roleInstanceTemplate"]["components"][0]["template"]["spec"]["containers"][0]["args"] = ["--v=2"]
    start = len(rec.events)
    before = rec.get(c.KIND_ROLE_INSTANCE_SET, "surged")["status"]["updateRevision"]
    apply_manifests(mc_kube, [changed], namespace=mc_ns)

    def done(r: Recorder) -> bool:
        want = (r.get(c.KIND_ROLE_INSTANCE_SET, "surged") or {}).get("status", {}).get("updateRevision")
        live = instances(r, "surged")
        return want != before and set(live) == {"surged-0", "surged-1", "surged-2"} and all(
            o["metadata"]["labels"].get(c.LABEL_CONTROLLER_REVISION_HASH) == want and instance_ready(o) for o in live.values())

    rec.wait(done, 2 * TIMEOUT, "every instance updated, the surge gone")
    ready = {n: True for n in ("surged-0", "surged-1", "surged-2")}
    fewest, surged, seen = 3, False, []
    for e in rec.events[start:]:
        if e.kind == c.KIND_ROLE_INSTANCE and e.name.startswith("surged-"):
            surged |= e.name == "surged-3"
            ready[e.name] = e.type != "DELETED" and instance_ready(e.obj) and not e.obj["metadata"].get("deletionTimestamp")
            fewest = min(fewest, sum(ready.values()))
            seen.append(f"{e.type} {e.name} gen {e.obj['metadata'].get('generation')} ready {ready[e.name]} -> {sum(ready.values())}")
    assert surged, "no surge instance surged-3"
    assert fewest >= 3, f"only {fewest} instances Ready at one point:\n" + "\n".join(seen)
