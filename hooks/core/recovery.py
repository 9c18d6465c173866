"""Failure recovery (roles[].restartPolicy): which roles to recreate and when, from observed pods.

Pure: decided from the group's pods (related objects, which the customize hook asks for when a
role has a recovery policy), its workloads, the backoff timer and `status.recovery`, which keeps
the state between syncs (phase, counts, the last cause and what each pod looked like last):

- Watching: each pod of a role with RecreateRBGOnPodRestart or RecreateRoleInstanceOnPodRestart
  is compared with what status recorded of it. A failure is a Failed pod; a container restart,
  unless the pod's spec was changed in place since (its metadata.generation moved: an in-place
  update restarts containers by design); and, for a StatefulSet role, a pod of the current
  revision replaced by another (the controller got there first) or gone below the role's
  replicas. A rollout's replacements (another revision) and a scale-down's removals are not.
  A role seen for the first time (the policy was just set) is recorded, not judged.
- A failure recreates every role of the group (RecreateRBGOnPodRestart) or the failed role
  (RecreateRoleInstanceOnPodRestart): at once if it is the first of a series; otherwise after
  backoffSeconds x 2^(n-1), at most maxBackoffSeconds (BackingOff), timed by a Job
  (children.timer). A failure more than maxBackoffSeconds after the last recreation starts a
  new series; one more than restartLimit in a series gives up (GaveUp) until the spec changes.
- Recreating: the roles' workloads are withheld, so Metacontroller deletes them, until they and
  every pod of theirs are gone; then they are created again through the dependency gate, in
  startup order, with the same pod names.

One failure is acted on at a time: what fails during a backoff or a recreation belongs to it.

LeaderWorkerSet roles are left to LWS: their restartPolicy is mapped onto the LeaderWorkerSet's
(hooks.children.lws: LWS recreates a failed group itself), so they are neither watched here nor
withheld, not even by a RecreateRBGOnPodRestart failure of another role.
"""

from __future__ import annotations

from collections.abc import Iterable

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import constants as c
from ..api import RecoveryPolicy, RoleBasedGroupSpec, RoleSpec
from ..children.recoverystate import recovery_state
from ..children.timer import backoff_timer, timer_fired
from ..naming import backoff_timer_name, recovery_state_name, workload_name
from .observed import Observed, _list, _mapping
from .status import condition

WATCHING, BACKING_OFF, RECREATING, GAVE_UP = "Watching", "BackingOff", "Recreating", "GaveUp"
POLICIES = (c.RESTART_RECREATE_GROUP, c.RESTART_RECREATE_ROLE)
# Kinds that recover by themselves (a LeaderWorkerSet: its own restart policy) or are not run.
NOT_RECOVERED = (c.KIND_LWS, c.KIND_ROLE_INSTANCE_SET)


def effective_policy(group: RecoveryPolicy | None, roles: Iterable[RoleSpec]) -> RecoveryPolicy:
    """The group's recoveryPolicy, but the delays recovered roles set in restartPolicyConfig
    (baseDelaySeconds, maxDelaySeconds) replace its own: the smallest of them, as recovery paces
    the group as one; the longest wait is never below the first."""
    policy = group or RecoveryPolicy.model_validate({})
    configs = [r.restart_config for r in roles]
    base = min((cfg.base_delay_seconds for cfg in configs if cfg.base_delay_seconds is not None), default=policy.backoff_seconds)
    most = min((cfg.max_delay_seconds for cfg in configs if cfg.max_delay_seconds is not None), default=policy.max_backoff_seconds)
    if (base, most) == (policy.backoff_seconds, policy.max_backoff_seconds):
        return policy
    return policy.model_copy(update={"backoff_seconds": base, "max_backoff_seconds": max(most, base)})


@dataclass(frozen=True)
class Failure:
    role: str
    pod: str
    reason: str
    time: str
    container: str | None = None
    exit_code: int | None = None
    message: str | None = None

    def cause(self) -> dict[str, Any]:
        fields = {
            "role": self.role,
            "pod": self.pod,
            "reason": self.reason,
            "time": self.time,
            "container": self.container,
            "exitCode": self.exit_code,
            "message": self.message,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True)
class Recovery:
    """What the composition does with it: withhold workloads, add the timer, report."""

    withheld: frozenset[str] = frozenset()
    children: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] | None = None
    condition: dict[str, Any] | None = None


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = _mapping(pod.get("status"))
    return [_mapping(s) for s in _list(status.get("initContainerStatuses")) + _list(status.get("containerStatuses"))]


