"""A RoleInstanceSet's RoleInstances (hooks.core.ris decides which and at which template)."""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..decisions import Hold


def instance(namespace: str, name: str, labels: dict[str, str], annotations: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": c.API_VERSION, "kind": c.KIND_ROLE_INSTANCE, "metadata": metadata, "spec": spec}


def carrying(obj: dict[str, Any], hold: Hold) -> dict[str, Any]:
    """`obj` (an instance as built, or as last applied) with the lifecycle handlers and state
    `hold` decides, in place of any it had."""
    meta = obj["metadata"]
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in hold.handlers and k != c.LABEL_LIFECYCLE_STATE}
    labels |= dict(hold.labels)
    if hold.state:
        labels[c.LABEL_LIFECYCLE_STATE] = hold.state
    out = {k: v for k, v in meta.items() if k != "finalizers"}
    finalizers = [f for f in meta.get("finalizers") or [] if f not in hold.handler_finalizers] + list(hold.finalizers)
    if finalizers:
        out["finalizers"] = finalizers
    return {**obj, "metadata": {**out, "labels": labels}}
