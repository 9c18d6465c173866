"""The workloads.x-k8s.io/v1alpha1 API, served (deprecated) beside v1alpha2.

The API server converts v1alpha1 objects to v1alpha2 through the conversion webhook
(hooks.conversion), and the hooks plan from v1alpha2 only: these models give the CRD its v1alpha1
schema (rbgcli/crdgen.py) and check the conversion's v1alpha1 side. The parts both versions share
are in hooks.api.spec.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from .. import constants as c
from .spec import (
    API_VERSION_PATTERN,
    DNS_LABEL,
    MAX_ENGINE_RUNTIMES,
    MAX_ROLE_TEMPLATES,
    MAX_ROLES,
    DrainPolicy,
    EngineRuntime,
    IntOrPercent,
    LeaderWorkerTemplate,
    Model,
    Percent,
    PodGroupPolicy,
    PodTemplate,
    RecoveryPolicy,
    RoleTemplate,
    RolloutStrategy,
    ServicePort,
    SetRolloutStrategy,
    WorkloadSpec,
    _shaped,
)


class ScalingAdapter(Model):
    enable: bool = Field(False, description="Give the role a RoleBasedGroupScalingAdapter <group>-<role> whose /scale sets its size.")


class TemplateRef(Model):
    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Name of an entry of spec.roleTemplates.")




# A role's rules; the hooks check the same (hooks.validation) and say which field is wrong.
ROLE_TEMPLATE_RULES: list[Any] = [
    {"rule": "!(has(self.template) && has(self.templateRef))", "message": "template and templateRef are mutually exclusive"},
    {"rule": "has(self.template) || has(self.templateRef) || has(self.components)", "message": "template or templateRef is required"},
    {"rule": "!has(self.templatePatch) || has(self.templateRef)", "message": "templatePatch is only valid with templateRef"},
]




class InstanceComponent(Model):
    """A component of upstream's v1alpha1 InstanceSet roles (v1alpha2's customComponentsPattern)."""

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Component name, unique in the role.")
    size: int | None = Field(None, ge=0, le=c.INT32_MAX, description="Pods of this component per instance.")
    service_name: str | None = Field(None, max_length=63, description="The headless Service of the component's pods.")
    template: Annotated[dict[str, Any], _shaped(PodTemplate)] = Field(json_schema_extra={"k8s": "PodTemplateSpec"}, description="The component's pod template.")


class RoleSpec(Model):
    """One role of the group: a workload of identical pods."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": ROLE_TEMPLATE_RULES})

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Role name, unique in the group (DNS-1123 label).")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the role's workload object (not of its pods: put those in the template).")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations of the role's workload object (not of its pods: put those in the template).")
    replicas: int = Field(1, ge=0, le=c.INT32_MAX, description="Number of pods (instances) of the role.")
    rollout_strategy: RolloutStrategy | None = Field(None, description="How a change of the role's pod template rolls out.")
    restart_policy: Literal["None", "RecreateRBGOnPodRestart", "RecreateRoleInstanceOnPodRestart"] | None = Field(
        None,
        description="Failure recovery: on a pod failure, recreate the whole group (RecreateRBGOnPodRestart) or this role "
        "(RecreateRoleInstanceOnPodRestart); None (default) leaves restarts to the workload.",
    )
    drain_policy: DrainPolicy | None = Field(
        None,
        description="Ours: before this StatefulSet role shrinks (or the group is deleted), the members that go are listed "
        "as excluded in /etc/rbg/config.yaml and kept until their pods are annotated "
        "rolebasedgroup.workloads.x-k8s.io/drained=true or timeoutSeconds pass.",
    )
    dependencies: list[str] = Field(
        default_factory=list,
        max_length=MAX_ROLES,
        description="Roles of this group whose pods must all be Ready before this role's workload is created.",
    )
    workload: WorkloadSpec = Field(
        default_factory=lambda: WorkloadSpec.model_validate({}),
        json_schema_extra={"default": {"apiVersion": c.APPS_V1, "kind": c.KIND_STATEFULSET}},
        description="Workload kind of the role: apps/v1 StatefulSet (default), apps/v1 Deployment, or "
        "leaderworkerset.x-k8s.io/v1 LeaderWorkerSet (registered by overlays/leaderworkerset).",
    )
    template: Annotated[dict[str, Any], _shaped(PodTemplate)] | None = Field(
        None,
        json_schema_extra={"k8s": "PodTemplateSpec"},
        description="Pod template of the role. Exactly one of template and templateRef is set.",
    )
    template_ref: TemplateRef | None = Field(
        None, description="A template of spec.roleTemplates this role's pod template is made from, with templatePatch over it."
    )
    template_patch: dict[str, Any] | None = Field(
        None,
        description="A strategic-merge patch (a partial pod template) over the template that templateRef names; only with templateRef.",
    )
    components: list[InstanceComponent] | None = Field(
        None, max_length=MAX_ROLES, description="Components of each instance of an InstanceSet role (v1alpha2: customComponentsPattern)."
    )
    leader_worker_set: LeaderWorkerTemplate | None = Field(None, description="A LeaderWorkerSet role's groups: each a leader and size - 1 workers, with leader and worker patches.")
    service_ports: list[Annotated[dict[str, Any], _shaped(ServicePort)]] = Field(
        default_factory=list,
        max_length=c.MAX_SERVICE_PORTS,
        json_schema_extra={"k8s": "ServicePort"},
        description="Ports of the role's headless Service, also listed in /etc/rbg/config.yaml.",
    )
    engine_runtimes: list[EngineRuntime] = Field(
        default_factory=list,
        max_length=MAX_ENGINE_RUNTIMES,
        description="ClusterEngineRuntimeProfiles whose init containers, containers and volumes are injected into the role's pods.",
    )
    scaling_adapter: ScalingAdapter | None = Field(None, description="A RoleBasedGroupScalingAdapter for the role, a /scale target for autoscalers.")
    min_ready_seconds: int = Field(
        0, ge=0, le=c.INT32_MAX, description="Seconds a new pod must be Ready before it counts as available (StatefulSet and Deployment roles)."
    )

    @property
    def pod_template(self) -> dict[str, Any]:
        """The role's pod template: its own, or the one hooks.validation.templates made from its templateRef."""
        if self.template is None:
            raise ValueError(f"role {self.name}: its templateRef is not resolved to a template")
        return self.template




