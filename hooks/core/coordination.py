"""Coordinated rollouts and scaling (`spec.coordination[]`): roles that advance in step.

Decided from each role's plan and built pod template, before its workload is built. For each coordination, the roles that are rolling (or scaling
up) may advance only so far that their fractions done differ by at most `maxSkew`:

    done_r / size_r  <=  min over the coordination's roles of done / size  +  maxSkew

Rolling, `done` is the role's pods at the new template (a StatefulSet's `updatedReplicas`; 0 while
the new template is being handed over) and a StatefulSet is held with `partition = size - allowed`
(a Deployment, which has no partition, is paused while it is ahead). Scaling up, `done` is the
pods created (progression OrderScheduled) or Ready (OrderReady), and `spec.replicas` grows to the
allowed count. `maxUnavailable` bounds a role's step, `partition` leaves a share of each role at
the old template (a canary).

It never stalls: when no role may advance by the rule (a rounding to a step of zero, a 1-replica
role whose one pod is more than maxSkew), the roles furthest behind advance by one pod. So the
skew stays within maxSkew or one pod's share of a role, whichever is larger. Progress is read
from the workloads' status at every sync, so a new template mid-rollout starts over from what is
observed and a scale change keeps the pods already updated.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import constants as c
from ..api import Coordination, GroupSpec
from ..decisions import RolePlan
from ..naming import workload_name
from .observed import Observed
from .status import condition


@dataclass(frozen=True)
class Progress:
    role: str
    size: int  # pods wanted
    done: int  # pods done (updated, or scaled)
    limit: int  # most `done` may reach


def share(value: int | str | None, size: int, default: int) -> int:
    """A count, or a percentage of `size` rounded down."""
    if value is None:
        return default
    if isinstance(value, str):
        return size * int(value[:-1]) // 100
    return value


def skew_of(value: int | str | None, size: int) -> Fraction:
    """maxSkew as a share of a role of `size` pods: a percentage, or a count of pods."""
    if isinstance(value, str):
        return Fraction(int(value[:-1]), 100)
    return Fraction(value, size) if value and size else Fraction(0)


def allowed(progress: list[Progress], skew: int | str | None, steps: dict[str, int]) -> dict[str, int]:
    """How many pods of each role may be done now (never fewer than are done)."""
    def fraction(p: Progress) -> Fraction:
        return Fraction(p.done, p.size) if p.size else Fraction(1)

    low = min((fraction(p) for p in progress), default=Fraction(1))
    out = {}
    for p in progress:
        reach = max(p.done, int((low + skew_of(skew, p.size)) * p.size))  # int() of a non-negative Fraction rounds down
        out[p.role] = min(p.limit, reach, p.done + steps.get(p.role, p.size))
    active = [p for p in progress if p.done < p.limit]
    if active and all(out[p.role] <= p.done for p in active):
        behind = min(fraction(p) for p in active)
        for p in active:
            if fraction(p) == behind:
                out[p.role] = p.done + 1
    return {p.role: max(out[p.role], p.done) for p in progress}


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def _stale(seen: dict[str, Any]) -> bool:
    """The workload's status was written before its controller saw its current spec: its counts
    may be of the previous template (a StatefulSet then still counts every old pod as updated)."""
    return int(_status(seen).get("observedGeneration") or 0) < int(seen["metadata"].get("generation") or 0)


def _let_through(applied: dict[str, Any]) -> tuple[int, bool]:
    """Pods a workload was let update (replicas - partition) as last applied, and its paused flag then."""
    spec = applied.get("spec") or {}
    ru = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
    return max(int(spec.get("replicas") or 0) - int(ru.get("partition") or 0), 0), bool(spec.get("paused"))


def _rolling(role: str, size: int, seen: dict[str, Any], changing: bool, ru: Any) -> Progress:
    done = 0 if changing or _stale(seen) else min(size, int(_status(seen).get("updatedReplicas") or 0))
    canary = share(ru.partition, size, 0)
    return Progress(role, size, done, max(size - canary, 0))


def _scaling(role: str, size: int, seen: dict[str, Any] | None, order_ready: bool) -> Progress:
    status = _status(seen or {})
    done = int(status.get("readyReplicas" if order_ready else "replicas") or 0)
    current = int(((seen or {}).get("spec") or {}).get("replicas") or 0)
    # Only a role growing is held back; one at or above its size is done.
    return Progress(role, size, min(done, current) if current < size else size, size)


@dataclass(frozen=True)
class Hold:
    """How far coordination lets a role's workload go now."""

    partition: int | None = None  # a StatefulSet's partition at least this
    paused: bool = False  # a Deployment waits paused (it has no partition)
    replicas: int | None = None  # scaling up: the replicas allowed so far


