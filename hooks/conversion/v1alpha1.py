"""workloads.x-k8s.io/v1alpha1 <-> v1alpha2 (the hub), on whole objects as plain dicts, lossless
both ways.

What one version cannot hold travels in one annotation of the other:
- on a v1alpha2 object, upstream's two keys (spec.podGroupPolicy and spec.coordination as JSON) and
  the api-origin marker;
- on a v1alpha1 object, STASH: JSON of the v1alpha2-only parts (compact, sorted keys).

On the way back, every field the target version can express comes from the object (an edit made
in the other version wins); the stash fills in only what that version cannot express, per role by
role name, and is removed. Each stashed part is put back only if converting the result down again
gives the object in hand: the stash never overrides an edit. In the few places where the versions
disagree on a default, the view is what the object means, and the stash keeps how it was written.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

from .. import constants as c

Obj = dict[str, Any]

V1 = c.API_VERSION_V1ALPHA1
V2 = c.API_VERSION
STASH = c.ANNOTATION_V1ALPHA2_STASH
PGP = c.ANNOTATION_V1ALPHA1_POD_GROUP_POLICY
COORD = c.ANNOTATION_V1ALPHA1_COORDINATION
ORIGIN = c.ANNOTATION_API_ORIGIN
ORIGIN_V1 = c.VERSION_V1ALPHA1
WORKLOAD_TYPE = c.ANNOTATION_ROLE_WORKLOAD_TYPE
GANG = (c.ANNOTATION_GANG, c.ANNOTATION_GANG_TIMEOUT, c.ANNOTATION_GANG_VOLCANO_QUEUE, c.ANNOTATION_GANG_VOLCANO_PRIORITY)
# v1alpha2 group annotations the v1alpha1 side regenerates or keeps in its stash, never shows.
RESERVED = (COORD, PGP, ORIGIN, STASH)

STANDALONE, LEADER_WORKER, COMPONENTS = "standalonePattern", "leaderWorkerPattern", "customComponentsPattern"
PATTERNS = (STANDALONE, LEADER_WORKER, COMPONENTS)
RESTART_FIELDS = ("restartPolicy", "restartPolicyConfig")
# A v1alpha2 component's parts that v1alpha1's InstanceSet components lack.
COMPONENT_META = ("labels", "annotations")
DELAYS = ("baseDelaySeconds", "maxDelaySeconds")
# A v1alpha2 role without the workload-type annotation runs as its pattern's default.
DEFAULT_WORKLOAD = {
    STANDALONE: (c.APPS_V1, c.KIND_STATEFULSET),
    LEADER_WORKER: (c.LWS_API_VERSION, c.KIND_LWS),
    COMPONENTS: (c.API_VERSION, c.KIND_ROLE_INSTANCE_SET),
}
# v1alpha1 role fields that v1alpha2 spells otherwise; every other role field is the same in both.
V1_ROLE_ONLY = ("restartPolicy", "workload", "template", "templateRef", "templatePatch", "leaderWorkerSet", "components")
# v1alpha2 role fields with no v1alpha1 counterpart, and what a role converted up gets.
V2_ROLE_ONLY_DEFAULTS: Obj = {"podManagementPolicy": "Parallel"}


class ConversionError(ValueError):
    """The object cannot be converted: the message says where and why."""


def to_hub(obj: Obj) -> Obj:
    """A v1alpha1 object as v1alpha2."""
    return _convert(obj, V1, V2, _TO_HUB)


def from_hub(obj: Obj) -> Obj:
    """A v1alpha2 object as v1alpha1."""
    return _convert(obj, V2, V1, _FROM_HUB)


def _convert(obj: Obj, source: str, target: str, table: dict[str, Callable[[Obj], Obj]]) -> Obj:
    if obj.get("apiVersion") != source:
        raise ConversionError(f"apiVersion is {obj.get('apiVersion')!r}, not {source}")
    kind = obj.get("kind")
    convert = table.get(kind) if isinstance(kind, str) else None
    if convert is None:
        raise ConversionError(f"kind {obj.get('kind')!r} is not one of {', '.join(table)}")
    out = convert(copy.deepcopy(obj))
    out["apiVersion"] = target
    return out


# --- JSON in annotations -------------------------------------------------------------------------


def dump(value: Any) -> str:
    """The JSON every annotation written here holds: compact, keys sorted."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _load(raw: Any) -> Any:
    """`raw` parsed, or None when absent or not JSON."""
    if not isinstance(raw, str):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _annotations(holder: Obj, where: str) -> Obj:
    return _dict(holder.get("annotations") or {}, f"{where}annotations")


