"""Exclusive topology on the real scheduler: the hooks' children applied, KWOK nodes in two zones;
the waiting group's status quotes the scheduler, read from its real pods. Groups keep out the
groups of their own namespace, every namespace's with `exclusive-topology-scope: Cluster`."""

from __future__ import annotations

import json

from lightkube.resources.core_v1 import Node

from hooks import constants as c
from localcluster.cluster import LABEL_ZONE
from rbgclient.kube import wait_for
from tests.e2e.conftest import namespace
from tests.e2e.test_children_on_cluster import _observed, apply, pods, ready, wait_pods_ready
from tests.support import UPSTREAM_EXAMPLES, condition, example_group, request, startup_stages, sync


def group(name: str, ns: str) -> dict:
    return {
        "apiVersion": c.API_VERSION_V1ALPHA1,
        "kind": c.KIND_RBG,
        "metadata": {
            "name": name,
            "namespace": ns,
            "generation": 1,
            "annotations": {c.ANNOTATIONS_EXCLUSIVE_TOPOLOGY[0]: LABEL_ZONE},
        },
        "spec": {"roles": [
            {"name": "leader", "replicas": 1, "template": {"spec": {"containers": [{"name": "e", "image": "engine:1"}]}}},
            {"name": "worker", "replicas": 2, "dependencies": ["leader"],
             "template": {"spec": {"containers": [{"name": "e", "image": "engine:1"}]}}},
        ]},
    }


def unschedulable(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(x["type"] == "PodScheduled" and x["status"] == "False" and x.get("reason") == "Unschedulable" for x in conditions)


def test_exclusive_groups_take_a_zone_each_and_a_third_waits(kube, ns):
    zone_of = {n.metadata.name: n.metadata.labels[LABEL_ZONE] for n in kube.list(Node)}
    zones = {}
    for name in ("g1", "g2"):
        apply(kube, ns, sync(startup_stages(group(name, ns))[-1]).children)
        running = wait_pods_ready(kube, ns, name, 3)
        used = {zone_of[p["spec"]["nodeName"]] for p in running}
        assert len(used) == 1, f"{name} spread over {used}"
        zones[name] = used.pop()
    assert zones["g1"] != zones["g2"] and set(zones.values()) == set(zone_of.values())

    apply(kube, ns, sync(startup_stages(group("g3", ns))[-1]).children)
    waiting = wait_for(
        lambda ps: len(ps) == 3 and all(map(unschedulable, ps)), 60, "g3's pods Unschedulable", lambda: pods(kube, ns, "g3")
    )
    message = next(x for x in waiting[0]["status"]["conditions"] if x["type"] == "PodScheduled")["message"]
    assert "anti-affinity" in message or "affinity" in message, message
    assert all(not p["spec"].get("nodeName") for p in waiting)

    # The hook, given g3's pods as the customize hook asks for them, says why they wait.
    req = startup_stages(group("g3", ns))[-1]
    req["related"] = {c.RELATED_POD: {f"{ns}/{p['metadata']['name']}": p for p in waiting}}
    said = condition(sync(req).status, c.COND_PODS_SCHEDULED)
    assert (said["status"], said["reason"]) == ("False", "Unschedulable")
    assert said["message"].startswith("3 pod(s) wait for the scheduler; g3-leader-0 (leader): ") and message in said["message"]


def test_exclusive_topology_keeps_out_only_groups_of_the_same_namespace(kube, ns):
    """Groups of another namespace hold every zone exclusively; upstream's exclusive-topology
    example still runs in this namespace (as upstream: exclusivity is within a namespace). Only a
    group that asks for `exclusive-topology-scope: Cluster` keeps out every namespace, and waits."""
    zone_of = {n.metadata.name: n.metadata.labels[LABEL_ZONE] for n in kube.list(Node)}
    others = namespace(kube)
    try:
        elsewhere = next(others)
        zones = {}
        for name in ("a1", "a2"):
            apply(kube, elsewhere, sync(startup_stages(group(name, elsewhere))[-1]).children)
            used = {zone_of[p["spec"]["nodeName"]] for p in wait_pods_ready(kube, elsewhere, name, 3)}
            assert len(used) == 1, f"{name} spread over {used}"
            zones[name] = used.pop()
        assert set(zones.values()) == set(zone_of.values()), f"not every zone is held: {zones}"

        # Upstream's example (kubernetes.io/hostname), but for its LeaderWorkerSet role: this
        # cluster runs no LeaderWorkerSet controller (the `lws` tests need one).
        example = example_group(UPSTREAM_EXAMPLES / "basics" / "exclusive-topology.yaml")
        example["metadata"]["namespace"] = ns
        example["spec"]["roles"] = [r for r in example["spec"]["roles"] if (r.get("workload") or {}).get("kind") != c.KIND_LWS]
        name = example["metadata"]["name"]
        applied = sync(startup_stages(example)[-1]).children
        apply(kube, ns, applied)
        settled = wait_for(
            lambda ps: len(ps) == 2 and (all(map(ready, ps)) or any(map(unschedulable, ps))),
            90, f"{name}'s pods Ready (or Unschedulable)", lambda: pods(kube, ns, name),
        )
        blocked = {p["metadata"]["name"]: next(x["message"] for x in p["status"]["conditions"] if x["type"] == "PodScheduled")
                   for p in settled if unschedulable(p)}
        assert not blocked, f"groups of namespace {elsewhere} keep {name} of {ns} out: {blocked}"
        assert len({p["spec"]["nodeName"] for p in settled}) == 1  # its own exclusive topology: one node

        def status() -> dict:
            """The hook's status for the live children, stamped with what was applied (as Metacontroller's are)."""
            live = _observed(kube, ns, name)
            for objs in live.values():
                for obj in objs.values():
                    sent = next(ch for ch in applied if (ch["kind"], ch["metadata"]["name"]) == (obj["kind"], obj["metadata"]["name"]))
                    obj["metadata"].setdefault("annotations", {})[c.ANNOTATION_LAST_APPLIED] = json.dumps(sent)
            req = request(example, live)
            req["related"] = {c.RELATED_POD: {f"{ns}/{p['metadata']['name']}": p for p in pods(kube, ns, name)}}
            return sync(req).status

        done = wait_for(lambda s: condition(s, "Ready")["status"] == "True", 60, f"{name} Ready", status)
        assert condition(done, c.COND_PODS_SCHEDULED)["status"] == "True"

        # A group of this namespace that keeps out every namespace finds no zone free.
        cluster_wide = group("wide", ns)
        cluster_wide["metadata"]["annotations"]["rbg.workloads.x-k8s.io/exclusive-topology-scope"] = "Cluster"
        apply(kube, ns, sync(startup_stages(cluster_wide)[-1]).children)
        waiting = wait_for(
            lambda ps: len(ps) == 3 and all(map(unschedulable, ps)), 60, "wide's pods Unschedulable", lambda: pods(kube, ns, "wide")
        )
        message = next(x for x in waiting[0]["status"]["conditions"] if x["type"] == "PodScheduled")["message"]
        assert "anti-affinity" in message, message
        assert all(not p["spec"].get("nodeName") for p in waiting)
    finally:
        next(others, None)  # delete the other namespace
