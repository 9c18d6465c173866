"""Every rule a RoleBasedGroup spec must follow, checked in one pass before anything is planned,
and reported as field paths (`Problem`): the fields (hooks.validation.rules), then the pod
templates made from roleTemplates and patches (hooks.validation.templates)."""

from __future__ import annotations

from typing import Any

from ..api import RoleBasedGroupSpec
from .rules import Invalid, Problem, dependency_cycle, loc_path, parse_spec, template_problems  # noqa: F401
from .templates import pod_templates, resolve  # noqa: F401


def validate(group: str, raw: dict[str, Any]) -> RoleBasedGroupSpec | Invalid:
    """The spec with every role's template made (roleTemplates resolved), or why it is invalid."""
    parsed = parse_spec(group, raw)
    return parsed if isinstance(parsed, Invalid) else resolve(parsed)