def _pop_stash(meta: Obj) -> Obj | None:
    """The stash of a v1alpha1 object (taken off it), None when it has none."""
    annotations = _annotations(meta, "metadata.")
    if STASH not in annotations:
        return None
    stash = _load(annotations.pop(STASH))
    if not isinstance(stash, dict):
        raise ConversionError(f"metadata.annotations[{STASH}] is not a JSON object: it holds what only v1alpha2 can express")
    return stash


def _set_annotations(holder: Obj, annotations: Obj) -> None:
    """`annotations` on `holder`: an empty map is dropped, as the API server stores it."""
    if annotations:
        holder["annotations"] = annotations
    else:
        holder.pop("annotations", None)


def _dict(value: Any, where: str) -> Obj:
    if not isinstance(value, dict):
        raise ConversionError(f"{where} is not an object")
    return value


def _list(value: Any, where: str) -> list[Obj]:
    if not (isinstance(value, list) and all(isinstance(item, dict) for item in value)):
        raise ConversionError(f"{where} is not a list of objects")
    return value


def _roles(spec: Obj, where: str) -> list[Obj]:
    roles = spec.get("roles")
    if not isinstance(roles, list):
        raise ConversionError(f"{where}.roles is not a list")
    for i, role in enumerate(roles):
        if not isinstance(_dict(role, f"{where}.roles[{i}]").get("name"), str):
            raise ConversionError(f"{where}.roles[{i}].name is not a string")
    return roles


# --- gang scheduling and coordination: group annotations in v1alpha2 ---------------------------


def gang_annotations(policy: Obj, *, name_the_queue: bool = True) -> dict[str, str]:
    """The v1alpha2 gang annotations of a v1alpha1 podGroupPolicy, as upstream's conversion writes
    them, but for a Volcano gang without a queue: v1alpha2 tells Volcano by its queue or priority
    class, so the queue is named (Volcano's `default`) unless `name_the_queue` is False (upstream's)."""
    kube, volcano = policy.get("kubeScheduling"), policy.get("volcanoScheduling")
    if isinstance(kube, dict):
        timeout = kube.get("scheduleTimeoutSeconds")
        return {c.ANNOTATION_GANG: "true", **({c.ANNOTATION_GANG_TIMEOUT: str(timeout)} if timeout is not None else {})}
    if isinstance(volcano, dict):
        out = {c.ANNOTATION_GANG: "true"}
        if volcano.get("queue") or name_the_queue:
            out[c.ANNOTATION_GANG_VOLCANO_QUEUE] = volcano.get("queue") or "default"
        if volcano.get("priorityClassName"):
            out[c.ANNOTATION_GANG_VOLCANO_PRIORITY] = volcano["priorityClassName"]
        return out
    return {}


def pod_group_policy(annotations: Obj) -> Obj | None:
    """The v1alpha1 podGroupPolicy a v1alpha2 group's annotations hold: upstream's key, if it holds
    one and the gang annotations still say it (as this conversion or upstream's wrote them). Gang
    annotations edited in v1alpha2 make it stale: then they are the group's gang, and it is not."""
    policy = _load(annotations.get(PGP))
    if not isinstance(policy, dict) or not set(policy) <= {"kubeScheduling", "volcanoScheduling"}:
        return None
    if not all(isinstance(v, dict) for v in policy.values()):
        return None
    gang = {k: annotations[k] for k in GANG if k in annotations}
    return policy if gang in (gang_annotations(policy), gang_annotations(policy, name_the_queue=False)) else None


def _coordination(raw: Any) -> list[Any] | None:
    found = _load(raw)
    ok = isinstance(found, list) and all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in found)
    return found if ok else None


def _group_annotations_up(spec1: Obj, annotations1: Obj) -> Obj:
    """The v1alpha2 group annotations of a v1alpha1 group spec and annotations (before any stash).
    A podGroupPolicy's gang annotations replace any the v1alpha1 object has beside it."""
    out = dict(annotations1)
    policy = spec1.get("podGroupPolicy")
    if isinstance(policy, dict):
        out = {k: v for k, v in out.items() if k not in GANG} | gang_annotations(policy)
        out[PGP] = dump(policy)
    if spec1.get("coordination"):
        out[COORD] = dump(spec1["coordination"])
    out[ORIGIN] = ORIGIN_V1
    return out


