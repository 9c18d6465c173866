"""Drain-safe scale-down (roles[].drainPolicy, ours; after the Apache Uniffle operator's design).

Before a StatefulSet role with a drainPolicy shrinks (its size lowered, or the group deleted:
the finalize hook shrinks every such role to 0), the members that go (the highest ordinals) are
listed under `excluded` in the discovery file, as a Uniffle coordinator reads its exclude-nodes
file, and the StatefulSet keeps its replicas until each of them is drained: its pod carries the
annotation `rolebasedgroup.workloads.x-k8s.io/drained: "true"` (the application sets it once no
client depends on it), or is gone, or `timeoutSeconds` pass (a timer Job, children.timer, as for
failure recovery: the hooks read no clock). Then the replicas drop in one step and the exclusion
goes with the members. Scaling back up before that cancels the drain.

Pure: decided from the observed workload (the replicas it was last given), the role's pods
(related objects) and the timer; nothing is kept in status but the report. A drain holds only
its own role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import constants as c
from ..api import RoleBasedGroupSpec
from ..decisions import RolePlan
from ..children.timer import drain_timer, timer_fired
from ..naming import drain_timer_name, workload_name
from .observed import Observed, _mapping, pod_ready
from .status import condition


@dataclass(frozen=True)
class Drain:
    held: dict[str, int] = field(default_factory=dict)  # role -> the replicas kept while members drain
    excluded: dict[str, list[int]] = field(default_factory=dict)  # role -> ordinals listed as excluded
    timers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (role, timer)
    report: list[dict[str, Any]] = field(default_factory=list)  # status.draining

    def sized(self, spec: RoleBasedGroupSpec) -> RoleBasedGroupSpec:
        """The spec with each draining role at the replicas it keeps."""
        roles = [r.model_copy(update={"replicas": self.held[r.name]}) if r.name in self.held else r for r in spec.roles]
        return spec.model_copy(update={"roles": roles})


def drained(pod: dict[str, Any]) -> bool:
    return _mapping(_mapping(pod.get("metadata")).get("annotations")).get(c.ANNOTATION_DRAINED) == "true"


def drain(group: str, spec: RoleBasedGroupSpec, observed: Observed, finalizing: bool, now: str) -> Drain:
    out = Drain()
    for role in spec.roles:
        name = workload_name(group, role.name)
        seen = observed.workload(name)
        if role.workload.kind != c.KIND_STATEFULSET or seen is None or role.drain_policy is None:
            continue
        current = int(_mapping(observed.applied(seen).get("spec")).get("replicas", 1))
        target = 0 if finalizing else role.replicas
        if target >= current:
            continue
        pods = {p["metadata"]["name"]: p for p in observed.role_pods(role.name) or []}
        waiting = [f"{name}-{i}" for i in range(target, current) if f"{name}-{i}" in pods and not drained(pods[f"{name}-{i}"])]
        timer = observed.objects.get((c.KIND_JOB, drain_timer_name(group, role.name)))
        if not waiting or timer_fired(timer):
            continue  # the replicas drop now, and the exclusion with them
        out.held[role.name] = current
        out.excluded[role.name] = list(range(target, current))
        out.timers.append((role.name, drain_timer(group, role.name, role.drain_policy.timeout_seconds)))
        members = [f"{name}-{i}" for i in range(target, current)]
        reason = "GroupDeleted" if finalizing else "ScaleDown"
        out.report.append(_entry(role.name, members, waiting, timer, role.drain_policy.timeout_seconds, reason, now))
    return out


def _entry(role: str, members: list[str], waiting: list[str], timer: dict[str, Any] | None, timeout: int, reason: str, now: str) -> dict[str, Any]:
    """A role's line of status.draining; it drains since its timer was made (or now, as it is)."""
    since = str(_mapping(_mapping(timer).get("metadata")).get("creationTimestamp") or now)
    return {"role": role, "members": members, "waitingFor": waiting, "since": since, "timeoutSeconds": timeout, "reason": reason}


