"""Typed models of the workloads.x-k8s.io/v1alpha1 RoleBasedGroup API.

The CRD's OpenAPI schema is generated from these models (hooks/crd/generate.py), so the
API server and the hooks agree on every field, type and default. Pod templates and service
ports stay dicts, typed only in the parts the hooks read: the CRD validates them with the
Kubernetes schemas, and the hooks pass the rest through.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, TypeAdapter, model_validator
from pydantic.alias_generators import to_camel
from typing_extensions import Required, TypedDict

from . import constants as c

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
                # Variables over roleTemplates are not one letter: hooks.crd.generate.seed_set_schema
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


# What the hooks read of a request: a request the core could not read gets a 422.
class ManagedFieldsEntry(TypedDict, total=False):
    time: StrictStr | None
    fieldsV1: dict[str, Any] | None


class ChildMeta(TypedDict, total=False):
    name: Required[Annotated[StrictStr, Field(min_length=1)]]
    generation: StrictInt
    creationTimestamp: StrictStr | None
    managedFields: list[ManagedFieldsEntry] | None
    labels: dict[str, StrictStr] | None
    annotations: dict[str, StrictStr] | None


class WorkloadCounts(TypedDict, total=False):
    """spec.replicas and the status counts of a StatefulSet, Deployment or LeaderWorkerSet (in groups)."""

    replicas: StrictInt | None
    observedGeneration: StrictInt | None
    readyReplicas: StrictInt | None
    updatedReplicas: StrictInt | None


class Child(TypedDict, total=False):
    apiVersion: Required[StrictStr]
    kind: Required[StrictStr]
    metadata: Required[ChildMeta]
    spec: WorkloadCounts | None
    status: WorkloadCounts | None


class RevisionChild(Child, total=False):
    """A ControllerRevision: its number, and the data it records (hooks.core.history)."""

    revision: StrictInt
    data: dict[str, Any] | None


class _ObservedTypes(BaseModel):
    """Observed children by type: Metacontroller sends every registered child type, possibly
    empty (keyed "namespace/name" in hook v2, by name in v1): a type missing would make a 200
    delete all children of that type. An optional type is one only some registrations have: its
    key is absent where it is not registered (see child_types)."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="after")
    def _of_their_type(self) -> _ObservedTypes:
        """Metacontroller keys each child by its own "Kind.apiVersion"."""
        for field, info in type(self).model_fields.items():
            for name, obj in getattr(self, field).items():
                if f"{obj['kind']}.{obj['apiVersion']}" != info.validation_alias:
                    raise ValueError(f"children[{info.validation_alias!r}][{name!r}] is a {obj['kind']} {obj['apiVersion']}")
        return self


class ObservedChildren(_ObservedTypes):
    configmaps: dict[str, Child] = Field(validation_alias=c.CHILD_CONFIGMAP)
    services: dict[str, Child] = Field(validation_alias=c.CHILD_SERVICE)
    statefulsets: dict[str, Child] = Field(validation_alias=c.CHILD_STATEFULSET)
    deployments: dict[str, Child] = Field(validation_alias=c.CHILD_DEPLOYMENT)
    adapters: dict[str, Child] = Field(validation_alias=c.CHILD_ADAPTER)
    revisions: dict[str, RevisionChild] = Field(validation_alias=c.CHILD_CONTROLLER_REVISION)
    jobs: dict[str, Child] = Field(validation_alias=c.CHILD_JOB)
    # Optional: registered by the overlays only (c.OPTIONAL_CHILD_TYPES).
    kube_pod_groups: dict[str, Child] = Field(default_factory=dict, validation_alias=c.CHILD_KUBE_POD_GROUP)
    volcano_pod_groups: dict[str, Child] = Field(default_factory=dict, validation_alias=c.CHILD_VOLCANO_POD_GROUP)
    leader_worker_sets: dict[str, Child] = Field(default_factory=dict, validation_alias=c.CHILD_LWS)


def child_types(children: dict[str, Any]) -> tuple[str, ...]:
    """The child types of a request's `children`: every required type, and the optional ones registered."""
    return (*c.CHILD_TYPES, *(key for key in c.OPTIONAL_CHILD_TYPES if key in children))


class ObservedMembers(_ObservedTypes):
    members: dict[str, Child] = Field(validation_alias=c.CHILD_RBG)


class StoredCondition(TypedDict, total=False):
    """A condition as the status schema stores it (the hooks may return it as it is)."""

    type: Required[StrictStr]
    status: Required[StrictStr]
    reason: Required[StrictStr]
    message: Required[StrictStr]
    lastTransitionTime: StrictStr | None


