"""The RoleBasedGroupSet core: (set, observed members) -> (desired members, status).

Pure and deterministic, like hooks.core.rbg. Members are RoleBasedGroups `<set>-<index>`,
index 0 to replicas - 1:

1. Parse and check the spec: v1alpha2's `groupTemplate` (labels, annotations and a group
   spec), or the seed documents' v1alpha1 `groupTemplate` with roles named by `role`, converted
   as the API server converts a v1alpha1 set. An invalid spec freezes the set: every member is
   returned as last applied and status says why.
2. Create: every missing member at once (startupPolicy Parallel, the default), or, Ordered,
   member i once member i - 1 is Ready.
3. Roll: a member whose template hash is not the set's is given the new template while no more
   than `maxUnavailable` members are not Ready, lowest index first; a member that is not Ready
   anyway is updated at once (waiting for it would stall the rollout). Never all at once.
4. Scale down: members of index >= replicas are not returned, so Metacontroller deletes them:
   the highest indices go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .. import constants as c
from ..api import PATTERNS, RoleBasedGroupSetSpec, SetParent, SetSyncRequest
from ..conversion.v1alpha1 import to_hub
from ..naming import content_hash
from ..validation import Invalid, Problem, loc_path, parse_spec
from . import conventions
from .observed import last_applied, latest_time
from .result import Result
from .status import condition, frozen_conditions, merge_conditions

# Annotations that belong to the set object itself, never copied to its members.
_OWN_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "metacontroller.k8s.io/")


def from_seed(raw: dict[str, Any]) -> dict[str, Any]:
    """The seed documents' spec as a v1alpha1 set's: `groupTemplate` is `template`, a role's `role` its `name`."""
    out = {k: v for k, v in raw.items() if k != "groupTemplate"}
    template = raw.get("groupTemplate")
    if isinstance(template, dict):
        roles = template.get("roles")
        if isinstance(roles, list):
            roles = [
                {"name": r["role"], **{k: v for k, v in r.items() if k != "role"}} if isinstance(r, dict) and "role" in r else r
                for r in roles
            ]
        out["template"] = {**template, "roles": roles} if "roles" in template else template
    return out


def _seed_path(path: str) -> str:
    """A problem's path as the seed form spells it."""
    return re.sub(r"(\.roles\[\d+\])\.name", r"\1.role", path.replace("spec.groupTemplate.spec", "spec.groupTemplate", 1))


