"""LeaderWorkerSet roles on the real API server, with the real LeaderWorkerSet CRD (from
../shared/crds/third-party, never copied here).

Without an LWS controller: the LeaderWorkerSets the hooks make for upstream's five LWS examples pass
a strict server-side dry run and are stored as emitted, and overlays/leaderworkerset builds and
passes a server-side dry run.

With one (tests marked `lws` and `metacontroller`: RBG_LWS_CONTROLLER and RBG_METACONTROLLER, see
conftest.py; skipped otherwise), under Metacontroller and the LWS controller with its webhooks:
each of the five examples, applied unchanged, becomes Ready, asserted on recorded watch events
(watch.py): the group's Ready condition is True only once every pod of every LWS group is Ready,
each pod carries the group index the LWS pod webhook sets, and the dependency gate holds (none of
the five has dependencies; a variant of one whose StatefulSet role depends on its LWS role shows
the gate waiting for the LeaderWorkerSet's pods).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import Pod

from hooks import constants as c
from localcluster.cluster import LocalCluster, third_party_crds
from rbgclient.kube import RoleBasedGroup, apply_manifests, has_condition
from tests.e2e.test_children_on_cluster import contains, get
from tests.e2e.watch import Event, Recorder, group_ready, pod_ready
from tests.support import ROOT, UPSTREAM_EXAMPLES, example_group, request, sync

LeaderWorkerSet = create_namespaced_resource("leaderworkerset.x-k8s.io", "v1", c.KIND_LWS, "leaderworkersets")
LWS_CRD = "leaderworkerset.x-k8s.io_leaderworkersets.yaml"
UPSTREAM_LWS = ["rbg-with-lws-workload", "exclusive-topology", "restart-policy", "rolling-update", "rolling-update-with-partition"]


@pytest.fixture(scope="module")
def lws_crd(cluster: LocalCluster) -> None:
    cluster.install_crds([third_party_crds() / LWS_CRD])


@pytest.mark.parametrize("name", UPSTREAM_LWS)
def test_the_lws_of_upstreams_examples_is_accepted_as_emitted(kube, cluster, ns, lws_crd, name):
    group = example_group(UPSTREAM_EXAMPLES / "basics" / f"{name}.yaml")
    group["metadata"]["namespace"] = ns
    req = request(group)
    req["children"][c.CHILD_LWS] = {}  # registered, as overlays/leaderworkerset does
    (lws,) = [ch for ch in sync(req).children if ch["kind"] == c.KIND_LWS]
    strict = cluster.kubectl("create", "--validate=strict", "--dry-run=server", "-n", ns, "-f", "-", input=yaml.safe_dump(lws))
    assert strict.returncode == 0, strict.stderr
    apply_manifests(kube, [lws], namespace=ns)
    assert contains(get(kube, LeaderWorkerSet, lws["metadata"]["name"], ns), lws) == []  # nothing pruned or changed


def test_the_lws_overlay_builds_and_passes_a_server_side_dry_run(kube, cluster, lws_crd):
    cluster.install_crds([third_party_crds() / "metacontroller.k8s.io_crds-v1.yaml"])
    built = cluster.kubectl("kustomize", str(ROOT / "overlays" / c.LWS_OVERLAY))
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    (controller,) = [d for d in docs if d["kind"] == "CompositeController" and d["metadata"]["name"] == "rolebasedgroup"]
    assert {"apiVersion": c.LWS_API_VERSION, "resource": "leaderworkersets", "updateStrategy": {"method": "InPlace"}} in controller["spec"]["childResources"]
    for doc in sorted((d for d in docs if d["kind"] != "CustomResourceDefinition"), key=lambda d: d["kind"] != "Namespace"):
        apply_manifests(kube, [doc], dry_run=doc["kind"] != "Namespace")


# --- with the LWS controller: upstream's examples to Ready under Metacontroller ---------------------
KINDS = (RoleBasedGroup, LeaderWorkerSet, StatefulSet, Deployment, Pod)  # what `rec` records
TIMEOUT = 180  # two cores: a group of 4 x 2 LWS pods goes through two controllers and a webhook

Obj = dict[str, Any]


def kind_of(role: Obj) -> str:
    return (role.get("workload") or {}).get("kind", c.KIND_STATEFULSET)


def expected_pods(role: Obj) -> int:
    """Pods of a role: replicas, times the group size for a LeaderWorkerSet."""
    size = (role.get("leaderWorkerSet") or {}).get("size", 1) if kind_of(role) == c.KIND_LWS else 1
    return int(role.get("replicas", 1)) * int(size)


def role_pods(pods: dict[str, Obj], role: str) -> list[Obj]:
    return [
        p for p in pods.values()
        if (p["metadata"].get("labels") or {}).get(c.LABEL_ROLE_NAME) == role and not p["metadata"].get("deletionTimestamp")
    ]


def all_ready(pods: dict[str, Obj], role: Obj) -> bool:
    """The role has its pods, every one Ready, and no other."""
    mine = role_pods(pods, role["name"])
    return len(mine) == expected_pods(role) and all(map(pod_ready, mine))


def enough_ready(pods: dict[str, Obj], role: Obj) -> bool:
    """At least as many of the role's pods Ready as it has. More may exist: the LWS controller
    (v0.10) creates `maxSurge` extra groups on creation when a partition is set, and removes them
    once the others are ready (rolling-update-with-partition)."""
    return sum(map(pod_ready, role_pods(pods, role["name"]))) >= expected_pods(role)


def replay(events: list[Event]) -> Iterator[tuple[Event, dict[str, dict[str, Obj]]]]:
    """Each event in resourceVersion order (one etcd: the order of the writes), with every recorded
    object after it, by kind and name."""
    state: dict[str, dict[str, Obj]] = {}
    for e in sorted(events, key=lambda e: e.rv):
        if e.type == "DELETED":
            state.get(e.kind, {}).pop(e.name, None)
        else:
            state.setdefault(e.kind, {})[e.name] = e.obj
        yield e, state


def readiness_problems(rec: Recorder, doc: Obj) -> list[str]:
    """At the first write that made the group Ready, every role already had all its pods Ready."""
    group, roles = doc["metadata"]["name"], doc["spec"]["roles"]
    for e, state in replay(rec.events):
        if e.kind == "RoleBasedGroup" and e.name == group and has_condition(e.obj, c.COND_READY):
            pods = state.get("Pod", {})
            return [
                f"rv {e.rv}: {group} Ready while role {r['name']} has {sum(map(pod_ready, role_pods(pods, r['name'])))} "
                f"of {expected_pods(r)} pods Ready"
                for r in roles if not enough_ready(pods, r)
            ]
    return [f"{group} never Ready"]


def gate_problems(rec: Recorder, doc: Obj) -> list[str]:
    """Every role with dependencies had its workload created only once every pod of each
    dependency was Ready."""
    group, roles = doc["metadata"]["name"], {r["name"]: r for r in doc["spec"]["roles"]}
    problems, created = [], set()
    for e, state in replay(rec.events):
        for name, role in roles.items():
            if name in created or e.kind != kind_of(role) or e.name != f"{group}-{name}" or e.type != "ADDED":
                continue
            created.add(name)
            pods = state.get("Pod", {})
            problems += [
                f"rv {e.rv}: {e.kind} {e.name} created while its dependency {dep} has "
                f"{sum(map(pod_ready, role_pods(pods, dep)))} of {expected_pods(roles[dep])} pods Ready"
                for dep in role.get("dependencies") or [] if not enough_ready(pods, roles[dep])
            ]
    return problems + [f"{group}-{name} never created" for name in roles if name not in created]


def lws_problems(rec: Recorder, doc: Obj) -> list[str]:
    """Each LeaderWorkerSet has every group ready, and each of its pods the group index the LWS pod
    webhook gives it (every index from 0 to replicas - 1)."""
    problems = []
    for role in doc["spec"]["roles"]:
        if kind_of(role) != c.KIND_LWS:
            continue
        name = f"{doc['metadata']['name']}-{role['name']}"
        lws, replicas = rec.get(c.KIND_LWS, name), int(role.get("replicas", 1))
        ready = ((lws or {}).get("status") or {}).get("readyReplicas")
        if ready != replicas:
            problems.append(f"LeaderWorkerSet {name}: readyReplicas {ready}, expected {replicas}")
        pods = role_pods(rec.live("Pod"), role["name"])
        indices = {(p["metadata"].get("labels") or {}).get(c.LABEL_LWS_GROUP_INDEX) for p in pods}
        if indices != {str(i) for i in range(replicas)}:
            problems.append(f"LeaderWorkerSet {name}: its pods' group indices are {sorted(map(str, indices))}")
    return problems


def upstream_doc(name: str) -> Obj:
    """The RoleBasedGroup of upstream's basics/<name>.yaml, as written."""
    (doc,) = [d for d in yaml.safe_load_all((UPSTREAM_EXAMPLES / "basics" / f"{name}.yaml").read_text()) if d]
    return doc