class StoredStatus(TypedDict, total=False):
    conditions: list[StoredCondition] | None


class ObjectMeta(BaseModel):
    """The parts of a parent's metadata the hooks read; the rest is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1)
    namespace: str = ""
    generation: int = 0
    creationTimestamp: str | None = None
    managedFields: list[ManagedFieldsEntry] = Field(default_factory=list)
    labels: dict[str, StrictStr] = Field(default_factory=dict)
    annotations: dict[str, StrictStr] = Field(default_factory=dict)
    ownerReferences: list[dict[str, Any]] = Field(default_factory=list)


class AnyParent(BaseModel):
    """A parent as Metacontroller sends it.

    The spec stays raw here: a spec the models reject is reported in status (see
    hooks.validation), while a request that does not parse is a bad request.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: dict[str, Any]
    status: Annotated[dict[str, Any], _shaped(StoredStatus)] | None = None


class Parent(AnyParent):
    apiVersion: Literal["workloads.x-k8s.io/v1alpha1"]
    kind: Literal["RoleBasedGroup"]


class SetParent(AnyParent):
    """A RoleBasedGroupSet, in upstream's form or the seed documents' (openpatio.io)."""

    apiVersion: Literal["workloads.x-k8s.io/v1alpha1", "openpatio.io/v1alpha1"]
    kind: Literal["RoleBasedGroupSet"]


class AdapterParent(AnyParent):
    apiVersion: Literal["workloads.x-k8s.io/v1alpha1"]
    kind: Literal["RoleBasedGroupScalingAdapter"]


class SyncRequest(BaseModel):
    """A complete Metacontroller sync or finalize request for a RoleBasedGroup (hook v1 or v2).

    Metacontroller always sends every field (its CompositeHookRequest has no omitempty).
    `related` holds what the customize hook asked for (the group's pods, the engine runtime
    profiles it names), each type present only when asked for; objects in it that are not pods of
    the group's roles or profiles are ignored (hooks.core.observed).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    parent: Parent
    children: Annotated[dict[str, dict[str, dict[str, Any]]], _shaped(ObservedChildren)]
    related: dict[str, Any] = Field(default_factory=dict)
    finalizing: bool = False


class CustomizeRequest(BaseModel):
    """A Metacontroller customize request: which related objects the parent needs."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    parent: Parent


class SetSyncRequest(BaseModel):
    """A Metacontroller sync request for a RoleBasedGroupSet."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    parent: SetParent
    children: Annotated[dict[str, dict[str, dict[str, Any]]], _shaped(ObservedMembers)]


class AdapterSyncRequest(BaseModel):
    """A Metacontroller sync request for a RoleBasedGroupScalingAdapter; its target group is related."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    parent: AdapterParent
    related: dict[str, Any] = Field(default_factory=dict)


class AdapterCustomizeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    parent: AdapterParent


# Gang-ready pod labels (hooks.core.gangready): a DecoratorController's requests about pods, in
# the parts the hooks read.
class GangPodMeta(TypedDict, total=False):
    name: Required[Annotated[StrictStr, Field(min_length=1)]]
    namespace: Required[Annotated[StrictStr, Field(min_length=1)]]
    labels: dict[str, StrictStr] | None


class GangPodStatus(TypedDict, total=False):
    phase: StrictStr | None


class GangPod(TypedDict, total=False):
    apiVersion: Required[Literal["v1"]]
    kind: Required[Literal["Pod"]]
    metadata: Required[GangPodMeta]
    status: GangPodStatus | None


class RelatedPods(_ObservedTypes):
    """The pods the customize hook asked for: Metacontroller sends their type, possibly empty."""

    pods: dict[str, GangPod] = Field(validation_alias=c.RELATED_POD)


class GangReadySyncRequest(BaseModel):
    """A Metacontroller DecoratorController sync request about a pod: the pod as `object`, the
    pods of its group as `related`. It may observe no attachment: the answer returns none, and
    Metacontroller would delete any it omitted."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    target: Annotated[dict[str, Any], _shaped(GangPod)] = Field(validation_alias="object")
    attachments: dict[str, Annotated[dict[str, Any], Field(max_length=0)]]
    related: Annotated[dict[str, dict[str, dict[str, Any]]], _shaped(RelatedPods)]
    finalizing: Literal[False] = False


class GangReadyCustomizeRequest(BaseModel):
    """A Metacontroller customize request about a pod: which pods are its group."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    parent: Annotated[dict[str, Any], _shaped(GangPod)]
