"""The RoleInstance core: (instance, its pods, its own status) -> its pods and status.

Each component of the spec has `size` pods (1 when unset), named as upstream (hooks.constants)
and labelled with their identity and their component template's revision. Per pod:

- missing: created, once the components its `component-depends-on` `startAfter` names are all
  Ready (a cycle or unreadable annotation: no ordering, as upstream);
- terminating: left out, so it is created again once it is gone (a replacement never waits on a
  Failed or Evicted pod of the same name: that pod is deleted first);
- at the current revision: returned as built (no write);
- outdated: updated in place when only container images, labels and annotations differ
  (Kubernetes lets those change on a live pod: same node, same volumes); otherwise left out to be
  recreated, or, for an instance annotated `update-type: InPlaceOnly`, kept as it runs with
  FailedUpdate True naming the pods.

Failures: a pod Failed (phase) or a container restarted more often than its in-place update
baseline counts, on a pod without `restart-trigger-policy: Ignore`. With restartPolicy
RecreateRoleInstanceOnPodRestart the whole instance is recreated (every pod left out) once per
failed pod: the failed pod's uid is kept in status.lastFailure with its cause, after it is gone.
Otherwise a Failed pod alone is replaced and a container restart is the kubelet's business.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from .. import constants as c
from ..api import InstanceComponent, InstanceSyncRequest, RoleInstanceSpec
from ..children import pods as pod_builder
from ..decisions import InstancePod
from ..naming import content_hash
from .observed import last_applied, latest_time
from .result import Result
from .status import condition, merge_conditions


def pod_name(instance: str, component: str, index: int, role_type: str) -> str:
    if role_type == c.ROLE_TYPE_LWS:
        return f"{instance}-{index + 1 if component == 'worker' else index}"
    if role_type == c.ROLE_TYPE_POD:
        return instance
    return f"{instance}-{component}-{index}"


def size(component: InstanceComponent) -> int:
    return 1 if component.size is None else component.size


def revision(component: InstanceComponent) -> str:
    return content_hash(component.model_dump(mode="json", by_alias=True, exclude_none=True), 10)


def identities(name: str, labels: dict[str, str], spec: RoleInstanceSpec) -> list[tuple[InstanceComponent, InstancePod]]:
    """Every pod the spec asks for, in component order."""
    role_type = labels.get(c.LABEL_ROLE_TYPE, c.ROLE_TYPE_COMPONENTS)
    inherited = tuple((k, labels[k]) for k in (c.LABEL_ROLE_INSTANCE_INDEX, c.LABEL_ROLE_INSTANCE_OWNER) if k in labels)
    out = []
    for comp in spec.components:
        rev = revision(comp)
        for i in range(size(comp)):
            own = [(c.LABEL_ROLE_INSTANCE_NAME, name), *inherited, (c.LABEL_COMPONENT_NAME, comp.name), (c.LABEL_COMPONENT_ID, str(i))]
            if role_type == c.ROLE_TYPE_LWS:
                own.append((c.LABEL_COMPONENT_INDEX, str(i + 1 if comp.name == "worker" else i)))
            out.append((comp, InstancePod(name=pod_name(name, comp.name, i, role_type), labels=tuple(own), revision=rev)))
    return out


def _terminating(pod: dict[str, Any]) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        cond.get("type") == "Ready" and cond.get("status") == "True" for cond in status.get("conditions") or []
    )


def _scheduled(pod: dict[str, Any]) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _without_mutable(pod: dict[str, Any]) -> dict[str, Any]:
    """A pod's spec minus what Kubernetes lets change on a live pod: container images."""
    spec = dict(pod.get("spec") or {})
    for key in ("containers", "initContainers"):
        if isinstance(spec.get(key), list):
            spec[key] = [{k: v for k, v in ctr.items() if k != "image"} if isinstance(ctr, dict) else ctr for ctr in spec[key]]
    return spec


def in_place(applied: dict[str, Any], built: dict[str, Any]) -> bool:
    """Whether `applied` becomes `built` by an update of the live pod."""
    return _without_mutable(applied) == _without_mutable(built)


def _images(pod: dict[str, Any]) -> dict[str, str]:
    spec = pod.get("spec") or {}
    return {ctr.get("name"): ctr.get("image") for key in ("containers", "initContainers") for ctr in spec.get(key) or [] if isinstance(ctr, dict)}


def _restarts(pod: dict[str, Any]) -> dict[str, int]:
    status = pod.get("status") or {}
    return {cs.get("name"): int(cs.get("restartCount") or 0) for key in ("containerStatuses", "initContainerStatuses") for cs in status.get(key) or []}