def _group_annotations_down(annotations2: Obj) -> tuple[Obj, Obj]:
    """v1alpha2 group annotations as v1alpha1 annotations and the spec fields they hold."""
    annotations1 = {k: v for k, v in annotations2.items() if k not in RESERVED}
    fields: Obj = {"coordination": _coordination(annotations2.get(COORD)) or []}
    policy = pod_group_policy(annotations2)
    if policy is not None:
        fields["podGroupPolicy"] = policy
        annotations1 = {k: v for k, v in annotations1.items() if k not in GANG}
    return annotations1, fields


# --- a role ----------------------------------------------------------------------------------------


def _pattern_key(role2: Obj) -> str:
    found = [p for p in PATTERNS if role2.get(p) is not None]
    if len(found) != 1:
        raise ConversionError(f"role {role2['name']}: exactly one of {', '.join(PATTERNS)} is required, found {len(found)}")
    _dict(role2[found[0]], f"role {role2['name']}: {found[0]}")
    return found[0]


# Upstream's own workload in each version: v1alpha1's InstanceSet is v1alpha2's RoleInstanceSet.
INSTANCE_SET_V1 = f"{c.API_VERSION_V1ALPHA1}/{c.KIND_INSTANCE_SET}"
INSTANCE_SET_V2 = f"{c.API_VERSION}/{c.KIND_ROLE_INSTANCE_SET}"


def _workload_type(workload: Any) -> str | None:
    if isinstance(workload, dict) and workload.get("apiVersion") and workload.get("kind"):
        written = f"{workload['apiVersion']}/{workload['kind']}"
        return INSTANCE_SET_V2 if written == INSTANCE_SET_V1 else written
    return None


def _workload_down(value: str | None, pattern: str) -> Obj:
    """A v1alpha2 role's workload: its annotation's `<apiVersion>/<kind>`, else its pattern's default."""
    api_version, _, kind = value.rpartition("/") if isinstance(value, str) else ("", "", "")
    if not (api_version and kind):
        api_version, kind = DEFAULT_WORKLOAD[pattern]
    if f"{api_version}/{kind}" == INSTANCE_SET_V2:
        api_version, _, kind = INSTANCE_SET_V1.rpartition("/")
    return {"apiVersion": api_version, "kind": kind}


def _restart_up(policy: str | None, pattern: str, lws: bool) -> Obj:
    """v1alpha1's restartPolicy as the pattern's fields (`lws`: the role runs as a LeaderWorkerSet).
    Absent means None in v1alpha1, but for a LeaderWorkerSet, which then recreates its groups
    itself: that is v1alpha2's default there, as RecreateRoleInstanceOnPodRestart, and None
    standalonePattern's. A leaderWorkerPattern role on another workload gets an absent policy as the
    deprecated field's None (as upstream's conversion writes it); an explicit one goes in
    restartPolicyConfig: both stay apart on the way back."""
    if policy is None:
        return {} if lws or pattern == STANDALONE else {"restartPolicy": c.RESTART_NONE}
    return {"restartPolicyConfig": {"type": policy}}


def _restart_down(fields: Obj, pattern: str, lws: bool) -> str | None:
    config = fields.get("restartPolicyConfig")
    if isinstance(config, dict) and config.get("type"):
        return str(config["type"])
    if fields.get("restartPolicy") == c.RESTART_NONE:
        return None
    if fields.get("restartPolicy"):
        return str(fields["restartPolicy"])
    return None if lws or pattern == STANDALONE else c.RESTART_RECREATE_ROLE


def runs_lws(workload: Any) -> bool:
    return isinstance(workload, dict) and workload.get("kind") == c.KIND_LWS


def _template_source_up(role1: Obj) -> Obj:
    if role1.get("template") is not None:
        return {"template": role1["template"]}
    if role1.get("templateRef") is not None:
        ref = dict(_dict(role1["templateRef"], f"role {role1['name']}: templateRef"))
        if role1.get("templatePatch") is not None:
            ref["patch"] = role1["templatePatch"]
        return {"templateRef": ref}
    return {}


def _template_source_down(pattern: Obj, name: str) -> Obj:
    if pattern.get("template") is not None:
        return {"template": pattern["template"]}
    if pattern.get("templateRef") is not None:
        ref = dict(_dict(pattern["templateRef"], f"role {name}: templateRef"))
        patch = ref.pop("patch", None)
        return {"templateRef": ref, **({"templatePatch": patch} if patch is not None else {})}
    return {}


