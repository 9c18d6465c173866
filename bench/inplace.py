"""An image change of a Ready role: a StatefulSet role against a RoleInstanceSet role, each on a
fresh local control plane (localcluster, as bench/cluster.py starts it).

    RBG_METACONTROLLER=/path/to/metacontroller .venv/bin/python bench/inplace.py
        [--pods 16] [--runs 1] [--only sts|ris] [--bin-dir DIR]

sts  one group of one standalonePattern role of `--pods` pods: a StatefulSet (rolling update).
ris  the same role annotated `rbg.workloads.x-k8s.io/role-workload-type:
     workloads.x-k8s.io/v1alpha2/RoleInstanceSet`: one-pod RoleInstances, updated in place where
     only the image changes (the RoleInstanceSet's default InPlaceIfPossible).

The group is created and waited for (every pod Ready, the group Ready; not timed); then one JSON
patch changes the role's container image. Timed, from just before the patch request, by watch
events arriving here (time.monotonic):

  pods at the new image  every pod of the role (live: not deleted, no deletionTimestamp) has the
                         new image in its spec and Ready True, `--pods` of them
  group Ready            the group's Ready condition True at the patched generation

and counted from pod UIDs: the role's pods before the patch that are gone after (deleted), the
pods after that were not there before (created), and every pod UID seen in between (a pod created
and deleted again during the roll counts in `seen`). KWOK runs no containers: a pod updated in
place keeps its Ready condition and its containerStatuses (KWOK does not restart it), so the ris
figure is the control plane's share only (no image pull, no container restart); a recreated pod is
Ready as soon as KWOK sees it scheduled.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import (  # noqa: E402
    NAMESPACE, POD_PATH, RBG_PATH, RIS_WORKLOAD, Api, Cond, Event, Watch, build_dir, cpu_seconds, problems,
    log_size, start_revision,
)
from hooks import constants as c  # noqa: E402
from localcluster.cluster import LocalCluster, metacontroller_binary  # noqa: E402

GROUP = "inplace"
ROLE = "worker"
IMAGES = ("lmsysorg/sglang:v0.5.3.post3", "lmsysorg/sglang:v0.5.4")


def group(pods: int, kind: str) -> dict[str, Any]:
    role: dict[str, Any] = {
        "name": ROLE,
        "replicas": pods,
        "standalonePattern": {"template": {"spec": {"containers": [{
            "name": ROLE, "image": IMAGES[0], "ports": [{"containerPort": 8000}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        }]}}},
    }
    if kind == "ris":
        role["annotations"] = {c.ANNOTATION_ROLE_WORKLOAD_TYPE: RIS_WORKLOAD}
    return {
        "apiVersion": c.API_VERSION, "kind": c.KIND_RBG,
        "metadata": {"name": GROUP, "namespace": NAMESPACE},
        "spec": {"roles": [role]},
    }


class Container(msgspec.Struct):
    name: str = ""
    image: str = ""


class PodSpec(msgspec.Struct):
    containers: list[Container] = []


class PodMeta(msgspec.Struct):
    name: str = ""
    uid: str = ""
    resourceVersion: str = ""
    deletionTimestamp: str | None = None
    labels: dict[str, str] = {}


class PodStatus(msgspec.Struct):
    phase: str = ""
    conditions: list[Cond] = []


class Pod(msgspec.Struct):
    metadata: PodMeta = msgspec.field(default_factory=PodMeta)
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)


class PodEvent(msgspec.Struct):
    type: str
    object: Pod


class State:
    """The role's live pods by UID, every UID seen, and the group's Ready generation."""

    def __init__(self, pods: int) -> None:
        self.want = pods
        self.live: dict[str, Pod] = {}
        self.seen: set[str] = set()
        self.group_ready_gen = 0
        self.image = IMAGES[0]
        self.pods_done = threading.Event()
        self.group_done = threading.Event()
        self.after_gen = 0
        self.t_pods: float | None = None
        self.t_group: float | None = None
        self._lock = threading.Lock()

    def _check(self, t: float) -> None:
        pods = list(self.live.values())
        if len(pods) == self.want and all(
            p.status.phase == "Running" and any(x.type == "Ready" and x.status == "True" for x in p.status.conditions)
            and all(ctr.image == self.image for ctr in p.spec.containers)
            for p in pods
        ):
            if not self.pods_done.is_set():
                self.t_pods = t
                self.pods_done.set()

    def on_pod(self, t: float, e: PodEvent) -> None:
        meta = e.object.metadata
        if meta.labels.get(c.LABEL_GROUP_NAME) != GROUP:
            return
        with self._lock:
            self.seen.add(meta.uid)
            if e.type == "DELETED" or meta.deletionTimestamp:
                self.live.pop(meta.uid, None)
            else:
                self.live[meta.uid] = e.object
            self._check(t)

    def on_group(self, t: float, e: Event) -> None:
        obj = e.object
        if obj.metadata.name != GROUP:
            return
        ready = any(x.type == c.COND_READY and x.status == "True" for x in obj.status.conditions)
        if ready and obj.status.observedGeneration == obj.metadata.generation:
            with self._lock:
                self.group_ready_gen = obj.metadata.generation
                if self.after_gen and obj.metadata.generation >= self.after_gen and not self.group_done.is_set():
                    self.t_group = t
                    self.group_done.set()

    def reset(self, image: str, generation: int) -> None:
        with self._lock:
            self.image = image
            self.after_gen = generation
            self.pods_done.clear()
            self.group_done.clear()
            self.seen = set(self.live)
            self.t_pods = self.t_group = None


def wait(event: threading.Event, what: str, timeout: float, watches: list[Watch]) -> None:
    deadline = time.monotonic() + timeout
    while not event.wait(0.5):
        for w in watches:
            if w.error is not None:
                raise RuntimeError(f"watch failed: {w.error!r}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {what} after {timeout} s")


def run_once(kind: str, args: argparse.Namespace, bin_dir: Path, mc: Path, index: int) -> dict[str, Any]:
    nodes = max(1, math.ceil(args.pods * 1.1 / 110))
    print(f"== {kind}: 1 group, 1 role of {args.pods} pods ({'RoleInstanceSet' if kind == 'ris' else 'StatefulSet'}); run {index}", flush=True)
    state = Path(tempfile.mkdtemp(prefix=f"rbg-inplace-{kind}-"))
    cluster = LocalCluster(bin_dir, state, nodes=nodes, metacontroller=mc)
    started = time.monotonic()
    cluster.start()
    print(f"cluster started in {time.monotonic() - started:.1f} s (not timed); state {state}", flush=True)
    api = Api(cluster.kubeconfig)
    s = api.session()
    watches: list[Watch] = []
    try:
        s.post(f"{api.server}/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}).raise_for_status()
        deadline = time.monotonic() + 60
        while s.get(f"{api.server}/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default").status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError("no default ServiceAccount in the bench namespace")
            time.sleep(0.2)
        rv = start_revision(api, s, [POD_PATH, RBG_PATH])
        st = State(args.pods)
        watches = [Watch(api, POD_PATH, rv, st.on_pod, event_type=PodEvent), Watch(api, RBG_PATH, rv, st.on_group)]
        for w in watches:
            w.start()
        time.sleep(1)
        offsets = (log_size(cluster, "hooks.log"), log_size(cluster, "metacontroller.log"))
        st.reset(IMAGES[0], 1)
        created = time.monotonic()
        r = s.post(api.server + RBG_PATH, data=json.dumps(group(args.pods, kind)), headers={"Content-Type": "application/json"})
        if r.status_code != 201:
            raise RuntimeError(f"create: {r.status_code} {r.text[:300]}")
        wait(st.pods_done, "every pod Ready", args.timeout, watches)
        wait(st.group_done, "the group Ready", args.timeout, watches)
        print(f"created and Ready in {time.monotonic() - created:.2f} s (not timed)", flush=True)
        time.sleep(args.settle)  # the group's and its workload's last syncs
        before = set(st.live)

        pids = {name: comp.proc.pid for name, comp in cluster.components.items() if comp.proc is not None}
        cpu_before = cpu_seconds(pids)
        generation = s.get(f"{api.server}{RBG_PATH}/{GROUP}").json()["metadata"]["generation"]
        st.reset(IMAGES[1], generation + 1)
        patch = [{"op": "replace", "path": "/spec/roles/0/standalonePattern/template/spec/containers/0/image", "value": IMAGES[1]}]
        t0 = time.monotonic()
        r = s.patch(f"{api.server}{RBG_PATH}/{GROUP}", data=json.dumps(patch), headers={"Content-Type": "application/json-patch+json"})
        r.raise_for_status()
        wait(st.pods_done, "every pod at the new image and Ready", args.timeout, watches)
        wait(st.group_done, "the group Ready at the patched generation", args.timeout, watches)
        cpu_after = cpu_seconds(pids)
        after = set(st.live)
        found = problems(cluster, *offsets)
    finally:
        for w in watches:
            w.stop()
        s.close()
        cluster.stop(keep=args.keep)
    assert st.t_pods is not None and st.t_group is not None
    result = {
        "kind": kind, "pods": st.t_pods - t0, "group": st.t_group - t0,
        "deleted": len(before - after), "created": len(after - before), "seen": len(st.seen - before),
        "cpu": {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}, "problems": found,
    }
    cpu = result["cpu"]
    print(f"image patch -> {args.pods} pods at the new image and Ready: {result['pods']:.2f} s; group Ready: {result['group']:.2f} s")
    print(f"  pods: {result['deleted']} of {len(before)} deleted, {result['created']} created "
          f"({result['seen']} new pod UIDs seen during the roll)")
    print("  CPU s from the patch to the group Ready: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])))
    print(f"  hook log: {len(found['hooks'])} failed or rejected requests; Metacontroller log: {len(found['metacontroller'])} error or failure lines")
    for source, lines in found.items():
        for line in lines[:5]:
            print(f"    {source}: {line[:400]}")
    print(flush=True)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=16, help="pods of the role")
    ap.add_argument("--runs", type=int, default=1, help="runs of each kind, alternating sts and ris")
    ap.add_argument("--only", choices=("sts", "ris"))
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--settle", type=float, default=2, help="seconds between Ready and the patch")
    ap.add_argument("--bin-dir", type=Path, help="control-plane binaries (default: tools/build.sh's cache)")
    ap.add_argument("--keep", action="store_true", help="keep each run's state dir")
    args = ap.parse_args()
    bin_dir = args.bin_dir or build_dir()
    mc = metacontroller_binary(bin_dir)
    if mc is None:
        print("no Metacontroller: set RBG_METACONTROLLER=/path/to/metacontroller (README.md)", file=sys.stderr)
        return 2
    kinds = [args.only] if args.only else ["sts", "ris"]
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    for i in range(1, args.runs + 1):
        for kind in kinds:
            results[kind].append(run_once(kind, args, bin_dir, mc, i))
    print("== summary ==")
    for kind in kinds:
        rs = results[kind]
        print(f"  {kind:<3} {args.pods} pods: image patch -> pods at the new image and Ready "
              + ", ".join(f"{r['pods']:.2f}" for r in rs) + f" s (median {statistics.median(r['pods'] for r in rs):.2f}); "
              + "group Ready " + ", ".join(f"{r['group']:.2f}" for r in rs) + " s; pods deleted/created "
              + ", ".join(f"{r['deleted']}/{r['created']}" for r in rs))
    if len(kinds) == 2:
        a, b = (statistics.median(r["pods"] for r in results[k]) for k in ("ris", "sts"))
        print(f"  ris / sts: {a / b:.2f}x (medians, pods at the new image and Ready)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
