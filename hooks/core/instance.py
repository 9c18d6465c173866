"""The RoleInstance core: (instance, its pods, its own status) -> its pods and status.

Each component of the spec has `size` pods (1 when unset), named as upstream (hooks.constants)
and labelled with their identity and their component template's revision. Per pod:

- missing: created, once the components its `component-depends-on` `startAfter` names are all
  Ready (a cycle or unreadable annotation: no ordering, as upstream), with the ports and
  addresses hooks.core.wiring gives it (an annotation it cannot follow: InvalidSpec, pods kept);
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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from .. import constants as c
from ..api import InstanceComponent, InstanceSyncRequest, RoleInstanceSpec
from ..children import pods as pod_builder
from ..children.timer import instance_timer, timer_fired
from ..decisions import InstancePod
from ..naming import content_hash
from . import wiring
from .observed import last_applied, latest_time
from .result import Result
from .status import CONDITION_ORDER, condition, merge_conditions


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


def baseline(pod: dict[str, Any]) -> dict[str, int]:
    """Restarts of each container an in-place update counted in (the pod's own annotation: it
    reaches every observer with the update that caused the restart, whatever status says)."""
    raw = (pod["metadata"].get("annotations") or {}).get(c.ANNOTATION_RESTART_BASELINE)
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, int)} if isinstance(value, dict) else {}


def failure(pod: dict[str, Any], now: str) -> dict[str, Any] | None:
    """Why the pod counts as failed, or None: Failed, or restarted beyond its in-place baseline."""
    meta = pod["metadata"]
    if (meta.get("annotations") or {}).get(c.ANNOTATION_RESTART_TRIGGER_POLICY) == c.RESTART_TRIGGER_IGNORE or _terminating(pod):
        return None
    status = pod.get("status") or {}
    cause = {"pod": meta["name"], "uid": meta.get("uid", ""), "time": now}
    if status.get("phase") == "Failed":
        return {**cause, "reason": status.get("reason") or c.REASON_POD_FAILED, "message": status.get("message", "")}
    counted = baseline(pod)
    for key in ("containerStatuses", "initContainerStatuses"):
        for cs in status.get(key) or []:
            if int(cs.get("restartCount") or 0) > counted.get(cs.get("name"), 0):
                last = (cs.get("lastState") or {}).get("terminated") or {}
                return {**cause, "reason": last.get("reason") or "ContainerRestarted", "container": cs.get("name"), "exitCode": last.get("exitCode"), "message": last.get("message", "")}
    return None


# An instance's recovery record: in its status, and stamped on its pods (_stamp).
RECORD = ("restarts", "streak", "lastRecreationTime", "lastFailure")


@dataclass(frozen=True)
class Recovery:
    """What failure recovery decides for the instance: whether every pod goes now, the backoff
    timer to keep, the state it keeps in status, and its condition."""

    recreate: bool
    timer: dict[str, Any] | None
    state: dict[str, Any]
    condition: dict[str, Any] | None


def _seconds(since: str, until: str) -> float:
    try:
        return (datetime.fromisoformat(until.replace("Z", "+00:00")) - datetime.fromisoformat(since.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return 0.0


def delays(annotations: dict[str, str]) -> tuple[int, int]:
    """The backoff's base and longest wait, from the instance's annotations (its set's role's
    restartPolicyConfig, else the group's recoveryPolicy: hooks.children.instancesets)."""
    def read(key: str, default: int) -> int:
        value = annotations.get(key, "")
        return int(value) if value.isdigit() else default
    base = read(c.ANNOTATION_RESTART_BASE_DELAY, c.DEFAULT_BACKOFF_SECONDS)
    return base, max(read(c.ANNOTATION_RESTART_MAX_DELAY, c.DEFAULT_MAX_BACKOFF_SECONDS), base)


def recover(name: str, annotations: dict[str, str], recreates: bool, failures: list[dict[str, Any]], previous: dict[str, Any], jobs: dict[str, dict[str, Any]], now: str) -> Recovery:
    """RecreateRoleInstanceOnPodRestart: the first failure of a series recreates the instance at
    once; each further one within the longest wait waits base x 2^(n - 2) seconds first (at most
    the longest wait), timed by a Job; a failure is acted on once (its pod's uid is kept)."""
    state = {k: previous[k] for k in RECORD if k in previous}
    last = previous.get("lastFailure") or {}
    if not recreates or not failures:
        return Recovery(False, None, state, None)
    found = {k: v for k, v in failures[0].items() if v not in (None, "")}
    what = f"pod {found['pod']}: {found['reason']}" + (f" (container {found['container']})" if found.get("container") else "")
    if found["uid"] == last.get("uid"):  # being recreated: its pod not yet gone from this view
        return Recovery(True, None, state, condition(c.COND_RESTARTING, True, c.REASON_RECREATING, f"recreating every pod after {what}"))
    base, most = delays(annotations)
    since, pending = state.get("lastRecreationTime"), previous.get("backoff") or {}
    if pending.get("uid") == found["uid"]:  # already waiting for this one: its series as decided then
        streak = int(pending.get("streak") or 1)
    else:
        streak = int(state.get("streak") or 0) + 1 if since and _seconds(since, now) <= most else 1
    wait = 0 if streak == 1 else min(base * 2 ** min(streak - 2, 30), most)
    restarts = int(state.get("restarts") or 0)
    timer_name = f"{name}-backoff-{restarts + 1}"
    if wait and not timer_fired(jobs.get(timer_name)):
        message = f"{what}; recreating every pod after a {wait} s backoff (Job {timer_name})"
        waiting = {**state, "backoff": {"uid": found["uid"], "streak": streak, "seconds": wait}}
        return Recovery(False, instance_timer(timer_name, name, wait), waiting, condition(c.COND_RESTARTING, True, c.REASON_BACKING_OFF, message))
    state = {"restarts": restarts + 1, "streak": streak, "lastRecreationTime": now, "lastFailure": found}
    return Recovery(True, None, state, condition(c.COND_RESTARTING, True, c.REASON_RECREATING, f"recreating every pod after {what}"))


def _depends_on(comp: InstanceComponent, key: str) -> list[str]:
    raw = comp.annotations.get(c.ANNOTATION_COMPONENT_DEPENDS_ON) or (comp.template.get("metadata") or {}).get("annotations", {}).get(c.ANNOTATION_COMPONENT_DEPENDS_ON)
    try:
        names = json.loads(raw).get(key) if raw else []
    except (ValueError, AttributeError):
        return []
    return [a for a in names if isinstance(a, str)] if isinstance(names, list) else []


def _acyclic(graph: dict[str, list[str]]) -> bool:
    done: set[str] = set()
    while len(done) < len(graph):
        free = {n for n in set(graph) - done if set(graph[n]) <= done}
        if not free:
            return False
        done |= free
    return True


def delete_gates(spec: RoleInstanceSpec) -> dict[str, set[str]]:
    """The components whose removed pods must all be gone before a component's are deleted: those
    that start after it, and those its `deleteAfter` names; none for any when the graph has a
    cycle or unknown names, as upstream."""
    names = {comp.name for comp in spec.components}
    gates = {comp.name: set(_depends_on(comp, "deleteAfter")) for comp in spec.components}
    for after, before in start_order(spec).items():
        for name in before:
            gates[name].add(after)
    if any(g - names for g in gates.values()) or not _acyclic({n: sorted(g) for n, g in gates.items()}):
        return {n: set() for n in names}
    return gates


def start_order(spec: RoleInstanceSpec) -> dict[str, list[str]]:
    """startAfter of each component; empty for all when the graph has a cycle or unknown names."""
    names = {comp.name for comp in spec.components}
    after = {comp.name: _depends_on(comp, "startAfter") for comp in spec.components}
    if any(a not in names for deps in after.values() for a in deps) or not _acyclic(after):
        return {n: [] for n in names}
    return after


def sync(request: InstanceSyncRequest) -> Result:
    parent = request.parent
    meta = parent.metadata
    # Keyed by name: Metacontroller's v2 hooks key children "namespace/name".
    pods = [pod for pod in (request.children.get(c.CHILD_POD) or {}).values() if isinstance(pod, dict)]
    observed = {pod["metadata"]["name"]: pod for pod in sorted(pods, key=lambda p: p["metadata"]["name"])}
    previous = parent.status or {}
    try:
        spec = RoleInstanceSpec.model_validate(parent.spec)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        return _invalid(request, observed, f"spec.{'.'.join(map(str, first['loc']))}: {first['msg']}")
    identified = identities(meta.name, meta.labels, spec)
    try:
        wired = wiring.plan(meta.namespace, meta.labels.get(c.LABEL_ROLE_INSTANCE_OWNER, meta.name), spec, identified)
    except wiring.WiringError as err:
        return _invalid(request, observed, str(err))
    wanted = [(comp, _wired(ident, wired.get(ident.name))) for comp, ident in identified]
    jobs = {job["metadata"]["name"]: job for job in (request.children.get(c.CHILD_JOB) or {}).values() if isinstance(job, dict)}
    now = latest_time(parent, [*observed.values(), *jobs.values()])
    recreate_all = spec.restart_policy == c.RESTART_RECREATE_ROLE
    failures = [f for f in (failure(observed[p.name], now) for _, p in wanted if p.name in observed) if f]
    recovered = recover(meta.name, meta.annotations, recreate_all, failures, _memory(previous, observed.values()), jobs, now)
    # A recreation first stamps its record on every pod, then deletes them once they all carry it:
    # a later sync that reads a stale status (Metacontroller's cache) still finds it on the pods.
    stamp = _stamp(recovered.state)
    recreating = recovered.recreate and all(_stamped(pod) == stamp for pod in observed.values() if not _terminating(pod))
    if stamp:
        wanted = [(comp, replace(ident, annotations=(*ident.annotations, (c.ANNOTATION_RECOVERY_RECORD, stamp)))) for comp, ident in wanted]

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
    baselines: dict[str, dict[str, int]] = {}
    for comp, ident in wanted:
        pod = observed.get(ident.name)
        count = counts[comp.name]
        if pod is None:
            if started[comp.name] and not recreating:
                children.append(pod_builder.pod(meta.namespace, comp, ident))
            continue
        if _terminating(pod) or recreating:
            continue
        if pod.get("status", {}).get("phase") == "Failed" and not recreate_all:
            continue  # replaced once it is gone
        applied = last_applied(pod)
        counted = baseline(applied)
        built = pod_builder.pod(meta.namespace, comp, _with_baseline(ident, counted))
        current = (pod["metadata"].get("labels") or {}).get(c.LABEL_CONTROLLER_REVISION_HASH) == ident.revision
        count["exists"] += 1
        count["scheduled"] += _scheduled(pod)
        count["ready"] += _ready(pod)
        if applied == built or in_place(applied, built):
            if _images(applied) != _images(built):  # the kubelet restarts what changed: not a failure
                now_restarts = _restarts(pod)
                changed = {n for n, img in _images(built).items() if _images(applied).get(n) != img}
                counted = {n: now_restarts.get(n, 0) + (1 if n in changed else 0) for n in sorted(set(now_restarts) | changed)}
                built = pod_builder.pod(meta.namespace, comp, _with_baseline(ident, counted))
            children.append(built)
            if counted:
                baselines[ident.name] = counted
            if current:
                count["updated"] += 1
                count["updatedReady"] += _ready(pod)
        elif in_place_only:
            children.append(applied)
            held.append(ident.name)
        # else: left out, recreated at the new revision once it is gone
    # Pods of a component shrunk or removed: deleted in the order delete_gates gives.
    names_wanted = {ident.name for _, ident in wanted}
    removed = [pod for name, pod in observed.items() if name not in names_wanted]
    left: dict[str, int] = {}
    for pod in removed:
        comp_name = (pod["metadata"].get("labels") or {}).get(c.LABEL_COMPONENT_NAME, "")
        left[comp_name] = left.get(comp_name, 0) + 1
    gates = delete_gates(spec)
    for pod in removed:
        comp_name = (pod["metadata"].get("labels") or {}).get(c.LABEL_COMPONENT_NAME, "")
        if not _terminating(pod) and not recreating and any(left.get(g) for g in gates.get(comp_name, ())):
            children.append(last_applied(pod))
    if recovered.timer is not None:
        children.append(recovered.timer)

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
    gates = {g.condition_type for g in spec.readiness_gates} - set(CONDITION_ORDER)
    kept_gates = [x for x in previous.get("conditions") or [] if x.get("type") in gates]  # written by whoever owns them
    open_gates = sorted(gates - {x["type"] for x in kept_gates if x.get("status") == "True"})
    state = meta.labels.get(c.LABEL_LIFECYCLE_STATE, "")
    marked = bool(state) and state in meta.annotations.get(c.ANNOTATION_LIFECYCLE_NOT_READY, "").split(",")
    if not ready or recreating:
        why = (False, c.REASON_PODS_NOT_READY, f"ready pods at the current template: {', '.join(missing) or 'none'}")
    elif marked:
        why = (False, c.REASON_LIFECYCLE_HOLD, f"{state}: the set's lifecycle hook marks it not ready until your controller removes its handlers")
    elif open_gates:
        why = (False, c.REASON_READINESS_GATES, f"readiness gates not True: {', '.join(open_gates)}")
    else:
        why = (True, c.REASON_ALL_PODS_READY, "every pod is ready at the current template")
    conds = [
        condition(c.COND_ROLE_INSTANCE_READY, *why),
        condition(c.COND_INVALID_SPEC, False, c.REASON_SPEC_VALID, "spec is valid"),
    ]
    if recovered.condition is not None:
        conds.append(recovered.condition)
    elif recovered.state.get("lastFailure"):
        cause = recovered.state["lastFailure"]
        message = f"recreated {recovered.state.get('restarts', 0)} times; the last after pod {cause['pod']}: {cause['reason']}"
        conds.append(condition(c.COND_RESTARTING, not ready, c.REASON_RECREATING if not ready else c.REASON_WATCHING, message))
    availability = _availability(meta.name, meta.annotations, why[0], previous, jobs, conds, now, meta.generation)
    if availability is not None:
        conds.append(availability[0])
        if availability[1] is not None:
            children.append(availability[1])
    if in_place_only:
        message = f"pods {', '.join(held)} cannot take the new template in place (InPlaceOnly): they keep running the old one" if held else "every pod takes the template in place"
        conds.append(condition(c.COND_FAILED_UPDATE, bool(held), c.REASON_NOT_UPDATABLE_IN_PLACE if held else c.REASON_UPDATED_IN_PLACE, message))
    update_revision = content_hash(spec.model_dump(mode="json", by_alias=True, exclude_none=True)["components"], 10)
    status: dict[str, Any] = {
        "observedGeneration": meta.generation,
        "conditions": merge_conditions(previous.get("conditions") or [], conds, now=now, generation=meta.generation) + kept_gates,
        "componentStatuses": statuses,
        "labelSelector": f"{c.LABEL_ROLE_INSTANCE_NAME}={meta.name}",
        "updateRevision": update_revision,
        "currentRevision": update_revision if all(s["updatedReplicas"] >= s["size"] for s in statuses) else previous.get("currentRevision", update_revision),
    }
    if baselines:
        status["inPlaceUpdateContainerBaselines"] = {pod: {n: {"restartCount": k} for n, k in counted.items()} for pod, counted in baselines.items()}
    return Result(status={**status, **recovered.state}, children=children)


def _stamp(state: dict[str, Any]) -> str:
    return json.dumps({k: state[k] for k in RECORD if k in state}, sort_keys=True, separators=(",", ":")) if state.get("restarts") else ""


def _stamped(pod: dict[str, Any]) -> str:
    return (pod["metadata"].get("annotations") or {}).get(c.ANNOTATION_RECOVERY_RECORD, "")


def _memory(previous: dict[str, Any], pods: Any) -> dict[str, Any]:
    """The instance's recovery record: its status, or the newer one its pods carry."""
    best = previous
    for pod in pods:
        try:
            record = json.loads(_stamped(pod) or "{}")
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("restarts"), int) and record["restarts"] > int(best.get("restarts") or 0):
            best = {**previous, **{k: record[k] for k in RECORD if k in record}}
    return best