class CoordinatedRollingUpdate(Model):
    max_skew: Percent | None = Field(None, description="Most the updated fractions of the coordinated roles may differ.")
    partition: IntOrPercent | None = Field(None, description="Share of each role's replicas left at the old template (a canary).")
    max_unavailable: IntOrPercent | None = Field(None, description="Pods of each role updated per step.")


class CoordinatedScaling(Model):
    max_skew: Percent | None = Field(None, description="Most the scaled fractions of the coordinated roles may differ.")
    progression: Literal["OrderScheduled", "OrderReady"] = Field(
        "OrderScheduled", description="What counts as scaled: pods created (OrderScheduled) or Ready (OrderReady)."
    )


class CoordinationStrategy(Model):
    rolling_update: CoordinatedRollingUpdate | None = Field(None, description="Roll the roles' template changes in step.")
    scaling: CoordinatedScaling | None = Field(None, description="Grow the roles' replicas in step.")


class Coordination(Model):
    """Roles that roll out (and scale) in step."""

    name: str = Field(min_length=1, max_length=63, description="Name of the coordination, used in the Coordinating condition.")
    roles: list[str] = Field(min_length=1, max_length=MAX_ROLES, description="The roles kept in step.")
    strategy: CoordinationStrategy = Field(
        default_factory=lambda: CoordinationStrategy.model_validate({}), description="What is kept in step: rollouts, scaling, or both."
    )


class RoleBasedGroupSpec(Model):
    """A group of cooperating roles, started in dependency order."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.roles.all(r, self.roles.exists_one(o, o.name == r.name))",
                    "message": "role names must be unique",
                    "fieldPath": ".roles",
                },
                {
                    "rule": "self.roles.all(r, !has(r.dependencies) || r.dependencies.all(d, d != r.name && self.roles.exists(o, o.name == d)))",
                    "message": "every dependency must name another role of this group",
                    "fieldPath": ".roles",
                },
                # Variables over roleTemplates are not one letter: rbgcli.crdgen.seed_set_schema
                # renames `<letter>.name` (a role's name) to `<letter>.role`.
                {
                    "rule": "!has(self.roleTemplates) || self.roleTemplates.all(tpl, self.roleTemplates.exists_one(other, other.name == tpl.name))",
                    "message": "roleTemplates names must be unique",
                    "fieldPath": ".roleTemplates",
                },
                {
                    "rule": "self.roles.all(r, !has(r.templateRef) || (has(self.roleTemplates) && self.roleTemplates.exists(tpl, tpl.name == r.templateRef.name)))",
                    "message": "every templateRef must name an entry of spec.roleTemplates",
                    "fieldPath": ".roles",
                },
            ]
        }
    )

    roles: list[RoleSpec] = Field(min_length=1, max_length=MAX_ROLES, description="The roles of the group, at most 32.")
    role_templates: list[RoleTemplate] = Field(
        default_factory=list,
        max_length=MAX_ROLE_TEMPLATES,
        description="Pod templates that roles share (templateRef), each role patching its own (templatePatch).",
    )
    coordination: list[Coordination] = Field(
        default_factory=list, max_length=MAX_ROLES, description="Groups of roles that roll out and scale in step."
    )
    pod_group_policy: PodGroupPolicy | None = Field(None, description="Gang scheduling: one PodGroup <group> whose pods are placed all or none (kubeScheduling wins if both are given).")
    recovery_policy: RecoveryPolicy | None = Field(
        None,
        description="Backoff and restart budget of failure recovery (roles[].restartPolicy).",
    )
    startup_policy: Literal["Ordered", "Parallel"] = Field(
        "Ordered",
        description="Ordered (default) creates a role once its dependencies are Ready; Parallel creates all roles at once.",
    )
    revision_history_limit: int = Field(
        c.DEFAULT_REVISION_HISTORY_LIMIT,
        ge=0,
        le=c.MAX_REVISION_HISTORY_LIMIT,
        description="Older ControllerRevisions of each role's pod template kept for `rbg rollout undo`, beside the current one.",
    )




class RoleBasedGroupSetSpec(Model):
    """N identical RoleBasedGroups, `<set>-0` to `<set>-<replicas - 1>`."""

    replicas: int = Field(1, ge=0, le=c.MAX_SET_REPLICAS, description="Number of member groups.")
    template: RoleBasedGroupSpec = Field(description="The spec of every member group.")
    startup_policy: Literal["Ordered", "Parallel"] = Field(
        "Parallel",
        description="Parallel (default) creates every member at once; Ordered creates member i+1 once member i is Ready.",
    )
    rollout_strategy: SetRolloutStrategy | None = Field(None, description="How a change of the template rolls through the members.")


