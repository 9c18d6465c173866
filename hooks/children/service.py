"""The headless Service that gives a StatefulSet role's pods stable DNS names."""

from __future__ import annotations

import copy
from typing import Any

from ..api import RoleSpec
from .podtemplate import selector_labels


def headless_service(group: str, role: RoleSpec, name: str) -> dict[str, Any]:
    labels = selector_labels(group, role.name)
    spec: dict[str, Any] = {
        "clusterIP": "None",
        # Peers must resolve each other while they start, before they are Ready.
        "publishNotReadyAddresses": True,
        "selector": dict(labels),
    }
    if role.service_ports:
        spec["ports"] = copy.deepcopy(role.service_ports)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }
