"""Gang-ready pod labels, the API of jhwagner/podgroup-controller: (a pod, the pods of its group) -> its labels.

A pod labelled `podgroup.jhwagner.github.io/name: <group>` gets
`podgroup.jhwagner.github.io/ready: "true"` once every pod of that group (the pods of its
namespace with the same label value, as they exist: there is no minimum count) is Running.
The label is never removed, as in the origin: a gang that was complete stays marked.

Metacontroller asks about one pod at a time, so the pods of a gang are labelled one after the
other, and a labelled pod may finish (a KWOK Stage completes it) before the next is asked about.
A pod that carries the ready label and Succeeded therefore still counts: it ran in a complete
gang. A Pending, Failed or unlabelled Succeeded pod holds every unlabelled pod of its group back.

Pure: the group's pods come as related objects (customize hook); the answer is a function of
the request alone, linear in its pods.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import GangReadySyncRequest

Pod = dict[str, Any]
READY = {c.LABEL_PODGROUP_READY: c.PODGROUP_READY_VALUE}


def group_of(pod: Pod) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(c.LABEL_PODGROUP_NAME)


def is_ready(pod: Pod) -> bool:
    return (pod["metadata"].get("labels") or {}).get(c.LABEL_PODGROUP_READY) == c.PODGROUP_READY_VALUE


def counts(pod: Pod) -> bool:
    """Whether a pod lets its gang be complete: Running, or Succeeded after it was marked ready."""
    phase = (pod.get("status") or {}).get("phase")
    return phase == c.POD_RUNNING or (phase == c.POD_SUCCEEDED and is_ready(pod))


def customize(pod: Pod) -> dict[str, Any]:
    """The pods of the pod's group (the pod itself among them); none for a pod of no group."""
    group = group_of(pod)
    if group is None:
        return {"relatedResources": []}
    selector = {"matchLabels": {c.LABEL_PODGROUP_NAME: group}}
    return {
        "relatedResources": [
            {"apiVersion": "v1", "resource": "pods", "namespace": pod["metadata"]["namespace"], "labelSelector": selector}
        ]
    }


def gang(target: Pod, related: list[Pod]) -> list[Pod] | None:
    """The target and the other pods of its group, or None when `related` does not list the target
    under its group (a customize answer for an earlier label value)."""
    group, namespace, name = group_of(target), target["metadata"]["namespace"], target["metadata"]["name"]
    mates = [p for p in related if p["metadata"]["namespace"] == namespace and group_of(p) == group]
    if not any(p["metadata"]["name"] == name for p in mates):
        return None
    return [target, *(p for p in mates if p["metadata"]["name"] != name)]


def sync(request: GangReadySyncRequest) -> dict[str, Any]:
    """The target's labels: ready once its gang is complete, kept once set; nothing is removed."""
    target = request.target
    if is_ready(target):
        return {"labels": dict(READY)}
    if group_of(target) is None:
        return {"labels": {}}
    members = gang(target, list(request.related[c.RELATED_POD].values()))
    if members is None:
        return {"labels": {}, "resyncAfterSeconds": c.GANG_STALE_RESYNC_SECONDS}
    return {"labels": dict(READY) if all(map(counts, members)) else {}}