def _availability(
    name: str, annotations: dict[str, str], ready: bool, previous: dict[str, Any], jobs: dict[str, dict[str, Any]], conds: list[dict[str, Any]], now: str, generation: int
) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """With the set's minReadySeconds: RoleInstanceAvailable, True once the instance has been Ready
    that long (timed by a Job named after when it became Ready), and the timer while it runs."""
    seconds = annotations.get(c.ANNOTATION_MIN_READY_SECONDS, "")
    if not seconds.isdigit() or int(seconds) == 0:
        return None
    if not ready:
        return condition(c.COND_ROLE_INSTANCE_AVAILABLE, False, c.REASON_PODS_NOT_READY, "not ready"), None
    before = {x.get("type"): x for x in previous.get("conditions") or []}
    if (before.get(c.COND_ROLE_INSTANCE_AVAILABLE) or {}).get("status") == "True" and (before.get(c.COND_ROLE_INSTANCE_READY) or {}).get("status") == "True":
        return condition(c.COND_ROLE_INSTANCE_AVAILABLE, True, c.REASON_MIN_READY, f"ready for {seconds} s"), None
    since = merge_conditions(previous.get("conditions") or [], conds[:1], now=now, generation=generation)[0]["lastTransitionTime"]
    timer = f"{name}-ready-{content_hash(since, 6)}"
    if timer_fired(jobs.get(timer)):
        return condition(c.COND_ROLE_INSTANCE_AVAILABLE, True, c.REASON_MIN_READY, f"ready for {seconds} s"), None
    return condition(c.COND_ROLE_INSTANCE_AVAILABLE, False, c.REASON_MIN_READY, f"ready since {since}; available {seconds} s later (Job {timer})"), instance_timer(timer, name, int(seconds))


