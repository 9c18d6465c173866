"""Rollouts under the real Metacontroller, asserted on recorded watch events (watch.py): a partition
canary and its release, a paused role, a coordinated prefill/decode rollout held within its skew at
every event, coordinated scaling growing in steps, and upstream's coordination and role-template
examples becoming Ready.

Events of different kinds arrive on different threads; replayed in resourceVersion order (one etcd:
one global order of writes), they give the state of the namespace after every single write.

Needs RBG_METACONTROLLER=/path/to/metacontroller; skipped otherwise (conftest.py).
"""

from __future__ import annotations

import copy
import signal
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from hooks import constants as c
from localcluster.cluster import LocalCluster
from rbgclient.kube import RoleBasedGroup, apply_manifests
from tests.e2e.watch import Event, Recorder, group_ready, pod_ready
from tests.support import ROOT, UPSTREAM_EXAMPLES as UPSTREAM, find_condition as cond, group_doc, role_template, uids

pytestmark = pytest.mark.metacontroller

KINDS = (RoleBasedGroup, StatefulSet, Deployment, Pod)
ROLLOUTS = ROOT / "examples" / "rollouts"
OLD, NEW = "lmsysorg/sglang:v0.5.3.post3", "lmsysorg/sglang:v0.5.4"
TIMEOUT = 90  # generous: two cores, possibly shared with another cluster

Obj = dict[str, Any]


# --- helpers ---------------------------------------------------------------------------------------
def apply_ready(kube: Client, rec: Recorder, ns: str, doc: Obj, *others: Obj) -> Obj:
    """Apply the group `doc` (after `others`, e.g. its CoordinatedPolicy) and wait until it is Ready."""
    apply_manifests(kube, [*others, doc], namespace=ns)
    name = doc["metadata"]["name"]
    rec.wait(group_ready(name), TIMEOUT, f"{name} Ready")
    return doc


def patch_spec(kube: Client, ns: str, name: str, spec: Obj) -> tuple[int, int]:
    """Replace the group's spec (a merge patch: `roles` is a list, replaced whole).
    Returns the generation and the resourceVersion of that write."""
    patched = kube.patch(RoleBasedGroup, name, {"spec": spec}, namespace=ns, patch_type=PatchType.MERGE)
    return int(patched.metadata.generation), int(patched.metadata.resourceVersion)


def role(spec: Obj, name: str) -> Obj:
    return next(r for r in spec["roles"] if r["name"] == name)


def with_images(spec: Obj, img: str, *roles: str) -> Obj:
    out = copy.deepcopy(spec)
    for name in roles:
        role_template(role(out, name))["spec"]["containers"][0]["image"] = img
    return out


def role_of(obj: Obj) -> str | None:
    return (obj["metadata"].get("labels") or {}).get(c.LABEL_ROLE_NAME)


def image(obj: Obj) -> str:
    """The first container's image of a pod, or of a workload's pod template."""
    spec = obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]
    return spec["containers"][0]["image"]


def pods(pods_by_name: dict[str, Obj], role_name: str) -> dict[str, Obj]:
    """The role's pods that are not being deleted."""
    return {
        n: p for n, p in pods_by_name.items()
        if role_of(p) == role_name and not p["metadata"].get("deletionTimestamp")
    }


def images(pods_by_name: dict[str, Obj]) -> set[str]:
    return {image(p) for p in pods_by_name.values()}


def all_at(role_name: str, img: str, replicas: int) -> Callable[[Recorder], bool]:
    """Every pod of the role is at `img` and Ready, and no other pod of it is left (not even terminating)."""

    def check(r: Recorder) -> bool:
        live = {n: p for n, p in r.live("Pod").items() if role_of(p) == role_name}
        return (
            len(live) == replicas
            and all(image(p) == img and pod_ready(p) and not p["metadata"].get("deletionTimestamp") for p in live.values())
        )

    return check


