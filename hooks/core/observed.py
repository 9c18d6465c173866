"""What Metacontroller observed: the group's children and pods, read into the facts the core needs.

Pods are not children (a StatefulSet owns them): the customize hook asks Metacontroller for
them as related objects, selected by the group's unique-key label. They are fresher than a
workload's status, whose counts wait in the workload controller's queue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from collections.abc import Iterable
from typing import Any, TypeGuard

from .. import constants as c
from ..api import AnyParent, child_types
from ..naming import group_unique_key

EPOCH = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class RoleCounts:
    replicas: int
    ready: int
    updated: int


@dataclass(frozen=True)
class Observed:
    """Observed children keyed by (kind, name); children of unknown kinds are ignored."""

    objects: dict[tuple[str, str], dict[str, Any]]
    # The group's pods by role, or None when pods are not observed (a registration without
    # the customize hook): then only the workloads' status counts.
    pods: dict[str, list[dict[str, Any]]] | None = None
    # The engine runtime profiles the customize hook asked for, by name (hooks.core.runtimes).
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The CoordinatedPolicy that binds the group (its namespace and name), when there is one.
    policy: dict[str, Any] | None = None
    # last_applied of each object, by id(), parsed once per request (several planners compare with it).
    _applied: dict[int, dict[str, Any]] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_request(
        cls, children: dict[str, dict[str, Any]], related: dict[str, Any] | None = None, namespace: str = "", group: str = ""
    ) -> Observed:
        objects = {}
        for key in child_types(children):
            kind = key.split(".", 1)[0]
            # Hook v1 keys children by name, v2 by "namespace/name": read the name from the object.
            for obj in children[key].values():
                objects[(kind, obj["metadata"]["name"])] = obj
        if related is None:
            return cls(objects)
        profiles: dict[str, dict[str, Any]] = {}
        for profile in map(_mapping, _mapping(related.get(c.RELATED_ENGINE_RUNTIME_PROFILE)).values()):
            name = _mapping(profile.get("metadata")).get("name")
            if isinstance(name, str):  # cluster-scoped: keyed "/<name>" (hook v2) or "<name>" (v1)
                profiles[name] = profile
        policy = None
        for candidate in map(_mapping, _mapping(related.get(c.RELATED_COORDINATED_POLICY)).values()):
            meta = _mapping(candidate.get("metadata"))
            if (meta.get("namespace"), meta.get("name")) == (namespace, group) and not meta.get("deletionTimestamp"):
                policy = _mapping(candidate.get("spec"))
        if c.RELATED_POD not in related:  # the customize hook asked for no pods
            return cls(objects, None, profiles, policy)
        pods: dict[str, list[dict[str, Any]]] = {}
        group = _mapping(related.get(c.RELATED_POD))
        for name in sorted(group):
            pod = _mapping(group[name])
            meta = _mapping(pod.get("metadata"))
            role = _mapping(meta.get("labels")).get(c.LABEL_ROLE_NAME)
            # The customize hook's label selection spans namespaces; a pod elsewhere is not ours.
            if isinstance(role, str) and meta.get("namespace") == namespace:
                pods.setdefault(role, []).append(pod)
        return cls(objects, pods, profiles, policy)

    def workload(self, name: str) -> dict[str, Any] | None:
        """The role workload of that name, of whichever kind it was created as."""
        return next(filter(None, (self.objects.get((kind, name)) for kind in c.WORKLOAD_KINDS)), None)

    def role_pods(self, role: str) -> list[dict[str, Any]] | None:
        return None if self.pods is None else self.pods.get(role, [])

    def applied(self, obj: dict[str, Any]) -> dict[str, Any]:
        """last_applied(obj), parsed once per request."""
        if id(obj) not in self._applied:
            self._applied[id(obj)] = last_applied(obj)
        return self._applied[id(obj)]

    def as_applied(self) -> list[dict[str, Any]]:
        """Every observed child exactly as the hooks last returned it: returning these changes nothing."""
        return [self.applied(obj) for _, obj in sorted(self.objects.items(), key=lambda kv: kv[0])]


def last_applied(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    raw = (meta.get("annotations") or {}).get(c.ANNOTATION_LAST_APPLIED)
    try:
        applied = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        applied = None
    if _is_applied(applied, obj):
        return applied
    # Not created through Metacontroller's apply (or the annotation was edited into something
    # else): keep it as it is, minus server-owned fields.
    keep = {k: meta[k] for k in ("name", "labels", "annotations") if k in meta}
    return {**{k: v for k, v in obj.items() if k not in ("metadata", "status")}, "metadata": keep}


def _is_applied(applied: Any, obj: dict[str, Any]) -> TypeGuard[dict[str, Any]]:
    """Whether a decoded last-applied annotation is this very child."""
    if not isinstance(applied, dict) or not isinstance(applied.get("metadata"), dict):
        return False
    same = (applied["metadata"].get("name"), applied.get("kind"), applied.get("apiVersion"))
    return same == (obj["metadata"]["name"], obj["kind"], obj["apiVersion"])


def wants_pods(annotations: dict[str, str], spec: dict[str, Any]) -> bool:
    """Whether a group needs its pods observed: a role has a recovery policy (hooks.core.recovery;
    a LeaderWorkerSet role's is LWS's own), or its placement may leave pods unschedulable
    (topology annotations, gang scheduling), which status then explains (hooks.core.pending), or
    an Ordered group with dependencies asks for the Pods startup gate (is_ready reads them).

    Read from the raw spec: an invalid spec freezes the group whatever it observes. Metacontroller
    caches the answer per generation: an annotation added later counts from the next spec change.
    """
    roles = [_mapping(r) for r in _list(spec.get("roles"))]
    placed = any(k in annotations for k in (*c.ANNOTATIONS_EXCLUSIVE_TOPOLOGY, c.ANNOTATION_COLOCATED_TOPOLOGY))
    recovered = any(_restart_policy(r) in (c.RESTART_RECREATE_GROUP, c.RESTART_RECREATE_ROLE) and _kind(r) not in (c.KIND_LWS, c.KIND_ROLE_INSTANCE_SET) for r in roles)
    drains = any(r.get("drainPolicy") is not None for r in roles)  # hooks.core.drain reads the drained annotation
    gang = annotations.get(c.ANNOTATION_GANG) == "true" or c.ANNOTATION_V1ALPHA1_POD_GROUP_POLICY in annotations
    gated = (
        annotations.get(c.ANNOTATION_STARTUP_GATE) == c.STARTUP_GATE_PODS
        and spec.get("startupPolicy", c.STARTUP_ORDERED) == c.STARTUP_ORDERED
        and any(_list(r.get("dependencies")) for r in roles)
    )
    return placed or recovered or drains or gang or gated


def _kind(role: dict[str, Any]) -> str:
    """A raw role's workload kind, as hooks.api.RoleSpec.workload reads it."""
    written = _mapping(role.get("annotations")).get(c.ANNOTATION_ROLE_WORKLOAD_TYPE)
    if isinstance(written, str) and written:
        return written.rpartition("/")[2]
    if "leaderWorkerPattern" in role:
        return c.KIND_LWS
    return c.KIND_ROLE_INSTANCE_SET if "customComponentsPattern" in role else c.KIND_STATEFULSET


