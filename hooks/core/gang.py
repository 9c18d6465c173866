"""Gang scheduling (`spec.podGroupPolicy`): the group's PodGroup, and its pods enrolled in it.

- `kubeScheduling` (taken when both are given, as upstream does): a scheduler-plugins PodGroup
  (scheduling.x-k8s.io/v1alpha1) with `scheduleTimeoutSeconds`; pods labelled
  `scheduling.x-k8s.io/pod-group` and `pod-group.scheduling.sigs.k8s.io/name`: `<group>`.
- `volcanoScheduling`: a Volcano PodGroup (scheduling.volcano.sh/v1beta1) with `queue` and
  `priorityClassName`; pods annotated `scheduling.k8s.io/group-name: <group>`, and scheduled by
  `volcano` unless their template names a scheduler.

A gang scheduler binds none of a PodGroup's enrolled pods until minMember of them can be placed,
so minMember must never count a pod that can only come to exist after an enrolled pod is placed.
It is the sum of the pods of the workloads this answer returns (after sizing, coordination and
the dependency gate: `spec.replicas`, times `leaderWorkerTemplate.size` for a LeaderWorkerSet, whose
leader and worker templates are both enrolled) over the *counted* roles, at least 1 (scheduler-plugins' minimum; the pod
being placed is one) and at most 2147483647. A role is counted when every pod of it is enrolled or
will be created enrolled, at once:
- its workload is created by this answer (a role just let through its dependency gate joins
  here; with startupPolicy Parallel every role does, in the first answer), unless it is a
  paused Deployment, which makes no pod until it is resumed; or
- its last-applied pod template is enrolled, and it was counted in the previous answer (the
  PodGroup's gang-roles annotation, as last applied) or its status, at its current generation,
  shows every replica at that template.
A role whose running pods are rolled onto the enrolled template (podGroupPolicy added to a running
group, or its PodGroup type registered later) is counted once that rollout is done: its pods are
replaced one by one, and counting them earlier would leave the first new one Pending for ever.
Scaling changes the count in the same answer that changes `spec.replicas`.

The PodGroup's child type must be registered (its key in the request's children; see
overlays/). Where it is not, no PodGroup is returned and no pod is enrolled (an enrolled pod
whose PodGroup can not exist would stay Pending), and `GangScheduling` names the overlay that
registers it. Without podGroupPolicy nothing is returned: Metacontroller deletes the PodGroup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import constants as c
from ..api import KubeScheduling, GroupSpec, VolcanoScheduling
from ..decisions import PodDecision
from ..children.podgroup import kube_pod_group, volcano_pod_group
from .observed import Observed, pods_per_replica, workload_templates
from .status import condition

_SCHEDULERS = {c.CHILD_KUBE_POD_GROUP: "scheduler-plugins (its coscheduling plugin)", c.CHILD_VOLCANO_POD_GROUP: "Volcano"}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Gang:
    """What the group's podGroupPolicy asks for, given the child types its controller is registered for."""

    group: str
    roles: tuple[str, ...]
    policy: KubeScheduling | VolcanoScheduling | None = None  # the podGroupPolicy field taken
    registered: bool = False  # the PodGroup's child type is a key of the request's children
    ignored: bool = False  # volcanoScheduling, given beside kubeScheduling

    @property
    def pod_group(self) -> str | None:
        """The PodGroup's child type; None without podGroupPolicy."""
        if self.policy is None:
            return None
        return c.CHILD_KUBE_POD_GROUP if isinstance(self.policy, KubeScheduling) else c.CHILD_VOLCANO_POD_GROUP

    def marks(self) -> tuple[dict[str, str], dict[str, str]]:
        """The labels and annotations that enrol a pod in the group's PodGroup (kubeScheduling: both
        coscheduling label spellings; volcanoScheduling: Volcano's group-name annotation); none
        where the PodGroup can not exist."""
        if self.pod_group is None or not self.registered:
            return {}, {}
        if self.pod_group == c.CHILD_KUBE_POD_GROUP:
            return {c.LABEL_POD_GROUP: self.group, c.LABEL_POD_GROUP_LEGACY: self.group}, {}
        return {}, {c.ANNOTATION_VOLCANO_GROUP_NAME: self.group}

    def enrol(self, template: dict[str, Any]) -> PodDecision:
        """What a pod template gets to enrol its pods. Volcano only schedules pods that name it, so a
        template naming no scheduler gets schedulerName `volcano` (one that names a scheduler keeps it)."""
        labels, annotations = self.marks()
        volcano = self.registered and self.pod_group == c.CHILD_VOLCANO_POD_GROUP
        scheduler = c.VOLCANO_SCHEDULER_NAME if volcano and not (template.get("spec") or {}).get("schedulerName") else None
        return PodDecision(labels=tuple(labels.items()), annotations=tuple(annotations.items()), scheduler_name=scheduler)

    def enrolled(self, template: dict[str, Any]) -> bool:
        """Whether the pods made from `template` are enrolled: enrolling would change nothing."""
        labels, annotations = self.marks()
        meta = template.get("metadata") or {}
        if any((meta.get("labels") or {}).get(k) != v for k, v in labels.items()):
            return False
        if any((meta.get("annotations") or {}).get(k) != v for k, v in annotations.items()):
            return False
        return self.pod_group != c.CHILD_VOLCANO_POD_GROUP or bool((template.get("spec") or {}).get("schedulerName"))

    def pod_groups(self, workloads: dict[str, dict[str, Any]], observed: Observed) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The PodGroup, sized from `workloads` (by role, as this answer returns them), and the
        GangScheduling condition; both empty without podGroupPolicy."""
        kind = self.pod_group
        if self.policy is None or kind is None:
            return [], []
        ignored = " (volcanoScheduling is ignored: kubeScheduling is given too)" if self.ignored else ""
        api_version = kind.split(".", 1)[1]
        if not self.registered:
            field = "kubeScheduling" if isinstance(self.policy, KubeScheduling) else "volcanoScheduling"
            message = (
                f"podGroupPolicy.{field} needs PodGroups of {api_version}, a child type the rolebasedgroup "
                f"controller is not registered for: install {_SCHEDULERS[kind]}, then `kubectl apply --server-side "
                f"-k overlays/{c.GANG_OVERLAYS[kind]}`; until then no PodGroup is made and no pod is enrolled{ignored}"
            )
            return [], [condition(c.COND_GANG_SCHEDULING, False, c.REASON_POD_GROUP_NOT_REGISTERED, message)]
        before = self._counted_before(observed, kind)
        sizes = {
            r: int(workloads[r]["spec"]["replicas"]) * pods_per_replica(workloads[r])
            for r in self.roles
            if r in workloads and self._counted(workloads[r], r in before, observed)
        }
        min_member = min(max(1, sum(sizes.values())), c.INT32_MAX)
        if isinstance(self.policy, KubeScheduling):
            pod_group = kube_pod_group(self.group, min_member, list(sizes), self.policy)
        else:
            pod_group = volcano_pod_group(self.group, min_member, list(sizes), self.policy)
        enrolling = [r for r in self.roles if r in workloads and r not in sizes]
        waiting = [r for r in self.roles if r not in workloads]
        message = f"PodGroup {self.group} ({api_version}) minMember {min_member}: " + (
            ", ".join(f"{r} {n}" for r, n in sizes.items()) or "no role counted yet"
        )
        if enrolling:
            message += f"; {', '.join(enrolling)} counted once every pod runs the enrolled template"
        if waiting:
            message += f"; {', '.join(waiting)} counted once created"
        reason = c.REASON_ENROLLING_ROLES if enrolling else c.REASON_ALL_ROLES_ENROLLED
        return [pod_group], [condition(c.COND_GANG_SCHEDULING, True, reason, message + ignored)]

    def _counted_before(self, observed: Observed, kind: str) -> set[str]:
        """The roles the observed PodGroup of type `kind` was last applied with."""
        seen = observed.objects.get((c.KIND_POD_GROUP, self.group))
        if seen is None or f"{seen['kind']}.{seen['apiVersion']}" != kind:
            return set()
        roles = _mapping(_mapping(observed.applied(seen).get("metadata")).get("annotations")).get(c.ANNOTATION_GANG_ROLES)
        return set(roles.split(",")) - {""} if isinstance(roles, str) else set()

    def _counted(self, workload: dict[str, Any], before: bool, observed: Observed) -> bool:
        """Whether every pod of `workload` (as returned) is enrolled, or is created enrolled at once."""
        seen = observed.objects.get((workload["kind"], workload["metadata"]["name"]))
        if seen is None:  # created now: every pod at once, except by a paused Deployment (none until resumed)
            return not workload["spec"].get("paused")
        applied = observed.applied(seen)
        try:
            templates = workload_templates(applied)
        except (KeyError, TypeError):  # not as the hooks return a workload: never enrolled by them
            return False
        if not all(isinstance(t, dict) and self.enrolled(t) for t in templates):
            return False
        if before:
            return True
        status = seen.get("status") or {}
        current = int(status.get("observedGeneration") or 0) >= int(seen["metadata"].get("generation") or 0)
        return current and int(status.get("updatedReplicas") or 0) >= int((seen.get("spec") or {}).get("replicas", 1))


def schedule(group: str, spec: GroupSpec, children: dict[str, Any]) -> Gang:
    """The group's gang: the PodGroup type its podGroupPolicy asks for (kubeScheduling first, as
    upstream), and whether the request's `children` keys show that type registered."""
    roles = tuple(r.name for r in spec.roles)
    policy = spec.pod_group_policy
    if policy is not None and policy.kube_scheduling is not None:
        return Gang(group, roles, policy.kube_scheduling, c.CHILD_KUBE_POD_GROUP in children, policy.volcano_scheduling is not None)
    if policy is not None and policy.volcano_scheduling is not None:
        return Gang(group, roles, policy.volcano_scheduling, c.CHILD_VOLCANO_POD_GROUP in children)
    return Gang(group, roles)
