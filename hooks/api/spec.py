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

    api_version: str = Field(c.APPS_V1, pattern=API_VERSION_PATTERN, description="API version of the workload: apps/v1, or leaderworkerset.x-k8s.io/v1.")
    kind: str = Field(c.KIND_STATEFULSET, min_length=1, description="Kind of the workload: StatefulSet, Deployment or LeaderWorkerSet.")


class InPlaceUpdateStrategy(Model):
    grace_period_seconds: int | None = Field(
        None,
        ge=0,
        le=c.INT32_MAX,
        description="Seconds a replaced pod keeps serving after it leaves the Service endpoints: a preStop sleep in every "
        "container without a preStop hook, and terminationGracePeriodSeconds at least this plus 30.",
    )


def _zero(field: str) -> str:
    return f"(type(self.{field}) == int ? self.{field} == 0 : self.{field} == '0%')"


class RollingUpdate(Model):
    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": f"!has(self.maxSurge) || !has(self.maxUnavailable) || !({_zero('maxSurge')} && {_zero('maxUnavailable')})",
                    "message": "maxSurge and maxUnavailable may not both be 0: the rollout could not replace a pod",
                }
            ]
        }
    )

    type: Literal["Recreate", "InPlaceIfPossible", "InPlaceOnly", "RecreatePod"] | None = Field(
        None,
        description="Recreate replaces every pod at once; InPlaceIfPossible (upstream's default), InPlaceOnly and "
        "RecreatePod roll pods one by one: StatefulSet, Deployment and LeaderWorkerSet roles replace a pod to change it.",
    )
    partition: IntOrString = Field(
        0, description="StatefulSet roles: pods at and above this ordinal (a count, or a percentage of replicas) get a new template: a canary."
    )
    max_unavailable: IntOrPercent = Field(
        1,
        description="Pods (a count or a percentage) that may be unavailable during the rollout; for StatefulSet roles it needs "
        "the MaxUnavailableStatefulSet feature gate.",
    )
    max_surge: IntOrPercent = Field(0, description="Deployment and LeaderWorkerSet roles: pods (groups) created above replicas during the rollout.")
    paused: bool = Field(False, description="Stop rolling out template changes to the role (rbg rollout pause and resume set it).")
    in_place_update_strategy: InPlaceUpdateStrategy | None = Field(None, description="How long a pod being replaced keeps serving.")


class RolloutStrategy(Model):
    type: Literal["RollingUpdate"] = Field("RollingUpdate", description="The only strategy type: RollingUpdate.")
    rolling_update: RollingUpdate | None = Field(None, description="How the role's pods roll to a new template.")


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

    init_containers: list[Annotated[dict[str, Any], _shaped(Container)]] = Field(
        default_factory=list, json_schema_extra={"k8s": "Container"}, description="Init containers appended after the pod template's own."
    )
    containers: list[Annotated[dict[str, Any], _shaped(Container)]] = Field(
        default_factory=list, json_schema_extra={"k8s": "Container"}, description="Containers appended after the pod template's own (sidecars)."
    )
    volumes: list[Annotated[dict[str, Any], _shaped(Volume)]] = Field(
        default_factory=list, json_schema_extra={"k8s": "Volume"}, description="Volumes appended after the pod template's own."
    )
    update_strategy: Literal["NoUpdate", "RollingUpdate"] = Field(
        "NoUpdate",
        description="NoUpdate (default): a role's existing workload keeps the profile content it was given; "
        "RollingUpdate: a change of the profile rolls the roles that use it.",
    )


class DrainPolicy(Model):
    """Drain-safe scale-down of a StatefulSet role (ours): members leave only once drained."""

    timeout_seconds: int = Field(
        c.DEFAULT_DRAIN_TIMEOUT_SECONDS,
        ge=1,
        le=7 * 86400,
        description="How long a scale-down waits for the leaving members' drained annotation before it goes ahead.",
    )


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

    kube_scheduling: KubeScheduling | None = Field(None, description="A scheduler-plugins PodGroup (scheduling.x-k8s.io/v1alpha1) for the coscheduling plugin; registered by overlays/scheduler-plugins.")
    volcano_scheduling: VolcanoScheduling | None = Field(None, description="A Volcano PodGroup (scheduling.volcano.sh/v1beta1); registered by overlays/volcano.")


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


class SetRollingUpdate(Model):
    max_unavailable: IntOrPercent = Field(
        1, description="Members that may be not Ready while the set rolls a template change through them (a count or a percentage of replicas, at least 1)."
    )