def _restart_policy(role: dict[str, Any]) -> str:
    """A raw role's restart policy, as hooks.api.RoleSpec.restart_policy reads it."""
    standalone = not ("leaderWorkerPattern" in role or "customComponentsPattern" in role)
    pattern = _mapping(role.get("standalonePattern") or role.get("leaderWorkerPattern") or role.get("customComponentsPattern"))
    written = _mapping(pattern.get("restartPolicyConfig")).get("type") or (None if standalone else pattern.get("restartPolicy"))
    recreates = not standalone or _kind(role) == c.KIND_LWS
    return str(written or (c.RESTART_RECREATE_ROLE if recreates else c.RESTART_NONE))


def profile_names(spec: dict[str, Any]) -> list[str]:
    """The ClusterEngineRuntimeProfiles the raw spec's roles name in engineRuntimes, sorted, once each."""
    names = {_mapping(e).get("profileName") for r in _list(spec.get("roles")) for e in _list(_mapping(r).get("engineRuntimes"))}
    return sorted(n for n in names if isinstance(n, str) and n)


def customize(namespace: str, group: str, annotations: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    """The customize hook's answer: the group's pods, by the label only our pod templates carry,
    for a group that needs them (each pod costs a sync); the engine runtime profiles its roles
    name, by name (cluster-scoped), for a group that names any; and the CoordinatedPolicy of its
    namespace and name."""
    related: list[dict[str, Any]] = []
    if wants_pods(annotations, spec):
        selector = {"matchLabels": {c.LABEL_GROUP_UNIQUE_KEY: group_unique_key(namespace, group)}}
        related.append({"apiVersion": "v1", "resource": "pods", "labelSelector": selector})
    if profiles := profile_names(spec):
        related.append({"apiVersion": c.API_VERSION, "resource": c.ENGINE_RUNTIME_PROFILES, "names": profiles})
    related.append({"apiVersion": c.API_VERSION, "resource": c.COORDINATED_POLICIES, "namespace": namespace, "names": [group]})
    return {"relatedResources": related}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _current(obj: dict[str, Any]) -> bool:
    """Whether the workload's status was written for its current spec."""
    status = obj.get("status") or {}
    return int(status.get("observedGeneration") or 0) >= int(obj.get("metadata", {}).get("generation", 0))


def _lws_available(obj: dict[str, Any]) -> bool:
    """A LeaderWorkerSet's condition Available is True for its current spec: the generation its
    status records, or, from an LWS controller that records none (before v0.7), the condition's."""
    status, generation = _mapping(obj.get("status")), int(_mapping(obj.get("metadata")).get("generation") or 0)
    for cond in map(_mapping, _list(status.get("conditions"))):
        if cond.get("type") == c.LWS_CONDITION_AVAILABLE and cond.get("status") == "True":
            seen = status.get("observedGeneration") if "observedGeneration" in status else cond.get("observedGeneration")
            return int(seen or 0) >= generation
    return False


def pod_ready(pod: dict[str, Any]) -> bool:
    meta, status = _mapping(pod.get("metadata")), _mapping(pod.get("status"))
    ready = any(_mapping(cond).get("type") == "Ready" and _mapping(cond).get("status") == "True" for cond in _list(status.get("conditions")))
    return ready and not meta.get("deletionTimestamp")


def lingers(pod: dict[str, Any]) -> bool:
    """A pod being deleted, or still owned by a workload (one that is gone: garbage collection
    will delete it). Orphaned on purpose (`--cascade=orphan`), it has no owner and does not linger."""
    meta = _mapping(pod.get("metadata"))
    return bool(meta.get("deletionTimestamp") or meta.get("ownerReferences"))


def counts(obj: dict[str, Any] | None, pods: list[dict[str, Any]] | None = None) -> RoleCounts:
    """A role's replicas, ready and updated counts.

    A StatefulSet's are counted from its observed pods when there are any to count (its pods
    carry the revision they run); otherwise, and for Deployments, from the workload's status.
    """
    status = (obj or {}).get("status") or {}
    if obj is None or pods is None or obj.get("kind") != c.KIND_STATEFULSET:
        return RoleCounts(
            replicas=int(status.get("replicas") or 0),
            ready=int(status.get("readyReplicas") or 0),
            updated=int(status.get("updatedReplicas") or 0),
        )
    live = [p for p in pods if not _mapping(p.get("metadata")).get("deletionTimestamp")]
    revision = status.get("updateRevision") if _current(obj) else None
    updated = [p for p in live if revision and _mapping(p["metadata"].get("labels")).get(c.LABEL_REVISION) == revision]
    return RoleCounts(replicas=len(live), ready=sum(map(pod_ready, live)), updated=len(updated))


def is_ready(obj: dict[str, Any] | None, desired: int, pods: list[dict[str, Any]] | None = None) -> bool:
    """Every desired replica is ready and runs the current spec.

    From the workload's status at its generation, or, as soon as they show it, from its pods:
    every one of the desired ordinals Ready and of the revision the controller is rolling to.
    A LeaderWorkerSet's `desired` and counts are groups, from its status only: Available for its
    current spec, and every desired group ready and updated.
    """
    if obj is None or int((obj.get("spec") or {}).get("replicas", 1)) != desired:
        return False
    if obj.get("kind") == c.KIND_LWS:  # in groups: each counted ready once its leader and every worker are
        got = counts(obj)
        return _lws_available(obj) and got.ready >= desired and got.updated >= desired
    if not _current(obj):
        return False
    got = counts(obj)
    if got.ready >= desired and got.updated >= desired:
        return True
    if pods is None or obj.get("kind") != c.KIND_STATEFULSET:
        return False
    name, revision = obj["metadata"]["name"], (obj.get("status") or {}).get("updateRevision")
    good = 0
    for pod in pods:
        ordinal = pod["metadata"].get("name", "").removeprefix(f"{name}-")
        labels = _mapping(pod["metadata"].get("labels"))
        if ordinal.isdigit() and int(ordinal) < desired and revision and labels.get(c.LABEL_REVISION) == revision:
            good += pod_ready(pod)
    return good >= desired


def latest_time(parent: AnyParent, objects: Iterable[dict[str, Any]]) -> str:
    """The latest time recorded in a request: when the newest observed write happened.

    Conditions take their lastTransitionTime from here instead of a clock, so the same
    request always gives the same response. Kubernetes writes every timestamp as
    "YYYY-MM-DDThh:mm:ssZ", so the latest is the greatest string.
    """
    times = [EPOCH, parent.metadata.creationTimestamp or EPOCH]
    times += [f.get("time") or EPOCH for f in parent.metadata.managedFields]
    times += [cond.get("lastTransitionTime") or EPOCH for cond in (parent.status or {}).get("conditions") or []]
    for obj in objects:
        meta = _mapping(obj.get("metadata"))
        fields = meta.get("managedFields")
        for value in [meta.get("creationTimestamp"), *(_mapping(f).get("time") for f in _list(fields))]:
            if isinstance(value, str):
                times.append(value)
    return max(times)


def request_time(parent: AnyParent, children: dict[str, dict[str, Any]], observed: Observed) -> str:
    """The latest time among the parent, its children and its pods (see latest_time)."""
    objects = [obj for key in child_types(children) for obj in children[key].values()]
    objects += [pod for pods in (observed.pods or {}).values() for pod in pods]
    return latest_time(parent, objects)


def workload_templates(workload: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod templates of a role workload as observed or returned: a LeaderWorkerSet's leader and
    worker templates, another kind's one. KeyError or TypeError if it is not shaped as one."""
    if workload["kind"] == c.KIND_LWS:
        lwt = workload["spec"]["leaderWorkerTemplate"]
        return [lwt["leaderTemplate"], lwt["workerTemplate"]]
    return [workload["spec"]["template"]]


def pods_per_replica(workload: dict[str, Any]) -> int:
    """Pods per unit of a role workload's `replicas`: a LeaderWorkerSet's group size, else 1."""
    if workload["kind"] == c.KIND_LWS:
        return int(workload["spec"]["leaderWorkerTemplate"].get("size") or 1)
    return 1
