"""One failure, one recreation (and at most one backoff timer), however stale Metacontroller's cache is.

Metacontroller reads the group from its informer cache: a sync may see the status written by the
one before it, or an older one (each informer only ever moves forward). This property drives the
sync hook through any interleaving of such syncs, the garbage collector deleting a deleted
StatefulSet's pods, and the StatefulSet controller creating pods, after one container restart, and
checks that each role's StatefulSet is deleted exactly once and the group ends recreated once.
The observed children and pods are what the hook's previous answers made of the world; the model
is the cache, not Kubernetes.
"""

import copy
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hooks import constants as c
from tests.support import container_status, observe, pod, related_pods, request, sync
from tests.unit.test_recovery import CREATED, REV, group, running

ROLES = ("db", "app")


class World:
    def __init__(self, recreated_before: bool = False) -> None:
        self.g = group()
        children, first = running(self.g)
        if recreated_before:  # a minute before this failure: this one waits for the backoff timer
            first.status["recovery"].update(restartCount=1, streak=1, lastRecreationTime="2026-01-01T00:09:00Z")
        self.sts = {name.split("/")[1]: obj for name, obj in children[c.CHILD_STATEFULSET].items()}
        for sts in self.sts.values():
            sts["metadata"]["uid"] = f"sts-0-{sts['metadata']['name']}"
        self.pods = {}
        for sts in self.sts.values():
            for i in range(sts["spec"]["replicas"]):
                self.pods[f"{sts['metadata']['name']}-{i}"] = self._pod(sts["metadata"]["name"], i, "uid-0")
        self.pods["minimal-app-1"]["status"]["containerStatuses"][0].update(
            restartCount=1, lastState={"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2026-01-01T00:10:00Z"}}
        )
        self.others = {k: v for k, v in children.items() if k != c.CHILD_STATEFULSET}
        self.statuses = [first.status]  # every status written, in order
        self.maps = [None]  # every recovery ConfigMap applied, in order
        self.seen_status = self.seen_map = 0  # what each informer of the cache has caught up to
        self.deleted = {r: 0 for r in ROLES}
        self.jobs: dict[str, dict] = {}
        self.timers = 0  # timer Jobs created
        self.uid = 0

    def _pod(self, sts: str, i: int, uid: str) -> dict:
        """A Running, Ready pod of the StatefulSet at REV, its container not restarted."""
        role = sts.removeprefix("minimal-")
        owner = {"kind": "StatefulSet", "name": sts, "uid": self.sts[sts]["metadata"]["uid"]}
        return pod(
            f"{sts}-{i}", uid=uid, generation=1, created=CREATED, role=role, revision=REV, owners=[owner],
            phase="Running", ready=True, containers=[container_status(role, restarts=0)],
        )

    def sync(self, status_fresh: bool, map_fresh: bool) -> None:
        if status_fresh:
            self.seen_status = len(self.statuses) - 1
        if map_fresh:
            self.seen_map = len(self.maps) - 1
        children = copy.deepcopy(self.others)
        children[c.CHILD_STATEFULSET] = {f"default/{n}": s for n, s in self.sts.items()}
        children[c.CHILD_JOB] = {f"default/{n}": j for n, j in self.jobs.items()}
        children[c.CHILD_CONFIGMAP] = {k: v for k, v in children[c.CHILD_CONFIGMAP].items() if not k.endswith("-recovery")}
        if self.maps[self.seen_map] is not None:
            children[c.CHILD_CONFIGMAP].update(observe([self.maps[self.seen_map]])[c.CHILD_CONFIGMAP])
        g = copy.deepcopy(self.g)
        g["status"] = self.statuses[self.seen_status]
        result = sync(request(g, children, related=related_pods(p for _, p in sorted(self.pods.items()))))
        self.statuses.append(result.status)
        (kept,) = [ch for ch in result.children if ch["metadata"]["name"] == "minimal-recovery"]
        if kept != self.maps[-1]:
            self.maps.append(kept)
        timers = {ch["metadata"]["name"]: ch for ch in result.children if ch["kind"] == c.KIND_JOB}
        for name in set(self.jobs) - set(timers):
            del self.jobs[name]
        for name in set(timers) - set(self.jobs):
            self.timers += 1
            self.jobs[name] = observe([timers[name]])[c.CHILD_JOB][f"default/{name}"]
        returned = {ch["metadata"]["name"]: ch for ch in result.children if ch["kind"] == c.KIND_STATEFULSET}
        for name in set(self.sts) - set(returned):
            self.deleted[name.removeprefix("minimal-")] += 1
            del self.sts[name]
        for name in set(returned) - set(self.sts):
            sts = observe([returned[name]], update_revision=REV)[c.CHILD_STATEFULSET][f"default/{name}"]
            self.uid += 1
            sts["metadata"]["uid"] = f"sts-{self.uid}"
            self.sts[name] = sts

    def fire(self) -> None:
        """The Job controller: every timer's deadline has passed."""
        for job in self.jobs.values():
            job["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}

    def collect_garbage(self) -> None:
        for name in [n for n in self.pods if n.rsplit("-", 1)[0] not in self.sts]:
            del self.pods[name]

    def start_pods(self) -> None:
        for name, sts in self.sts.items():
            for i in range(sts["spec"]["replicas"]):
                if f"{name}-{i}" not in self.pods:
                    self.uid += 1
                    self.pods[f"{name}-{i}"] = self._pod(name, i, f"uid-{self.uid}")


STEP = st.one_of(st.tuples(st.just("sync"), st.booleans(), st.booleans()), st.just(("gc",)), st.just(("start",)), st.just(("fire",)))


def run(world: World, steps: list) -> dict:
    for step in steps:
        if step[0] == "sync":
            world.sync(step[1], step[2])
        else:
            {"gc": world.collect_garbage, "start": world.start_pods, "fire": world.fire}[step[0]]()
    for _ in range(6):  # then the cache catches up and the controllers do their work
        world.sync(True, True)
        world.fire()
        world.collect_garbage()
        world.start_pods()
    assert world.deleted == {"db": 1, "app": 1}, json.dumps(world.deleted)
    assert set(world.sts) == {"minimal-db", "minimal-app"} and not world.jobs
    return world.statuses[-1]["recovery"]


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, max_size=40))
def test_one_failure_is_one_recreation_whatever_the_cache_shows(steps):
    rec = run(World(), steps)
    assert (rec["phase"], rec["restartCount"]) == ("Watching", 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(STEP, max_size=40))
def test_after_a_backoff_too(steps):
    world = World(recreated_before=True)
    rec = run(world, steps)
    assert (rec["phase"], rec["restartCount"], rec["streak"]) == ("Watching", 2, 2)
    assert world.timers == 1  # one timer Job, fired once, never made again by a stale copy