def _restarts(pod: dict[str, Any]) -> int:
    return sum(s["restartCount"] for s in _containers(pod) if isinstance(s.get("restartCount"), int))


def fingerprint(pod: dict[str, Any]) -> str:
    """"<uid prefix> <revision> <restarts> <generation>": what a later sync compares the pod with."""
    meta = _mapping(pod.get("metadata"))
    labels = _mapping(meta.get("labels"))
    revision = labels.get(c.LABEL_REVISION) or labels.get(c.LABEL_POD_TEMPLATE_HASH) or "-"
    return f"{str(meta.get('uid', ''))[:8]} {revision} {_restarts(pod)} {meta.get('generation', 1)}"


def _restart(role: str, pod: str, pod_obj: dict[str, Any], now: str) -> Failure:
    """The container restart to report: the latest one to end."""
    restarted = [s for s in _containers(pod_obj) if isinstance(s.get("restartCount"), int) and s["restartCount"] > 0]
    ended = [(_mapping(_mapping(s.get("lastState")).get("terminated")), s) for s in restarted]
    term, status = max(ended, key=lambda e: (str(e[0].get("finishedAt") or ""), str(e[1].get("name"))))
    exit_code = term.get("exitCode")
    return Failure(
        role,
        pod,
        str(term.get("reason") or "ContainerRestarted"),
        str(term.get("finishedAt") or now),
        container=str(status.get("name")),
        exit_code=exit_code if isinstance(exit_code, int) else None,
        message=str(term["message"])[:256] if term.get("message") else None,
    )


def detect(
    role: RoleSpec, workload: dict[str, Any] | None, pods: list[dict[str, Any]], known: dict[str, str] | None, now: str
) -> list[Failure]:
    """The role's failures since `known` (its pods as status last recorded them); none if never recorded."""
    if known is None:
        return []
    out = []
    for pod in pods:
        meta, status = _mapping(pod.get("metadata")), _mapping(pod.get("status"))
        name = str(meta.get("name"))
        uid, revision, restarts, generation = fingerprint(pod).split(" ")
        before = known.get(name, "").split(" ")
        if status.get("phase") == "Failed":
            out.append(Failure(role.name, name, str(status.get("reason") or "PodFailed"), now, message=status.get("message")))
        elif len(before) != 4:  # new to us: a restart before we saw it is a failure all the same
            if int(restarts) > 0:
                out.append(_restart(role.name, name, pod, now))
        elif before[0] != uid:
            if role.workload.kind == c.KIND_STATEFULSET and before[1] == revision:
                out.append(Failure(role.name, name, "PodReplaced", str(meta.get("creationTimestamp") or now)))
            elif int(restarts) > 0:
                out.append(_restart(role.name, name, pod, now))
        elif int(restarts) > int(before[2]) and generation == before[3]:
            out.append(_restart(role.name, name, pod, now))
    if role.workload.kind == c.KIND_STATEFULSET and workload is not None:
        out += _gone(role, workload, {str(_mapping(p.get("metadata")).get("name")) for p in pods}, known, now)
    return out


def _gone(role: RoleSpec, workload: dict[str, Any], present: set[str], known: dict[str, str], now: str) -> list[Failure]:
    """Pods of the current revision missing below the StatefulSet's replicas."""
    meta, status = workload["metadata"], _mapping(workload.get("status"))
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return []  # the controller may be rolling: which revision is current is not known yet
    replicas = int(_mapping(workload.get("spec")).get("replicas", 1))
    out = []
    for name in sorted(set(known) - present):
        ordinal = name.removeprefix(f"{meta['name']}-")
        before = known[name].split(" ")
        if ordinal.isdigit() and int(ordinal) < replicas and len(before) == 4 and before[1] == status.get("updateRevision"):
            out.append(Failure(role.name, name, "PodDeleted", now))
    return out


