"""Builders of children as the core builds them: a role's plan from the planners, then its workload."""

from __future__ import annotations

from typing import Any

from hooks import constants as c
from hooks.api import GroupSpec, RoleBasedGroupSpec, RoleSpec
from hooks.children.podtemplate import build_pod_template
from hooks.children.workloads import workload
from hooks.core.gang import Gang
from hooks.core.observed import Observed
from hooks.core.rbg import built_templates, role_plans
from hooks.core.services import service_of
from hooks.decisions import PodDecision, RolePlan

NO_OBSERVED = Observed({})
# A group converted from v1alpha1: its pods get the labels and variables of v1alpha1 groups only.
CONVERTED = {c.ANNOTATION_API_ORIGIN: c.VERSION_V1ALPHA1}


def plan_of(namespace: str, group: str, role: RoleSpec, annotations: dict[str, str] | None = None) -> RolePlan:
    """The role's plan in a new group (by default one converted from v1alpha1): no gang, nothing observed."""
    spec = GroupSpec.model_validate({"roles": [role.model_dump(by_alias=True, exclude_none=True)]})
    given = CONVERTED if annotations is None else annotations
    return role_plans(namespace, group, given, spec, [role.name], Gang(group, (role.name,)), NO_OBSERVED)[role.name]


def workload_of(namespace: str, group: str, role: RoleSpec) -> dict[str, Any]:
    """The role's workload in a new group, of the kind its spec names."""
    plan = plan_of(namespace, group, role)
    return workload(group, plan, built_templates(namespace, group, plan))


def pod_template(template: dict[str, Any], *, namespace: str, group: str, role: str, index_label: str | None) -> dict[str, Any]:
    """A pod template with nothing decided for it but what every pod gets."""
    return build_pod_template(template, namespace=namespace, group=group, role=role, index_label=index_label, decision=PodDecision())


def services_of(group: str, spec: RoleBasedGroupSpec) -> dict[str, str]:
    """Each role's headless Service in a new group."""
    return {r.name: service_of(group, r, NO_OBSERVED) for r in spec.roles}
