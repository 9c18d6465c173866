"""Inside a RoleInstance: the ports a component's `port-allocator` annotation asks for, and the
addresses and ports its `component-discovery` annotation names, as each pod's environment
variables (upstream's annotations and JSON; hooks.core.instance passes them to the pod builder).

Ports are not drawn at random and kept, as upstream's allocator does, but derived from names: a
port is `PORT_BASE + hash(key) % PORT_RANGE`, its key the namespace, the set and the component for
a `RoleScoped` port (one port for the component's pods in every instance of the set), the
namespace and the pod for a `PodScoped` one. So a pod recreated gets its port again and no
state is kept. Within an instance no two keys share a port: the set's `RoleScoped` keys, then the
instance's `PodScoped` ones, each in name order, take the next free port from their own.
Ports of different instances may meet, as with any choice made without a cluster-wide registry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .. import constants as c
from ..api import InstanceComponent, RoleInstanceSpec
from ..decisions import InstancePod

# Upstream's allocator defaults (`--start-port`, `--port-range`).
PORT_BASE, PORT_RANGE = 30000, 5000
SCOPES = ("PodScoped", "RoleScoped")


class WiringError(ValueError):
    """An annotation that cannot be followed: unreadable JSON, a missing field, an unknown name."""


@dataclass(frozen=True)
class Wiring:
    """What one pod gets: its environment variables (in order) and annotations."""

    env: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


def _annotation(comp: InstanceComponent, key: str) -> Any:
    raw = comp.annotations.get(key) or ((comp.template.get("metadata") or {}).get("annotations") or {}).get(key)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as err:
        raise WiringError(f"component {comp.name}: annotation {key} is not JSON: {err}") from None
    if not isinstance(value, dict):
        raise WiringError(f"component {comp.name}: annotation {key} is not a JSON object")
    return value


def _entries(comp: InstanceComponent, key: str, field: str, required: tuple[str, ...]) -> list[dict[str, Any]]:
    entries = _annotation(comp, key).get(field) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise WiringError(f"component {comp.name}: {key} {field} is not a list of objects")
    for i, entry in enumerate(entries):
        for name in required:
            if not isinstance(entry.get(name), str) or not entry[name]:
                raise WiringError(f"component {comp.name}: {key} {field}[{i}].{name} is required")
        if not isinstance(entry.get("index", 0), int) or entry.get("index", 0) < 0:
            raise WiringError(f"component {comp.name}: {key} {field}[{i}].index is not a whole number")
    return entries


def allocations(comp: InstanceComponent) -> list[dict[str, Any]]:
    entries = _entries(comp, c.ANNOTATION_PORT_ALLOCATOR, "allocations", ("name", "env"))
    for i, entry in enumerate(entries):
        if entry.setdefault("scope", "PodScoped") not in SCOPES:
            raise WiringError(f"component {comp.name}: allocations[{i}].scope must be PodScoped or RoleScoped, not {entry['scope']!r}")
    return entries


def _port(key: str, taken: set[int]) -> int:
    start = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % PORT_RANGE
    for step in range(PORT_RANGE):
        port = PORT_BASE + (start + step) % PORT_RANGE
        if port not in taken:
            taken.add(port)
            return port
    raise WiringError(f"no free port left in {PORT_BASE}-{PORT_BASE + PORT_RANGE - 1}")


def plan(namespace: str, owner: str, spec: RoleInstanceSpec, wanted: list[tuple[InstanceComponent, InstancePod]]) -> dict[str, Wiring]:
    """Each pod's wiring, by pod name (pods that need none are left out). `owner` is the
    instance's set (RoleScoped ports are the set's)."""
    components = {comp.name: comp for comp in spec.components}
    allocs = {comp.name: allocations(comp) for comp in spec.components}
    pods_of: dict[str, list[str]] = {}
    for comp, ident in wanted:
        pods_of.setdefault(comp.name, []).append(ident.name)

    taken: set[int] = set()
    ports: dict[str, int] = {}  # "<component>.<name>" (RoleScoped) and "<pod>.<name>" (PodScoped), as upstream's keys
    role_keys = sorted(f"{comp}.{a['name']}" for comp, entries in allocs.items() for a in entries if a["scope"] == "RoleScoped")
    pod_keys = sorted(f"{pod}.{a['name']}" for comp, entries in allocs.items() for a in entries if a["scope"] == "PodScoped" for pod in pods_of.get(comp, []))
    for key in role_keys:
        ports[key] = _port(f"{namespace}/{owner}/{key}", taken)
    for key in pod_keys:
        ports[key] = _port(f"{namespace}/{key}", taken)

    def pod_at(comp_name: str, index: int, what: str) -> str:
        if comp_name not in components:
            raise WiringError(f"{what}: {comp_name!r} is not a component of the role")
        names = pods_of.get(comp_name, [])
        if index >= len(names):
            raise WiringError(f"{what}: component {comp_name} has no pod {index} (it has {len(names)})")
        return names[index]

    def told(comp: InstanceComponent) -> list[tuple[str, str]]:
        """The variables every pod of `comp` gets alike: its references and discovery."""
        env: list[tuple[str, str]] = []
        for i, ref in enumerate(_entries(comp, c.ANNOTATION_PORT_ALLOCATOR, "references", ("env", "from"))):
            parts = ref["from"].split(".")
            if len(parts) != 3 or not all(parts):
                raise WiringError(f"component {comp.name}: references[{i}].from must be <role>.<component>.<port>, not {ref['from']!r}")
            key = f"{pod_at(parts[1], 0, f'component {comp.name}: references[{i}]')}.{parts[2]}"
            if key not in ports:
                raise WiringError(f"component {comp.name}: references[{i}]: no PodScoped port {parts[2]!r} on component {parts[1]}")
            env.append((ref["env"], str(ports[key])))
        for i, ref in enumerate(_entries(comp, c.ANNOTATION_COMPONENT_DISCOVERY, "addressRefs", ("env", "component"))):
            what = f"component {comp.name}: component-discovery addressRefs[{i}]"
            target = pod_at(ref["component"], ref.get("index", 0), what)
            service = components[ref["component"]].service_name
            if not service:
                raise WiringError(f"{what}: component {ref['component']} has no serviceName, so its pods have no DNS name")
            env.append((ref["env"], f"{target}.{service}.{namespace}.svc.cluster.local"))
        for i, ref in enumerate(_entries(comp, c.ANNOTATION_COMPONENT_DISCOVERY, "portRefs", ("env", "component", "portName"))):
            what = f"component {comp.name}: component-discovery portRefs[{i}]"
            target = pod_at(ref["component"], ref.get("index", 0), what)
            port = ports.get(f"{target}.{ref['portName']}") or ports.get(f"{ref['component']}.{ref['portName']}")
            if port is None:
                raise WiringError(f"{what}: component {ref['component']} allocates no port {ref['portName']!r}")
            env.append((ref["env"], str(port)))
        return env

    shared = {comp.name: told(comp) for comp in spec.components}
    out: dict[str, Wiring] = {}
    for comp, ident in wanted:
        env: list[tuple[str, str]] = []
        annotations: list[tuple[str, str]] = []
        for a in allocs[comp.name]:
            port = str(ports[f"{ident.name if a['scope'] == 'PodScoped' else comp.name}.{a['name']}"])
            env.append((a["env"], port))
            if a.get("annotationKey"):
                annotations.append((a["annotationKey"], port))
        env += shared[comp.name]
        if env or annotations:
            out[ident.name] = Wiring(tuple(env), tuple(annotations))
    return out