def _seconds(since: str, until: str) -> float:
    try:
        return (datetime.fromisoformat(until.replace("Z", "+00:00")) - datetime.fromisoformat(since.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return 0.0


def backoff(policy: RecoveryPolicy, streak: int) -> int:
    """Seconds to wait before a recreation that follows `streak` others in its series."""
    return 0 if streak == 0 else min(policy.backoff_seconds * 2 ** min(streak - 1, 30), policy.max_backoff_seconds)


def _describe(cause: dict[str, Any] | None) -> str:
    if not cause:
        return "no failure seen"
    what = f"pod {cause['pod']}"
    if "container" in cause:
        what += f" container {cause['container']} exited {cause.get('exitCode', '?')} ({cause['reason']})"
    else:
        what += f" {cause['reason']}"
    return f"{what} at {cause['time']}"


def kept_state(group: str, observed: Observed) -> dict[str, Any] | None:
    """The copy of the state that the state ConfigMap holds, as observed."""
    obj = observed.objects.get((c.KIND_CONFIGMAP, recovery_state_name(group)))
    try:
        state = json.loads(((obj or {}).get("data") or {}).get(c.RECOVERY_STATE_KEY) or "null")
    except ValueError:
        return None
    return state if isinstance(state, dict) and isinstance(state.get("version"), int) else None


def _newer(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    """Of the two copies, the one written last (the higher version; the status on a tie)."""
    copies = [x for x in (a, b) if isinstance(x, dict)]
    return max(copies, key=lambda x: int(x.get("version") or 0), default={"phase": WATCHING, "version": 0})


def recover(
    group: str, spec: RoleBasedGroupSpec, observed: Observed, recorded: dict[str, Any] | None, now: str, generation: int
) -> Recovery:
    """The state is kept twice: in status.recovery and in a ConfigMap (children.recoverystate).
    Metacontroller reads the group from its cache, which may not yet hold the status the last
    sync wrote; each sync goes on from the newer copy, and deletes (withholds workloads, drops the
    timer) only for a decision it observes in the ConfigMap, so that no stale copy can take an
    action twice."""
    roles = {r.name: r for r in spec.roles if r.restart_policy in POLICIES and r.workload.kind not in NOT_RECOVERED}
    if not roles:
        return Recovery()
    kept = kept_state(group, observed)
    previous = _newer(recorded, kept)
    if observed.pods is None:
        message = f"{', '.join(roles)} have a restartPolicy, but the group's pods are not observed: register the customize hook"
        return Recovery(status=previous, condition=condition(c.COND_RECOVERING, False, c.REASON_PODS_NOT_OBSERVED, message))
    policy = effective_policy(spec.recovery_policy, roles.values())
    state, cond = _advance(group, spec, roles, policy, observed, dict(previous), now, generation)
    before = {k: v for k, v in previous.items() if k != "version"}
    state["version"] = int(previous.get("version") or 0) + (state != before)

    streak, children = int(state["streak"]), [recovery_state(group, state)]
    committed = kept is not None and kept.get("phase") == RECREATING and kept.get("restartCount") == state["restartCount"]
    if state["phase"] == BACKING_OFF:
        children.append(backoff_timer(group, streak + 1, backoff(policy, streak)))
    elif state["phase"] == RECREATING and not committed and (c.KIND_JOB, backoff_timer_name(group, streak)) in observed.objects:
        children.append(backoff_timer(group, streak, backoff(policy, streak - 1)))  # kept until the decision is
    # Only the very workloads the decision was made against: a new one, seen by a sync whose
    # copy of the state lags, is the recreation done, not one to delete again.
    doomed = state.get("workloads") or {} if state["phase"] == RECREATING and committed else {}
    withheld = frozenset(r for r, uid in doomed.items() if _uid(observed.workload(workload_name(group, r))) == uid)
    return Recovery(withheld=withheld, children=children, status=state, condition=cond)


def _advance(
    group: str,
    spec: RoleBasedGroupSpec,
    roles: dict[str, RoleSpec],
    policy: RecoveryPolicy,
    observed: Observed,
    state: dict[str, Any],
    now: str,
    generation: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state machine: (state before, observations) -> (state after, the Recovering condition)."""
    state.pop("version", None)
    phase, streak = state.get("phase", WATCHING), int(state.get("streak", 0))
    scope = [r.name for r in spec.roles if r.name in set(state.get("roles") or [])]
    cause = state.get("lastCause")

    if phase == GAVE_UP and state.get("generation") != generation:
        phase, streak, state["pods"] = WATCHING, 0, {}  # the spec changed: start again from what runs
    if phase == BACKING_OFF:
        timer = observed.objects.get((c.KIND_JOB, backoff_timer_name(group, streak + 1)))
        if not timer_fired(timer):
            message = f"{_describe(cause)}; recreating {', '.join(scope)} after a {backoff(policy, streak)} s backoff (Job {backoff_timer_name(group, streak + 1)})"
            return _status(state, phase, streak, scope), condition(c.COND_RECOVERING, True, c.REASON_BACKING_OFF, message)
        phase, streak = RECREATING, streak + 1
        state.update(restartCount=int(state.get("restartCount", 0)) + 1, lastRecreationTime=now, workloads=_uids(group, scope, observed))
    if phase == RECREATING:
        doomed = state.get("workloads") or {}
        left = [r for r in scope if r in doomed and _lingers(observed, workload_name(group, r), doomed[r])]
        if left:
            message = f"{_describe(cause)}; recreating {', '.join(scope)}: waiting for the workloads and pods of {', '.join(left)} to go"
            return _status(state, phase, streak, scope), condition(c.COND_RECOVERING, True, c.REASON_RECREATING, message)
        # Recorded as having no pods: each pod of theirs from now on is new, and judged.
        state["pods"] = {**(state.get("pods") or {}), **{r: {} for r in scope if r in roles}}
        phase, scope = WATCHING, []
        state.pop("workloads", None)
    if phase == GAVE_UP:
        message = (
            f"gave up after {streak} recreations in a row (recoveryPolicy.restartLimit {policy.restart_limit}); "
            f"last: {_describe(cause)}; the workloads restart their pods themselves until the spec changes"
        )
        state["pods"] = {}  # nothing is judged until the spec changes
        return _status(state, phase, streak, []), condition(c.COND_RECOVERING, False, c.REASON_RESTART_LIMIT_REACHED, message)

    known = state.get("pods") or {}
    failures = [
        f
        for role in roles.values()
        for f in detect(role, observed.workload(workload_name(group, role.name)), observed.role_pods(role.name) or [], known.get(role.name), now)
    ]
    state["pods"] = {r: {str(p["metadata"]["name"]): fingerprint(p) for p in observed.role_pods(r) or []} for r in roles}
    if not failures:
        recreated = f"recreated {state.get('restartCount', 0)} times; last: " if state.get("restartCount") else ""
        message = f"watching the pods of {', '.join(roles)}; {recreated}{_describe(cause)}"
        return _status(state, WATCHING, streak, []), condition(c.COND_RECOVERING, False, c.REASON_WATCHING, message)

    first = failures[0]
    state["lastCause"] = first.cause()
    last = state.get("lastRecreationTime")
    if last and _seconds(last, first.time) > policy.max_backoff_seconds:
        streak = 0
    if any(roles[f.role].restart_policy == c.RESTART_RECREATE_GROUP for f in failures):
        scope = [r.name for r in spec.roles if r.workload.kind not in NOT_RECOVERED]
    else:
        scope = [r.name for r in spec.roles if any(f.role == r.name for f in failures)]
    if streak >= policy.restart_limit:
        state["generation"] = generation
        return _advance(group, spec, roles, policy, observed, _status(state, GAVE_UP, streak, []), now, generation)
    if backoff(policy, streak):
        return _advance(group, spec, roles, policy, observed, _status(state, BACKING_OFF, streak, scope), now, generation)
    state.update(restartCount=int(state.get("restartCount", 0)) + 1, lastRecreationTime=now, workloads=_uids(group, scope, observed))
    return _advance(group, spec, roles, policy, observed, _status(state, RECREATING, streak + 1, scope), now, generation)


def _uid(obj: dict[str, Any] | None) -> str | None:
    return _mapping(_mapping(obj).get("metadata")).get("uid")


def _uids(group: str, scope: list[str], observed: Observed) -> dict[str, str]:
    """The UIDs of the scope's workloads that a recreation deletes."""
    return {r: uid for r in scope if (uid := _uid(observed.workload(workload_name(group, r))))}


def _lingers(observed: Observed, name: str, uid: str) -> bool:
    """Whether that workload, or a pod it owned, is still observed."""
    if _uid(observed.workload(name)) == uid:
        return True
    pods = [p for ps in (observed.pods or {}).values() for p in ps]
    return any(_mapping(ref).get("uid") == uid for p in pods for ref in _list(_mapping(p.get("metadata")).get("ownerReferences")))


def _status(state: dict[str, Any], phase: str, streak: int, scope: list[str]) -> dict[str, Any]:
    out = {"phase": phase, "restartCount": int(state.get("restartCount", 0)), "streak": streak}
    if scope:
        out["roles"] = scope
    if phase == RECREATING and state.get("workloads"):
        out["workloads"] = state["workloads"]
    for key in ("lastCause", "lastRecreationTime", "generation"):
        if state.get(key) is not None and (key != "generation" or phase == GAVE_UP):
            out[key] = state[key]
    out["pods"] = state.get("pods") or {}
    return out