def failure(pod: dict[str, Any], baselines: dict[str, Any], now: str) -> dict[str, Any] | None:
    """Why the pod counts as failed, or None: Failed, or restarted beyond its in-place baseline."""
    meta = pod["metadata"]
    if (meta.get("annotations") or {}).get(c.ANNOTATION_RESTART_TRIGGER_POLICY) == c.RESTART_TRIGGER_IGNORE or _terminating(pod):
        return None
    status = pod.get("status") or {}
    cause = {"pod": meta["name"], "uid": meta.get("uid", ""), "time": now}
    if status.get("phase") == "Failed":
        return {**cause, "reason": status.get("reason") or c.REASON_POD_FAILED, "message": status.get("message", "")}
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            base = int(((baselines.get(meta["name"]) or {}).get(cs.get("name")) or {}).get("restartCount") or 0)
            if int(cs.get("restartCount") or 0) > base:
                last = (cs.get("lastState") or {}).get("terminated") or {}
                return {**cause, "reason": last.get("reason") or "ContainerRestarted", "container": cs.get("name"), "exitCode": last.get("exitCode"), "message": last.get("message", "")}
    return None


def _start_after(comp: InstanceComponent) -> list[str]:
    raw = comp.annotations.get(c.ANNOTATION_COMPONENT_DEPENDS_ON) or (comp.template.get("metadata") or {}).get("annotations", {}).get(c.ANNOTATION_COMPONENT_DEPENDS_ON)
    try:
        after = json.loads(raw).get("startAfter") if raw else []
    except (ValueError, AttributeError):
        return []
    return [a for a in after if isinstance(a, str)] if isinstance(after, list) else []


def start_order(spec: RoleInstanceSpec) -> dict[str, list[str]]:
    """startAfter of each component; empty for all when the graph has a cycle or unknown names."""
    names = {comp.name for comp in spec.components}
    after = {comp.name: _start_after(comp) for comp in spec.components}
    if any(a not in names for deps in after.values() for a in deps):
        return {n: [] for n in names}
    done: set[str] = set()
    while len(done) < len(names):
        free = {n for n in names - done if set(after[n]) <= done}
        if not free:
            return {n: [] for n in names}
        done |= free
    return after


