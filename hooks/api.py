"""Typed models of the workloads.x-k8s.io/v1alpha1 RoleBasedGroup API.

The CRD's OpenAPI schema is generated from these models (hooks/crd/generate.py), so the
API server and the hooks agree on every field, type and default. Pod templates and service
ports stay plain dicts here: the CRD validates them with the Kubernetes schemas, and the
hooks pass them through.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from . import constants as c

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
API_VERSION_PATTERN = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?v[0-9]+((alpha|beta)[0-9]+)?$"

IntOrString = int | str
MAX_ROLES = 32  # keeps the CEL dependency rule within the API server's cost budget


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


class RollingUpdate(Model):
    type: str | None = None
    partition: IntOrString = 0
    max_unavailable: IntOrString = 1
    max_surge: IntOrString = 0
    paused: bool = False
    in_place_update_strategy: dict[str, Any] | None = None


class RolloutStrategy(Model):
    type: Literal["RollingUpdate"] = "RollingUpdate"
    rolling_update: RollingUpdate | None = None


class LeaderWorkerTemplate(Model):
    size: int = Field(1, ge=1)
    patch_leader_template: dict[str, Any] | None = None
    patch_worker_template: dict[str, Any] | None = None


class ScalingAdapter(Model):
    enable: bool = False


class RoleSpec(Model):
    """One role of the group: a workload of identical pods."""

    name: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Role name, unique in the group (DNS-1123 label).")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    replicas: int = Field(1, ge=0, description="Number of pods (instances) of the role.")
    rollout_strategy: RolloutStrategy | None = None
    restart_policy: Literal["None", "RecreateRBGOnPodRestart", "RecreateRoleInstanceOnPodRestart"] | None = None
    dependencies: list[str] = Field(
        default_factory=list,
        max_length=MAX_ROLES,
        description="Roles of this group whose pods must all be Ready before this role's workload is created.",
    )
    workload: WorkloadSpec = Field(
        default_factory=lambda: WorkloadSpec.model_validate({}),
        json_schema_extra={"default": {"apiVersion": c.APPS_V1, "kind": c.KIND_STATEFULSET}},
        description="Workload kind of the role: apps/v1 StatefulSet (default) or apps/v1 Deployment.",
    )
    template: dict[str, Any] = Field(json_schema_extra={"k8s": "PodTemplateSpec"}, description="Pod template of the role.")
    leader_worker_set: LeaderWorkerTemplate | None = None
    service_ports: list[dict[str, Any]] = Field(
        default_factory=list,
        json_schema_extra={"k8s": "ServicePort"},
        description="Ports of the role's headless Service, also listed in /etc/rbg/config.yaml.",
    )
    # Accepted so upstream manifests apply unchanged; engine runtime profiles are not implemented.
    engine_runtimes: list[dict[str, Any]] = Field(default_factory=list)
    scaling_adapter: ScalingAdapter | None = None
    min_ready_seconds: int = Field(0, ge=0)


class KubeScheduling(Model):
    schedule_timeout_seconds: int = 60


class VolcanoScheduling(Model):
    queue: str | None = None
    priority_class_name: str | None = None


class PodGroupPolicy(Model):
    kube_scheduling: KubeScheduling | None = None
    volcano_scheduling: VolcanoScheduling | None = None


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
            ]
        }
    )

    roles: list[RoleSpec] = Field(min_length=1, max_length=MAX_ROLES)
    pod_group_policy: PodGroupPolicy | None = None
    startup_policy: Literal["Ordered", "Parallel"] = Field(
        "Ordered",
        description="Ordered (default) creates a role once its dependencies are Ready; Parallel creates all roles at once.",
    )


class RoleStatus(Model):
    name: str
    replicas: int
    ready_replicas: int
    updated_replicas: int


class Condition(Model):
    """A metav1.Condition."""

    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str
    last_transition_time: str = Field(json_schema_extra={"format": "date-time"})
    observed_generation: int | None = None


class RoleBasedGroupStatus(Model):
    observed_generation: int | None = None
    ready_roles: str | None = Field(None, description='Roles ready out of all roles, as "ready/total".')
    role_statuses: list[RoleStatus] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)


class ObjectMeta(BaseModel):
    """The parts of a parent's metadata the hooks read; the rest is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1)
    namespace: str = ""
    generation: int = 0
    creationTimestamp: str | None = None
    managedFields: list[dict[str, Any]] = Field(default_factory=list)


class Parent(BaseModel):
    """A RoleBasedGroup as Metacontroller sends it.

    The spec stays raw here: a spec the models reject is reported in status (see
    hooks.validation), while a request that does not parse is a bad request.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    apiVersion: Literal["workloads.x-k8s.io/v1alpha1"]
    kind: Literal["RoleBasedGroup"]
    metadata: ObjectMeta
    spec: dict[str, Any]
    status: dict[str, Any] | None = None


class SyncRequest(BaseModel):
    """A Metacontroller sync or finalize request for a RoleBasedGroup."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    parent: Parent
    children: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    finalizing: bool = False

    @field_validator("children")
    @classmethod
    def _named(cls, children: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
        for kind, objs in children.items():
            for key, obj in objs.items():
                name = (obj.get("metadata") or {}).get("name")
                if not isinstance(name, str) or not name:
                    raise ValueError(f"children[{kind!r}][{key!r}] has no metadata.name")
        return children
