"""The specs of the workloads.x-k8s.io/v1alpha1 API: RoleBasedGroup, RoleBasedGroupSet,
RoleBasedGroupScalingAdapter and ClusterEngineRuntimeProfile.

The CRD's OpenAPI schema is generated from these models (rbgcli/crdgen.py), so the
API server and the hooks agree on every field, type and default. Pod templates and service
ports stay dicts, typed only in the parts the hooks read: the CRD validates them with the
Kubernetes schemas, and the hooks pass the rest through.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter
from pydantic.alias_generators import to_camel
from typing_extensions import Required, TypedDict

from .. import constants as c

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
API_VERSION_PATTERN = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?v[0-9]+((alpha|beta)[0-9]+)?$"
MAX_ROLES = 32  # keeps the CEL dependency rule within the API server's cost budget
MAX_ROLE_TEMPLATES = 32  # keeps the CEL roleTemplates rules (roles x templates) within it too


def _int32_count(value: int | str) -> int | str:
    if isinstance(value, int) and not 0 <= value <= c.INT32_MAX:
        raise ValueError(f"an integer must be from 0 to {c.INT32_MAX}")
    return value


def _percentage(value: int | str) -> int | str:
    if isinstance(value, str) and not _PERCENT.fullmatch(value):
        raise ValueError('a string must be a percentage such as "25%"')  # as Kubernetes' IsValidPercent
    return value


_PERCENT = re.compile(r"[0-9]{1,3}%")
# An integer (a count: it lands in an int32 field) or a string such as "50%".
IntOrString = Annotated[int | str, AfterValidator(_int32_count)]
# The same, passed through to a Deployment, whose API server accepts only "<digits>%" strings.
IntOrPercent = Annotated[IntOrString, AfterValidator(_percentage)]
# A share of replicas, "0%" to "100%".
Percent = Annotated[str, Field(pattern=r"^(100|[1-9]?[0-9])%$")]


class Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )


class WorkloadSpec(Model):
    """The kind of workload a role runs as."""

    api_version: str = Field(c.APPS_V1, pattern=API_VERSION_PATTERN)
    kind: str = Field(c.KIND_STATEFULSET, min_length=1)


class InPlaceUpdateStrategy(Model):
    grace_period_seconds: int | None = Field(None, ge=0, le=c.INT32_MAX)


class RollingUpdate(Model):
    type: Literal["Recreate", "InPlaceIfPossible"] | None = Field(
        None,
        description="Recreate replaces every pod at once; InPlaceIfPossible (upstream's default) rolls pods one "
        "by one, as Kubernetes workloads cannot change a pod's template in place.",
    )
    partition: IntOrString = 0
    max_unavailable: IntOrPercent = 1
    max_surge: IntOrPercent = 0
    paused: bool = False
    in_place_update_strategy: InPlaceUpdateStrategy | None = None


class RolloutStrategy(Model):
    type: Literal["RollingUpdate"] = "RollingUpdate"
    rolling_update: RollingUpdate | None = None


class LeaderWorkerTemplate(Model):
    """A LeaderWorkerSet role's groups: each a leader and size - 1 workers."""

    size: int = Field(1, ge=1, le=c.INT32_MAX, description="Pods per group, the leader included.")
    patch_leader_template: dict[str, Any] | None = Field(None, description="A strategic-merge patch over template: the leader's pod template.")
    patch_worker_template: dict[str, Any] | None = Field(None, description="A strategic-merge patch over template: the workers' pod template.")


def _shaped(shape: Any) -> AfterValidator:
    """Check that a value has `shape` (a TypedDict of the parts the hooks read) and keep it as
    given: the rest of it, and its key order, pass through to the children untouched."""
    adapter: TypeAdapter[Any] = TypeAdapter(shape)

    def check(value: Any) -> Any:
        adapter.validate_python(value)
        return value

    return AfterValidator(check)


class ServicePort(TypedDict, total=False):
    name: StrictStr
    port: StrictInt
    targetPort: StrictInt | StrictStr


class EnvVarSource(TypedDict, total=False):
    fieldRef: dict[str, Any] | None


class EnvVar(TypedDict, total=False):
    name: StrictStr
    valueFrom: EnvVarSource | None


class Resources(TypedDict, total=False):
    limits: dict[str, Any] | None
    requests: dict[str, Any] | None


class Container(TypedDict, total=False):
    env: list[EnvVar]
    volumeMounts: list[dict[str, Any]]
    resources: Resources | None


