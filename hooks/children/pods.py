"""A RoleInstance's pods (hooks.core.instance decides which, this builds them).

A pod is its component's template with the component's labels and annotations over the
template's, the instance's identity labels, and, where the component names a Service, the
hostname and subdomain that give it a stable DNS name `<pod>.<service>.<namespace>`. The
decision's variables are set in every container and init container (replacing one of the same
name).
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import InstanceComponent
from ..decisions import InstancePod


def pod(namespace: str, component: InstanceComponent, decision: InstancePod) -> dict[str, Any]:
    template = component.template
    meta = template.get("metadata") or {}
    spec = dict(template.get("spec") or {})
    if decision.env:
        spec = {**spec, **{key: [_with_env(ctr, decision.env) for ctr in spec[key]] for key in ("containers", "initContainers") if isinstance(spec.get(key), list)}}
    if component.service_name:
        spec["hostname"] = decision.name
        spec["subdomain"] = component.service_name
    labels = {**(meta.get("labels") or {}), **component.labels, **dict(decision.labels), c.LABEL_CONTROLLER_REVISION_HASH: decision.revision}
    annotations = {**(meta.get("annotations") or {}), **component.annotations, **dict(decision.annotations)}
    metadata: dict[str, Any] = {"name": decision.name, "namespace": namespace, "labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": c.KIND_POD, "metadata": metadata, "spec": spec}


def _with_env(container: Any, env: tuple[tuple[str, str], ...]) -> Any:
    """`env` set on the container: a variable of the same name replaced where it stands, else added."""
    if not isinstance(container, dict):
        return container
    values = dict(env)
    out = []
    for var in container.get("env") or []:
        name = var.get("name") if isinstance(var, dict) else None
        out.append({"name": name, "value": values.pop(name)} if name in values else var)
    return {**container, "env": out + [{"name": k, "value": v} for k, v in values.items()]}
