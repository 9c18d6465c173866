"""The headless Service that gives a StatefulSet or RoleInstanceSet role's pods stable DNS names."""

from __future__ import annotations

import copy
from typing import Any

from .. import constants as c
from ..api import RoleSpec
from .podtemplate import selector_labels


def headless_service(group: str, role: RoleSpec, name: str) -> dict[str, Any]:
    """`leaderWorkerPattern.sharedServiceSelection: LeaderOnly` on a RoleInstanceSet role: the
    Service selects the leaders alone, as upstream's (workers then have no DNS record)."""
    labels = selector_labels(group, role.name)
    selector = dict(labels)
    lwp = role.leader_worker_pattern
    if lwp is not None and lwp.shared_service_selection == "LeaderOnly" and role.workload.kind == c.KIND_ROLE_INSTANCE_SET:
        selector[c.LABEL_COMPONENT_NAME] = "leader"
    spec: dict[str, Any] = {
        "clusterIP": "None",
        # Peers must resolve each other while they start, before they are Ready.
        "publishNotReadyAddresses": True,
        "selector": selector,
    }
    if role.service_ports:
        spec["ports"] = copy.deepcopy(role.service_ports)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }
