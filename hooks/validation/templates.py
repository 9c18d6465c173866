"""Role templates: every role's effective pod template, made in the validation pass.

A role whose pattern has a `templateRef` gets as its pattern's `template` the template of the
roleTemplate it names with the ref's `patch` merged over it (a strategic merge:
hooks.strategicmerge); the `templateRef`, and the spec's `roleTemplates`, are then dropped, so the
rest of the core (children, discovery, status) sees plain roles. A role with its own `template` is
kept as it is. A change of a shared template thus changes the roles that use it, and no other.

The patch is a free-form object the API server does not check, so the merged template is checked
here as the API server checks a role's own template (the Kubernetes PodTemplateSpec schema) and
as hooks.validation does; a problem is reported at `spec.roles[<i>].<pattern>.templateRef.patch`.
So are a LeaderWorkerSet role's leaderTemplatePatch and workerTemplatePatch, merged over its template.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from .. import constants as c
from ..api import PodTemplate, RoleBasedGroupSpec, RoleSpec
from ..schemas.k8s import pod_template_problems
from ..strategicmerge import PatchError, merge_pod_template
from .rules import Invalid, Problem, loc_path, pattern_field, template_problems

_POD_TEMPLATE: TypeAdapter[Any] = TypeAdapter(PodTemplate)


def _checked(at: str, template: dict[str, Any], merged: str) -> tuple[list[Problem], list[Problem]]:
    """A merged template's problems as the API server (first list) and hooks.validation (second) see them."""
    found = [Problem(f"{at}.{path}" if path else at, f"{message} {merged}") for path, message in pod_template_problems(template)]
    if not found:
        try:
            _POD_TEMPLATE.validate_python(template)
        except ValidationError as err:
            found = [Problem(loc_path(e["loc"]).replace("spec", at, 1), f"{e['msg']} {merged}") for e in err.errors(include_url=False)]
    return found, ([] if found else list(template_problems(at, template)))


def _lws_problems(i: int, role: RoleSpec) -> tuple[list[Problem], list[Problem]]:
    """A LeaderWorkerSet role's leader and worker templates (patches over its template), checked."""
    at = f"spec.roles[{i}].leaderWorkerPattern"
    patches = (role.leader_worker_set.patch_leader_template, role.leader_worker_set.patch_worker_template) if role.leader_worker_set else (None, None)
    fields: list[Problem] = []
    checks: list[Problem] = []
    for field, patch in zip(("leaderTemplatePatch", "workerTemplatePatch"), patches):
        if patch is None:
            continue
        try:
            template = merge_pod_template(role.pod_template, patch)
        except PatchError as err:
            fields.append(Problem(f"{at}.{field}.{err.path}" if err.path else f"{at}.{field}", err.message))
            continue
        found, checked = _checked(f"{at}.{field}", template, "(in the template merged over the role's template)")
        fields, checks = fields + found, checks + checked
    return fields, checks


def resolve(spec: RoleBasedGroupSpec) -> RoleBasedGroupSpec | Invalid:
    """The spec with every role's template made; or why a template can not be made.

    `spec` has passed hooks.validation.parse_spec (every templateRef names a roleTemplate).
    A LeaderWorkerSet role's leader and worker templates are checked here too (hooks.children.lws
    merges them again when it builds the role).
    """
    shared = {t.name: t.template for t in spec.role_templates}
    roles: list[RoleSpec] = []
    fields: list[Problem] = []
    checks: list[Problem] = []
    for i, role in enumerate(spec.roles):
        if role.template_ref is not None:
            at, name = f"spec.roles[{i}].{pattern_field(role)}.templateRef.patch", role.template_ref.name
            if name not in shared:
                fields.append(Problem(f"spec.roles[{i}].templateRef.name", f"no entry of spec.roleTemplates is named {name!r}"))
                continue
            try:
                template = merge_pod_template(shared[name], role.template_ref.patch or {})
            except PatchError as err:
                fields.append(Problem(f"{at}.{err.path}" if err.path else at, err.message))
                continue
            found, checked = _checked(at, template, f"(in the template merged over roleTemplate {name!r})")
            fields, checks = fields + found, checks + checked
            role = role.with_template(template)
            if found:
                continue
        if role.workload.kind == c.KIND_LWS and role.leader_worker_pattern is not None:
            found, checked = _lws_problems(i, role)
            fields, checks = fields + found, checks + checked
        roles.append(role)
    if fields or checks:
        return Invalid(c.REASON_INVALID_FIELDS if fields else c.REASON_INVALID_ROLES, tuple(fields + checks))
    if not spec.role_templates and all(r.template_ref is None for r in spec.roles):
        return spec
    return spec.model_copy(update={"roles": roles, "role_templates": []})


def pod_templates(role: RoleSpec) -> tuple[dict[str, Any], ...]:
    """The role's pod templates as written: its template, a leaderWorkerPattern role's leader and
    worker templates (patchLeaderTemplate / patchWorkerTemplate merged over it), or each component's. `role` has passed
    validate(), which merged these patches once already, so they merge."""
    if role.custom_components_pattern is not None:
        return tuple(comp.template for comp in role.custom_components_pattern.components)
    if role.workload.kind != c.KIND_LWS and not (role.workload.kind == c.KIND_ROLE_INSTANCE_SET and role.leader_worker_pattern):
        return (role.pod_template,)
    lwt = role.leader_worker_set
    base = role.pod_template
    leader = lwt.patch_leader_template if lwt else None
    worker = lwt.patch_worker_template if lwt else None
    return merge_pod_template(base, leader or {}), merge_pod_template(base, worker or {})
