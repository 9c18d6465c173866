"""RoleInstanceSet and RoleInstance (workloads.x-k8s.io/v1alpha2): a role's instances, each a
tightly bound set of pods of one or more components, updated and recovered as one.

A group's role that runs on RoleInstanceSets gets one, `<group>-<role>` (hooks.children.instances);
the set's hook returns its RoleInstances `<set>-<index>` (hooks.core.ris) and an instance's hook
its pods (hooks.core.instance). Every field of upstream v0.7.0's CRDs, with the same meaning.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .. import constants as c
from .spec import InPlaceUpdateStrategy, InstanceComponent, IntOrPercent, Model, RestartPolicyType
from .status import Condition


class LabelSelectorRequirement(Model):
    key: str = Field(description="The label key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[str] = Field(default_factory=list, description="The values, for In and NotIn.")


class LabelSelector(Model):
    match_labels: dict[str, str] = Field(default_factory=dict, description="Labels every selected object carries.")
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list, description="Requirements every selected object meets.")


class ReadinessGate(Model):
    condition_type: str = Field(min_length=1, description="A condition of the instance that must be True for it to be Ready.")


class RoleInstanceSpec(Model):
    components: list[InstanceComponent] = Field(min_length=1, max_length=32, description="The instance's components, each its own pods.")
    ready_policy: Literal["AllPodReady", "None"] = Field(
        c.READY_POLICY_ALL_PODS, description="AllPodReady: Ready once every pod is; None: Ready once every pod exists."
    )
    restart_policy: RestartPolicyType | None = Field(
        None, description="RecreateRoleInstanceOnPodRestart: any pod's failure recreates every pod of the instance; None: a failed pod alone is replaced."
    )
    readiness_gates: list[ReadinessGate] = Field(default_factory=list, description="Further conditions of the instance its readiness waits for.")


class LifecycleHook(Model):
    labels_handler: dict[str, str] = Field(
        default_factory=dict, description="The hook holds while the instance's pods carry any of these labels (removed by your controller when done)."
    )
    finalizers_handler: list[str] = Field(
        default_factory=list, description="The hook holds while the instance's pods carry any of these finalizers."
    )
    mark_pod_not_ready: bool = Field(False, description="Upstream's: mark the pods not ready while the hook holds (accepted; pods are taken out of discovery instead).")


class InstanceSetLifecycle(Model):
    pre_delete: LifecycleHook | None = Field(None, description="Held before an instance is deleted (scale-down, recreation).")
    in_place_update: LifecycleHook | None = Field(None, description="Held before an instance is updated in place.")


class InstanceSetScaleStrategy(Model):
    role_instance_to_delete: list[str] = Field(
        default_factory=list, description="Instances to remove first when the set shrinks, by name."
    )
    max_unavailable: IntOrPercent | None = Field(None, description="Instances that may be unavailable while the set scales.")


class InstanceSetUpdateStrategy(Model):
    type: Literal["Recreate", "InPlaceIfPossible", "InPlaceOnly", "RecreatePod"] | None = Field(
        None,
        description="InPlaceIfPossible (default): an image or metadata change updates the live pods, anything else recreates them; "
        "InPlaceOnly: only in place (else the instance waits, condition FailedUpdate); Recreate and RecreatePod: new pods.",
    )
    partition: IntOrPercent | None = Field(None, description="Instances with an index below it keep the old template (a canary).")
    max_unavailable: IntOrPercent | None = Field(None, description='Instances updated at a time (default "10%", at least 1).')
    max_surge: IntOrPercent | None = Field(None, description="Extra instances created at the new template while old ones are replaced.")
    paused: bool = Field(False, description="Stop rolling out template changes.")
    in_place_update_strategy: InPlaceUpdateStrategy | None = Field(None, description="How long an instance updated in place stays not ready first.")


class RoleInstanceSetSpec(Model):
    replicas: int = Field(1, ge=0, le=c.INT32_MAX, description="Number of instances.")
    selector: LabelSelector | None = Field(None, description="Selects the set's instances and pods (the group's role labels).")
    role_instance_template: RoleInstanceSpec = Field(description="Every instance's spec.")
    pod_management_policy: Literal["OrderedReady", "Parallel"] = Field(
        "Parallel", description="Parallel: instances created and deleted at once; OrderedReady: one at a time, each after the previous is Ready."
    )
    scale_strategy: InstanceSetScaleStrategy | None = Field(None, description="Which instances go first on scale-down.")
    update_strategy: InstanceSetUpdateStrategy | None = Field(None, description="How a template change rolls through the instances.")
    revision_history_limit: int = Field(10, ge=0, le=c.INT32_MAX, description="Old revisions of the template kept.")
    min_ready_seconds: int = Field(0, ge=0, le=c.INT32_MAX, description="Seconds an instance is Ready before it counts as available.")
    lifecycle: InstanceSetLifecycle | None = Field(None, description="Hooks held before an instance is deleted or updated in place.")


class ComponentStatus(Model):
    name: str = Field(description="The component.")
    size: int = Field(description="Pods it should have.")
    ready_replicas: int = Field(description="Its pods that are Ready.")
    updated_replicas: int = Field(description="Its pods at the current template.")
    scheduled_replicas: int = Field(description="Its pods bound to a node.")
    available_replicas: int = Field(description="Its pods Ready for minReadySeconds.")
    updated_ready_replicas: int = Field(description="Its pods at the current template and Ready.")


class ContainerUpdateBaseline(Model):
    restart_count: int = Field(description="The container's restarts when it was updated in place.")
    image_id: str | None = Field(None, alias="imageID", description="Its image ID then.")


class RoleInstanceStatus(Model):
    observed_generation: int | None = Field(None, description="The generation of the spec this status was computed for.")
    conditions: list[Condition] = Field(default_factory=list, description="RoleInstanceReady, Restarting, FailedUpdate.")
    component_statuses: list[ComponentStatus] = Field(default_factory=list, description="Pod counts of each component.")
    label_selector: str | None = Field(None, description="Selects the instance's pods.")
    current_revision: str | None = Field(None, description="The template revision every pod runs, when they all run one.")
    update_revision: str | None = Field(None, description="The instance's current template revision.")
    collision_count: int | None = Field(None, description="Upstream's hash collision counter (unused: revisions are content hashes).")
    in_place_update_container_baselines: dict[str, dict[str, ContainerUpdateBaseline]] = Field(
        default_factory=dict, description="By pod and container: restarts counted when updated in place (that restart is no failure)."
    )
    last_failure: dict[str, Any] | None = Field(None, description="The failure that last recreated the instance, kept after its pod is gone.")
    restarts: int | None = Field(None, description="Recreations of the instance after a pod's failure.")
    streak: int | None = Field(None, description="Recreations in the current series (each within the longest backoff of the last).")
    last_recreation_time: str | None = Field(None, json_schema_extra={"format": "date-time"}, description="When the last recreation started.")
    backoff: dict[str, Any] | None = Field(None, description="While a recreation waits its backoff: the failed pod's uid, its place in the series and the wait.")


class RoleInstanceSetStatus(Model):
    observed_generation: int | None = Field(None, description="The generation of the spec this status was computed for.")
    replicas: int = Field(0, description="Instances that exist.")
    ready_replicas: int = Field(0, description="Instances that are Ready.")
    available_replicas: int = Field(0, description="Instances Ready for minReadySeconds.")
    current_replicas: int = Field(0, description="Instances at the current revision.")
    updated_replicas: int = Field(0, description="Instances at the update revision.")
    updated_ready_replicas: int = Field(0, description="Instances at the update revision and Ready.")
    expected_updated_replicas: int | None = Field(None, description="Instances the partition lets reach the update revision.")
    update_revision: str | None = Field(None, description="The template's revision.")
    current_revision: str | None = Field(None, description="The revision every instance runs, once they all do.")
    collision_count: int | None = Field(None, description="Upstream's hash collision counter (unused).")
    conditions: list[Condition] = Field(default_factory=list, description="Ready, InvalidSpec, FailedUpdate.")
    label_selector: str | None = Field(None, description="Selects the set's pods (the scale subresource's selector).")
