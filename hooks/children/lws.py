"""The LeaderWorkerSet of a LeaderWorkerSet role (kubernetes-sigs/lws, leaderworkerset.x-k8s.io/v1).

`<group>-<role>`: `replicas` groups, each a leader and `leaderWorkerSet.size - 1` workers. The
leader's and the workers' pod templates are the role's `template` with `patchLeaderTemplate` /
`patchWorkerTemplate` merged over it (a strategic merge: hooks.strategicmerge), then given our
labels, env (ROLE_INDEX is the group index) and discovery mount, as every role's pods are.

- `rolloutStrategy.rollingUpdate` becomes `rolloutStrategy.rollingUpdateConfiguration`: maxUnavailable
  and maxSurge as given (in groups), partition as a StatefulSet role's (paused: every group);
  `type: Recreate` updates every group at once (maxUnavailable 100%, partition 0).
- `restartPolicy` None stays None; anything else is LWS's RecreateGroupOnPodRestart (a pod that
  fails or restarts recreates its group), as upstream maps it.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import LeaderWorkerTemplate, RoleSpec
from ..strategicmerge import merge_pod_template
from .podtemplate import build_pod_template
from .workloadparts import drained, partition, workload_metadata


def lws_templates(role: RoleSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """The leader's and the workers' pod templates as the role gives them: PatchError if a patch is bad."""
    lwt = role.leader_worker_set or LeaderWorkerTemplate.model_validate({})
    base = role.pod_template
    return merge_pod_template(base, lwt.patch_leader_template or {}), merge_pod_template(base, lwt.patch_worker_template or {})


def _rollout(role: RoleSpec) -> dict[str, Any]:
    ru = role.rollout_strategy.rolling_update if role.rollout_strategy else None
    if ru is None:
        return {"type": "RollingUpdate"}
    config: dict[str, Any] = {"partition": partition(role), "maxUnavailable": ru.max_unavailable, "maxSurge": ru.max_surge}
    if ru.type == "Recreate" and not ru.paused:
        config.update(partition=0, maxUnavailable="100%")
    return {"type": "RollingUpdate", "rollingUpdateConfiguration": config}


def leader_worker_set(namespace: str, group: str, role: RoleSpec) -> dict[str, Any]:
    """The role's LeaderWorkerSet."""
    size = role.leader_worker_set.size if role.leader_worker_set else 1
    built = [
        drained(build_pod_template(t, namespace=namespace, group=group, role=role.name, index_label=c.LABEL_LWS_GROUP_INDEX), role)
        for t in lws_templates(role)
    ]
    restart = c.LWS_RESTART_NONE if role.restart_policy == "None" else c.LWS_RESTART_RECREATE_GROUP
    spec = {
        "replicas": role.replicas,
        "leaderWorkerTemplate": {"size": size, "restartPolicy": restart, "leaderTemplate": built[0], "workerTemplate": built[1]},
        "rolloutStrategy": _rollout(role),
    }
    return {"apiVersion": c.LWS_API_VERSION, "kind": c.KIND_LWS, "metadata": workload_metadata(group, role), "spec": spec}


def pod_templates(child: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod templates of a role workload: a LeaderWorkerSet's leader and worker templates, another's one."""
    if child["kind"] == c.KIND_LWS:
        lwt = child["spec"]["leaderWorkerTemplate"]
        return [lwt["leaderTemplate"], lwt["workerTemplate"]]
    return [child["spec"]["template"]]


def with_pod_templates(child: dict[str, Any], templates: list[dict[str, Any]]) -> dict[str, Any]:
    """`child` (a role workload) with its pod templates (as pod_templates orders them) replaced; the input is not changed."""
    if child["kind"] == c.KIND_LWS:
        lwt = {**child["spec"]["leaderWorkerTemplate"], "leaderTemplate": templates[0], "workerTemplate": templates[1]}
        return {**child, "spec": {**child["spec"], "leaderWorkerTemplate": lwt}}
    return {**child, "spec": {**child["spec"], "template": templates[0]}}


def pods_per_replica(child: dict[str, Any]) -> int:
    """Pods per unit of a role workload's `replicas`: a LeaderWorkerSet's group size, else 1."""
    if child["kind"] == c.KIND_LWS:
        return int(child["spec"]["leaderWorkerTemplate"].get("size") or 1)
    return 1
