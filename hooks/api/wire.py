"""Metacontroller's envelopes: the sync and customize requests of each controller, the parents and
observed children in them, as far as the hooks read them (a request they can not read gets a 422)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator
from typing_extensions import Required, TypedDict

from .. import constants as c
from .spec import _shaped


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
    role_instance_sets: dict[str, Child] = Field(default_factory=dict, validation_alias=c.CHILD_ROLE_INSTANCE_SET)


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


# Parents are v1alpha2 (the registrations watch it); hooks.app converts a v1alpha1 one first.
class Parent(AnyParent):
    apiVersion: Literal["workloads.x-k8s.io/v1alpha2"]
    kind: Literal["RoleBasedGroup"]


class SetParent(AnyParent):
    """A RoleBasedGroupSet, in upstream's form or the seed documents' (openpatio.io)."""

    apiVersion: Literal["workloads.x-k8s.io/v1alpha2", "openpatio.io/v1alpha1"]
    kind: Literal["RoleBasedGroupSet"]


class AdapterParent(AnyParent):
    apiVersion: Literal["workloads.x-k8s.io/v1alpha2"]
    kind: Literal["RoleBasedGroupScalingAdapter"]


class PolicyParent(AnyParent):
    apiVersion: Literal["workloads.x-k8s.io/v1alpha2"]
    kind: Literal["CoordinatedPolicy"]


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


class PolicySyncRequest(BaseModel):
    """A Metacontroller sync request for a CoordinatedPolicy; the group it binds is related."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    parent: PolicyParent
    related: dict[str, Any] = Field(default_factory=dict)


class PolicyCustomizeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    parent: PolicyParent


class InstanceSetParent(AnyParent):
    apiVersion: Literal["workloads.x-k8s.io/v1alpha2"]
    kind: Literal["RoleInstanceSet"]


class InstanceParent(AnyParent):
    apiVersion: Literal["workloads.x-k8s.io/v1alpha2"]
    kind: Literal["RoleInstance"]


class _ChildrenSyncRequest(BaseModel):
    """A Metacontroller sync request of a parent with children and no finalize hook."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    controller: dict[str, Any]
    children: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class InstanceSetSyncRequest(_ChildrenSyncRequest):
    """A RoleInstanceSet's: its RoleInstances are its children."""

    parent: InstanceSetParent


class InstanceSyncRequest(_ChildrenSyncRequest):
    """A RoleInstance's: its pods (and its backoff timer Job) are its children."""

    parent: InstanceParent


# Gang-ready pod labels (hooks.core.gangready): a DecoratorController's requests about pods, in
# the parts the hooks read.
