"""Exclusive topology on the real scheduler: the hooks' children applied, KWOK nodes in two zones;
the waiting group's status quotes the scheduler, read from its real pods."""

from __future__ import annotations

from lightkube.resources.core_v1 import Node

from hooks import constants as c
from localcluster.cluster import LABEL_ZONE
from rbgclient.kube import wait_for
from tests.e2e.test_children_on_cluster import apply, pods, wait_pods_ready
from tests.support import condition, startup_stages, sync


def group(name: str, ns: str) -> dict:
    return {
        "apiVersion": c.API_VERSION,
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