@pytest.fixture(scope="module")
def lws_registered(mc_cluster: LocalCluster) -> None:
    """The rolebasedgroup controller registered as overlays/leaderworkerset does. mc_cluster did so
    when it started; applied again because another module may have registered it otherwise since."""
    apply_manifests(mc_cluster.kube, mc_cluster.registrations())


def apply_until_ready(kube: Client, rec: Recorder, ns: str, doc: Obj) -> None:
    apply_manifests(kube, [doc], namespace=ns)
    name = doc["metadata"]["name"]
    rec.wait(group_ready(name), TIMEOUT, f"{name} Ready")
    roles = doc["spec"]["roles"]
    rec.wait(lambda r: all(all_ready(r.live("Pod"), role) for role in roles), TIMEOUT, f"every pod of {name} Ready")
    # With a partition, LWS v0.10 creates maxSurge extra groups at first and then removes them.
    rec.wait(lambda r: not lws_problems(r, doc), TIMEOUT, f"{name}'s LeaderWorkerSets at their replicas")
    problems = readiness_problems(rec, doc) + gate_problems(rec, doc)
    assert problems == [], "\n".join(problems)
    group = rec.get("RoleBasedGroup", name)
    assert has_condition(group, c.COND_LEADER_WORKER_SETS), group["status"]["conditions"]


