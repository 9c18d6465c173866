"""Every rule a RoleBasedGroup must follow, checked in one pass before anything is planned,
and reported as field paths (`Problem`): the fields (hooks.validation.rules), the pod templates
made from roleTemplates and patches (hooks.validation.templates), and the policies outside the
spec: gang annotations and the CoordinatedPolicy (hooks.validation.policies)."""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import GroupSpec
from .policies import coordination, gang, problems, startup_gate
from .rules import Invalid, Problem, dependency_cycle, loc_path, parse_spec, pattern_field, template_problems  # noqa: F401
from .templates import pod_templates, resolve  # noqa: F401


def validate(group: str, raw: dict[str, Any], annotations: dict[str, str] | None = None, policy: dict[str, Any] | None = None) -> GroupSpec | Invalid:
    """The group as the core plans it (every role's template made, its gang and coordination read
    in), or why it is invalid. `policy` is the spec of the CoordinatedPolicy that binds it."""
    parsed = parse_spec(group, raw)
    if isinstance(parsed, Invalid):
        return parsed
    resolved = resolve(parsed)
    if isinstance(resolved, Invalid):
        return resolved
    annotations = annotations or {}
    pod_group_policy, coordinated = gang(annotations), coordination(annotations, policy)
    if found := tuple(problems(pod_group_policy, coordinated, startup_gate(annotations))):
        return Invalid(c.REASON_INVALID_FIELDS, found)
    return GroupSpec.model_construct(**dict(resolved), coordination=coordinated, pod_group_policy=pod_group_policy)
