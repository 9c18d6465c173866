"""The pod template every role's workload carries: the user's, plus labels, env and mount.

Nothing here depends on replica counts, so scaling a role never changes the template and
never restarts a pod. Values are emitted in the API server's canonical form so an unchanged
parent produces no update.
"""

from __future__ import annotations

import json
from typing import Any

from .. import constants as c
from .. import quantity
from ..decisions import PodDecision
from ..naming import discovery_name, group_unique_key

_FIELD_REF_API_VERSION = "v1"
_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def selector_labels(group: str, role: str) -> dict[str, str]:
    """The immutable StatefulSet / Deployment selector; users' Services select on it too."""
    return {c.LABEL_GROUP_NAME: group, c.LABEL_ROLE_NAME: role}


def pod_labels(namespace: str, group: str, role: str) -> dict[str, str]:
    return {
        **selector_labels(group, role),
        c.LABEL_GROUP_NAME_V2: group,
        c.LABEL_ROLE_NAME_V2: role,
        c.LABEL_GROUP_UNIQUE_KEY: group_unique_key(namespace, group),
    }


def injected_env(group: str, role: str, index_label: str | None) -> list[dict[str, Any]]:
    """GROUP_NAME and ROLE_NAME, and ROLE_INDEX from the pod's label `index_label` where there is one."""
    env: list[dict[str, Any]] = [{"name": n, "value": group} for n in c.ENV_GROUP_NAME]
    env += [{"name": n, "value": role} for n in c.ENV_ROLE_NAME]
    if index_label:
        ref = {"apiVersion": _FIELD_REF_API_VERSION, "fieldPath": f"metadata.labels['{index_label}']"}
        env += [{"name": n, "valueFrom": {"fieldRef": dict(ref)}} for n in c.ENV_ROLE_INDEX]
    return env


def build_pod_template(
    template: dict[str, Any], *, namespace: str, group: str, role: str, index_label: str | None, decision: PodDecision
) -> dict[str, Any]:
    """The role's template with our labels, env and discovery mount, and what `decision` gives it;
    the input is not changed.

    `index_label` is the pod label that holds the pod's stable index (a StatefulSet's pod-index,
    a LeaderWorkerSet's group-index), which ROLE_INDEX is read from; None: pods have none (Deployment).
    """
    out = json.loads(json.dumps(template))  # a deep copy; several times faster than copy.deepcopy
    meta = out.setdefault("metadata", {})
    meta["labels"] = {**meta.get("labels", {}), **pod_labels(namespace, group, role)}
    spec = out.setdefault("spec", {})

    volume = {"name": c.DISCOVERY_VOLUME, "configMap": {"name": discovery_name(group)}}
    spec["volumes"] = [v for v in spec.get("volumes", []) if v.get("name") != c.DISCOVERY_VOLUME] + [volume]

    ours = {e["name"] for e in injected_env(group, role, index_label)}
    mount = {"name": c.DISCOVERY_VOLUME, "mountPath": c.DISCOVERY_MOUNT_PATH, "readOnly": True}
    for key in ("initContainers", "containers"):
        for container in spec.get(key, []):
            user_env = [e for e in container.get("env", []) if e.get("name") not in ours]
            container["env"] = injected_env(group, role, index_label) + user_env
            container["volumeMounts"] = [
                m
                for m in container.get("volumeMounts", [])
                if m.get("name") != c.DISCOVERY_VOLUME and m.get("mountPath") != c.DISCOVERY_MOUNT_PATH
            ] + [dict(mount)]
    canonicalize_pod_spec(spec)
    add_decision(out, decision)
    return out


def add_decision(template: dict[str, Any], decision: PodDecision) -> None:
    """Add to `template`, in place, what the planners decided for it, in the order a pod shows it:
    the grace of a replaced pod, placement after the template's own terms, gang enrolment."""
    meta, spec = template.setdefault("metadata", {}), template.setdefault("spec", {})
    if decision.pre_stop_seconds:
        for container in spec.get("containers", []):
            container.setdefault("lifecycle", {}).setdefault("preStop", {"sleep": {"seconds": decision.pre_stop_seconds}})
    if decision.termination_grace_seconds is not None:
        spec["terminationGracePeriodSeconds"] = decision.termination_grace_seconds
    if decision.affinity:
        affinity = spec.setdefault("affinity", {})
        for kind, term in decision.affinity:
            section = affinity.setdefault(kind, {})
            section[_REQUIRED] = [*(section.get(_REQUIRED) or []), json.loads(json.dumps(term))]
    if decision.labels:
        meta["labels"] = {**(meta.get("labels") or {}), **dict(decision.labels)}
    if decision.annotations:
        meta["annotations"] = {**(meta.get("annotations") or {}), **dict(decision.annotations)}
    if decision.scheduler_name:
        spec["schedulerName"] = decision.scheduler_name
    if decision.env:
        for key in ("initContainers", "containers"):
            for container in spec.get(key, []):
                own = {e.get("name") for e in container.get("env", [])}
                container["env"] = [*container.get("env", []), *(json.loads(json.dumps(e)) for e in decision.env if e["name"] not in own)]


def canonicalize_pod_spec(spec: dict[str, Any]) -> None:
    """Rewrite, in place, values the API server would store in another spelling."""
    for key in ("initContainers", "containers"):
        for container in spec.get(key, []):
            _canonical_resources(container.get("resources"))
            for env in container.get("env", []):
                ref = (env.get("valueFrom") or {}).get("fieldRef")
                if ref is not None:
                    ref.setdefault("apiVersion", _FIELD_REF_API_VERSION)
    _canonical_resources(spec.get("resources"))
    if spec.get("overhead"):
        spec["overhead"] = {k: quantity.canonical(v) for k, v in spec["overhead"].items()}
    for volume in spec.get("volumes", []):
        empty_dir = volume.get("emptyDir")
        if empty_dir and "sizeLimit" in empty_dir:
            empty_dir["sizeLimit"] = quantity.canonical(empty_dir["sizeLimit"])


def _canonical_resources(resources: dict[str, Any] | None) -> None:
    for key in ("limits", "requests"):
        if resources and resources.get(key):
            resources[key] = {k: quantity.canonical(v) for k, v in resources[key].items()}
