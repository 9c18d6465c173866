"""Gang-ready pod labels under the real Metacontroller (the gang-ready DecoratorController) and the
real scheduler and KWOK, asserted on recorded watch events (see watch.py), never by polling: the
ready label comes exactly when the last pod of a gang runs, the origin's Stage then completes the
pods, and two gangs on too few GPUs deadlock with neither marked.

Needs RBG_METACONTROLLER=/path/to/metacontroller; skipped otherwise (conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from lightkube import ApiError, Client
from lightkube.resources.core_v1 import Node, Pod
from lightkube.types import PatchType

from hooks import constants as c
from rbgclient.kube import apply_manifests, has_condition, load_documents
from tests.e2e.watch import Event, Recorder
from tests.support import ROOT, pod as build_pod

pytestmark = pytest.mark.metacontroller

KINDS = (Pod,)
GANG_READY = ROOT / "examples" / "gang-ready"
TIMEOUT = 60
# How long an incomplete gang is watched for a label that must not come.
QUIET_SECONDS = 8
# The label follows the last pod's Running within this (a Metacontroller sync and an update).
PROMPT_SECONDS = 10
Obj = dict[str, Any]


# --- reading the record ---------------------------------------------------------------------------------
def labels(obj: Obj) -> dict[str, str]:
    return obj["metadata"].get("labels") or {}


def phase(obj: Obj) -> str | None:
    return (obj.get("status") or {}).get("phase")


def marked(obj: Obj) -> bool:
    return labels(obj).get(c.LABEL_PODGROUP_READY) == c.PODGROUP_READY_VALUE


def of_gang(r: Recorder, gang: str) -> list[Event]:
    """The gang's pod events in revision order (one etcd: the order the writes happened in)."""
    return sorted((e for e in r.of("Pod") if labels(e.obj).get(c.LABEL_PODGROUP_NAME) == gang), key=lambda e: e.rv)


def first(events: list[Event], predicate: Callable[[Event], bool]) -> Event:
    return next(e for e in events if e.type != "DELETED" and predicate(e))


def every(r: Recorder, gang: str, names: set[str], predicate: Callable[[Obj], bool]) -> bool:
    """Each named pod of the gang has had an event whose object satisfies `predicate`."""
    return {e.name for e in of_gang(r, gang) if e.type != "DELETED" and predicate(e.obj)} >= names


def assert_marked_only_when_complete(events: list[Event]) -> None:
    """Replay the gang's events: a pod gains the label only at a revision at which every pod of the
    gang is Running, or already marked and Succeeded (it ran in the complete gang)."""
    live: dict[str, Obj] = {}
    for e in events:
        was = live.get(e.name)
        if e.type == "DELETED":
            live.pop(e.name, None)
            continue
        live[e.name] = e.obj
        if marked(e.obj) and not (was is not None and marked(was)):
            states = {n: (phase(p), marked(p)) for n, p in live.items()}
            assert all(ph == c.POD_RUNNING or (ph == c.POD_SUCCEEDED and m) for ph, m in states.values()), (
                f"{e.name} marked at rv {e.rv} while the gang was {states}"
            )


# --- the objects ------------------------------------------------------------------------------------------
def worker(name: str, gang: str, gated: bool = False) -> Obj:
    """A bare pod of the gang; `gated` holds it unscheduled until its scheduling gate is removed."""
    spec: Obj = {"containers": [{"name": "worker", "image": "fake-image"}]}
    if gated:
        spec["schedulingGates"] = [{"name": "example.com/hold"}]
    return build_pod(name, namespace=None, labels={c.LABEL_PODGROUP_NAME: gang}, spec=spec)


@contextmanager
def example(kube: Client, r: Recorder, ns: str, name: str) -> Iterator[list[Obj]]:
    """Apply examples/gang-ready/<name> as it is (its pods, then the nodes they run on) and give its
    documents; afterwards delete its pods, then, once they are gone, its nodes."""
    docs = load_documents([GANG_READY / name])
    pods = {d["metadata"]["name"] for d in docs if d["kind"] == "Pod"}
    try:
        apply_manifests(kube, docs, namespace=ns)
        yield docs
    finally:
        for pod in pods:  # at once: cleanup, not KWOK's deletion stages, which a loaded machine may delay
            try:
                kube.delete(Pod, pod, namespace=ns, grace_period=0)
            except ApiError:
                pass
        r.wait(lambda rr: not pods & set(rr.live("Pod")), TIMEOUT, f"pods {sorted(pods)} deleted")
        for doc in docs:
            if doc["kind"] == "Node":
                try:
                    kube.delete(Node, doc["metadata"]["name"])
                except ApiError:
                    pass


# --- tests ----------------------------------------------------------------------------------------------
def test_the_ready_label_comes_exactly_when_the_last_pod_of_the_gang_runs(mc_kube, rec, mc_ns):
    gang, names = "gang-1", {"w0", "w1", "w2"}
    # The held pod first: a gang is the pods that exist, so none may run before all exist.
    apply_manifests(mc_kube, [worker("w2", gang, gated=True), worker("w0", gang), worker("w1", gang)], namespace=mc_ns)
    rec.wait(lambda r: every(r, gang, {"w0", "w1"}, lambda p: phase(p) == c.POD_RUNNING), TIMEOUT, "w0 and w1 Running")

    rec.quiet(QUIET_SECONDS)  # two of three run, w2 is held: the gang is not complete
    assert not [f"{e.name} rv={e.rv}" for e in of_gang(rec, gang) if marked(e.obj)]
    assert phase(rec.get("Pod", "w2") or {}) == "Pending"

    mc_kube.patch(Pod, "w2", {"spec": {"schedulingGates": None}}, namespace=mc_ns, patch_type=PatchType.MERGE)
    rec.wait(lambda r: every(r, gang, names, marked), TIMEOUT, "every pod of the gang marked ready")

    events = of_gang(rec, gang)
    last_running = first(events, lambda e: e.name == "w2" and phase(e.obj) == c.POD_RUNNING)
    first_mark = first(events, lambda e: marked(e.obj))
    assert first_mark.rv > last_running.rv  # never before
    assert first_mark.at - last_running.at < PROMPT_SECONDS, f"marked {first_mark.at - last_running.at:.1f}s after"
    assert_marked_only_when_complete(events)
    # Once marked, a pod stays marked (KWOK then completes it: the origin's Stage).
    for name in names:
        mark = first(events, lambda e: e.name == name and marked(e.obj))
        assert all(marked(e.obj) for e in events if e.name == name and e.rv > mark.rv and e.type != "DELETED")


def test_the_stage_example_completes_a_gang_once_it_is_marked(mc_kube, rec, mc_ns):
    """examples/gang-ready/training-job.yaml under the origin's pod-complete-on-ready Stage."""
    with example(mc_kube, rec, mc_ns, "training-job.yaml") as docs:
        pods = [d for d in docs if d["kind"] == "Pod"]
        gang, names = pods[0]["metadata"]["labels"][c.LABEL_PODGROUP_NAME], {p["metadata"]["name"] for p in pods}
        rec.wait(lambda r: every(r, gang, names, lambda p: phase(p) == c.POD_SUCCEEDED), TIMEOUT, "every worker Succeeded")

    events = of_gang(rec, gang)
    assert_marked_only_when_complete(events)
    last_running = max(first(events, lambda e, n=n: e.name == n and phase(e.obj) == c.POD_RUNNING).rv for n in names)
    for name in names:
        mark = first(events, lambda e: e.name == name and marked(e.obj))
        done = first(events, lambda e: e.name == name and phase(e.obj) == c.POD_SUCCEEDED)
        assert last_running < mark.rv < done.rv  # all ran, then each was marked, then completed
        assert marked(done.obj) and has_condition(done.obj, "Ready")  # what the Stage's template writes


def test_the_deadlock_example_leaves_both_gangs_unready(mc_kube, rec, mc_ns):
    """examples/gang-ready/deadlock.yaml: interleaved gangs on too few GPUs each get half."""
    with example(mc_kube, rec, mc_ns, "deadlock.yaml") as docs:
        pods = [d for d in docs if d["kind"] == "Pod"]
        gpus = sum(int(d["status"]["allocatable"]["nvidia.com/gpu"]) for d in docs if d["kind"] == "Node")
        fit = gpus // int(pods[0]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
        names = {p["metadata"]["name"] for p in pods}
        gangs = {p["metadata"]["labels"][c.LABEL_PODGROUP_NAME] for p in pods}

        def settled(r: Recorder) -> bool:
            """As many pods Running as the GPUs take, every other one found Unschedulable."""
            live = [p for n, p in r.live("Pod").items() if n in names]
            running = [p for p in live if phase(p) == c.POD_RUNNING]
            unschedulable = [p for p in live if any(x.get("reason") == "Unschedulable" for x in (p.get("status") or {}).get("conditions") or [])]
            return len(running) == fit and len(unschedulable) == len(names) - fit

        rec.wait(settled, TIMEOUT, f"{fit} pods Running, the others Unschedulable")
        rec.quiet(QUIET_SECONDS)
        live = {n: p for n, p in rec.live("Pod").items() if n in names}
        running = {g: sorted(n for n, p in live.items() if labels(p)[c.LABEL_PODGROUP_NAME] == g and phase(p) == c.POD_RUNNING) for g in gangs}
        assert {g: len(r) for g, r in running.items()} == {g: fit // len(gangs) for g in gangs}, running  # half of each gang
        assert sorted(phase(p) for p in live.values()) == ["Pending"] * (len(names) - fit) + [c.POD_RUNNING] * fit
        assert not [f"{e.name} rv={e.rv}" for g in gangs for e in of_gang(rec, g) if marked(e.obj)]  # neither ever marked