def hub_spec(parent: SetParent) -> dict[str, Any]:
    """The set's spec as v1alpha2 has it: a seed document's converted as the API server converts a v1alpha1 set."""
    if parent.apiVersion != c.SEED_API_VERSION:
        return parent.spec
    written = {"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBGS, "metadata": {}, "spec": from_seed(parent.spec)}
    return dict(to_hub(written)["spec"])


def parse_set(parent: SetParent) -> tuple[RoleBasedGroupSetSpec, dict[str, Any]] | Invalid:
    """The spec, and the raw member template (labels, annotations, spec, as written); or why it is invalid."""
    raw = hub_spec(parent)
    try:
        spec = RoleBasedGroupSetSpec.model_validate(raw)
    except ValidationError as err:
        problems = [Problem(loc_path(e["loc"]), e["msg"]) for e in err.errors(include_url=False)]
        invalid = Invalid(c.REASON_INVALID_FIELDS, tuple(problems))
    else:
        # The member's own checks (cycles, name lengths), with the longest member name.
        checked = parse_spec(member_name(parent.metadata.name, max(spec.replicas - 1, 0)), raw["groupTemplate"]["spec"])
        if not isinstance(checked, Invalid):
            return spec, raw["groupTemplate"]
        problems = [Problem(p.path.replace("spec", "spec.groupTemplate.spec", 1), p.message) for p in checked.problems]
        invalid = Invalid(checked.reason, tuple(problems))
    if parent.apiVersion == c.SEED_API_VERSION:
        invalid = Invalid(invalid.reason, tuple(Problem(_seed_path(p.path), p.message) for p in invalid.problems))
    return invalid


def member_name(name: str, index: int) -> str:
    return f"{name}-{index}"


def template_hash(template: dict[str, Any]) -> str:
    return content_hash(template, 16)


def _labelled(template: dict[str, Any] | None, labels: dict[str, str]) -> dict[str, Any]:
    pod = template or {}
    meta = pod.get("metadata") or {}
    return {**pod, "metadata": {**meta, "labels": {**(meta.get("labels") or {}), **labels}}}


def _role_labelled(role: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """A raw role whose pods carry `labels`: in its pattern's template, or its templateRef's patch
    (template and templateRef exclude each other), or every component's template."""
    out = dict(role)
    for field in PATTERNS:
        pattern = role.get(field)
        if not isinstance(pattern, dict):
            continue
        if "components" in pattern:
            components = [{**comp, "template": _labelled(comp.get("template"), labels)} for comp in pattern["components"]]
            out[field] = {**pattern, "components": components}
        elif "templateRef" in pattern:
            ref = pattern["templateRef"]
            out[field] = {**pattern, "templateRef": {**ref, "patch": _labelled(ref.get("patch"), labels)}}
        else:
            out[field] = {**pattern, "template": _labelled(pattern.get("template"), labels)}
    return out


def member(parent: SetParent, index: int, template: dict[str, Any], digest: str) -> dict[str, Any]:
    """Member `index`: the set's labels and annotations and the template's, and its spec, its pods labelled with the set."""
    name = parent.metadata.name
    ours = {c.LABEL_SET_NAME: name, c.LABEL_SET_INDEX: str(index)}
    spec = template["spec"]
    roles = [_role_labelled(role, ours) for role in spec["roles"]]
    annotations = {k: v for k, v in parent.metadata.annotations.items() if not k.startswith(_OWN_ANNOTATIONS)}
    written = template.get("metadata") or {}
    if not conventions.converted(template.get("annotations") or {}):  # a v1alpha1 set's members keep their labels
        ours = {**ours, c.LABEL_GROUPSET_NAME: name, c.LABEL_GROUPSET_INDEX: str(index)}
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND_RBG,
        "metadata": {
            "name": member_name(name, index),
            "labels": {**parent.metadata.labels, **written.get("labels", {}), **(template.get("labels") or {}), **ours},
            "annotations": {**annotations, **written.get("annotations", {}), **(template.get("annotations") or {}), c.ANNOTATION_SET_TEMPLATE_HASH: digest},
        },
        "spec": {**spec, "roles": roles},
    }


def is_ready(obj: dict[str, Any] | None) -> bool:
    """A member whose Ready condition is True for its current spec."""
    if obj is None:
        return False
    status = obj.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(obj["metadata"].get("generation") or 0):
        return False
    conditions = status.get("conditions") or []
    return any(cond.get("type") == c.COND_READY and cond.get("status") == "True" for cond in conditions)


def _digest(obj: dict[str, Any]) -> str | None:
    return (obj["metadata"].get("annotations") or {}).get(c.ANNOTATION_SET_TEMPLATE_HASH)


def max_unavailable(spec: RoleBasedGroupSetSpec) -> int:
    """At least 1: a rollout always makes progress."""
    ru = spec.rollout_strategy.rolling_update if spec.rollout_strategy else None
    value = ru.max_unavailable if ru else 1
    if isinstance(value, str):
        value = spec.replicas * int(value[:-1]) // 100
    return max(1, value)


@dataclass(frozen=True)
class SetPlan:
    create: list[int]  # missing members to create now
    update: list[int]  # members to give the new template now
    hold: list[int]  # members at an old template that must wait
    waiting: int | None  # Ordered: the member whose Ready the next creation waits for


def plan(spec: RoleBasedGroupSetSpec, members: dict[int, dict[str, Any]], digest: str) -> SetPlan:
    wanted = range(spec.replicas)
    create, waiting = [], None
    for i in wanted:
        if i in members:
            continue
        if spec.startup_policy == c.STARTUP_PARALLEL or i == 0 or is_ready(members.get(i - 1)):
            create.append(i)
        else:
            waiting = i - 1
            break
    outdated = [i for i in wanted if i in members and _digest(members[i]) != digest]
    budget = max_unavailable(spec) - sum(1 for i in wanted if i in members and not is_ready(members[i]))
    update, hold = [], []
    for i in outdated:
        if not is_ready(members[i]):
            update.append(i)
        elif budget > 0:
            update.append(i)
            budget -= 1
        else:
            hold.append(i)
    return SetPlan(create=create, update=update, hold=hold, waiting=waiting)


def _conditions(name: str, spec: RoleBasedGroupSetSpec, members: dict[int, dict[str, Any]], p: SetPlan) -> list[dict[str, Any]]:
    not_ready = [member_name(name, i) for i in range(spec.replicas) if not is_ready(members.get(i))]
    ready = condition(
        c.COND_READY,
        not not_ready,
        c.REASON_ALL_MEMBERS_READY if not not_ready else c.REASON_MEMBERS_NOT_READY,
        f"all {spec.replicas} members are ready" if not not_ready else "members not ready: " + ", ".join(not_ready),
    )
    if p.waiting is not None:
        waits = f"{member_name(name, p.waiting + 1)} waits for {member_name(name, p.waiting)} to be Ready (startupPolicy Ordered)"
        progressing = condition(c.COND_PROGRESSING, True, c.REASON_WAITING_FOR_MEMBERS, waits)
    elif p.update or p.hold:
        rolling = ", ".join(member_name(name, i) for i in p.update) or "none"
        message = f"rolling the template to {len(p.update) + len(p.hold)} members: updating {rolling}"
        if p.hold:
            message += f"; {len(p.hold)} wait for members to be Ready (maxUnavailable {max_unavailable(spec)})"
        progressing = condition(c.COND_PROGRESSING, True, c.REASON_ROLLOUT_IN_PROGRESS, message)
    elif not_ready:
        progressing = condition(c.COND_PROGRESSING, True, c.REASON_MEMBERS_NOT_READY, "waiting for " + ", ".join(not_ready))
    else:
        progressing = condition(c.COND_PROGRESSING, False, c.REASON_COMPLETE, "every member is created, updated and ready")
    valid = condition(c.COND_INVALID_SPEC, False, c.REASON_SPEC_VALID, "spec is valid")
    return [ready, progressing, valid]


def _index(obj: dict[str, Any], name: str) -> int | None:
    """The index of one of this set's members, from its name."""
    suffix = obj["metadata"]["name"].removeprefix(f"{name}-")
    return int(suffix) if suffix.isdigit() and member_name(name, int(suffix)) == obj["metadata"]["name"] else None


def sync(request: SetSyncRequest) -> Result:
    parent = request.parent
    name = parent.metadata.name
    observed = sorted(request.children[c.CHILD_RBG].values(), key=lambda o: o["metadata"]["name"])
    now = latest_time(parent, observed)
    previous = dict(parent.status or {})
    parsed = parse_set(parent)
    if isinstance(parsed, Invalid):
        status = {k: v for k, v in previous.items() if k not in ("conditions", "observedGeneration")}
        status["conditions"] = frozen_conditions(previous, parsed, now, parent.metadata.generation)
        return Result(status=status, children=[last_applied(o) for o in observed])
    spec, template = parsed
    members = {i: o for o in observed if (i := _index(o, name)) is not None}
    digest = template_hash(template)
    p = plan(spec, members, digest)
    children = []
    for i in sorted({*members, *p.create}):
        if i >= spec.replicas:
            continue
        fresh = i in p.create or i in p.update or _digest(members[i]) == digest
        children.append(member(parent, i, template, digest) if fresh else last_applied(members[i]))
    wanted = [members[i] for i in range(spec.replicas) if i in members]
    status = {
        "replicas": len(wanted),
        "readyReplicas": sum(map(is_ready, wanted)),
        "updatedReplicas": sum(1 for o in wanted if _digest(o) == digest),
        "selector": f"{c.LABEL_SET_NAME}={name}",
        "conditions": merge_conditions(
            previous.get("conditions") or [], _conditions(name, spec, members, p), now=now, generation=parent.metadata.generation
        ),
    }
    return Result(status=status, children=children)