class SetRolloutStrategy(Model):
    rolling_update: SetRollingUpdate | None = Field(None, description="How a template change rolls through the members.")


class ScaleTargetRef(Model):
    name: str = Field(min_length=1, max_length=253, description="The RoleBasedGroup.")
    role: str = Field(min_length=1, max_length=63, description="The role of that group whose size this adapter sets.")


class RoleBasedGroupScalingAdapterSpec(Model):
    """A /scale target for one role of one group (HPA, KEDA, `kubectl scale rbgsa`)."""

    replicas: int | None = Field(None, ge=0, le=c.INT32_MAX, description="The role's size, once the adapter is bound.")
    scale_target_ref: ScaleTargetRef = Field(description="The group and role whose size this adapter sets.")


# --- v1alpha2: the hub ----------------------------------------------------------------------------
# Roles run one of three patterns; templateRef carries its own patch; restart policies live in the
# pattern; the workload kind is an annotation; gang scheduling is group annotations (constants
# ANNOTATION_GANG_*); coordination is a kind of its own, CoordinatedPolicy.

RestartPolicyType = Literal["None", "RecreateRoleInstanceOnPodRestart", "RecreateRBGOnPodRestart"]


class TemplateRef(Model):
    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Name of an entry of spec.roleTemplates.")
    patch: dict[str, Any] | None = Field(
        None, description="A strategic-merge patch (a partial pod template) over the template this names."
    )


class RestartPolicyConfig(Model):
    """Failure recovery of a role, and its backoff."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.baseDelaySeconds) || !has(self.maxDelaySeconds) || self.maxDelaySeconds >= self.baseDelaySeconds",
                    "message": "maxDelaySeconds must be greater than or equal to baseDelaySeconds",
                }
            ]
        }
    )

    type: RestartPolicyType | None = Field(
        None,
        description="On a pod failure: RecreateRoleInstanceOnPodRestart recreates the role's pods (the default of "
        "leaderWorkerPattern and customComponentsPattern), RecreateRBGOnPodRestart (ours) the whole group, None leaves "
        "restarts to the workload (the default of standalonePattern).",
    )
    base_delay_seconds: int | None = Field(
        None,
        ge=0,
        le=86400,
        description="Wait before the second recreation in a row, doubled for each further one; replaces spec.recoveryPolicy's "
        "backoffSeconds (30) for the group, the smallest of the roles that set it.",
    )
    max_delay_seconds: int | None = Field(
        None,
        ge=0,
        le=86400,
        description="Longest wait between recreations; replaces spec.recoveryPolicy's maxBackoffSeconds (600) for the group, "
        "the smallest of the roles that set it.",
    )


# Patterns' rules, as upstream's.
TEMPLATE_SOURCE_RULES: list[Any] = [
    {"rule": "!(has(self.template) && has(self.templateRef))", "message": "template and templateRef are mutually exclusive"},
    {"rule": "has(self.template) || has(self.templateRef)", "message": "template or templateRef is required"},
]
_TEMPLATE = Field(None, json_schema_extra={"k8s": "PodTemplateSpec"}, description="The pod template. Exactly one of template and templateRef is set.")
_TEMPLATE_REF = Field(None, description="A template of spec.roleTemplates, with a patch over it.")


class StandalonePattern(Model):
    """Each instance is one pod."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": TEMPLATE_SOURCE_RULES})

    template: Annotated[dict[str, Any], _shaped(PodTemplate)] | None = _TEMPLATE
    template_ref: TemplateRef | None = _TEMPLATE_REF
    restart_policy_config: RestartPolicyConfig | None = Field(None, description="Ours: failure recovery of the role (default None).")


class LeaderWorkerPattern(Model):
    """Each instance is a leader and size - 1 workers."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": TEMPLATE_SOURCE_RULES})

    size: int = Field(1, ge=1, le=c.INT32_MAX, description="Pods per instance, the leader included.")
    template: Annotated[dict[str, Any], _shaped(PodTemplate)] | None = _TEMPLATE
    template_ref: TemplateRef | None = _TEMPLATE_REF
    leader_template_patch: dict[str, Any] | None = Field(None, description="A strategic-merge patch over the template: the leader's pod template.")
    worker_template_patch: dict[str, Any] | None = Field(None, description="A strategic-merge patch over the template: the workers' pod template.")
    shared_service_selection: Literal["All", "LeaderOnly"] | None = Field(
        None, description="Which pods the role's shared Service selects: All (default) or LeaderOnly (RoleInstanceSet roles only, as upstream)."
    )
    restart_policy: Literal["None", "RecreateRoleInstanceOnPodRestart"] | None = Field(
        None, description="Deprecated (upstream's v0.7 spelling): restartPolicyConfig.type wins."
    )
    restart_policy_config: RestartPolicyConfig | None = Field(None, description="Failure recovery of the role (default RecreateRoleInstanceOnPodRestart).")


class InstanceComponent(Model):
    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Component name, unique in the role.")
    size: int | None = Field(None, ge=0, le=c.INT32_MAX, description="Pods of this component per instance (1 when unset).")
    service_name: str | None = Field(None, max_length=63, description="The headless Service of the component's pods.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the component's pods.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations of the component's pods.")
    template: Annotated[dict[str, Any], _shaped(PodTemplate)] = Field(json_schema_extra={"k8s": "PodTemplateSpec"}, description="The component's pod template.")


class CustomComponentsPattern(Model):
    """Each instance is a set of components, each its own template and size (runs on RoleInstanceSets)."""

    components: list[InstanceComponent] = Field(min_length=1, max_length=MAX_ROLES, description="The components of each instance.")
    restart_policy: Literal["None", "RecreateRoleInstanceOnPodRestart"] | None = Field(
        None, description="Deprecated (upstream's v0.7 spelling): restartPolicyConfig.type wins."
    )
    restart_policy_config: RestartPolicyConfig | None = Field(None, description="Failure recovery of the role (default RecreateRoleInstanceOnPodRestart).")


class ScalingAdapter(Model):
    enable: bool = Field(False, description="Give the role a RoleBasedGroupScalingAdapter <group>-<role> whose /scale sets its size.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels of the adapter; the group-name and role-name labels the hooks set win."
    )


PATTERNS = ("standalonePattern", "leaderWorkerPattern", "customComponentsPattern")
ROLE_RULES: list[Any] = [
    {
        "rule": "[" + ", ".join(f"has(self.{p})" for p in PATTERNS) + "].exists_one(x, x)",
        "message": "exactly one of standalonePattern, leaderWorkerPattern and customComponentsPattern is required",
    },
    {
        "rule": f"!has(self.annotations) || !('{c.ANNOTATION_ROLE_WORKLOAD_TYPE}' in self.annotations) || "
        f"self.annotations['{c.ANNOTATION_ROLE_WORKLOAD_TYPE}'] in {list(c.WORKLOAD_TYPES)}",
        "message": f"annotation {c.ANNOTATION_ROLE_WORKLOAD_TYPE} must be one of {', '.join(c.WORKLOAD_TYPES)}",
    },
    {
        "rule": f"!has(self.customComponentsPattern) || !has(self.annotations) || !('{c.ANNOTATION_ROLE_WORKLOAD_TYPE}' in self.annotations) || "
        f"self.annotations['{c.ANNOTATION_ROLE_WORKLOAD_TYPE}'] == '{c.API_VERSION}/{c.KIND_ROLE_INSTANCE_SET}'",
        "message": "customComponentsPattern runs on RoleInstanceSets only",
    },
]


class RoleSpec(Model):
    """One role of the group: `replicas` instances of its pattern."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": ROLE_RULES})

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Role name, unique in the group (DNS-1123 label).")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the role's workload object (not of its pods: put those in the template).")
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description=f"Annotations of the role's workload object; {c.ANNOTATION_ROLE_WORKLOAD_TYPE} picks its kind "
        "(apps/v1/StatefulSet, apps/v1/Deployment, leaderworkerset.x-k8s.io/v1/LeaderWorkerSet).",
    )
    replicas: int = Field(1, ge=0, le=c.INT32_MAX, description="Number of instances of the role.")
    rollout_strategy: RolloutStrategy | None = Field(None, description="How a change of the role's pod template rolls out.")
    dependencies: list[str] = Field(
        default_factory=list,
        max_length=MAX_ROLES,
        description="Roles of this group whose pods must all be Ready before this role's workload is created.",
    )
    standalone_pattern: StandalonePattern | None = Field(None, description="Each instance one pod: a StatefulSet (default) or Deployment.")
    leader_worker_pattern: LeaderWorkerPattern | None = Field(None, description="Each instance a leader and workers: a LeaderWorkerSet.")
    custom_components_pattern: CustomComponentsPattern | None = Field(None, description="Each instance a set of components (RoleInstanceSets).")
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
    pod_management_policy: Literal["OrderedReady", "Parallel"] = Field(
        "Parallel",
        description="StatefulSet roles: Parallel (default) creates a role's pods at once; OrderedReady one by one, each once the "
        "one before is Ready. Fixed when the StatefulSet is created (Kubernetes does not change it).",
    )
    drain_policy: DrainPolicy | None = Field(
        None,
        description="Ours: before this StatefulSet role shrinks (or the group is deleted), the members that go are listed "
        "as excluded in /etc/rbg/config.yaml and kept until their pods are annotated "
        "rolebasedgroup.workloads.x-k8s.io/drained=true or timeoutSeconds pass.",
    )

    # What the core reads: the pattern's parts, under the names both versions share.
    @property
    def pattern(self) -> StandalonePattern | LeaderWorkerPattern | CustomComponentsPattern:
        found = self.standalone_pattern or self.leader_worker_pattern or self.custom_components_pattern
        if found is None:
            raise ValueError(f"role {self.name}: no pattern")
        return found

    @property
    def template(self) -> dict[str, Any] | None:
        p = self.pattern
        return None if isinstance(p, CustomComponentsPattern) else p.template

    @property
    def template_ref(self) -> TemplateRef | None:
        p = self.pattern
        return None if isinstance(p, CustomComponentsPattern) else p.template_ref

    @property
    def pod_template(self) -> dict[str, Any]:
        """The role's pod template: its own, or the one hooks.validation.templates made from its templateRef."""
        if self.template is None:
            raise ValueError(f"role {self.name}: its templateRef is not resolved to a template")
        return self.template

    @property
    def workload(self) -> WorkloadSpec:
        """The kind the role runs as: its workload-type annotation, else its pattern's default."""
        written = self.annotations.get(c.ANNOTATION_ROLE_WORKLOAD_TYPE)
        if written:
            api_version, _, kind = written.rpartition("/")
            return WorkloadSpec(api_version=api_version, kind=kind)
        if self.leader_worker_pattern is not None:
            return WorkloadSpec(api_version=c.LWS_API_VERSION, kind=c.KIND_LWS)
        if self.custom_components_pattern is not None:
            return WorkloadSpec(api_version=c.API_VERSION, kind=c.KIND_ROLE_INSTANCE_SET)
        return WorkloadSpec()

    @property
    def leader_worker_set(self) -> LeaderWorkerTemplate | None:
        p = self.leader_worker_pattern
        if p is None:
            return None
        return LeaderWorkerTemplate(size=p.size, patch_leader_template=p.leader_template_patch, patch_worker_template=p.worker_template_patch)

    @property
    def restart_config(self) -> RestartPolicyConfig:
        """The pattern's restartPolicyConfig, its type defaulted: the deprecated restartPolicy, else
        RecreateRoleInstanceOnPodRestart for leaderWorkerPattern, customComponentsPattern and any
        LeaderWorkerSet role (which then recreates its groups itself), None otherwise."""
        p = self.pattern
        config = p.restart_policy_config or RestartPolicyConfig()
        if config.type is not None:
            return config
        legacy = None if isinstance(p, StandalonePattern) else p.restart_policy
        recreates = not isinstance(p, StandalonePattern) or self.workload.kind == c.KIND_LWS
        return config.model_copy(update={"type": legacy or (c.RESTART_RECREATE_ROLE if recreates else c.RESTART_NONE)})

    @property
    def restart_policy(self) -> str:
        return self.restart_config.type or c.RESTART_NONE

    def with_template(self, template: dict[str, Any]) -> RoleSpec:
        """The role with `template` as its pattern's template (its templateRef resolved)."""
        p = self.pattern
        field = {StandalonePattern: "standalone_pattern", LeaderWorkerPattern: "leader_worker_pattern"}[type(p)]
        return self.model_copy(update={field: p.model_copy(update={"template": template, "template_ref": None})})