def _role_to_hub(role1: Obj, stash: Obj) -> Obj:
    """A v1alpha1 role as v1alpha2, its stash (if any) filling in what v1alpha1 cannot express."""
    name = role1["name"]
    lws = role1.get("leaderWorkerSet")
    pattern: Obj
    if role1.get("components") is not None:
        # Upstream's v1alpha1 InstanceSet components; their labels and annotations (v1alpha2's) by name.
        meta = stash.get("componentMeta") or {}
        components = [
            {**comp, "labels": {}, "annotations": {}, **meta.get(comp.get("name"), {})} for comp in _list(role1["components"], f"role {name}: components")
        ]
        key, pattern = COMPONENTS, {"components": components}
    elif lws is not None:
        lws = _dict(lws, f"role {name}: leaderWorkerSet")
        key, pattern = LEADER_WORKER, {**({"size": lws["size"]} if "size" in lws else {}), **_template_source_up(role1)}
        for old, new in (("patchLeaderTemplate", "leaderTemplatePatch"), ("patchWorkerTemplate", "workerTemplatePatch")):
            if lws.get(old) is not None:
                pattern[new] = lws[old]
        if "sharedServiceSelection" in stash:
            _put(pattern, "sharedServiceSelection", stash["sharedServiceSelection"])
    else:
        key, pattern = STANDALONE, _template_source_up(role1)

    # Restart: the stashed fields if they still say the policy the role has, else the policy alone
    # (with the stashed delays, which v1alpha1 has no place for).
    lws_kind = runs_lws(role1.get("workload"))
    restart = _restart_up(role1.get("restartPolicy"), key, lws_kind)
    kept = stash.get("restart")
    if kept is not None:
        if _restart_down(kept, key, lws_kind) == role1.get("restartPolicy"):
            restart = kept
        elif "restartPolicyConfig" in restart and isinstance(kept.get("restartPolicyConfig"), dict):
            delays = {k: v for k, v in kept["restartPolicyConfig"].items() if k in DELAYS}
            restart = {"restartPolicyConfig": {**restart["restartPolicyConfig"], **delays}}
    pattern.update(restart)

    annotations = dict(_annotations(role1, f"role {name}: "))
    workload_type = _workload_type(role1.get("workload"))
    if workload_type is not None:
        annotations[WORKLOAD_TYPE] = workload_type
    if "workloadType" in stash and _workload_down(stash["workloadType"], key) == role1.get("workload"):
        _put(annotations, WORKLOAD_TYPE, stash["workloadType"])

    role2: Obj = {}
    for field, value in role1.items():
        if field == "annotations":
            role2[field] = annotations
        elif field == "scalingAdapter" and isinstance(value, dict):
            role2[field] = {**value, "labels": stash.get("scalingAdapterLabels") or {}}
        elif field not in V1_ROLE_ONLY:
            role2[field] = value
    if "annotations" not in role2 and annotations:
        role2["annotations"] = annotations
    role2[key] = pattern
    for field, default in V2_ROLE_ONLY_DEFAULTS.items():
        _put(role2, field, stash.get("fields", {}).get(field, default))
    return role2


