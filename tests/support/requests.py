"""Hook requests as Metacontroller sends them, and the children it shows after applying an answer."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from typing import Any

from hooks import constants as c
from hooks.api import AdapterSyncRequest, GangReadySyncRequest, SetSyncRequest, SyncRequest
from hooks.conversion.v1alpha1 import to_hub
from hooks.core import adapter, gangready, rbg, rbgs

from .pods import workload_revision

Obj = dict[str, Any]
# The child types metacontroller/compositecontroller.yaml registers, by child kind.
KEYS = {
    "ConfigMap": c.CHILD_CONFIGMAP,
    "Service": c.CHILD_SERVICE,
    "StatefulSet": c.CHILD_STATEFULSET,
    "Deployment": c.CHILD_DEPLOYMENT,
    c.KIND_RBGSA: c.CHILD_ADAPTER,
    c.KIND_CONTROLLER_REVISION: c.CHILD_CONTROLLER_REVISION,
    c.KIND_JOB: c.CHILD_JOB,
}


def child_key(obj: Obj) -> str:
    """The key of an object's type in a request's children: "Kind.apiVersion"."""
    return f"{obj['kind']}.{obj['apiVersion']}"


def controller(name: str = "rolebasedgroup") -> Obj:
    return {"metadata": {"name": name}}


def observe(
    desired: list[Obj],
    ready: bool | set[str] = True,
    time: str = "2026-01-01T00:01:00Z",
    types: Iterable[str] = (),
    revisions: bool = False,
    update_revision: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Children as Metacontroller observes them after applying `desired`.

    Every registered type is there (KEYS, and the optional `types`: LeaderWorkerSets, PodGroups),
    each child stamped and carrying what it was last applied as. Workloads get a status: all
    replicas ready when `ready` is True or names their role (a LeaderWorkerSet's in groups, and
    Available). `revisions`: a StatefulSet's status names the revision it rolls to
    (tests.support.pods.workload_revision, the label of its pods from workload_pods);
    `update_revision`: every StatefulSet's status.updateRevision is that one (and nothing else of
    revisions is set).
    """
    children: dict[str, dict[str, Any]] = {key: {} for key in KEYS.values()}
    for key in types:
        children.setdefault(key, {})
    for child in desired:
        obj = copy.deepcopy(child)
        meta = obj["metadata"]
        meta["namespace"] = "default"
        meta["generation"] = 1
        meta.setdefault("uid", f"uid-{obj['kind'].lower()}-{meta['name']}")
        meta["creationTimestamp"] = time
        meta.setdefault("annotations", {})[c.ANNOTATION_LAST_APPLIED] = json.dumps(child, separators=(",", ":"))
        role = (meta.get("labels") or {}).get(c.LABEL_ROLE_NAME)
        is_ready = ready is True or (isinstance(ready, set) and role in ready)
        if obj["kind"] in (c.KIND_STATEFULSET, c.KIND_DEPLOYMENT):
            n = obj["spec"]["replicas"]
            obj["status"] = {
                "observedGeneration": 1,
                "replicas": n,
                "readyReplicas": n if is_ready else 0,
                "updatedReplicas": n,
            }
            if revisions and obj["kind"] == c.KIND_STATEFULSET:
                obj["status"]["currentRevision"] = obj["status"]["updateRevision"] = workload_revision(obj)
            if update_revision is not None and obj["kind"] == c.KIND_STATEFULSET:
                obj["status"]["updateRevision"] = update_revision
        elif obj["kind"] == c.KIND_LWS:
            n = obj["spec"]["replicas"]
            available = {"type": c.LWS_CONDITION_AVAILABLE, "status": "True" if is_ready else "False", "reason": "AllGroupsReady", "message": "", "lastTransitionTime": time}
            obj["status"] = {"observedGeneration": 1, "replicas": n, "readyReplicas": n if is_ready else 0, "updatedReplicas": n, "conditions": [available]}
        children.setdefault(child_key(obj), {})[f"default/{meta['name']}"] = obj
    return children


def go_json(obj: Any) -> str:
    """JSON as Go's encoding/json writes it, as in Metacontroller's last-applied annotation."""
    text = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char in "<>&\u2028\u2029":  # HTML-safe escapes; these occur only inside strings
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def request(
    parent_obj: Obj,
    children: dict[str, dict[str, Any]] | None = None,
    related: dict[str, Any] | None = None,
    types: Iterable[str] = (),
    finalizing: bool = False,
) -> Obj:
    """A RoleBasedGroup sync request (a finalize request if `finalizing`); with no children, every
    registered type (KEYS, `types`) empty."""
    return {
        "controller": controller("rolebasedgroup"),
        "parent": parent_obj,
        "children": children if children is not None else {key: {} for key in dict.fromkeys([*KEYS.values(), *types])},
        "related": related if related is not None else {},
        "finalizing": finalizing,
    }


def related_profiles(profiles: Iterable[Obj]) -> dict[str, Any]:
    """EngineRuntimeProfiles as a request's related objects (cluster-scoped: keyed "/name")."""
    return {c.RELATED_ENGINE_RUNTIME_PROFILE: {f"/{p['metadata']['name']}": p for p in profiles}}


def customize_request(parent_obj: Obj, controller_name: str = "rolebasedgroup") -> Obj:
    return {"controller": controller(controller_name), "parent": parent_obj}


def as_hub(req: Obj) -> Obj:
    """The request with a v1alpha1 parent converted, as hooks.app does before the core."""
    parent = req["parent"]
    return {**req, "parent": to_hub(parent)} if parent.get("apiVersion") == c.API_VERSION_V1ALPHA1 else req


def sync(req: Obj) -> rbg.Result:
    return rbg.sync(SyncRequest.model_validate(as_hub(req)))


def finalize(req: Obj) -> rbg.Result:
    """The finalize hook's answer to a request (see request(finalizing=True))."""
    return rbg.finalize(SyncRequest.model_validate(as_hub(req)))


def startup_stages(parent_obj: Obj) -> list[Obj]:
    """Requests from nothing observed to all ready; each observes the previous response, every workload ready."""
    reqs = [request(parent_obj)]
    for step in range(1, 10):
        result = sync(reqs[-1])
        with_status = copy.deepcopy(parent_obj)
        with_status["status"] = result.status
        reqs.append(request(with_status, observe(result.children, time=f"2026-01-01T00:{step:02d}:00Z")))
        if sync(reqs[-1]).children == result.children:
            return reqs
    raise AssertionError("startup did not converge")


def by_kind(children: list[Obj]) -> dict[tuple[str, str], Obj]:
    return {(ch["kind"], ch["metadata"]["name"]): ch for ch in children}


# RoleBasedGroupSet ----------------------------------------------------------------------------


def observe_members(
    children: list[Obj],
    ready: bool | set[int] = True,
    generation_seen: bool = True,
    *,
    time: str | None = None,
    status: Callable[[Obj], Obj] | None = None,
) -> dict[str, dict[str, Any]]:
    """A set's members as Metacontroller observes them after applying `children`.

    Status: `status(member)`, or a Ready condition, True for all (`ready` True), none, or a set
    of indices, at the member's generation unless not `generation_seen`. `time`: the members
    get a uid and a creation time."""
    out = {}
    for child in children:
        obj = copy.deepcopy(child)
        meta = obj["metadata"]
        meta["namespace"] = "default"
        if time is not None:
            meta["uid"] = f"uid-rolebasedgroup-{meta['name']}"
        meta["generation"] = 1
        if time is not None:
            meta["creationTimestamp"] = time
        meta.setdefault("annotations", {})[c.ANNOTATION_LAST_APPLIED] = json.dumps(child, separators=(",", ":"))
        if status is not None:
            obj["status"] = status(obj)
        else:
            index = int(meta["labels"][c.LABEL_SET_INDEX])
            is_ready = ready is True or (isinstance(ready, set) and index in ready)
            obj["status"] = {
                "observedGeneration": 1 if generation_seen else 0,
                "conditions": [{"type": "Ready", "status": "True" if is_ready else "False", "reason": "x", "message": "x"}],
            }
        out[f"default/{meta['name']}"] = obj
    return {c.CHILD_RBG: out}


def set_request(parent_obj: Obj, children: dict[str, dict[str, Any]] | None = None, controller_name: str | None = None) -> Obj:
    """A RoleBasedGroupSet sync request; with no children, no members."""
    return {
        "controller": controller(controller_name) if controller_name else {},
        "parent": parent_obj,
        "children": children or {c.CHILD_RBG: {}},
        "related": {},
        "finalizing": False,
    }


def sync_set(parent_obj: Obj, children: dict[str, dict[str, Any]] | None = None) -> rbgs.Result:
    return rbgs.sync(SetSyncRequest.model_validate(as_hub(set_request(parent_obj, children))))


# RoleBasedGroupScalingAdapter, gang-ready pods ------------------------------------------------


def adapter_request(parent_obj: Obj, related: dict[str, Any] | None = None) -> Obj:
    """A RoleBasedGroupScalingAdapter sync request (no children): its group and pods are related."""
    return {"controller": controller("rolebasedgroupscalingadapter"), "parent": parent_obj, "children": {}, "related": related or {}, "finalizing": False}


def sync_adapter(req: Obj) -> adapter.Result:
    """The scaling adapter hook's answer to a sync request."""
    return adapter.sync(AdapterSyncRequest.model_validate(as_hub(req)))


def gang_request(target: Obj, *others: Obj, related_self: bool = True) -> Obj:
    """A gang-ready sync request as Metacontroller sends it: the target is among its own related pods."""
    pods = [target, *others] if related_self else list(others)
    return {
        "controller": controller("gang-ready"),
        "object": target,
        "attachments": {},
        "related": {c.RELATED_POD: {f"{p['metadata']['namespace']}/{p['metadata']['name']}": p for p in pods}},
        "finalizing": False,
    }


def sync_gang(req: Obj) -> Obj:
    """The gang-ready hook's answer to a sync request."""
    return gangready.sync(GangReadySyncRequest.model_validate(req))