def _pattern_refs(pattern: str) -> str:
    return f"(!has(r.{pattern}) || !has(r.{pattern}.templateRef) || (has(self.roleTemplates) && self.roleTemplates.exists(tpl, tpl.name == r.{pattern}.templateRef.name)))"


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
                {
                    "rule": "!has(self.roleTemplates) || self.roleTemplates.all(tpl, self.roleTemplates.exists_one(other, other.name == tpl.name))",
                    "message": "roleTemplates names must be unique",
                    "fieldPath": ".roleTemplates",
                },
                {
                    "rule": f"self.roles.all(r, {_pattern_refs('standalonePattern')} && {_pattern_refs('leaderWorkerPattern')})",
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
        description="Pod templates that roles share (templateRef), each role patching its own (templateRef.patch).",
    )
    recovery_policy: RecoveryPolicy | None = Field(
        None, description="Ours: backoff and restart budget of failure recovery (delays a recovered role sets in restartPolicyConfig replace these)."
    )
    startup_policy: Literal["Ordered", "Parallel"] = Field(
        "Ordered",
        description="Ours: Ordered (default) creates a role once its dependencies are Ready; Parallel creates all roles at once.",
    )
    revision_history_limit: int = Field(
        c.DEFAULT_REVISION_HISTORY_LIMIT,
        ge=0,
        le=c.MAX_REVISION_HISTORY_LIMIT,
        description="Ours: older ControllerRevisions of each role's pod template kept for `rbg rollout undo`, beside the current one.",
    )


