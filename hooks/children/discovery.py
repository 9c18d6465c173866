"""The group's discovery ConfigMap: every role's instances and ports, in /etc/rbg/config.yaml.

It changes when a role scales or starts. It is mounted as a directory (never subPath), so
kubelet refreshes the file in running pods without a restart. Its first line, `version: "<hex>"`,
is a hash of the rest of the file: it changes exactly when the content does, so an application
that watches the file knows when to reload.

The file stays within DISCOVERY_MAX_BYTES, counted as the JSON string Metacontroller stores in
the ConfigMap's last-applied annotation. When not every instance fits, the instance lists are
cut evenly: one more instance of each role in turn (spec order), while the next one fits. A cut
role lists its first instances, says `truncated: true`, and gives `addressTemplate`
("<pod prefix>-{index}.<service>", index from 0 to size - 1), for a LeaderWorkerSet role
`workerAddressTemplate` ("<lws>-{index}-{worker}.<lws>", worker from 1 to the group size - 1),
and `ports`, from which every address follows. The work is proportional to what is listed, never to replicas.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, NamedTuple

from .. import constants as c
from ..api import RoleBasedGroupSpec, RoleSpec
from ..naming import discovery_name, workload_name

# Instances are items of roles.<role>.instances: four levels deep.
_INSTANCE_INDENT = "      "
# Workload kinds whose pods have stable names, and so are listed (RoleInstanceSet roles but
# customComponentsPattern ones, whose instances are several components: not listed).
_LISTED = (c.KIND_STATEFULSET, c.KIND_LWS, c.KIND_ROLE_INSTANCE_SET)


def _listed(role: RoleSpec) -> bool:
    return role.workload.kind in _LISTED and role.custom_components_pattern is None


def _instance_set_lwp(role: RoleSpec) -> bool:
    """A leaderWorkerPattern role on a RoleInstanceSet: leader `<set>-<i>-0`, workers `<set>-<i>-<j>`."""
    return role.workload.kind == c.KIND_ROLE_INSTANCE_SET and role.leader_worker_pattern is not None


class Cut(NamedTuple):
    """A role whose instance list was cut: the first `listed` of `size` instances are listed."""

    role: str
    listed: int
    size: int


def port_key(port: dict[str, Any]) -> str:
    return str(port.get("name") or "port").lower().replace("-", "_")


def _ports(role: RoleSpec) -> dict[str, int]:
    ports = {}
    for port in role.service_ports:
        target = port.get("targetPort")
        ports[port_key(port)] = target if isinstance(target, int) else port["port"]
    return ports


def _address(group: str, role: RoleSpec, index: int | str, services: dict[str, str]) -> str:
    """A resolvable address: "<pod>.<headless service>" of a StatefulSet role (and of a
    RoleInstanceSet's one-pod instance); of a LeaderWorkerSet role, its group's leader
    "<lws>-<index>" in the LWS's own headless Service "<lws>"; of a RoleInstanceSet's
    leader-worker instance, its leader "<set>-<index>-0"."""
    leader = "-0" if _instance_set_lwp(role) else ""
    return f"{workload_name(group, role.name)}-{index}{leader}.{services[role.name]}"


def _worker_address(group: str, role: RoleSpec, index: int | str, worker: int | str, services: dict[str, str]) -> str:
    """Worker `worker` (from 1) of a LeaderWorkerSet role's group `index`: "<lws>-<index>-<worker>.<lws>";
    of a RoleInstanceSet's leader-worker instance, in the role's headless Service."""
    name = workload_name(group, role.name)
    return f"{name}-{index}-{worker}.{services[role.name] if _instance_set_lwp(role) else name}"


def _size(role: RoleSpec) -> int:
    """Pods per instance: a LeaderWorkerSet role's group size, else 1."""
    lws = role.workload.kind == c.KIND_LWS or _instance_set_lwp(role)
    return role.leader_worker_set.size if lws and role.leader_worker_set else 1


def _instance(group: str, role: RoleSpec, ports: dict[str, int], index: int, services: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"address": _address(group, role, index, services), "ports": dict(ports)}
    if _size(role) > 1:
        out["workers"] = [_worker_address(group, role, index, j, services) for j in range(1, _size(role))]
    return out


def _cost(lines: list[str]) -> int:
    """Bytes of these lines as part of a JSON string, each with its newline ("\\n").

    The file holds names (DNS labels), numbers and the address template: json.dumps escapes
    them exactly as Metacontroller's Go encoder does.
    """
    return len(json.dumps("\n".join(lines) + "\n")) - 2


def _digits(n: int) -> int:
    """Digits of all the indexes 0 to n - 1 together."""
    total, low, width = 0, 0, 1
    while low < n:
        high = min(n, 10**width)
        total += (high - low) * width
        low, width = high, width + 1
    return total


def _round_robin(roles: list[RoleSpec], base: dict[str, int], room: int) -> dict[str, int]:
    """How many instances of each role fit in `room` bytes, adding one instance per role in turn."""
    listed = dict.fromkeys(base, 0)
    active, index = roles, 0
    while active:
        still = []
        for role in active:
            cost = base[role.name] + _size(role) * len(str(index))
            if index < role.replicas and cost <= room:
                room -= cost
                listed[role.name] += 1
                still.append(role)
        active, index = still, index + 1
    return listed


def discovery_document(
    group: str, spec: RoleBasedGroupSpec, started: set[str], services: dict[str, str], budget: int = c.DISCOVERY_MAX_BYTES
) -> tuple[dict[str, Any], list[Cut]]:
    """The document, and the roles whose instance lists had to be cut to stay within `budget`.
    `services`: by started role, the headless Service its pods' addresses are in.

    Instances are listed for started StatefulSet and LeaderWorkerSet roles only: Deployment pods
    have no stable DNS names. A LeaderWorkerSet instance is a group: its leader's `address` and its
    `workers`. The rest of the document (every role's size, and the ports of a cut role) is
    always there: the limits on roles and service ports keep it well within the budget.
    """
    names = [r.name for r in spec.roles]
    roles: dict[str, dict[str, Any]] = {r.name: {"size": r.replicas, "instances": []} for r in spec.roles}
    doc = {"group": {"name": group, "roles": names, "size": len(names)}, "roles": roles}
    listable = [r for r in spec.roles if r.name in started and _listed(r) and r.replicas]
    ports = {r.name: _ports(r) for r in listable}
    # Instance i costs what instance 0 does, plus the digits of i beyond one in each of its _size addresses.
    base = {r.name: _cost(_lines([_instance(group, r, ports[r.name], 0, services)], _INSTANCE_INDENT)) - _size(r) for r in listable}
    # `instances: []` is counted for every role: 3 bytes (" []") more than a non-empty list takes,
    # so a listed role gives them back.
    room = budget - _cost(_lines(doc, ""))
    if sum(r.replicas * base[r.name] + _size(r) * _digits(r.replicas) - 3 for r in listable) <= room:
        listed = {r.name: r.replicas for r in listable}
    else:
        for r in listable:  # room for the header of a cut role, for each role that may be cut
            roles[r.name] = {
                "size": r.replicas,
                "truncated": True,
                "addressTemplate": _address(group, r, "{index}", services),
                **({"workerAddressTemplate": _worker_address(group, r, "{index}", "{worker}", services)} if _size(r) > 1 else {}),
                "ports": ports[r.name],
                "instances": [],
            }
        listed = _round_robin(listable, base, budget - _cost(_lines(doc, "")))
    cuts = []
    for r in listable:
        if listed[r.name] == r.replicas:
            roles[r.name] = {"size": r.replicas, "instances": []}
        else:
            cuts.append(Cut(r.name, listed[r.name], r.replicas))
        roles[r.name]["instances"] = [_instance(group, r, ports[r.name], i, services) for i in range(listed[r.name])]
    return doc, cuts


# Lower case first: then only the lower-case spellings of YAML 1.1 words need quoting.
_PLAIN = re.compile(r"[a-z][a-zA-Z0-9._-]*")
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


def _versioned(body: str) -> str:
    return f"version: {json.dumps(hashlib.sha256(body.encode()).hexdigest()[:16])}\n{body}"


# What the version line takes of the budget.
_VERSION_COST = _cost(_versioned("").splitlines())


def discovery_configmap(
    group: str, spec: RoleBasedGroupSpec, started: set[str], services: dict[str, str], excluded: dict[str, list[int]] | None = None
) -> tuple[dict[str, Any], list[Cut]]:
    """The ConfigMap, and the roles whose instance lists were cut (see discovery_document).

    `excluded`: by role, the ordinals of members that are draining (hooks.core.drain), listed by
    address under the role's `excluded`, within the budget.
    """
    roles = {r.name: r for r in spec.roles}
    exclusions = {name: [_address(group, roles[name], i, services) for i in ordinals] for name, ordinals in (excluded or {}).items()}
    extra = sum(_cost(_lines({"excluded": addresses}, "    ")) for addresses in exclusions.values())
    doc, cuts = discovery_document(group, spec, started, services, c.DISCOVERY_MAX_BYTES - _VERSION_COST - extra)
    for name, addresses in exclusions.items():
        doc["roles"][name]["excluded"] = addresses
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": discovery_name(group), "labels": {c.LABEL_GROUP_NAME: group}},
        "data": {c.DISCOVERY_FILE: _versioned(to_yaml(doc))},
    }
    return configmap, cuts
