"""The group's discovery ConfigMap: every role's instances and ports, in /etc/rbg/config.yaml.

It changes when a role scales or starts. It is mounted as a directory (never subPath), so
kubelet refreshes the file in running pods without a restart.
"""

from __future__ import annotations

from typing import Any

import json
import re

from .. import constants as c
from ..api import RoleBasedGroupSpec, RoleSpec
from ..naming import discovery_name, service_name, workload_name


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


_PLAIN = re.compile(r"[a-z][a-z0-9._-]*")
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
_SURROGATES = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def _astral(m: re.Match[str]) -> str:
    """JSON writes a character beyond U+FFFF as a surrogate pair; YAML wants \\UXXXXXXXX."""
    hi, lo = int(m[1], 16), int(m[2], 16)
    return f"\\U{0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00):08x}"


def _scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, str) and _PLAIN.fullmatch(value) and value not in _YAML11_WORDS:
        return value
    # A JSON number or string is a YAML scalar of the same value, but for astral characters.
    return _SURROGATES.sub(_astral, json.dumps(value))


def _lines(value: Any, indent: str) -> list[str]:
    """Block-style YAML lines of a non-empty dict or list."""
    out = []
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for key, item in items:
        head = f"{indent}{_scalar(key)}:" if key is not None else f"{indent}-"
        if isinstance(item, (dict, list)) and item:
            if key is None and isinstance(item, dict):  # "- first: x" then the rest aligned under it
                first, *rest = _lines(item, indent + "  ")
                out += [f"{head} {first.lstrip()}", *rest]
            else:
                out += [head, *_lines(item, indent + "  ")]
        else:
            out.append(f"{head} {_scalar(item)}")
    return out


def to_yaml(doc: dict[str, Any]) -> str:
    """YAML of a document of dicts, lists, ints and strings.

    Written here because this document is rendered on every sync, and PyYAML's representer
    took half of the hook's time.
    """
    return "\n".join(_lines(doc, "")) + "\n"


def discovery_configmap(group: str, spec: RoleBasedGroupSpec, started: set[str]) -> dict[str, Any]:
    doc = discovery_document(group, spec, started)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": discovery_name(group), "labels": {c.LABEL_GROUP_NAME: group}},
        "data": {c.DISCOVERY_FILE: to_yaml(doc)},
    }