class GroupTemplateMeta(Model):
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of every member group.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations of every member group.")


class GroupTemplate(Model):
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of every member group.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations of every member group (gang scheduling, exclusive topology).")
    metadata: GroupTemplateMeta | None = Field(
        None, description="Labels and annotations of every member group, as upstream's examples write them (labels and annotations beside it win)."
    )
    spec: RoleBasedGroupSpec = Field(description="The spec of every member group.")


class RoleBasedGroupSetSpec(Model):
    """N identical RoleBasedGroups, `<set>-0` to `<set>-<replicas - 1>`."""

    replicas: int = Field(1, ge=0, le=c.MAX_SET_REPLICAS, description="Number of member groups.")
    group_template: GroupTemplate = Field(description="Every member group: its labels, annotations and spec.")
    startup_policy: Literal["Ordered", "Parallel"] = Field(
        "Parallel",
        description="Ours: Parallel (default) creates every member at once; Ordered creates member i+1 once member i is Ready.",
    )
    rollout_strategy: SetRolloutStrategy | None = Field(None, description="Ours: how a change of the template rolls through the members.")


# CoordinatedPolicy: a count of pods, or a percentage of each role's replicas.
Skew = Annotated[IntOrString, AfterValidator(_percentage)]


class CoordinatedRollingUpdate(Model):
    max_skew: Skew | None = Field(None, description="Most the updated shares of the coordinated roles may differ: a percentage, or a count of pods.")
    partition: IntOrPercent | None = Field(None, description="Share of each role's replicas left at the old template (a canary).")
    max_unavailable: IntOrPercent | None = Field(None, description="Pods of each role updated per step.")


class CoordinatedScaling(Model):
    max_skew: Skew | None = Field(None, description="Most the scaled shares of the coordinated roles may differ: a percentage, or a count of pods.")
    progression: Literal["OrderScheduled", "OrderReady"] = Field(
        "OrderScheduled", description="What counts as scaled: pods created (OrderScheduled) or Ready (OrderReady)."
    )


class CoordinationStrategy(Model):
    rolling_update: CoordinatedRollingUpdate | None = Field(None, description="Roll the roles' template changes in step.")
    scaling: CoordinatedScaling | None = Field(None, description="Grow the roles' replicas in step.")


class Coordination(Model):
    """Roles that roll out (and scale) in step."""

    name: str = Field(min_length=1, max_length=63, description="Name of the policy, used in the group's Coordinating condition.")
    roles: list[str] = Field(min_length=1, max_length=MAX_ROLES, description="The roles kept in step.")
    strategy: CoordinationStrategy = Field(
        default_factory=lambda: CoordinationStrategy.model_validate({}), description="What is kept in step: rollouts, scaling, or both."
    )


class CoordinatedPolicySpec(Model):
    """Roles of the RoleBasedGroup of the same name and namespace that roll out and scale in step."""

    policies: list[Coordination] = Field(min_length=1, max_length=MAX_ROLES, description="Each a set of roles kept in step.")


class GroupSpec(RoleBasedGroupSpec):
    """A group as the core plans it: its v1alpha2 spec, with the coordination of its CoordinatedPolicy
    (or of a v1alpha1 object's conversion annotation) and the gang its annotations ask for."""

    coordination: list[Coordination] = Field(default_factory=list)
    pod_group_policy: PodGroupPolicy | None = None