def _role_from_hub(role2: Obj) -> tuple[Obj, Obj]:
    """A v1alpha2 role as v1alpha1, and its stash: what to_hub needs beside it to give it back."""
    name = role2["name"]
    key = _pattern_key(role2)
    pattern: Obj = role2[key]
    annotations = dict(_annotations(role2, f"role {name}: "))
    workload_type = annotations.pop(WORKLOAD_TYPE, None)

    if key == COMPONENTS:
        components = pattern.get("components")
        if not (isinstance(components, list) and all(isinstance(comp, dict) for comp in components)):
            raise ConversionError(f"role {name}: customComponentsPattern.components is not a list of components")
        source = {"components": [{k: v for k, v in comp.items() if k not in COMPONENT_META} for comp in components]}
    else:
        source = _template_source_down(pattern, name)
    role1: Obj = {}
    for field, value in role2.items():
        if field == "annotations":
            role1[field] = annotations
        elif field == "scalingAdapter" and isinstance(value, dict):
            role1[field] = {k: v for k, v in value.items() if k != "labels"}
        elif field not in PATTERNS and field not in V2_ROLE_ONLY_DEFAULTS:
            role1[field] = value
    role1["workload"] = _workload_down(workload_type, key)
    restart = _restart_down(pattern, key, runs_lws(role1["workload"]))
    if restart is not None:
        role1["restartPolicy"] = restart
    role1.update(source)
    if key == LEADER_WORKER:
        lws: Obj = {"size": pattern["size"]} if "size" in pattern else {}
        for new, old in (("leaderTemplatePatch", "patchLeaderTemplate"), ("workerTemplatePatch", "patchWorkerTemplate")):
            if pattern.get(new) is not None:
                lws[old] = pattern[new]
        role1["leaderWorkerSet"] = lws

    # The stash: each part v1alpha1 cannot express whose stash-less conversion back differs.
    stash: Obj = {}
    if key == COMPONENTS:
        meta = {comp["name"]: {k: comp[k] for k in COMPONENT_META if comp.get(k)} for comp in components if any(comp.get(k) for k in COMPONENT_META)}
        if meta:
            stash["componentMeta"] = meta
    base = _role_to_hub(role1, stash)
    if _restart_fields(base[key]) != _restart_fields(pattern):
        stash["restart"] = _restart_fields(pattern)
    if base["annotations"].get(WORKLOAD_TYPE) != workload_type:
        stash["workloadType"] = workload_type
    if key == LEADER_WORKER and base[key].get("sharedServiceSelection") != pattern.get("sharedServiceSelection"):
        stash["sharedServiceSelection"] = pattern.get("sharedServiceSelection")
    adapter = role2.get("scalingAdapter")
    if isinstance(adapter, dict) and adapter.get("labels"):
        stash["scalingAdapterLabels"] = adapter["labels"]
    fields = {f: role2.get(f) for f in V2_ROLE_ONLY_DEFAULTS if base.get(f) != role2.get(f)}
    if fields:
        stash["fields"] = fields
    return role1, stash


# What a role's stash holds: each part, the JSON types it may have (None: that part was absent).
ROLE_STASH: dict[str, tuple[type, ...]] = {
    "componentMeta": (dict,),
    "restart": (dict,),
    "workloadType": (str, type(None)),
    "sharedServiceSelection": (str, type(None)),
    "scalingAdapterLabels": (dict,),
    "fields": (dict,),
}


def _role_stash(stash: Any, name: str) -> Obj:
    """A role's stash as from_hub writes it, or ConversionError."""
    where = f"{STASH}: role {name}"
    checked = _dict(stash, where)
    for key, value in checked.items():
        if not isinstance(value, ROLE_STASH.get(key, ())):
            raise ConversionError(f"{where}: {key} is not what this conversion writes there")
    if not all(isinstance(meta, dict) for meta in checked.get("componentMeta", {}).values()):
        raise ConversionError(f"{where}: componentMeta is not what this conversion writes there")
    return checked


def _restart_fields(pattern: Obj) -> Obj:
    return {k: pattern[k] for k in RESTART_FIELDS if k in pattern}


def _put(holder: Obj, key: str, value: Any) -> None:
    """holder[key] = value; None (JSON null in a stash) means absent."""
    if value is None:
        holder.pop(key, None)
    else:
        holder[key] = value


# --- a group's spec with its annotations (a RoleBasedGroup, or a set's group template) ------------


def _spec_to_hub(spec1: Obj, annotations1: Obj, stash: Obj, where: str) -> tuple[Obj, Obj]:
    """A v1alpha1 group spec and annotations as v1alpha2's."""
    role_stashes = _dict(stash.get("roles") or {}, f"{STASH} roles")
    spec2: Obj = {}
    for field, value in spec1.items():
        if field == "roles":
            spec2[field] = [_role_to_hub(role, _role_stash(role_stashes.get(role["name"], {}), role["name"])) for role in _roles(spec1, where)]
        elif field not in ("coordination", "podGroupPolicy"):
            spec2[field] = value
    annotations2 = _group_annotations_up(spec1, annotations1)
    # A stashed annotation comes back only if the v1alpha1 view of the group is the same with it.
    for key, value in sorted(_dict(stash.get("annotations") or {}, f"{STASH} annotations").items()):
        candidate = dict(annotations2)
        _put(candidate, key, value)
        if _group_annotations_down(candidate) == _group_annotations_down(annotations2):
            annotations2 = candidate
    return spec2, annotations2


def _spec_from_hub(spec2: Obj, annotations2: Obj, where: str) -> tuple[Obj, Obj, Obj]:
    """A v1alpha2 group spec and annotations as v1alpha1's, and the stash that gives them back."""
    roles: list[Obj] = []
    role_stashes: Obj = {}
    for role2 in _roles(spec2, where):
        role1, role_stash = _role_from_hub(role2)
        roles.append(role1)
        if role_stash:
            role_stashes[role2["name"]] = role_stash
    annotations1, fields = _group_annotations_down(annotations2)
    spec1 = {**{k: (roles if k == "roles" else v) for k, v in spec2.items()}, **fields}
    stash: Obj = {"roles": role_stashes} if role_stashes else {}
    _, base = _spec_to_hub(spec1, annotations1, stash, where)
    changed = {k: annotations2.get(k) for k in sorted(set(base) | set(annotations2)) if base.get(k) != annotations2.get(k)}
    if changed:
        stash["annotations"] = changed
    return spec1, annotations1, stash