def sync(request: InstanceSyncRequest) -> Result:
    parent = request.parent
    meta = parent.metadata
    # Keyed by name: Metacontroller's v2 hooks key children "namespace/name".
    pods = [pod for pod in (request.children.get(c.CHILD_POD) or {}).values() if isinstance(pod, dict)]
    observed = {pod["metadata"]["name"]: pod for pod in sorted(pods, key=lambda p: p["metadata"]["name"])}
    previous = parent.status or {}
    now = latest_time(parent, observed.values())
    try:
        spec = RoleInstanceSpec.model_validate(parent.spec)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        message = f"spec.{'.'.join(map(str, first['loc']))}: {first['msg']}; its pods are kept as they are"
        conditions = merge_conditions(previous.get("conditions") or [], [condition(c.COND_INVALID_SPEC, True, c.REASON_INVALID_FIELDS, message)], now=now, generation=meta.generation)
        return Result(status={**previous, "conditions": conditions}, children=[last_applied(p) for p in observed.values()])

    wanted = identities(meta.name, meta.labels, spec)
    baselines: dict[str, Any] = {k: v for k, v in (previous.get("inPlaceUpdateContainerBaselines") or {}).items() if k in observed and not _terminating(observed[k])}
    last_failure = previous.get("lastFailure") or {}
    restarts = int(previous.get("restarts") or 0)
    recreate_all = spec.restart_policy == c.RESTART_RECREATE_ROLE
    failures = [f for f in (failure(observed[p.name], baselines, now) for _, p in wanted if p.name in observed) if f]
    recreating = False
    if recreate_all and failures:
        recreating = True
        if failures[0]["uid"] != last_failure.get("uid"):  # a new failure, not one seen before its pod went
            last_failure, restarts = {k: v for k, v in failures[0].items() if v not in (None, "")}, restarts + 1
        baselines = {}

    order = start_order(spec)
    ready_by_component: dict[str, int] = {}
    for comp, ident in wanted:
        pod = observed.get(ident.name)
        ready_by_component[comp.name] = ready_by_component.get(comp.name, 0) + (1 if pod is not None and not _terminating(pod) and _ready(pod) else 0)
    started = {comp.name: all(ready_by_component.get(a, 0) >= size(next(x for x in spec.components if x.name == a)) > 0 for a in order[comp.name]) for comp in spec.components}

    in_place_only = meta.annotations.get(c.ANNOTATION_UPDATE_TYPE) == "InPlaceOnly"
    children: list[dict[str, Any]] = []
    held: list[str] = []
    counts: dict[str, dict[str, int]] = {comp.name: dict.fromkeys(("ready", "updated", "scheduled", "updatedReady", "exists"), 0) for comp in spec.components}
    for comp, ident in wanted:
        built = pod_builder.pod(meta.namespace, comp, ident)
        pod = observed.get(ident.name)
        count = counts[comp.name]
        if pod is None:
            if started[comp.name] and not recreating:
                children.append(built)
            continue
        if _terminating(pod) or recreating:
            continue
        if pod.get("status", {}).get("phase") == "Failed" and not recreate_all:
            continue  # replaced once it is gone
        applied = last_applied(pod)
        current = (pod["metadata"].get("labels") or {}).get(c.LABEL_CONTROLLER_REVISION_HASH) == ident.revision
        count["exists"] += 1
        count["scheduled"] += _scheduled(pod)
        count["ready"] += _ready(pod)
        if applied == built or in_place(applied, built):
            children.append(built)
            if applied != built and _images(applied) != _images(built):
                restarts_now = _restarts(pod)
                changed = {n for n, img in _images(built).items() if _images(applied).get(n) != img}
                baselines[ident.name] = {n: {"restartCount": restarts_now.get(n, 0) + (1 if n in changed else 0)} for n in sorted(restarts_now)}
            if current:
                count["updated"] += 1
                count["updatedReady"] += _ready(pod)
        elif in_place_only:
            children.append(applied)
            held.append(ident.name)
        # else: left out, recreated at the new revision once it is gone

    statuses = [
        {
            "name": comp.name,
            "size": size(comp),
            "readyReplicas": counts[comp.name]["ready"],
            "updatedReplicas": counts[comp.name]["updated"],
            "scheduledReplicas": counts[comp.name]["scheduled"],
            "availableReplicas": counts[comp.name]["ready"],
            "updatedReadyReplicas": counts[comp.name]["updatedReady"],
        }
        for comp in spec.components
    ]
    if spec.ready_policy == c.READY_POLICY_NONE:
        ready = all(s["updatedReplicas"] >= s["size"] for s in statuses)
    else:
        ready = all(s["updatedReadyReplicas"] >= s["size"] for s in statuses)
    missing = [f"{s['name']} {s['updatedReadyReplicas']}/{s['size']}" for s in statuses if s["updatedReadyReplicas"] < s["size"]]
    conds = [
        condition(
            c.COND_ROLE_INSTANCE_READY,
            ready and not recreating,
            c.REASON_ALL_PODS_READY if ready and not recreating else c.REASON_PODS_NOT_READY,
            "every pod is ready at the current template" if ready and not recreating else f"ready pods at the current template: {', '.join(missing) or 'none'}",
        ),
        condition(c.COND_INVALID_SPEC, False, c.REASON_SPEC_VALID, "spec is valid"),
    ]
    if last_failure:
        message = f"pod {last_failure['pod']}: {last_failure['reason']}" + (f" (container {last_failure['container']})" if last_failure.get("container") else "")
        conds.append(condition(c.COND_RESTARTING, recreating or not ready, c.REASON_POD_FAILED, f"recreation {restarts} after {message}"))
    if in_place_only:
        message = f"pods {', '.join(held)} cannot take the new template in place (InPlaceOnly): they keep running the old one" if held else "every pod takes the template in place"
        conds.append(condition(c.COND_FAILED_UPDATE, bool(held), c.REASON_NOT_UPDATABLE_IN_PLACE if held else c.REASON_UPDATED_IN_PLACE, message))
    update_revision = content_hash(spec.model_dump(mode="json", by_alias=True, exclude_none=True)["components"], 10)
    status: dict[str, Any] = {
        "observedGeneration": meta.generation,
        "conditions": merge_conditions(previous.get("conditions") or [], conds, now=now, generation=meta.generation),
        "componentStatuses": statuses,
        "labelSelector": f"{c.LABEL_ROLE_INSTANCE_NAME}={meta.name}",
        "updateRevision": update_revision,
        "currentRevision": update_revision if all(s["updatedReplicas"] >= s["size"] for s in statuses) else previous.get("currentRevision", update_revision),
    }
    if baselines:
        status["inPlaceUpdateContainerBaselines"] = baselines
    if last_failure:
        status["lastFailure"] = last_failure
        status["restarts"] = restarts
    return Result(status=status, children=children)
