"""Pods, as the API server shows them to the hooks (related objects): one keyword builder, and the
pods a workload would run.

    pod("minimal-db-0", role="db", revision="r1", ready=True)
    pod("w-0", namespace="ns", labels={...}, phase="Pending")
    pod("a", role="app", ready=True, containers=[container_status("app", restarts=1, last_terminated=terminated())])

Only what is asked for is set, in the order the API server writes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hooks import constants as c

Obj = dict[str, Any]
DELETED_AT = "2026-01-01T00:04:00Z"  # deleting=True
FINISHED_AT = "2026-01-01T00:10:00Z"


def terminated(reason: str = "OOMKilled", exit_code: int = 137, finished: str = FINISHED_AT) -> Obj:
    """A container's last termination (its lastState.terminated)."""
    return {"exitCode": exit_code, "reason": reason, "finishedAt": finished}


def container_status(
    name: str,
    *,
    ready: bool | None = None,
    restarts: int | None = None,
    started: bool | None = None,
    running_since: str | None = None,
    waiting: str | None = None,
    last_terminated: Obj | None = None,
) -> Obj:
    """One entry of status.containerStatuses."""
    out: Obj = {"name": name}
    if ready is not None:
        out["ready"] = ready
    if restarts is not None:
        out["restartCount"] = restarts
    if started is not None:
        out["started"] = started
    if running_since is not None:
        out["state"] = {"running": {"startedAt": running_since}}
    elif waiting is not None:
        out["state"] = {"waiting": {"reason": waiting}}
    if last_terminated is not None:
        out["lastState"] = {"terminated": last_terminated}
    return out


def pod(
    name: str,
    *,
    namespace: str | None = "default",
    api: bool = True,
    uid: str | None = None,
    generation: int | None = None,
    created: str | None = None,
    group: str | None = None,
    role: str | None = None,
    revision: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    managed_time: str | None = None,
    deleting: bool | str = False,
    owners: list[Obj] | None = None,
    spec: Obj | None = None,
    phase: str | None = None,
    conditions: Iterable[Obj] | None = None,
    ready: bool | None = None,
    ready_since: str | None = None,
    containers: list[Obj] | None = None,
) -> Obj:
    """A pod. `group`, `role`, `revision`: the group's, role's and StatefulSet revision labels (before
    `labels`); `ready`: a Ready condition of that status (after `conditions`); `deleting`: a
    deletionTimestamp (True: DELETED_AT); `managed_time`: a managedFields entry of that time;
    `api`: apiVersion and kind; namespace None: none."""
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    if uid is not None:
        meta["uid"] = uid
    if generation is not None:
        meta["generation"] = generation
    if created is not None:
        meta["creationTimestamp"] = created
    ours = {c.LABEL_GROUP_NAME: group, c.LABEL_ROLE_NAME: role, c.LABEL_REVISION: revision}
    meta["labels"] = {**{k: v for k, v in ours.items() if v is not None}, **(labels or {})}
    if annotations is not None:
        meta["annotations"] = dict(annotations)
    if managed_time is not None:
        meta["managedFields"] = [{"manager": "kwok", "time": managed_time}]
    if deleting:
        meta["deletionTimestamp"] = DELETED_AT if deleting is True else deleting
    if owners is not None:
        meta["ownerReferences"] = owners
    out: Obj = {"apiVersion": "v1", "kind": "Pod"} if api else {}
    out["metadata"] = meta
    if spec is not None:
        out["spec"] = spec
    status: Obj = {}
    if phase is not None:
        status["phase"] = phase
    if conditions is not None or ready is not None:
        ready_cond = [] if ready is None else [{"type": "Ready", "status": "True" if ready else "False"}]
        if ready_cond and ready_since is not None:
            ready_cond[0]["lastTransitionTime"] = ready_since
        status["conditions"] = [*(conditions or ()), *ready_cond]
    if containers is not None:
        status["containerStatuses"] = containers
    if status:
        out["status"] = status
    return out


def gang_pod(name: str, phase: str | None = "Running", group: str | None = "g", ready: str | None = None, ns: str = "ns") -> Obj:
    """A pod of a gang (gang-ready pod labels): `group` its gang label, `ready` its ready label."""
    labels = {**({c.LABEL_PODGROUP_NAME: group} if group is not None else {}), **({c.LABEL_PODGROUP_READY: ready} if ready is not None else {})}
    return pod(name, namespace=ns, labels=labels, phase=phase)


def workload_revision(workload: Obj) -> str:
    """The revision the observed workloads of tests.support.observe(revisions=True) roll to."""
    return f"{workload['metadata']['name']}-rev1"


def workload_pods(children: dict[str, dict[str, Obj]], time: str, role: str | None = None) -> dict[str, Obj]:
    """Every pod the observed StatefulSets and Deployments (of `role`) run, Running and Ready at
    `time`, keyed "namespace/name" as related objects: a StatefulSet's at its revision, a
    Deployment's with its template hash."""
    out: dict[str, Obj] = {}
    for key in (c.CHILD_STATEFULSET, c.CHILD_DEPLOYMENT):
        for workload in children.get(key, {}).values():
            template = workload["spec"]["template"]
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            if role is not None and labels.get(c.LABEL_ROLE_NAME) != role:
                continue
            name, namespace = workload["metadata"]["name"], workload["metadata"].get("namespace", "default")
            for i in range(workload["spec"].get("replicas", 1)):
                if workload["kind"] == c.KIND_STATEFULSET:
                    pod_name, pod_labels = f"{name}-{i}", {**labels, c.LABEL_REVISION: workload_revision(workload), c.LABEL_POD_INDEX: str(i)}
                else:
                    pod_name, pod_labels = f"{name}-rev1-{i}", {**labels, c.LABEL_POD_TEMPLATE_HASH: "rev1"}
                out[f"{namespace}/{pod_name}"] = pod(
                    pod_name,
                    namespace=namespace,
                    uid=f"uid-pod-{pod_name}",
                    created=time,
                    labels=pod_labels,
                    annotations=dict((template.get("metadata") or {}).get("annotations") or {}),
                    owners=[{"apiVersion": workload["apiVersion"], "kind": workload["kind"], "name": name, "controller": True}],
                    spec=template.get("spec") or {},
                    phase="Running",
                    conditions=[{"type": "PodScheduled", "status": "True"}],
                    ready=True,
                    ready_since=time,
                    containers=[
                        container_status(ct.get("name"), ready=True, restarts=0, started=True, running_since=time)
                        for ct in (template.get("spec") or {}).get("containers") or []
                    ],
                )
    return out


def related_pods(pods: Iterable[Obj]) -> dict[str, Any]:
    """`pods` as a request's related objects: {"Pod.v1": {"namespace/name": pod}}."""
    return {c.RELATED_POD: {f"{p['metadata']['namespace']}/{p['metadata']['name']}": p for p in pods}}


def pods_of(source: Any, group: str, role: str | None = None) -> dict[str, Obj]:
    """The pods of a group (and role), by name, from {name: pod} or an e2e Recorder (its live pods)."""
    pods = source.live("Pod") if hasattr(source, "live") else source
    return {
        n: p
        for n, p in pods.items()
        if (p["metadata"].get("labels") or {}).get(c.LABEL_GROUP_NAME) == group
        and role in (None, (p["metadata"].get("labels") or {}).get(c.LABEL_ROLE_NAME))
    }


def uids(pods: dict[str, Obj]) -> dict[str, str]:
    """{name: uid} of {name: pod}."""
    return {n: p["metadata"]["uid"] for n, p in pods.items()}
