"""What the planners decide for a role, as small frozen values the builders take.

The core (hooks.core.rbg) gathers each policy's decision for a role into a RolePlan and hands
it to the builders (hooks.children): a builder applies what it is given and decides nothing; no
child is changed after a builder returned it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .api import RoleSpec

# A required affinity term added to a pod: ("podAffinity" | "podAntiAffinity", the term).
AffinityTerm = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class PodDecision:
    """What one pod template of a role gets besides its own content and the group's labels, env
    and discovery mount (hooks.children.podtemplate)."""

    affinity: tuple[AffinityTerm, ...] = ()  # placement: after the template's own required terms
    labels: tuple[tuple[str, str], ...] = ()  # gang enrolment
    annotations: tuple[tuple[str, str], ...] = ()  # gang enrolment
    scheduler_name: str | None = None  # set where the template names none
    pre_stop_seconds: int | None = None  # a preStop sleep on every container without a preStop of its own
    termination_grace_seconds: int | None = None
    env: tuple[dict[str, Any], ...] = ()  # v1alpha2's RBG_* variables, after ours; a container's own of a name wins


@dataclass(frozen=True)
class Rollout:
    """How a role's workload replaces its pods."""

    given: bool = False  # rolloutStrategy.rollingUpdate is set
    partition: int = 0  # StatefulSet: pods, LeaderWorkerSet: groups, left at the old template
    max_unavailable: int | str = 1
    max_surge: int | str = 0
    recreate: bool = False  # type Recreate: a Deployment's strategy (StatefulSets and LWS get partition 0, 100% unavailable)
    paused: bool = False  # a Deployment's spec.paused
    type: str | None = None  # rollingUpdate.type: a RoleInstanceSet's updateStrategy.type


@dataclass(frozen=True)
class RolePlan:
    """Everything a role's workload is built from."""

    role: RoleSpec  # as it runs: its template with engine runtimes injected
    replicas: int
    service: str  # the headless Service of a StatefulSet role; its pods' subdomain
    templates: tuple[dict[str, Any], ...]  # the pod templates as written: one, or a LeaderWorkerSet's leader and worker
    pods: tuple[PodDecision, ...] = field(default=())  # one per template
    rollout: Rollout = field(default_factory=Rollout)
    # A StatefulSet's, immutable: the role's podManagementPolicy when it is created, then what it has.
    pod_management_policy: str = "Parallel"
    labels: tuple[tuple[str, str], ...] = ()  # the workload's own, beside the role's (upstream's revision label)
    restart_delays: tuple[int, int] | None = None  # a RoleInstanceSet's instance recreation backoff: base, longest


@dataclass(frozen=True)
class InstancePod:
    """One pod of a RoleInstance (hooks.core.instance): its name, identity labels, the revision
    of its component's template, and what hooks.core.wiring gives it."""

    name: str
    labels: tuple[tuple[str, str], ...]
    revision: str
    annotations: tuple[tuple[str, str], ...] = ()  # allocated ports' annotationKeys; the in-place update's restart baseline
    env: tuple[tuple[str, str], ...] = ()  # allocated ports and component discovery, set in every container


@dataclass(frozen=True)
class Hold:
    """The lifecycle decision (hooks.core.lifecycle) for one instance: whether the planned change (update or deletion)
    goes ahead now, the state label it carries, and the handler labels and finalizers it keeps
    (of `handlers` and `handler_finalizers`, every hook's, which it carries no others of)."""

    go: bool
    state: str | None
    labels: tuple[tuple[str, str], ...]
    finalizers: tuple[str, ...]
    handlers: tuple[str, ...] = ()
    handler_finalizers: tuple[str, ...] = ()
