"""The statuses the hooks write: RoleBasedGroup, RoleBasedGroupSet, RoleBasedGroupScalingAdapter."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .spec import Model


class AdapterSize(Model):
    """A size set by the role's scaling adapter, and the role's `replicas` when it was."""

    replicas: int = Field(description="The size the adapter set.")
    spec_replicas: int = Field(description="The role's replicas in the group's spec when the adapter set it.")


class RoleStatus(Model):
    name: str = Field(description="The role.")
    replicas: int = Field(description="Desired replicas of the role (groups, for a LeaderWorkerSet role).")
    ready_replicas: int = Field(description="Ready replicas, from the role's workload status.")
    updated_replicas: int = Field(description="Replicas at the role's current pod template, from the workload status.")
    scaling_adapter: AdapterSize | None = Field(
        None, description="Present while the role's size comes from its scaling adapter, or is kept after the adapter was turned off."
    )


class Condition(Model):
    """A metav1.Condition."""

    type: str = Field(description="The condition type, such as Ready or Progressing.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(description="A CamelCase reason; types and reasons never change.")
    message: str = Field(description="What the reason means here, in words: roles, members, field paths.")
    last_transition_time: str = Field(
        json_schema_extra={"format": "date-time"}, description="When the status last changed: the newest write the request shows, not a clock."
    )
    observed_generation: int | None = Field(None, description="The generation of the spec the condition was computed for.")


class FailureCause(Model):
    """What a recreation answered: the failure that caused it."""

    role: str = Field(description="The role of the failed pod.")
    pod: str = Field(description="The failed pod.")
    reason: str = Field(description="Why it counts as a failure: the container's termination reason (ContainerRestarted if none), the pod's reason (PodFailed if none), PodReplaced or PodDeleted.")
    time: str = Field(json_schema_extra={"format": "date-time"}, description="When the failure was seen.")
    container: str | None = Field(None, description="The container that restarted or failed.")
    exit_code: int | None = Field(None, description="Its exit code.")
    message: str | None = Field(None, description="Its termination message.")


class RecoveryStatus(Model):
    """Failure recovery's state (hooks.core.recovery), kept in status so the hooks stay stateless."""

    phase: Literal["Watching", "BackingOff", "Recreating", "GaveUp"] = Field(
        description="Watching pods, BackingOff before a recreation, Recreating workloads, or GaveUp at the restart limit."
    )
    version: int = Field(0, description="Counts the changes of this state; the ConfigMap <group>-recovery holds a copy.")
    restart_count: int = Field(0, description="Recreations so far.")
    streak: int = Field(0, description="Recreations in the current series (each within maxBackoffSeconds of the last).")
    roles: list[str] = Field(default_factory=list, description="Roles being recreated, or to be once the backoff ends.")
    workloads: dict[str, str] = Field(default_factory=dict, description="While recreating: the UIDs of the workloads being deleted, by role.")
    last_cause: FailureCause | None = Field(None, description="The failure that caused the last recreation, kept after its pod is gone.")
    last_recreation_time: str | None = Field(None, json_schema_extra={"format": "date-time"}, description="When the last recreation started.")
    generation: int | None = Field(None, description="The generation recovery gave up at; a spec change starts it again.")
    pods: dict[str, dict[str, str]] = Field(
        default_factory=dict, description='Pods last seen, by role and name: "<uid prefix> <revision> <restarts> <generation>".'
    )


class Draining(Model):
    """A role whose members are draining before it shrinks (hooks.core.drain)."""

    role: str = Field(description="The draining role.")
    members: list[str] = Field(description="Pods leaving, listed as excluded in the discovery file.")
    waiting_for: list[str] = Field(description="Members not yet annotated drained.")
    since: str = Field(json_schema_extra={"format": "date-time"}, description="When the members were excluded.")
    timeout_seconds: int = Field(description="The drainPolicy's timeout: the members go this long after since, drained or not.")
    reason: Literal["ScaleDown", "GroupDeleted", "RollingUpdate"] = Field(description="Why the members leave: ScaleDown, RollingUpdate or GroupDeleted.")


class RoleBasedGroupStatus(Model):
    observed_generation: int | None = Field(None, description="The generation of the spec this status was computed for.")
    ready_roles: str | None = Field(None, description='Roles ready out of all roles, as "ready/total".')
    role_statuses: list[RoleStatus] = Field(default_factory=list, description="Replica counts of each role, read from its workload.")
    conditions: list[Condition] = Field(default_factory=list, description="Ready, Progressing, InvalidSpec and the conditions of the features the group uses.")
    recovery: RecoveryStatus | None = Field(None, description="Failure recovery's state, on groups with a recovery restartPolicy; kept in status so the hooks stay stateless.")
    draining: list[Draining] = Field(default_factory=list, description="Roles whose members are draining before they go.")


class RoleBasedGroupSetStatus(Model):
    observed_generation: int | None = Field(None, description="The generation of the spec this status was computed for.")
    replicas: int | None = Field(None, description="Member groups that exist (of those wanted).")
    ready_replicas: int | None = Field(None, description="Member groups whose Ready condition is True.")
    updated_replicas: int | None = Field(None, description="Member groups at the set's current template.")
    selector: str | None = Field(None, description="Selects every pod of every member.")
    conditions: list[Condition] = Field(default_factory=list, description="Ready, Progressing and InvalidSpec.")


class RoleBasedGroupScalingAdapterStatus(Model):
    observed_generation: int | None = Field(None, description="The generation of the spec this status was computed for.")
    phase: Literal["", "NotBound", "Bound"] | None = Field(None, description="Bound once the adapter sets its role's size; NotBound with the reason in the Bound condition.")
    replicas: int | None = Field(None, description="Pods of the target role.")
    ready_replicas: int | None = Field(None, description="Ready pods of the target role.")
    selector: str | None = Field(None, description="Selects exactly the target role's pods.")
    last_scale_time: str | None = Field(
        None, json_schema_extra={"format": "date-time"}, description="When spec.replicas was last written (at most a little early: Kubernetes records no time for /scale)."
    )
    conditions: list[Condition] = Field(default_factory=list, description="Bound, with the reason it is not.")


class CoordinatedPolicyStatus(Model):
    observed_generation: int | None = Field(None, description="The generation of the spec this status was computed for.")
    conditions: list[Condition] = Field(default_factory=list, description="Bound: whether a RoleBasedGroup of the same name takes the policy, and why not.")
