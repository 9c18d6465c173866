"""The CoordinatedPolicy core: (policy, the group of its name) -> status.

A policy binds the RoleBasedGroup of its namespace and name; the group reads it (a related
object of the group: hooks.core.observed) and acts on it (hooks.core.coordination). This only
reports whether it binds a group, and names the roles it lists that the group lacks. No children.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .. import constants as c
from ..api import CoordinatedPolicySpec, PolicyParent, PolicySyncRequest
from .observed import latest_time
from .result import Result
from .status import condition, merge_conditions


def customize(parent: PolicyParent) -> dict[str, Any]:
    """The group of the policy's namespace and name."""
    meta = parent.metadata
    return {"relatedResources": [{"apiVersion": c.API_VERSION, "resource": "rolebasedgroups", "namespace": meta.namespace, "names": [meta.name]}]}


def binding(parent: PolicyParent, group: dict[str, Any] | None) -> tuple[bool, str, str]:
    meta = parent.metadata
    where = f"RoleBasedGroup {meta.name} (namespace {meta.namespace})"
    try:
        spec = CoordinatedPolicySpec.model_validate(parent.spec)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        return False, c.REASON_INVALID_FIELDS, f"spec.{'.'.join(map(str, first['loc']))}: {first['msg']}"
    if group is None:
        return False, c.REASON_TARGET_GROUP_NOT_FOUND, f"{where} not found: a policy binds the group of its own name"
    roles = {r.get("name") for r in (group.get("spec") or {}).get("roles") or [] if isinstance(r, dict)}
    missing = sorted({r for p in spec.policies for r in p.roles} - roles)
    if missing:
        return False, c.REASON_TARGET_ROLE_NOT_FOUND, f"{where} has no role {', '.join(missing)}"
    kept = "; ".join(f"{p.name}: {', '.join(p.roles)}" for p in spec.policies)
    return True, c.REASON_BOUND, f"{where} keeps {kept} in step"


def sync(request: PolicySyncRequest) -> Result:
    parent = request.parent
    meta = parent.metadata
    groups = [g for g in (request.related.get(c.CHILD_RBG) or {}).values() if isinstance(g, dict)]
    group = next((g for g in groups if (g.get("metadata") or {}).get("name") == meta.name and g["metadata"].get("namespace") == meta.namespace), None)
    bound, reason, message = binding(parent, group)
    now = latest_time(parent, [group] if group else [])
    status = {
        "conditions": merge_conditions(
            (parent.status or {}).get("conditions") or [], [condition(c.COND_BOUND, bound, reason, message)], now=now, generation=meta.generation
        )
    }
    return Result(status=status, children=[])