class Volume(TypedDict, total=False):
    emptyDir: dict[str, Any] | None


class PodSpec(TypedDict, total=False):
    containers: list[Container]
    initContainers: list[Container]
    volumes: list[Volume]
    resources: Resources | None
    overhead: dict[str, Any] | None


class TemplateMeta(TypedDict, total=False):
    labels: dict[str, StrictStr]
    annotations: dict[str, StrictStr]


class PodTemplate(TypedDict, total=False):
    metadata: TemplateMeta
    spec: PodSpec


class ScalingAdapter(Model):
    enable: bool = False


class TemplateRef(Model):
    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Name of an entry of spec.roleTemplates.")


class RoleTemplate(Model):
    """A pod template that roles share: each names it in templateRef and patches it in templatePatch."""

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Template name, unique in the group (DNS-1123 label).")
    template: Annotated[dict[str, Any], _shaped(PodTemplate)] = Field(json_schema_extra={"k8s": "PodTemplateSpec"}, description="The pod template.")


class ContainerOverride(TypedDict, total=False):
    name: Required[StrictStr]
    command: list[StrictStr]
    args: list[StrictStr]
    env: list[EnvVar]


MAX_ENGINE_RUNTIMES = 16


class EngineRuntime(Model):
    """A ClusterEngineRuntimeProfile a role runs with (hooks.core.runtimes)."""

    profile_name: str = Field(
        min_length=1, max_length=253, description="The ClusterEngineRuntimeProfile whose containers and volumes are injected."
    )
    inject_containers: list[str] = Field(
        default_factory=list, description="Accepted as upstream has it; upstream does not act on it either: every container of the profile is injected."
    )
    containers: list[Annotated[dict[str, Any], _shaped(ContainerOverride)]] = Field(
        default_factory=list,
        json_schema_extra={"k8s": "Container"},
        description="By name, changes to the profile's injected containers: command replaces theirs, args are appended to "
        "theirs, env is merged by name; other fields are ignored.",
    )


class ClusterEngineRuntimeProfileSpec(Model):
    """What a ClusterEngineRuntimeProfile injects into the pods of the roles that name it."""

    init_containers: list[Annotated[dict[str, Any], _shaped(Container)]] = Field(default_factory=list, json_schema_extra={"k8s": "Container"})
    containers: list[Annotated[dict[str, Any], _shaped(Container)]] = Field(default_factory=list, json_schema_extra={"k8s": "Container"})
    volumes: list[Annotated[dict[str, Any], _shaped(Volume)]] = Field(default_factory=list, json_schema_extra={"k8s": "Volume"})
    update_strategy: Literal["NoUpdate", "RollingUpdate"] = Field(
        "NoUpdate",
        description="NoUpdate (default): a role's existing workload keeps the profile content it was given; "
        "RollingUpdate: a change of the profile rolls the roles that use it.",
    )


# A role's rules; the hooks check the same (hooks.validation) and say which field is wrong.
ROLE_TEMPLATE_RULES: list[Any] = [
    {"rule": "!(has(self.template) && has(self.templateRef))", "message": "template and templateRef are mutually exclusive"},
    {"rule": "has(self.template) || has(self.templateRef)", "message": "template or templateRef is required"},
    {"rule": "!has(self.templatePatch) || has(self.templateRef)", "message": "templatePatch is only valid with templateRef"},
]


class DrainPolicy(Model):
    """Drain-safe scale-down of a StatefulSet role (ours): members leave only once drained."""

    timeout_seconds: int = Field(
        c.DEFAULT_DRAIN_TIMEOUT_SECONDS,
        ge=1,
        le=7 * 86400,
        description="How long a scale-down waits for the leaving members' drained annotation before it goes ahead.",
    )


class RoleSpec(Model):
    """One role of the group: a workload of identical pods."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": ROLE_TEMPLATE_RULES})

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Role name, unique in the group (DNS-1123 label).")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    replicas: int = Field(1, ge=0, le=c.INT32_MAX, description="Number of pods (instances) of the role.")
    rollout_strategy: RolloutStrategy | None = None
    restart_policy: Literal["None", "RecreateRBGOnPodRestart", "RecreateRoleInstanceOnPodRestart"] | None = None
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
    leader_worker_set: LeaderWorkerTemplate | None = None
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
    scaling_adapter: ScalingAdapter | None = None
    min_ready_seconds: int = Field(0, ge=0, le=c.INT32_MAX)

    @property
    def pod_template(self) -> dict[str, Any]:
        """The role's pod template: its own, or the one hooks.core.templates made from its templateRef."""
        if self.template is None:
            raise ValueError(f"role {self.name}: its templateRef is not resolved to a template")
        return self.template


