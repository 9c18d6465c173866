"""The group's discovery ConfigMap: every role's instances and ports, in /etc/rbg/config.yaml.

It changes when a role scales or starts. It is mounted as a directory (never subPath), so
kubelet refreshes the file in running pods without a restart.
"""

from __future__ import annotations

from typing import Any

import yaml

from .. import constants as c
from ..api import RoleBasedGroupSpec, RoleSpec
from ..naming import discovery_name, service_name, workload_name

# libyaml's emitter (shipped in PyYAML's wheels) is ~10x faster than the pure-Python one,
# and this document is rendered on every sync.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def port_key(port: dict[str, Any]) -> str:
    return str(port.get("name") or "port").lower().replace("-", "_")


def _ports(role: RoleSpec) -> dict[str, int]:
    ports = {}
    for port in role.service_ports:
        target = port.get("targetPort")
        ports[port_key(port)] = target if isinstance(target, int) else port["port"]
    return ports


def _instances(group: str, role: RoleSpec) -> list[dict[str, Any]]:
    """Addresses that resolve: "<pod>.<headless service>" of a started StatefulSet role."""
    if role.workload.kind != c.KIND_STATEFULSET:
        return []  # Deployment pods have no stable DNS names.
    svc = service_name(group, role.name)
    ports = _ports(role)
    return [
        {"address": f"{workload_name(group, role.name)}-{i}.{svc}", "ports": dict(ports)}
        for i in range(role.replicas)
    ]


def discovery_document(group: str, spec: RoleBasedGroupSpec, started: set[str]) -> dict[str, Any]:
    names = [r.name for r in spec.roles]
    return {
        "group": {"name": group, "roles": names, "size": len(names)},
        "roles": {
            r.name: {"size": r.replicas, "instances": _instances(group, r) if r.name in started else []}
            for r in spec.roles
        },
    }


def discovery_configmap(group: str, spec: RoleBasedGroupSpec, started: set[str]) -> dict[str, Any]:
    doc = discovery_document(group, spec, started)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": discovery_name(group), "labels": {c.LABEL_GROUP_NAME: group}},
        "data": {c.DISCOVERY_FILE: yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False)},
    }
