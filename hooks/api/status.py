"""The statuses the hooks write: RoleBasedGroup, RoleBasedGroupSet, RoleBasedGroupScalingAdapter."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .spec import Model


class AdapterSize(Model):
    """A size set by the role's scaling adapter, and the role's `replicas` when it was."""

    replicas: int
    spec_replicas: int


class RoleStatus(Model):
    name: str
    replicas: int
    ready_replicas: int
    updated_replicas: int
    scaling_adapter: AdapterSize | None = Field(
        None, description="Present while the role's size comes from its scaling adapter, or is kept after the adapter was turned off."
    )


class Condition(Model):
    """A metav1.Condition."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str
    last_transition_time: str = Field(json_schema_extra={"format": "date-time"})
    observed_generation: int | None = None


class FailureCause(Model):
    """What a recreation answered: the failure that caused it."""

    role: str
    pod: str
    reason: str
    time: str = Field(json_schema_extra={"format": "date-time"})
    container: str | None = None
    exit_code: int | None = None
    message: str | None = None


class RecoveryStatus(Model):
    """Failure recovery's state (hooks.core.recovery), kept in status so the hooks stay stateless."""

    phase: Literal["Watching", "BackingOff", "Recreating", "GaveUp"]
    version: int = Field(0, description="Counts the changes of this state; the ConfigMap <group>-recovery holds a copy.")
    restart_count: int = Field(0, description="Recreations so far.")
    streak: int = Field(0, description="Recreations in the current series (each within maxBackoffSeconds of the last).")
    roles: list[str] = Field(default_factory=list, description="Roles being recreated, or to be once the backoff ends.")
    workloads: dict[str, str] = Field(default_factory=dict, description="While recreating: the UIDs of the workloads being deleted, by role.")
    last_cause: FailureCause | None = None
    last_recreation_time: str | None = Field(None, json_schema_extra={"format": "date-time"})
    generation: int | None = Field(None, description="The generation recovery gave up at; a spec change starts it again.")
    pods: dict[str, dict[str, str]] = Field(
        default_factory=dict, description='Pods last seen, by role and name: "<uid prefix> <revision> <restarts> <generation>".'
    )


class Draining(Model):
    """A role whose members are draining before it shrinks (hooks.core.drain)."""

    role: str
    members: list[str] = Field(description="Pods leaving, listed as excluded in the discovery file.")
    waiting_for: list[str] = Field(description="Members not yet annotated drained.")
    since: str = Field(json_schema_extra={"format": "date-time"})
    timeout_seconds: int
    reason: Literal["ScaleDown", "GroupDeleted", "RollingUpdate"]


class RoleBasedGroupStatus(Model):
    observed_generation: int | None = None
    ready_roles: str | None = Field(None, description='Roles ready out of all roles, as "ready/total".')
    role_statuses: list[RoleStatus] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
    recovery: RecoveryStatus | None = None
    draining: list[Draining] = Field(default_factory=list)


class RoleBasedGroupSetStatus(Model):
    observed_generation: int | None = None
    replicas: int | None = Field(None, description="Member groups that exist (of those wanted).")
    ready_replicas: int | None = Field(None, description="Member groups whose Ready condition is True.")
    updated_replicas: int | None = Field(None, description="Member groups at the set's current template.")
    selector: str | None = Field(None, description="Selects every pod of every member.")
    conditions: list[Condition] = Field(default_factory=list)


class RoleBasedGroupScalingAdapterStatus(Model):
    observed_generation: int | None = None
    phase: Literal["", "NotBound", "Bound"] | None = None
    replicas: int | None = Field(None, description="Pods of the target role.")
    ready_replicas: int | None = Field(None, description="Ready pods of the target role.")
    selector: str | None = Field(None, description="Selects exactly the target role's pods.")
    last_scale_time: str | None = Field(None, json_schema_extra={"format": "date-time"})
    conditions: list[Condition] = Field(default_factory=list)