class KubeScheduling(Model):
    """A scheduler-plugins PodGroup (scheduling.x-k8s.io/v1alpha1) for the coscheduling plugin."""

    schedule_timeout_seconds: int = Field(
        60, le=c.INT32_MAX, description="How long the PodGroup's pods wait for each other once the first is placed."
    )


# Volcano's own rules for its PodGroup's fields (the empty queue is Volcano's `default`).
VOLCANO_QUEUE = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$"


class VolcanoScheduling(Model):
    """A Volcano PodGroup (scheduling.volcano.sh/v1beta1)."""

    queue: str | None = Field(None, max_length=253, pattern=VOLCANO_QUEUE, description="The Volcano queue; `default` when unset.")
    priority_class_name: str | None = Field(None, max_length=253, description="The PodGroup's PriorityClass.")


class PodGroupPolicy(Model):
    """Gang scheduling: one PodGroup `<group>` whose pods are placed all or none (kubeScheduling wins if both are given)."""

    kube_scheduling: KubeScheduling | None = None
    volcano_scheduling: VolcanoScheduling | None = None


class RecoveryPolicy(Model):
    """How failure recovery (roles[].restartPolicy) paces itself: our extension."""

    backoff_seconds: int = Field(30, ge=1, le=86400, description="Wait before the second recreation in a row; doubled for each further one.")
    max_backoff_seconds: int = Field(
        600,
        ge=1,
        le=86400,
        description="Longest wait between recreations; a failure this long after the last recreation starts a new series.",
    )
    restart_limit: int = Field(
        10, ge=0, le=1000, description="Recreations in a row before recovery gives up (condition Recovering, reason RestartLimitReached)."
    )


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
    rolling_update: CoordinatedRollingUpdate | None = None
    scaling: CoordinatedScaling | None = None


class Coordination(Model):
    """Roles that roll out (and scale) in step."""

    name: str = Field(min_length=1, max_length=63)
    roles: list[str] = Field(min_length=1, max_length=MAX_ROLES)
    strategy: CoordinationStrategy = Field(default_factory=lambda: CoordinationStrategy.model_validate({}))


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

    roles: list[RoleSpec] = Field(min_length=1, max_length=MAX_ROLES)
    role_templates: list[RoleTemplate] = Field(
        default_factory=list,
        max_length=MAX_ROLE_TEMPLATES,
        description="Pod templates that roles share (templateRef), each role patching its own (templatePatch).",
    )
    coordination: list[Coordination] = Field(default_factory=list, max_length=MAX_ROLES)
    pod_group_policy: PodGroupPolicy | None = None
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


class SetRollingUpdate(Model):
    max_unavailable: IntOrPercent = Field(
        1, description="Members that may be not Ready while the set rolls a template change through them (a count or a percentage of replicas, at least 1)."
    )


class SetRolloutStrategy(Model):
    rolling_update: SetRollingUpdate | None = None


class RoleBasedGroupSetSpec(Model):
    """N identical RoleBasedGroups, `<set>-0` to `<set>-<replicas - 1>`."""

    replicas: int = Field(1, ge=0, le=c.MAX_SET_REPLICAS, description="Number of member groups.")
    template: RoleBasedGroupSpec = Field(description="The spec of every member group.")
    startup_policy: Literal["Ordered", "Parallel"] = Field(
        "Parallel",
        description="Parallel (default) creates every member at once; Ordered creates member i+1 once member i is Ready.",
    )
    rollout_strategy: SetRolloutStrategy | None = None


class ScaleTargetRef(Model):
    name: str = Field(min_length=1, max_length=253, description="The RoleBasedGroup.")
    role: str = Field(min_length=1, max_length=63, description="The role of that group whose size this adapter sets.")


class RoleBasedGroupScalingAdapterSpec(Model):
    """A /scale target for one role of one group (HPA, KEDA, `kubectl scale rbgsa`)."""

    replicas: int | None = Field(None, ge=0, le=c.INT32_MAX, description="The role's size, once the adapter is bound.")
    scale_target_ref: ScaleTargetRef