@pytest.mark.metacontroller
@pytest.mark.lws
@pytest.mark.parametrize("name", UPSTREAM_LWS)
def test_upstreams_lws_example_becomes_ready_under_the_lws_controller(lws_registered, mc_kube, rec, mc_ns, name):
    apply_until_ready(mc_kube, rec, mc_ns, upstream_doc(name))  # unchanged


@pytest.mark.metacontroller
@pytest.mark.lws
def test_a_role_waits_for_every_pod_of_its_lws_dependency(lws_registered, mc_kube, rec, mc_ns):
    """rbg-with-lws-workload, its StatefulSet role made to depend on its LWS role (2 groups of 2)."""
    doc = upstream_doc("rbg-with-lws-workload")
    (sts,) = [r for r in doc["spec"]["roles"] if r["name"] == "sts"]
    sts["dependencies"] = ["lws"]
    apply_until_ready(mc_kube, rec, mc_ns, doc)  # gate_problems: created only once the 4 LWS pods were Ready
    waited = [
        e.rv for e in rec.of("RoleBasedGroup")
        if any(x["type"] == c.COND_PROGRESSING and x["reason"] == c.REASON_WAITING_FOR_DEPENDENCIES and "sts" in x["message"]
               for x in (e.obj.get("status") or {}).get("conditions") or [])
    ]
    assert waited, "Progressing never said that sts waits for lws"
    assert min(e.rv for e in rec.of("StatefulSet", f"{doc['metadata']['name']}-sts")) > min(waited)
