"""The children the hooks return, applied to the real cluster as `rbg render | kubectl apply` would.

This is not the controller end to end (that needs Metacontroller, which can not be built here):
it shows on the real API server, controller-manager, scheduler and KWOK that the children are
stored exactly as emitted (so Metacontroller's apply would find nothing to update), that their
pods become Ready with the labels, env and mount rbg-api.md specifies, that scaling restarts no
pod, that users' Services select a role's pods, and that the gates read real workload status.
"""

from __future__ import annotations


import pytest
import yaml
from lightkube import Client
from lightkube.resources.apps_v1 import ControllerRevision, Deployment, StatefulSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import ConfigMap, Pod, Service
from lightkube.resources.discovery_v1 import EndpointSlice

from hooks import constants as c
from rbgclient.kube import RoleBasedGroupScalingAdapter, apply_manifests, as_dict, wait_for
from tests.e2e.watch import pod_ready as ready
from tests.support import EXAMPLES, ROOT, example_group, example_id, request, startup_stages, sync, workload_kinds

CHILD_KINDS = {c.CHILD_CONFIGMAP: ConfigMap, c.CHILD_SERVICE: Service, c.CHILD_STATEFULSET: StatefulSet,
               c.CHILD_DEPLOYMENT: Deployment, c.CHILD_ADAPTER: RoleBasedGroupScalingAdapter,
               c.CHILD_CONTROLLER_REVISION: ControllerRevision, c.CHILD_JOB: Job}


def contains(stored, desired, path="") -> list[str]:
    """Where `stored` differs from `desired` on the fields `desired` sets."""
    if isinstance(desired, dict):
        if not isinstance(stored, dict):
            return [f"{path}: {stored!r} is not an object"]
        return [d for k, v in desired.items() for d in contains(stored.get(k), v, f"{path}.{k}")]
    if isinstance(desired, list):
        if not isinstance(stored, list) or len(stored) != len(desired):
            return [f"{path}: {stored!r} != {desired!r}"]
        return [d for i, (s, v) in enumerate(zip(stored, desired)) for d in contains(s, v, f"{path}[{i}]")]
    return [] if stored == desired else [f"{path}: stored {stored!r}, emitted {desired!r}"]


def final_children(example, ns: str, replicas: dict[str, int] | None = None) -> list[dict]:
    group = example_group(example)
    group["metadata"]["namespace"] = ns
    for role in group["spec"]["roles"]:
        role["replicas"] = (replicas or {}).get(role["name"], role.get("replicas", 1))
    return sync(startup_stages(group)[-1]).children


def apply(kube: Client, ns: str, children: list[dict]) -> None:
    apply_manifests(kube, children, namespace=ns)


def kind_of(child: dict):
    return next(kind for key, kind in CHILD_KINDS.items() if key == f"{child['kind']}.{child['apiVersion']}")


def get(kube: Client, kind, name: str, ns: str) -> dict:
    return as_dict(kube.get(kind, name, namespace=ns))


def pods(kube: Client, ns: str, group: str, role: str | None = None) -> list[dict]:
    labels = {c.LABEL_GROUP_NAME: group, **({c.LABEL_ROLE_NAME: role} if role else {})}
    return [as_dict(p) for p in kube.list(Pod, namespace=ns, labels=labels)]


