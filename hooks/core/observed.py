"""What Metacontroller observed: the group's children, read into the facts the core needs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeGuard

from .. import constants as c
from ..api import Parent

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

    @classmethod
    def from_request(cls, children: dict[str, dict[str, Any]]) -> Observed:
        objects = {}
        for key in c.CHILD_TYPES:
            kind = key.split(".", 1)[0]
            # Hook v1 keys children by name, v2 by "namespace/name": read the name from the object.
            for obj in children[key].values():
                objects[(kind, obj["metadata"]["name"])] = obj
        return cls(objects)

    def workload(self, name: str) -> dict[str, Any] | None:
        """The role workload of that name, of whichever kind it was created as."""
        return self.objects.get((c.KIND_STATEFULSET, name)) or self.objects.get((c.KIND_DEPLOYMENT, name))

    def as_applied(self) -> list[dict[str, Any]]:
        """Every observed child exactly as the hooks last returned it: returning these changes nothing."""
        return [last_applied(obj) for _, obj in sorted(self.objects.items(), key=lambda kv: kv[0])]


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


def counts(obj: dict[str, Any] | None) -> RoleCounts:
    status = (obj or {}).get("status") or {}
    return RoleCounts(
        replicas=int(status.get("replicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        updated=int(status.get("updatedReplicas") or 0),
    )


def is_ready(obj: dict[str, Any] | None, desired: int) -> bool:
    """Every desired replica is ready and updated, as seen by the controller at the object's generation."""
    if obj is None:
        return False
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    generation = obj.get("metadata", {}).get("generation", 0)
    if int(status.get("observedGeneration") or 0) < generation:
        return False
    if int(spec.get("replicas", 1)) != desired:
        return False
    got = counts(obj)
    return got.ready >= desired and got.updated >= desired


def request_time(parent: Parent, children: dict[str, dict[str, Any]]) -> str:
    """The latest time recorded in the request: when the newest observed write happened.

    Conditions take their lastTransitionTime from here instead of a clock, so the same
    request always gives the same response. Kubernetes writes every timestamp as
    "YYYY-MM-DDThh:mm:ssZ", so the latest is the greatest string.
    """
    times = [EPOCH, parent.metadata.creationTimestamp or EPOCH]
    times += [f.get("time") or EPOCH for f in parent.metadata.managedFields]
    times += [cond.get("lastTransitionTime") or EPOCH for cond in (parent.status or {}).get("conditions") or []]
    for key in c.CHILD_TYPES:
        for obj in children[key].values():
            meta = obj.get("metadata") or {}
            times.append(meta.get("creationTimestamp") or EPOCH)
            times += [f.get("time") or EPOCH for f in meta.get("managedFields") or []]
    return max(times)