def drain_condition(spec: RoleBasedGroupSpec, report: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Draining, on groups with a drainPolicy: who drains, since when, and what it waits for."""
    roles = [r for r in spec.roles if r.drain_policy is not None]
    if not roles:
        return None
    notes = [f"drainPolicy ignored for {r.name}: only StatefulSet roles drain" for r in roles if r.workload.kind != c.KIND_STATEFULSET]
    if not report:
        return condition(c.COND_DRAINING, False, c.REASON_NOTHING_TO_DRAIN, "; ".join(["no member is draining", *notes]))
    said = [
        f"{d['role']} ({d['reason']}): {', '.join(d['members'])} excluded since {d['since']}, waiting for "
        f"{', '.join(d['waitingFor'])} to be annotated {c.ANNOTATION_DRAINED}=true or {d['timeoutSeconds']} s to pass"
        for d in report
    ]
    return condition(c.COND_DRAINING, True, c.REASON_WAITING_FOR_DRAIN, "; ".join([*said, *notes]))


@dataclass(frozen=True)
class Rollouts:
    """Drain-safe rolling updates: the partitions held, and what drains."""

    partitions: dict[str, int] = field(default_factory=dict)  # by role: the partition held, above the one planned
    excluded: dict[str, list[int]] = field(default_factory=dict)
    timers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (role, timer)
    report: list[dict[str, Any]] = field(default_factory=list)


def hold_rollouts(
    group: str, plans: dict[str, RolePlan], templates: dict[str, dict[str, Any]], observed: Observed, skip: set[str], now: str
) -> Rollouts:
    """A rolling update of a StatefulSet role with a drainPolicy goes one pod at a time, each drained first.

    `plans` are the started roles' (replicas and partition as planned so far), `templates` their pod
    templates as built. The StatefulSet controller replaces pods from the highest ordinal down to
    the partition. The partition is held: at `replicas` in the answer that changes the template
    (the controller has not seen it yet); then, for the highest pod not at the update revision (k),
    at k + 1 while the pods above it are not all updated and Ready, or while k is not drained:
    k is then listed as excluded and its timer runs. Once k is drained (or its timer fired, or
    it is already gone), the partition goes to k and the controller replaces it.
    """
    out = Rollouts()
    for name, plan in plans.items():
        role = plan.role
        if role.drain_policy is None or role.workload.kind != c.KIND_STATEFULSET or name in skip:
            continue
        seen = observed.workload(workload_name(group, name))
        if seen is None:
            continue
        held, member = _partition(group, name, plan.replicas, templates[name], seen, observed)
        if member is not None:  # held until it drains: excluded, its own timer running
            timeout, timer = role.drain_policy.timeout_seconds, observed.objects.get((c.KIND_JOB, drain_timer_name(group, name)))
            out.excluded[name] = [int(member.rsplit("-", 1)[1])]
            out.timers.append((name, drain_timer(group, name, timeout, member)))
            out.report.append(_entry(name, [member], [member], timer, timeout, "RollingUpdate", now))
        if held is not None and held > plan.rollout.partition:
            out.partitions[name] = held
    return out


def _partition(group: str, role: str, replicas: int, template: dict[str, Any], seen: dict[str, Any], observed: Observed) -> tuple[int | None, str | None]:
    """The partition a draining rollout holds the role at (None: it holds nothing), and the pod
    it waits for to drain, if any."""
    applied = _mapping(observed.applied(seen).get("spec"))
    if applied.get("template") != template:
        return replicas, None
    status, name = _mapping(seen.get("status")), workload_name(group, role)
    if int(status.get("observedGeneration") or 0) < int(seen["metadata"].get("generation") or 0) or not status.get("updateRevision"):
        return int(_mapping(_mapping(applied.get("updateStrategy")).get("rollingUpdate")).get("partition", 0)), None
    revision = status["updateRevision"]
    pods = {p["metadata"]["name"]: p for p in observed.role_pods(role) or []}

    def updated(i: int) -> bool:
        pod = pods.get(f"{name}-{i}")
        return pod is not None and _mapping(pod["metadata"].get("labels")).get(c.LABEL_REVISION) == revision

    stale = [i for i in range(replicas) if not updated(i)]
    if not stale:
        return None, None
    k = max(stale)
    member = pods.get(f"{name}-{k}")
    if member is None:
        return k, None  # being replaced
    if not all(updated(i) and pod_ready(pods[f"{name}-{i}"]) for i in range(k + 1, replicas)):
        return k + 1, None
    timer = observed.objects.get((c.KIND_JOB, drain_timer_name(group, role)))
    fired = timer_fired(timer) and _mapping(_mapping(timer).get("metadata")).get("annotations", {}).get(c.ANNOTATION_DRAIN_MEMBER) == member["metadata"]["name"]
    if drained(member) or fired:
        return k, None
    return k + 1, member["metadata"]["name"]
