"""Validation of a RoleBasedGroup spec, reported as field paths.

The CRD's schema and CEL rules catch most of this at the API server; the hooks check again
because they rely on it (and because `rbg validate` / `rbg render` see files the API server
never did). A dependency cycle can only be found here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .. import constants as c
from ..api import PATTERNS, RoleBasedGroupSpec, RoleSpec
from ..naming import workload_name

DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# A label value, or the name part of a label / annotation key ("qualified name").
PARTITION = re.compile(r"([0-9]{1,10})(%?)")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class Invalid:
    reason: str
    problems: tuple[Problem, ...]

    @property
    def message(self) -> str:
        return "; ".join(str(p) for p in self.problems)


def loc_path(loc: tuple[Any, ...]) -> str:
    path = "spec"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_spec(group: str, raw: dict[str, Any]) -> RoleBasedGroupSpec | Invalid:
    """Parse and check a spec; return it, or why it is invalid."""
    try:
        spec = RoleBasedGroupSpec.model_validate(raw)
    except ValidationError as err:
        problems = tuple(
            Problem(loc_path(e["loc"]), e["msg"]) for e in err.errors(include_url=False)
        )
        return Invalid(c.REASON_INVALID_FIELDS, problems)
    problems = tuple(_role_problems(group, spec))
    if problems:
        return Invalid(c.REASON_INVALID_ROLES, problems)
    cycle = dependency_cycle(spec)
    if cycle:
        path = " -> ".join(cycle + [cycle[0]])
        return Invalid(
            c.REASON_DEPENDENCY_CYCLE,
            (Problem("spec.roles", f"dependency cycle between roles {', '.join(sorted(cycle))}: {path}"),),
        )
    return spec


def _role_problems(group: str, spec: RoleBasedGroupSpec) -> Iterator[Problem]:
    shared: set[str] = set()
    for j, tpl in enumerate(spec.role_templates):
        if tpl.name in shared:
            yield Problem(f"spec.roleTemplates[{j}].name", f"duplicate template name {tpl.name!r}")
        shared.add(tpl.name)
        yield from template_problems(f"spec.roleTemplates[{j}].template", tpl.template)
    names = [r.name for r in spec.roles]
    seen: set[str] = set()
    for i, role in enumerate(spec.roles):
        at = f"spec.roles[{i}]"
        if role.name in seen:
            yield Problem(f"{at}.name", f"duplicate role name {role.name!r}")
        seen.add(role.name)
        child = workload_name(group, role.name)
        if len(child) > c.MAX_WORKLOAD_NAME:
            yield Problem(
                f"{at}.name",
                f"{child!r} is {len(child)} characters; group and role names together "
                f"must stay within {c.MAX_WORKLOAD_NAME} (\"<group>-<role>\")",
            )
        elif not DNS_1035_LABEL.match(child):
            yield Problem(f"{at}.name", f"{child!r} must be a DNS-1035 label (start with a letter)")
        for j, dep in enumerate(role.dependencies):
            if dep == role.name:
                yield Problem(f"{at}.dependencies[{j}]", f"role {role.name!r} depends on itself")
            elif dep not in names:
                yield Problem(f"{at}.dependencies[{j}]", f"unknown role {dep!r}")
        yield from _partition_problems(f"{at}.rolloutStrategy.rollingUpdate.partition", role)
        yield from _service_port_problems(f"{at}.servicePorts", role.service_ports)
        yield from _metadata_problems(at, role.labels, role.annotations)
        yield from _pattern_problems(at, role, shared)
        written = role.annotations.get(c.ANNOTATION_ROLE_WORKLOAD_TYPE)
        if written is not None and written not in c.WORKLOAD_TYPES:
            yield Problem(
                f"{at}.annotations[{c.ANNOTATION_ROLE_WORKLOAD_TYPE}]",
                f"{written!r} is not a workload type; use one of {', '.join(c.WORKLOAD_TYPES)}",
            )


def _partition_problems(at: str, role: RoleSpec) -> Iterator[Problem]:
    """A partition given as a string: a count, or a percentage of replicas from 0% to 100%; and a
    rollout that could replace no pod (maxSurge and maxUnavailable both 0)."""
    ru = role.rollout_strategy.rolling_update if role.rollout_strategy else None
    if ru is not None and ru.max_surge in (0, "0%") and ru.max_unavailable in (0, "0%"):
        yield Problem(at.rsplit(".", 1)[0], "maxSurge and maxUnavailable may not both be 0: the rollout could not replace a pod")
    if ru is None or not isinstance(ru.partition, str):
        return  # an integer: the model keeps it within 0 to INT32_MAX
    found = PARTITION.fullmatch(ru.partition)
    if found is None:
        yield Problem(at, f"{ru.partition!r} is neither a count nor a percentage of replicas such as \"25%\"")
    elif int(found[1]) > (100 if found[2] else c.INT32_MAX):
        yield Problem(at, f"{ru.partition!r} is outside {'0% to 100%' if found[2] else f'0 to {c.INT32_MAX}'}")


def pattern_field(role: RoleSpec) -> str:
    """The role's pattern as its field is spelled."""
    if role.leader_worker_pattern is not None:
        return "leaderWorkerPattern"
    return "customComponentsPattern" if role.custom_components_pattern is not None else "standalonePattern"


def _pattern_problems(at: str, role: RoleSpec, shared: set[str]) -> Iterator[Problem]:
    """Exactly one pattern; in it, exactly one of template and templateRef, which names a roleTemplate."""
    given = [p for p in PATTERNS if getattr(role, _SNAKE[p]) is not None]
    if len(given) != 1:
        yield Problem(at, f"exactly one of {', '.join(PATTERNS)} is required" + (f", not {' and '.join(given)}" if given else ""))
        return
    at = f"{at}.{given[0]}"
    if role.custom_components_pattern is not None:
        if role.workload.kind != c.KIND_ROLE_INSTANCE_SET:
            yield Problem(f"{at.rsplit('.', 1)[0]}.annotations[{c.ANNOTATION_ROLE_WORKLOAD_TYPE}]", "customComponentsPattern runs on RoleInstanceSets only")
        names: set[str] = set()
        for j, component in enumerate(role.custom_components_pattern.components):
            if component.name in names:
                yield Problem(f"{at}.components[{j}].name", f"duplicate component name {component.name!r}")
            names.add(component.name)
            yield from template_problems(f"{at}.components[{j}].template", component.template)
        return
    if role.template is not None and role.template_ref is not None:
        yield Problem(f"{at}.templateRef", "template and templateRef are mutually exclusive: set one of them")
    elif role.template is None and role.template_ref is None:
        yield Problem(f"{at}.template", "template or templateRef is required")
    if role.template_ref is not None and role.template_ref.name not in shared:
        yield Problem(f"{at}.templateRef.name", f"no entry of spec.roleTemplates is named {role.template_ref.name!r}")
    if role.template is not None:
        yield from template_problems(f"{at}.template", role.template)


_SNAKE = {"standalonePattern": "standalone_pattern", "leaderWorkerPattern": "leader_worker_pattern", "customComponentsPattern": "custom_components_pattern"}


def template_problems(at: str, template: dict[str, Any]) -> Iterator[Problem]:
    """A pod template's labels, annotations and containers; `at` is its path."""
    meta = template.get("metadata") or {}
    yield from _metadata_problems(f"{at}.metadata", meta.get("labels") or {}, meta.get("annotations") or {})
    if not (template.get("spec") or {}).get("containers"):
        yield Problem(f"{at}.spec.containers", "at least one container is required")


def _qualified_name(key: str) -> bool:
    """A label or annotation key: an optional DNS subdomain prefix and "/", then a name of up to 63."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_1123_SUBDOMAIN.match(prefix)):
        return False
    return len(name) <= 63 and bool(LABEL_NAME.match(name))


def _metadata_problems(at: str, labels: dict[str, str], annotations: dict[str, str]):
    for key, value in labels.items():
        if not _qualified_name(key):
            yield Problem(f"{at}.labels", f"{key!r} is not a valid label key")
        if value and (len(value) > 63 or not LABEL_NAME.match(value)):
            yield Problem(f"{at}.labels[{key}]", f"{value!r} is not a valid label value")
    for key in annotations:
        if not _qualified_name(key):
            yield Problem(f"{at}.annotations", f"{key!r} is not a valid annotation key")


def _service_port_problems(at: str, ports: list[dict[str, Any]]):
    """What the API server would reject when the Service is created, reported up front."""
    names = [p.get("name") for p in ports]
    for j, port in enumerate(ports):
        if not isinstance(port.get("port"), int) or not 0 < port["port"] < 65536:
            yield Problem(f"{at}[{j}].port", "a port number between 1 and 65535 is required")
        name = port.get("name")
        if len(ports) > 1 and not name:
            yield Problem(f"{at}[{j}].name", "every port needs a name when there is more than one")
        elif name and (len(name) > 15 or not DNS_1123_LABEL.match(name)):
            yield Problem(f"{at}[{j}].name", f"{name!r} must be a DNS-1123 label of at most 15 characters")
        elif name and names.index(name) != j:
            yield Problem(f"{at}[{j}].name", f"duplicate port name {name!r}")


def dependency_cycle(spec: RoleBasedGroupSpec) -> list[str]:
    """The roles of one dependency cycle in walk order, or [] when the graph is acyclic."""
    deps = {r.name: list(dict.fromkeys(r.dependencies)) for r in spec.roles}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for dep in deps.get(name, []):
            if state.get(dep) == 1:
                return path[path.index(dep):]
            if dep not in state and (found := visit(dep)):
                return found
        state[name] = 2
        path.pop()
        return []

    for role in spec.roles:
        if role.name not in state and (found := visit(role.name)):
            return found
    return []