def created_old(rec: Recorder, since_rv: int) -> list[str]:
    """Pods created at the old image after `since_rv`: a rollout must never make one."""
    return [f"rv {e.rv} {e.name}" for e in rec.events if e.kind == "Pod" and e.type == "ADDED" and e.rv > since_rv and image(e.obj) == OLD]


def partition(sts: Obj | None) -> int | None:
    return (((sts or {}).get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate", {}).get("partition")


def replay(events: list[Event]) -> Iterator[tuple[Event, dict[tuple[str, str], Obj]]]:
    """Each event in resourceVersion order, with the state of every recorded object after it."""
    state: dict[tuple[str, str], Obj] = {}
    for e in sorted(events, key=lambda e: e.rv):
        if e.type == "DELETED":
            state.pop((e.kind, e.name), None)
        else:
            state[(e.kind, e.name)] = e.obj
        yield e, state


def of_kind(state: dict[tuple[str, str], Obj], kind: str) -> dict[str, Obj]:
    return {name: obj for (k, name), obj in state.items() if k == kind}


def detail(e: Event) -> str:
    """What a failure message needs of an event: a workload's generation and status counts, the
    group's Coordinating message, a pod's image."""
    if e.kind == "StatefulSet":
        s = e.obj.get("status") or {}
        return (
            f"generation {e.obj['metadata']['generation']}, observedGeneration {s.get('observedGeneration')}, "
            f"updatedReplicas {s.get('updatedReplicas')}, partition {partition(e.obj)}"
        )
    if e.kind == "RoleBasedGroup":
        co = cond(e.obj, c.COND_COORDINATING)
        return f"Coordinating {co['status']} {co['message']!r}" if co else "no Coordinating"
    if e.kind == "Pod" and e.type != "DELETED":
        return image(e.obj)
    return ""


def story(rec: Recorder, since_rv: int) -> str:
    """Pod and StatefulSet events after `since_rv`, one line each, for a failure message."""
    lines = []
    for e in sorted(rec.events, key=lambda e: e.rv):
        if e.rv > since_rv and e.kind in ("Pod", "StatefulSet"):
            meta = e.obj["metadata"]
            extra = " ".join(filter(None, (
                meta["uid"][:8], e.labels.get("controller-revision-hash"), "terminating" if meta.get("deletionTimestamp") else "",
            )))
            lines.append(f"rv {e.rv} {e.type} {e.kind} {e.name} {extra} {detail(e)}")
    return "\n".join(lines)


def hook_calls(cluster: LocalCluster, ns: str) -> int:
    """Sync requests for groups of `ns` that the hook server logged."""
    return (cluster.logs / "hooks.log").read_text(errors="replace").count(f'"parent":"{ns}/')


def one_pod_bound(skew: str, sizes: list[int]) -> Fraction:
    """The planner's promise: within maxSkew, or one pod's share of the smallest role where that is larger."""
    return max(Fraction(int(skew.rstrip("%")), 100), *(Fraction(1, n) for n in sizes))


# --- 1. partition canary, then release ---------------------------------------------------------------
def test_a_partition_canary_updates_only_the_top_ordinal_until_released(mc_kube, rec, mc_ns):
    doc = apply_ready(mc_kube, rec, mc_ns, group_doc(ROLLOUTS / "canary.yaml"))  # decode: 4 pods, partition 3
    before = uids(rec.live("Pod"))
    decode = {f"canary-decode-{i}" for i in range(4)}
    assert decode <= set(before)

    # A new decode image: only ordinal 3 is replaced.
    canary_spec = with_images(doc["spec"], NEW, "decode")
    generation, changed_rv = patch_spec(mc_kube, mc_ns, "canary", canary_spec)

    def canary_up(r: Recorder) -> bool:
        pod = r.get("Pod", "canary-decode-3")
        return pod is not None and pod["metadata"]["uid"] != before["canary-decode-3"] and image(pod) == NEW and pod_ready(pod)

    rec.wait(canary_up, TIMEOUT, "canary-decode-3 replaced at the new image and Ready")
    rec.wait(
        lambda r: image(r.get("StatefulSet", "canary-decode")) == NEW and partition(r.get("StatefulSet", "canary-decode")) == 3,
        TIMEOUT, "decode's StatefulSet at the new template, partition 3",
    )

    held = rec.quiet(10)  # the canary holds: nothing else is replaced
    assert [f"{e.type} {e.name}" for e in held if e.kind == "Pod" and e.type != "MODIFIED"] == []
    now = rec.live("Pod")
    assert {n: now[n]["metadata"]["uid"] for n in before if n != "canary-decode-3"} == {
        n: uid for n, uid in before.items() if n != "canary-decode-3"
    }, "only ordinal 3 may have been replaced"
    assert {n: image(now[n]) for n in sorted(decode)} == {
        "canary-decode-0": OLD, "canary-decode-1": OLD, "canary-decode-2": OLD, "canary-decode-3": NEW,
    }
    # From the change to the end of the hold, the only pod deleted was ordinal 3 and no pod below it
    # was ever seen at the new image.
    window = [e for e in rec.events if e.kind == "Pod" and e.rv > changed_rv]
    assert {e.name for e in window if e.type == "DELETED"} == {"canary-decode-3"}
    assert [e.name for e in window if image(e.obj) == NEW and e.name != "canary-decode-3"] == []

    # Release: partition 0 rolls the rest, highest ordinal first; prefill is never touched.
    released = copy.deepcopy(canary_spec)
    role(released, "decode")["rolloutStrategy"]["rollingUpdate"]["partition"] = 0
    generation, released_rv = patch_spec(mc_kube, mc_ns, "canary", released)
    rec.wait(all_at("decode", NEW, 4), TIMEOUT, "every decode pod at the new image, Ready")
    rec.wait(group_ready("canary", generation), TIMEOUT, "canary Ready after the release")
    assert partition(rec.get("StatefulSet", "canary-decode")) in (0, None)
    # The rollout's deletions are of old-image pods. KWOK deletes a terminating pod by name, with no
    # UID precondition, so under load its stage can also delete the pod just recreated under that
    # name (seen: "Delete pod canary-decode-2" twice, 40 ms apart): a new-image deletion, not ours.
    deleted = [
        e.name for e in sorted(rec.events, key=lambda e: e.rv)
        if e.kind == "Pod" and e.type == "DELETED" and e.rv > released_rv and image(e.obj) == OLD
    ]
    assert deleted == ["canary-decode-2", "canary-decode-1", "canary-decode-0"], story(rec, released_rv)
    assert created_old(rec, changed_rv) == []
    prefill_now = uids(pods(rec.live("Pod"), "prefill"))
    assert prefill_now == {n: before[n] for n in prefill_now} and len(prefill_now) == 2
    assert images(pods(rec.live("Pod"), "prefill")) == {OLD}


# --- 2. paused (the spec field), then resumed ---------------------------------------------------------
PAUSABLE = {
    "apiVersion": f"{c.GROUP}/{c.VERSION}",
    "kind": c.KIND_RBG,
    "metadata": {"name": "pausable"},
    "spec": {
        "roles": [
            {"name": "engine", "replicas": 3, "standalonePattern": {"template": {"spec": {"containers": [{"name": "engine", "image": OLD}]}}}},
            {
                "name": "gateway",
                "replicas": 2,
                "annotations": {c.ANNOTATION_ROLE_WORKLOAD_TYPE: "apps/v1/Deployment"},
                "standalonePattern": {"template": {"spec": {"containers": [{"name": "gateway", "image": OLD}]}}},
            },
        ]
    },
}


def test_paused_roles_keep_their_pods_through_an_image_change_and_roll_when_resumed(mc_kube, rec, mc_ns):
    """A StatefulSet role (paused: partition = replicas) and a Deployment role (paused: spec.paused)."""
    doc = apply_ready(mc_kube, rec, mc_ns, copy.deepcopy(PAUSABLE))
    paused = copy.deepcopy(doc["spec"])
    for r in paused["roles"]:
        r["rolloutStrategy"] = {"rollingUpdate": {"paused": True}}
    patch_spec(mc_kube, mc_ns, "pausable", paused)
    rec.wait(
        lambda r: partition(r.get("StatefulSet", "pausable-engine")) == 3
        and (r.get("Deployment", "pausable-gateway") or {}).get("spec", {}).get("paused") is True,
        TIMEOUT, "engine held at partition 3 and gateway's Deployment paused",
    )
    before = uids(rec.live("Pod"))
    assert len(before) == 5

    _, changed_rv = patch_spec(mc_kube, mc_ns, "pausable", with_images(paused, NEW, "engine", "gateway"))
    rec.wait(
        lambda r: image(r.get("StatefulSet", "pausable-engine")) == NEW and image(r.get("Deployment", "pausable-gateway")) == NEW,
        TIMEOUT, "the new templates handed to both workloads",
    )
    rec.quiet(10)  # nothing may happen to any pod meanwhile
    touched = [f"{e.type} {e.name}" for e in rec.events if e.kind == "Pod" and e.rv > changed_rv and (e.type != "MODIFIED" or image(e.obj) == NEW)]
    assert touched == [], "a paused role's pods are neither replaced nor created at the new image"
    assert uids(rec.live("Pod")) == before and images(rec.live("Pod")) == {OLD}

    resumed = with_images(doc["spec"], NEW, "engine", "gateway")  # `paused` dropped
    generation, resumed_rv = patch_spec(mc_kube, mc_ns, "pausable", resumed)
    rec.wait(all_at("engine", NEW, 3), TIMEOUT, "every engine pod at the new image, Ready")
    rec.wait(all_at("gateway", NEW, 2), TIMEOUT, "every gateway pod at the new image, Ready")
    rec.wait(group_ready("pausable", generation), TIMEOUT, "pausable Ready after resume")
    assert partition(rec.get("StatefulSet", "pausable-engine")) in (0, None)
    assert not rec.get("Deployment", "pausable-gateway")["spec"].get("paused")
    assert not set(uids(rec.live("Pod")).values()) & set(before.values())
    assert created_old(rec, resumed_rv) == []


# --- 3. coordinated prefill/decode rollout ----------------------------------------------------------------
COORDINATED = "pd-coordinated"  # examples/rollouts/coordinated.yaml


def finish_in_step(rec: Recorder, sizes: dict[str, int], generation: int) -> None:
    """Wait for every pod at the new image, the group Ready and Coordinating False InStep."""
    for name, n in sizes.items():
        rec.wait(all_at(name, NEW, n), TIMEOUT, f"every {name} pod at the new image, Ready")
    rec.wait(group_ready(COORDINATED, generation), TIMEOUT, f"{COORDINATED} Ready at the new images")

    def in_step(r: Recorder) -> bool:
        g = r.get("RoleBasedGroup", COORDINATED)
        co = cond(g, c.COND_COORDINATING) if g else None
        return (
            co is not None and co["status"] == "False" and co["reason"] == c.REASON_IN_STEP
            and g["status"].get("observedGeneration") == generation
        )

    rec.wait(in_step, TIMEOUT, "Coordinating False InStep")


def check_in_step(rec: Recorder, sizes: dict[str, int], changed_rv: int, bound: Fraction) -> Fraction:
    """At every recorded event after the change: the skew of what runs, and of what the hooks allow.

    A role's updated fraction is its pods at the new image that exist (not being deleted) over its
    replicas: pods are what serves, and each pod event is exactly one change. (The StatefulSets'
    status.updatedReplicas lags the pods, and until the StatefulSet controller has seen a new
    template it still counts every pod of the old revision as updated.) A StatefulSet at the new
    template lets (replicas - partition) of its pods update: that share may not run ahead of another
    role's updated pods by more than the bound either. Returns the largest skew seen."""
    worst, trace, problems = Fraction(0), [], []
    for e, state in replay(rec.events):
        live, workloads = of_kind(state, "Pod"), of_kind(state, "StatefulSet")
        fractions = {name: Fraction(sum(image(p) == NEW for p in pods(live, name).values()), n) for name, n in sizes.items()}
        if e.rv <= changed_rv:
            assert set(fractions.values()) == {0}
            continue
        allowed = {
            name: Fraction(n - (partition(sts) or 0), n)
            for name, n in sizes.items()
            if (sts := workloads.get(f"{COORDINATED}-{name}")) and image(sts) == NEW
        }
        gap = max(fractions.values()) - min(fractions.values())
        worst = max(worst, gap)
        trace.append(
            f"rv {e.rv} {e.type} {e.kind}/{e.name}: updated "
            + ", ".join(f"{k} {v}" for k, v in fractions.items())
            + "; allowed " + ", ".join(f"{k} {v}" for k, v in allowed.items())
            + f" [{detail(e)}]"
        )
        if gap > bound:
            problems.append(f"rv {e.rv}: updated fractions differ by {gap} > {bound}")
        for name, share in allowed.items():
            ahead = share - min(f for other, f in fractions.items() if other != name)
            if ahead > bound:
                problems.append(f"rv {e.rv}: {name} allowed {share}, {ahead} ahead of the other role's updated pods (> {bound})")
    problems += [f"{pod} created at the old image" for pod in created_old(rec, changed_rv)]
    assert problems == [], "\n".join(problems) + "\nevery event from the change on:\n" + "\n".join(trace)
    assert fractions == {name: 1 for name in sizes}, "\n".join(trace[-30:])
    return worst


def coordinated_setup(kube: Client, rec: Recorder, ns: str) -> tuple[Obj, dict[str, int], Fraction]:
    path = ROLLOUTS / "coordinated.yaml"
    (policy,) = [d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == c.KIND_COORDINATED_POLICY]
    doc = apply_ready(kube, rec, ns, group_doc(path), policy)  # prefill 4, decode 2; the policy of its name
    sizes = {r["name"]: r["replicas"] for r in doc["spec"]["roles"]}
    skew = policy["spec"]["policies"][0]["strategy"]["rollingUpdate"]["maxSkew"]  # 25%, maxUnavailable 1
    return doc, sizes, one_pod_bound(skew, list(sizes.values()))


def test_a_coordinated_rollout_keeps_prefill_and_decode_within_the_skew_at_every_event(mc_kube, rec, mc_ns):
    doc, sizes, bound = coordinated_setup(mc_kube, rec, mc_ns)
    generation, changed_rv = patch_spec(mc_kube, mc_ns, COORDINATED, with_images(doc["spec"], NEW, "prefill", "decode"))
    finish_in_step(rec, sizes, generation)
    worst = check_in_step(rec, sizes, changed_rv, bound)
    print(f"coordinated rollout: largest skew {worst} (bound {bound})")

    # Both roles really were rolled in step: neither finished before the other started.
    first_new = {name: min(e.rv for e in rec.events if e.kind == "Pod" and role_of(e.obj) == name and image(e.obj) == NEW) for name in sizes}
    last_old_gone = {
        name: max(e.rv for e in rec.events if e.kind == "Pod" and e.type == "DELETED" and role_of(e.obj) == name and image(e.obj) == OLD)
        for name in sizes
    }
    assert max(first_new.values()) < min(last_old_gone.values()), (first_new, last_old_gone)

    # Coordinating: True with both roles named while it advanced, then False InStep.
    seen = [
        (co["status"], co["reason"], co["message"])
        for e in rec.of("RoleBasedGroup", COORDINATED)
        if e.rv > changed_rv and (co := cond(e.obj, c.COND_COORDINATING))
    ]
    advancing = [s for s in seen if s[0] == "True"]
    assert advancing, f"Coordinating never True during the rollout: {seen}"
    assert all(s[1] == c.REASON_ADVANCING_IN_STEP and "pd: " in s[2] and "prefill" in s[2] and "decode" in s[2] for s in advancing), advancing
    assert seen[-1][:2] == ("False", c.REASON_IN_STEP)
    for name in sizes:
        sts = rec.get("StatefulSet", f"{COORDINATED}-{name}")
        assert partition(sts) in (0, None) and sts["status"]["updatedReplicas"] == sizes[name]


def test_a_coordinated_rollout_waits_for_the_statefulset_controller_to_see_the_new_template(mc_cluster, mc_kube, rec, mc_ns):
    """The same rollout, with the StatefulSet controller late: kube-controller-manager is stopped
    (SIGSTOP) while the new images are handed over, as when its queue is long (README: 27 s at 5,000
    pods). The StatefulSets then carry the new template while their status still describes the old
    one (observedGeneration behind, updatedReplicas = every old pod). Metacontroller syncs again on
    its own writes meanwhile; the hooks must keep each role at its first step (prefill partition 3 of
    4, decode 2 of 2) until the controller reports on the new template."""
    doc, sizes, bound = coordinated_setup(mc_kube, rec, mc_ns)
    controller_manager = mc_cluster.components["kube-controller-manager"].live()
    assert controller_manager is not None
    syncs = hook_calls(mc_cluster, mc_ns)
    controller_manager.send_signal(signal.SIGSTOP)
    try:
        generation, changed_rv = patch_spec(mc_kube, mc_ns, COORDINATED, with_images(doc["spec"], NEW, "prefill", "decode"))
        rec.wait(
            lambda r: all(image(r.get("StatefulSet", f"{COORDINATED}-{name}")) == NEW for name in sizes),
            TIMEOUT, "the new template handed to both StatefulSets",
        )
        rec.quiet(5)  # Metacontroller's syncs on its own writes, each reading the stale status
        late = [e for e in rec.events if e.kind == "StatefulSet" and e.rv > changed_rv]
        resynced = hook_calls(mc_cluster, mc_ns) - syncs
    finally:
        controller_manager.send_signal(signal.SIGCONT)
    assert resynced >= 2, f"only {resynced} syncs while the controller was stopped"
    assert all((e.obj.get("status") or {}).get("observedGeneration", 0) < e.obj["metadata"]["generation"] for e in late)
    partitions = [(e.rv, e.name.removeprefix(f"{COORDINATED}-"), partition(e.obj)) for e in late if image(e.obj) == NEW]
    assert {(name, p) for _, name, p in partitions} == {("prefill", 3), ("decode", 2)}, (
        f"partitions handed to the StatefulSets while their status was of the old template: {partitions}"
    )

    finish_in_step(rec, sizes, generation)
    worst = check_in_step(rec, sizes, changed_rv, bound)
    print(f"coordinated rollout, late controller: largest skew {worst} (bound {bound})")


# --- 4. upstream examples reach Ready -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", [UPSTREAM / "basics" / "coordination.yaml", UPSTREAM / "basics" / "rbg-with-roletemplates.yaml"], ids=lambda p: p.stem
)
def test_upstream_example_becomes_ready(mc_kube, rec, mc_ns, path):
    """Applied unchanged (their replicas are small: 7 + 3 and 2 + 3)."""
    doc = apply_ready(mc_kube, rec, mc_ns, group_doc(path))
    name = doc["metadata"]["name"]
    assert cond(rec.get("RoleBasedGroup", name), "Ready")["status"] == "True"
    live = rec.live("Pod")
    for r in doc["spec"]["roles"]:
        mine = pods(live, r["name"])
        assert len(mine) == r["replicas"] and all(pod_ready(p) for p in mine.values()), f"{r['name']}: {sorted(mine)}"

    if path.stem == "rbg-with-roletemplates":
        # The template's label, image and resources, merged with each role's patch (by container name).
        want = {
            "frontend": ({"containerPort": 80, "name": "http", "protocol": "TCP"}, {"cpu": "100m", "memory": "64Mi"}),
            "backend": ({"containerPort": 8080, "name": "http", "protocol": "TCP"}, {"cpu": "200m", "memory": "128Mi"}),
        }
        for role_name, (port, requests) in want.items():
            template = rec.get("StatefulSet", f"{name}-{role_name}")["spec"]["template"]
            assert template["metadata"]["labels"]["app"] == "nginx"
            (container,) = [x for x in template["spec"]["containers"] if x["name"] == "nginx"]
            assert container["image"] == "nginx:1.24"
            assert container["ports"] == [port]
            assert container["resources"]["requests"] == requests
            # ... and what reached the pods.
            pod = rec.get("Pod", f"{name}-{role_name}-0")
            assert pod["metadata"]["labels"]["app"] == "nginx"
            assert pod["spec"]["containers"][0]["resources"]["requests"] == requests


# --- 5. coordinated scaling ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "example", ["coordination-scaling-simple", "coordination-scaling-fast", "coordination-scaling-order-ready"]
)
def test_upstream_coordinated_scaling_grows_in_step_and_becomes_ready(mc_kube, rec, mc_ns, example):
    """coordination/scaling/*.yaml: e.g. simple, prefill 10 and decode 10, maxSkew 10%, OrderScheduled;
    fast, 100 and 50 at 20%; order-ready, three roles (50, 30, ...) at 5%, OrderReady. Only
    `metadata.namespace: default` is dropped, so each lands in the test's namespace. Not scaled
    down: the pods start in seconds here, and scaled down the bound (one pod's share) would loosen.

    The scaled fraction of a role is its StatefulSet's spec.replicas (what the hooks let it have) over
    the role's replicas; checked at every recorded event."""
    doc = group_doc(UPSTREAM / "coordination" / "scaling" / f"{example}.yaml")
    doc["metadata"].pop("namespace")
    apply_ready(mc_kube, rec, mc_ns, doc)
    name = doc["metadata"]["name"]
    sizes = {r["name"]: r["replicas"] for r in doc["spec"]["roles"]}
    bound = one_pod_bound(doc["spec"]["coordination"][0]["strategy"]["scaling"]["maxSkew"], list(sizes.values()))

    steps: dict[str, list[int]] = {r: [] for r in sizes}
    for e, state in replay(rec.events):
        workloads = of_kind(state, "StatefulSet")
        got = {r: int((workloads.get(f"{name}-{r}") or {}).get("spec", {}).get("replicas", 0)) for r in sizes}
        for r, n in got.items():
            if not steps[r] or steps[r][-1] != n:
                steps[r].append(n)
        fractions = {r: Fraction(n, sizes[r]) for r, n in got.items()}
        gap = max(fractions.values()) - min(fractions.values())
        assert gap <= bound, f"scaled fractions {fractions} differ by {gap} > {bound} at rv {e.rv} ({e.kind}/{e.name})"
    print(f"coordinated scaling: spec.replicas over time {steps}")
    for r, values in steps.items():
        assert values == sorted(set(values)), f"{r} never shrinks: {values}"
        assert values[-1] == sizes[r] and len(values) > 3, f"{r} grows in steps: {values}"

    live = rec.live("Pod")
    for r, n in sizes.items():
        mine = pods(live, r)
        assert len(mine) == n and all(pod_ready(p) for p in mine.values())
    co = cond(rec.get("RoleBasedGroup", name), c.COND_COORDINATING)
    assert (co["status"], co["reason"]) == ("False", c.REASON_IN_STEP)
