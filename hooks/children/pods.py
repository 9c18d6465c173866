"""A RoleInstance's pods (hooks.core.instance decides which, this builds them).

A pod is its component's template with the component's labels and annotations over the
template's, the instance's identity labels, and, where the component names a Service, the
hostname and subdomain that give it a stable DNS name `<pod>.<service>.<namespace>`.
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
    if component.service_name:
        spec["hostname"] = decision.name
        spec["subdomain"] = component.service_name
    labels = {**(meta.get("labels") or {}), **component.labels, **dict(decision.labels), c.LABEL_CONTROLLER_REVISION_HASH: decision.revision}
    annotations = {**(meta.get("annotations") or {}), **component.annotations, **dict(decision.annotations)}
    metadata: dict[str, Any] = {"name": decision.name, "namespace": namespace, "labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": c.KIND_POD, "metadata": metadata, "spec": spec}