# --- the kinds -------------------------------------------------------------------------------------


def _group_to_hub(obj: Obj) -> Obj:
    meta = _dict(obj.setdefault("metadata", {}), "metadata")
    stash = _pop_stash(meta)
    spec, annotations = _spec_to_hub(_dict(obj.get("spec"), "spec"), _annotations(meta, "metadata."), stash or {}, "spec")
    obj["spec"] = spec
    _set_annotations(meta, annotations)
    return obj


def _group_from_hub(obj: Obj) -> Obj:
    meta = _dict(obj.setdefault("metadata", {}), "metadata")
    spec, annotations, stash = _spec_from_hub(_dict(obj.get("spec"), "spec"), _annotations(meta, "metadata."), "spec")
    obj["spec"] = spec
    _set_annotations(meta, {**annotations, STASH: dump(stash)} if stash else annotations)
    return obj


def _set_to_hub(obj: Obj) -> Obj:
    meta = _dict(obj.setdefault("metadata", {}), "metadata")
    stash = _pop_stash(meta) or {}
    spec1 = _dict(obj.get("spec"), "spec")
    kept = _dict(stash.get("groupTemplate") or {}, f"{STASH} groupTemplate")
    group_spec, annotations = _spec_to_hub(
        _dict(spec1.get("template"), "spec.template"),
        _annotations(kept, f"{STASH} groupTemplate."),
        _dict(stash.get("template") or {}, f"{STASH} template"),
        "spec.template",
    )
    group_template: Obj = {"labels": {}, **kept, "annotations": annotations, "spec": group_spec}
    _put(group_template, "labels", group_template["labels"])
    obj["spec"] = dict(("groupTemplate", group_template) if k == "template" else (k, v) for k, v in spec1.items())
    _set_annotations(meta, _annotations(meta, "metadata."))
    return obj


def _set_from_hub(obj: Obj) -> Obj:
    meta = _dict(obj.setdefault("metadata", {}), "metadata")
    spec2 = _dict(obj.get("spec"), "spec")
    group_template = _dict(spec2.get("groupTemplate"), "spec.groupTemplate")
    group_spec, annotations, template_stash = _spec_from_hub(
        _dict(group_template.get("spec"), "spec.groupTemplate.spec"), _annotations(group_template, "spec.groupTemplate."), "spec.groupTemplate.spec"
    )
    # v1alpha1's template is a group spec alone: the set's stash keeps the group's labels and
    # annotations (but those the spec's conversion regenerates), and anything else beside the spec.
    kept = {k: v for k, v in group_template.items() if k not in ("spec", "annotations", "labels")}
    if group_template.get("labels") != {}:
        kept["labels"] = group_template.get("labels")
    if annotations:
        kept["annotations"] = annotations
    stash = {k: v for k, v in (("groupTemplate", kept), ("template", template_stash)) if v}
    obj["spec"] = dict(("template", group_spec) if k == "groupTemplate" else (k, v) for k, v in spec2.items())
    annotations1 = dict(_annotations(meta, "metadata."))
    if stash:
        annotations1[STASH] = dump(stash)
    _set_annotations(meta, annotations1)
    return obj


def _same_shape(obj: Obj) -> Obj:
    """RoleBasedGroupScalingAdapter and ClusterEngineRuntimeProfile: only apiVersion changes."""
    return obj


_TO_HUB: dict[str, Callable[[Obj], Obj]] = {
    c.KIND_RBG: _group_to_hub,
    c.KIND_RBGS: _set_to_hub,
    c.KIND_RBGSA: _same_shape,
    c.KIND_ENGINE_RUNTIME_PROFILE: _same_shape,
}
_FROM_HUB: dict[str, Callable[[Obj], Obj]] = {
    c.KIND_RBG: _group_from_hub,
    c.KIND_RBGS: _set_from_hub,
    c.KIND_RBGSA: _same_shape,
    c.KIND_ENGINE_RUNTIME_PROFILE: _same_shape,
}
KINDS = tuple(_TO_HUB)