def wait_pods_ready(kube: Client, ns: str, group: str, count: int) -> list[dict]:
    return wait_for(
        lambda ps: len(ps) == count and all(map(ready, ps)), 90, f"{count} Ready pods of {group}",
        lambda: pods(kube, ns, group),
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_children_are_stored_as_emitted_and_their_pods_become_ready(kube, ns, example):
    children = final_children(example, ns)
    apply(kube, ns, children)
    for child in children:
        stored = get(kube, kind_of(child), child["metadata"]["name"], ns)
        assert contains(stored, child) == [], f"{child['kind']}/{child['metadata']['name']} normalised by the API server"

    group = example_group(example)
    name = group["metadata"]["name"]
    roles, kinds = {r["name"]: r for r in group["spec"]["roles"]}, workload_kinds(group)
    running = wait_pods_ready(kube, ns, name, sum(r.get("replicas", 1) for r in roles.values()))
    for pod in running:
        labels = pod["metadata"]["labels"]
        role = labels[c.LABEL_ROLE_NAME]
        assert labels[c.LABEL_GROUP_NAME_V2] == name and labels[c.LABEL_ROLE_NAME_V2] == role
        assert len(labels[c.LABEL_GROUP_UNIQUE_KEY]) == 40
        statefulset = kinds[role] == "StatefulSet"
        for container in pod["spec"]["containers"]:
            env = {e["name"]: e for e in container["env"]}
            assert env["GROUP_NAME"]["value"] == env["RBG_GROUP_NAME"]["value"] == name
            assert env["ROLE_NAME"]["value"] == env["RBG_ROLE_NAME"]["value"] == role
            assert [e["name"] for e in container["env"][:4]] == ["GROUP_NAME", "RBG_GROUP_NAME", "ROLE_NAME", "RBG_ROLE_NAME"]
            assert ("ROLE_INDEX" in env) == statefulset
            mount = next(m for m in container["volumeMounts"] if m["mountPath"] == c.DISCOVERY_MOUNT_PATH)
            assert mount["readOnly"] is True and "subPath" not in mount
        if statefulset:
            # ROLE_INDEX reads this label; the StatefulSet controller must have set it.
            assert labels[c.LABEL_POD_INDEX] == pod["metadata"]["name"].rsplit("-", 1)[1]
        volume = next(v for v in pod["spec"]["volumes"] if v["name"] == c.DISCOVERY_VOLUME)
        assert volume["configMap"]["name"] == f"{name}-discovery"


def test_discovery_addresses_are_pods_of_the_headless_service(kube, ns):
    example = ROOT / "examples" / "pd-disagg.yaml"
    apply(kube, ns, final_children(example, ns))
    running = wait_pods_ready(kube, ns, "sglang-pd", 5)
    doc = yaml.safe_load(get(kube, ConfigMap, "sglang-pd-discovery", ns)["data"][c.DISCOVERY_FILE])
    hostnames = {f"{p['spec']['hostname']}.{p['spec']['subdomain']}" for p in running if p["spec"].get("subdomain")}
    listed = {i["address"] for r in doc["roles"].values() for i in r["instances"]}
    assert listed == hostnames  # every address is "<pod hostname>.<service>", and every pod is listed
    for role in ("prefill", "decode", "router"):
        svc = get(kube, Service, f"s-sglang-pd-{role}", ns)
        assert svc["spec"]["clusterIP"] == "None" and svc["spec"]["publishNotReadyAddresses"] is True


def test_scaling_updates_discovery_and_restarts_no_pod(kube, ns):
    example = ROOT / "examples" / "pd-disagg.yaml"
    apply(kube, ns, final_children(example, ns))
    before = {p["metadata"]["name"]: p["metadata"]["uid"] for p in wait_pods_ready(kube, ns, "sglang-pd", 5)}
    sts_before = get(kube, StatefulSet, "sglang-pd-prefill", ns)

    apply(kube, ns, final_children(example, ns, replicas={"prefill": 4}))
    after = {p["metadata"]["name"]: p["metadata"]["uid"] for p in wait_pods_ready(kube, ns, "sglang-pd", 7)}
    assert {k: after[k] for k in before} == before  # every existing pod kept its UID
    sts = get(kube, StatefulSet, "sglang-pd-prefill", ns)
    assert sts["status"]["updateRevision"] == sts_before["status"]["updateRevision"]  # template unchanged
    doc = yaml.safe_load(get(kube, ConfigMap, "sglang-pd-discovery", ns)["data"][c.DISCOVERY_FILE])
    assert doc["roles"]["prefill"]["size"] == 4 and len(doc["roles"]["prefill"]["instances"]) == 4

    apply(kube, ns, final_children(example, ns, replicas={"prefill": 1}))
    down = {p["metadata"]["name"]: p["metadata"]["uid"] for p in wait_pods_ready(kube, ns, "sglang-pd", 4)}
    assert all(before[k] == uid for k, uid in down.items() if k in before)
    doc = yaml.safe_load(get(kube, ConfigMap, "sglang-pd-discovery", ns)["data"][c.DISCOVERY_FILE])
    assert [i["address"] for i in doc["roles"]["prefill"]["instances"]] == ["sglang-pd-prefill-0.s-sglang-pd-prefill"]


def test_a_user_service_selects_exactly_one_role(kube, ns):
    example = ROOT / "examples" / "pd-disagg.yaml"
    apply(kube, ns, final_children(example, ns))
    running = wait_pods_ready(kube, ns, "sglang-pd", 5)
    frontend = next(d for d in yaml.safe_load_all(example.read_text()) if d["kind"] == "Service")
    apply(kube, ns, [frontend])
    router_ips = {p["status"]["podIP"] for p in running if p["metadata"]["labels"][c.LABEL_ROLE_NAME] == "router"}

    def endpoints() -> set[str]:
        slices = kube.list(EndpointSlice, namespace=ns, labels={"kubernetes.io/service-name": "sglang-pd-frontend"})
        return {a for s in slices for e in s.endpoints or [] for a in e.addresses}

    assert wait_for(lambda ips: ips == router_ips, 60, "frontend endpoints = router pods", endpoints) == router_ips
    assert len(router_ips) == 1


def _observed(kube: Client, ns: str, group: str) -> dict[str, dict]:
    """Children as Metacontroller would send them: live objects from the API server, keyed "namespace/name"."""
    observed = {
        key: {f"{ns}/{o.metadata.name}": as_dict(o) for o in kube.list(kind, namespace=ns, labels={c.LABEL_GROUP_NAME: group})}
        for key, kind in CHILD_KINDS.items()
    }
    # The StatefulSet controller's own revisions carry the group's labels too; ours carry a hash.
    revisions = observed[c.CHILD_CONTROLLER_REVISION]
    observed[c.CHILD_CONTROLLER_REVISION] = {k: o for k, o in revisions.items() if c.LABEL_REVISION_HASH in o["metadata"]["labels"]}
    return observed


def test_gate_opens_on_real_statefulset_status(kube, ns):
    """The dependency gate reads status written by the real StatefulSet controller, not a fixture's."""
    group = example_group(ROOT / "examples" / "minimal.yaml")
    group["metadata"]["namespace"] = ns
    first = sync(request(group)).children
    assert "minimal-app" not in {ch["metadata"]["name"] for ch in first if ch["kind"] == "StatefulSet"}
    apply(kube, ns, first)

    def gate():
        return {ch["metadata"]["name"] for ch in sync(request(group, _observed(kube, ns, "minimal"))).children
                if ch["kind"] == "StatefulSet"}

    # Before the db pod is Ready the gate stays shut; the StatefulSet controller then reports it ready.
    assert wait_for(lambda names: "minimal-app" in names, 90, "app to pass the gate", gate) == {"minimal-db", "minimal-app"}
    db = get(kube, StatefulSet, "minimal-db", ns)
    assert db["status"]["readyReplicas"] == 1 and db["status"]["observedGeneration"] == db["metadata"]["generation"]