def _invalid(request: InstanceSyncRequest, observed: dict[str, dict[str, Any]], why: str) -> Result:
    """A spec the hook cannot follow: every pod (and the backoff timer) kept as it is, and why."""
    parent, previous = request.parent, request.parent.status or {}
    jobs = [job for job in (request.children.get(c.CHILD_JOB) or {}).values() if isinstance(job, dict)]
    now = latest_time(parent, [*observed.values(), *jobs])
    message = f"{why}; its pods are kept as they are"
    conditions = merge_conditions(previous.get("conditions") or [], [condition(c.COND_INVALID_SPEC, True, c.REASON_INVALID_FIELDS, message)], now=now, generation=parent.metadata.generation)
    return Result(status={**previous, "conditions": conditions}, children=[last_applied(p) for p in [*observed.values(), *jobs]])


def _wired(ident: InstancePod, wired: wiring.Wiring | None) -> InstancePod:
    return ident if wired is None else replace(ident, env=wired.env, annotations=wired.annotations)


def _with_baseline(ident: InstancePod, counted: dict[str, int]) -> InstancePod:
    if not counted:
        return ident
    return replace(ident, annotations=(*ident.annotations, (c.ANNOTATION_RESTART_BASELINE, json.dumps(counted, sort_keys=True, separators=(",", ":")))))