@dataclass(frozen=True)
class Coordinated:
    holds: dict[str, Hold]  # by role; a role coordination does not hold is absent
    messages: list[str]


def _describe(co: Coordination, verb: str, progress: list[Progress], now: dict[str, int], skew: int | str | None) -> str:
    parts = []
    for p in progress:
        state = f"{p.role} {p.done}/{p.size} {verb}"
        if now[p.role] > p.done:
            state += f", may reach {now[p.role]}"
        elif p.done < p.limit:
            state += f", waits (maxSkew {skew if isinstance(skew, str) else f'{skew} pods' if skew else '0%'})"
        parts.append(state)
    return f"{co.name}: " + "; ".join(parts)


def coordinate(
    group: str, spec: GroupSpec, plans: dict[str, RolePlan], templates: dict[str, dict[str, Any]], observed: Observed
) -> Coordinated:
    """How far each coordinated role may go now, and what each coordination is doing. `plans` are
    the started roles', `templates` their pod templates as built (the workload's spec.template)."""
    workloads = {r: p for r, p in plans.items() if p.role.workload.kind in (c.KIND_STATEFULSET, c.KIND_DEPLOYMENT)}
    partition: dict[str, int] = {}
    paused: set[str] = set()
    replicas: dict[str, int] = {}
    messages = []
    for co in spec.coordination:
        roles = [r for r in dict.fromkeys(co.roles) if r in workloads]
        seen = {r: observed.workload(workload_name(group, r)) for r in roles}
        ru, sc = co.strategy.rolling_update, co.strategy.scaling
        if ru is not None:
            live = {r: s for r, s in seen.items() if s is not None}
            # Handed a new template by this very answer.
            changing = {
                r: observed.applied(s).get("spec", {}).get("template") != templates[r]
                for r, s in live.items()
            }
            rolling = [_rolling(r, workloads[r].replicas, s, changing[r], ru) for r, s in live.items()]
            if any(p.done < p.size for p in rolling):
                steps = {p.role: max(1, share(ru.max_unavailable, p.size, p.size)) for p in rolling}
                now = allowed(rolling, ru.max_skew, steps)
                # A status older than its workload's spec says nothing of the current template: until
                # every controller has caught up, each role keeps what it was last applied with (a
                # role being handed a new template gets the first step computed above).
                hold = any(_stale(live[p.role]) and not changing[p.role] for p in rolling)
                for p in rolling:
                    if changing[p.role]:  # handed the new template now: the first step
                        through, was_paused = now[p.role], now[p.role] <= p.done < p.size
                    else:  # what was let through is never taken back (a pod would be replaced twice)
                        before, was_paused = _let_through(observed.applied(live[p.role]))
                        through = before if hold else max(now[p.role], before)
                        was_paused = was_paused if hold else now[p.role] <= p.done < p.size
                    if workloads[p.role].role.workload.kind == c.KIND_STATEFULSET:
                        partition[p.role] = max(partition.get(p.role, 0), p.size - through)
                    elif was_paused:  # a Deployment has no partition: it waits paused
                        paused.add(p.role)
                messages.append(_describe(co, "updated", rolling, now, ru.max_skew))
        if sc is not None:
            scaling = [_scaling(r, workloads[r].replicas, s, sc.progression == "OrderReady") for r, s in seen.items()]
            if any(p.done < p.size for p in scaling):
                now = allowed(scaling, sc.max_skew, {})
                for p in scaling:
                    current = int(((seen[p.role] or {}).get("spec") or {}).get("replicas") or 0)
                    replicas[p.role] = min(replicas.get(p.role, p.size), max(now[p.role], min(current, p.size)))
                messages.append(_describe(co, "scaled", scaling, now, sc.max_skew))
    holds = {
        r: Hold(partition.get(r), r in paused, replicas.get(r))
        for r in workloads
        if r in partition or r in paused or r in replicas
    }
    return Coordinated(holds, messages)


def coordination_condition(messages: list[str]) -> dict[str, Any]:
    if not messages:
        return condition(c.COND_COORDINATING, False, c.REASON_IN_STEP, "no coordinated rollout or scaling in progress")
    return condition(c.COND_COORDINATING, True, c.REASON_ADVANCING_IN_STEP, "; ".join(messages))
