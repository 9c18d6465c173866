"""The LeaderWorkerSet of a LeaderWorkerSet role (kubernetes-sigs/lws, leaderworkerset.x-k8s.io/v1).

`<group>-<role>`: `replicas` groups, each a leader and `leaderWorkerSet.size - 1` workers, from the
role's leader and worker pod templates as built (hooks.children.podtemplate). The rollout is the
plan's: `rollingUpdateConfiguration` with partition (in groups), maxUnavailable and maxSurge when
`rolloutStrategy.rollingUpdate` is given. `restartPolicy` None stays None; anything else is LWS's
RecreateGroupOnPodRestart (a pod that fails or restarts recreates its group), as upstream maps it.
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..decisions import RolePlan
from .workloadparts import workload_metadata


def leader_worker_set(group: str, plan: RolePlan, templates: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """The role's LeaderWorkerSet; `templates` are its leader's and its workers' pod templates."""
    role, ro = plan.role, plan.rollout
    size = role.leader_worker_set.size if role.leader_worker_set else 1
    restart = c.LWS_RESTART_NONE if role.restart_policy == "None" else c.LWS_RESTART_RECREATE_GROUP
    rollout: dict[str, Any] = {"type": "RollingUpdate"}
    if ro.given:
        rollout["rollingUpdateConfiguration"] = {"partition": ro.partition, "maxUnavailable": ro.max_unavailable, "maxSurge": ro.max_surge}
    spec = {
        "replicas": plan.replicas,
        "leaderWorkerTemplate": {"size": size, "restartPolicy": restart, "leaderTemplate": templates[0], "workerTemplate": templates[1]},
        "rolloutStrategy": rollout,
    }
    return {"apiVersion": c.LWS_API_VERSION, "kind": c.KIND_LWS, "metadata": workload_metadata(group, plan.role, plan.labels), "spec": spec}
