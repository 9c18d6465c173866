"""A RoleInstanceSet's RoleInstances (hooks.core.ris decides which and at which template)."""

from __future__ import annotations

from typing import Any

from .. import constants as c


def instance(namespace: str, name: str, labels: dict[str, str], annotations: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": c.API_VERSION, "kind": c.KIND_ROLE_INSTANCE, "metadata": metadata, "spec": spec}
