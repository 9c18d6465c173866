"""A recorder of watch events in one namespace, for tests that assert on what happened and when.

One thread per kind runs a lightkube watch from a given resourceVersion, so no event after it is
missed however late a thread connects. Each event is kept with the time it arrived and its
object's resourceVersion. With one etcd, resourceVersions are etcd revisions: a single, global
order of every write, which orders events of different kinds exactly where arrival times across
threads can not.
"""

from __future__ import annotations

import gc
import threading

import msgspec
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightkube.types import on_error_retry

from rbgclient.kube import as_dict, connect, has_condition

Obj = dict[str, Any]


@dataclass(frozen=True)
class Event:
    at: float  # time.monotonic() on arrival
    type: str  # ADDED, MODIFIED, DELETED
    kind: str
    name: str
    rv: int
    obj: Obj

    @property
    def labels(self) -> dict[str, str]:
        return self.obj["metadata"].get("labels") or {}


class Recorder:
    """`kinds`: lightkube resource classes, recorded under their class name, or (name, class)
    pairs where two kinds share a name (a RoleBasedGroupSet of workloads.x-k8s.io and of openpatio.io)."""

    def __init__(self, kubeconfig: Path, namespace: str, kinds: Iterable[Any], since: str) -> None:
        self.namespace = namespace
        self.events: list[Event] = []
        self.state: dict[tuple[str, str], Obj] = {}  # (kind, name) -> latest object; deleted ones removed
        self._changed = threading.Condition()
        named = [k if isinstance(k, tuple) else (k.__name__, k) for k in kinds]
        self._kinds = [kind for _, kind in named]
        self._clients = [connect(kubeconfig) for _ in named]
        self._threads = [
            threading.Thread(target=self._watch, args=(client, name, kind, since), daemon=True, name=f"watch-{name}")
            for client, (name, kind) in zip(self._clients, named)
        ]
        self._stopped = False

    def __enter__(self) -> Recorder:
        # lightkube decodes with msgspec, which builds a type's decoder on first use; two threads
        # doing that at once crash the interpreter (seen: SIGSEGV in decode_object). Build them here.
        for kind in self._kinds:
            try:
                kind.from_dict({"metadata": {"name": "warm-up"}})
            except msgspec.ValidationError:  # a kind with other required fields (ControllerRevision): built all the same
                pass
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        # Closing a client ends its thread's watch mid-stream; lightkube never closes that streamed
        # response, so its socket is finalized unclosed, in that thread, and under the suite's
        # "error" filter the ResourceWarning became an error in whichever test was tearing down.
        # Those sockets are ours and already dead: ignore the warning while they go.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            for client in self._clients:
                client.close()
            for t in self._threads:
                t.join(5)
            gc.collect()

    def _watch(self, client: Any, name: str, kind: Any, since: str) -> None:
        try:
            # The server ends each watch after a second and lightkube resumes it from the last
            # resourceVersion, so nothing is lost, and a closed client ends the loop within a second.
            watch = client.watch(kind, namespace=self.namespace, resource_version=since, server_timeout=1, on_error=on_error_retry)
            for type_, obj in watch:
                d = as_dict(obj)
                meta = d["metadata"]
                event = Event(time.monotonic(), type_, name, meta["name"], int(meta["resourceVersion"]), d)
                with self._changed:
                    self.events.append(event)
                    if type_ == "DELETED":
                        self.state.pop((event.kind, event.name), None)
                    else:
                        self.state[(event.kind, event.name)] = d
                    self._changed.notify_all()
        except Exception:
            if not self._stopped:
                raise

    # --- waiting ------------------------------------------------------------------------------------
    def wait(self, predicate: Callable[[Recorder], bool], timeout: float, what: str) -> float:
        """Block until `predicate(self)` holds after some event; returns the monotonic time it did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}; {self.summary()}")
                self._changed.wait(left)
            return time.monotonic()

    def quiet(self, seconds: float) -> list[Event]:
        """Sleep `seconds` and return the events that arrived meanwhile."""
        start = len(self.events)
        time.sleep(seconds)
        with self._changed:
            return self.events[start:]

    # --- reading ------------------------------------------------------------------------------------
    def get(self, kind: str, name: str) -> Obj | None:
        with self._changed:
            return self.state.get((kind, name))

    def of(self, kind: str, name: str | None = None, type_: str | None = None) -> list[Event]:
        with self._changed:
            return [
                e for e in self.events
                if e.kind == kind and (name is None or e.name == name) and (type_ is None or e.type == type_)
            ]

    def live(self, kind: str) -> dict[str, Obj]:
        with self._changed:
            return {name: obj for (k, name), obj in self.state.items() if k == kind}

    def summary(self) -> str:
        with self._changed:
            kinds: dict[str, int] = {}
            for k, _ in self.state:
                kinds[k] = kinds.get(k, 0) + 1
            return f"{len(self.events)} events; live: {kinds}"


def group_ready(name: str, generation: int = 1) -> Callable[[Recorder], bool]:
    """The group's Ready condition is True for its current generation, at least `generation`
    (the one a test's own spec change produced: the recorder may not have seen that change yet)."""

    def check(r: Recorder) -> bool:
        group = r.get("RoleBasedGroup", name)
        return (
            group is not None
            and group["metadata"]["generation"] >= generation
            and has_condition(group, "Ready")
            and (group.get("status") or {}).get("observedGeneration") == group["metadata"]["generation"]
        )

    return check


def pod_ready(pod: Obj) -> bool:
    return has_condition(pod, "Ready")
