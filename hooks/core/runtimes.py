"""Engine runtime profiles: each role's `engineRuntimes` injected into its pod template.

A role names ClusterEngineRuntimeProfiles (cluster-scoped; the customize hook asks for them, so
they come as related objects). Each profile's init containers, containers and volumes are added to
the role's template, in the order the role names its profiles, after the template's own; an item
whose name the template (or an earlier profile) already has is skipped, as upstream does. The
role's `containers` entries then change the injected containers of that name: `command` replaces
theirs, `args` are appended to theirs and `env` is merged by name (upstream appends env and args).

What a profile gave a role's workload is recorded on the workload (annotation
c.ANNOTATION_ENGINE_RUNTIMES). A profile with `updateStrategy: NoUpdate` (the default) gives an
existing workload what it recorded, read back from what Metacontroller last applied, so a change
of the profile reaches only workloads created after it; `RollingUpdate` gives every workload the
profile as it is now, so a change rolls the roles that use it.

A role that names a profile that is not there (or not valid) is left as it runs: its workload is
returned exactly as last applied, or not created if it never was; condition EngineRuntimes names
the profile. Pure: the plan depends on the spec, the observed profiles and the observed workloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import constants as c
from ..api import EngineRuntime, RoleBasedGroupSpec, RoleSpec
from ..validation.profiles import Content, content
from ..naming import workload_name
from .observed import Observed
from .status import condition

_KEYS = ("initContainers", "containers")


@dataclass(frozen=True)
class Runtimes:
    """The spec with every role's profiles injected, and the roles left as they run."""

    spec: RoleBasedGroupSpec
    # Roles whose profile is missing, by role: the profiles missing (and why, when one is invalid).
    missing: dict[str, list[str]]
    # Of those, the roles with no workload yet: not created.
    withheld: frozenset[str]
    condition: dict[str, Any] | None


def recorded(observed: Observed, name: str) -> dict[str, Any]:
    """What the workload `name` was last given, by profile ({} for none, or a record that does not parse)."""
    seen = observed.workload(name)
    raw = ((observed.applied(seen).get("metadata") or {}).get("annotations") or {}).get(c.ANNOTATION_ENGINE_RUNTIMES) if seen else None
    try:
        record = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _overridden(container: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """An injected container with a role's override: command replaced, args appended, env merged by name."""
    out = dict(container)
    if override.get("command"):
        out["command"] = list(override["command"])
    if override.get("args"):
        out["args"] = [*container.get("args", []), *override["args"]]
    if override.get("env"):
        theirs = {e["name"]: e for e in override["env"]}
        kept = [theirs.pop(e["name"], e) for e in container.get("env", [])]
        out["env"] = kept + [e for e in override["env"] if e["name"] in theirs]
    return out


def inject(template: dict[str, Any], runtimes: list[tuple[EngineRuntime, Content]]) -> dict[str, Any]:
    """`template` with each profile's content (paired with the role's entry naming it) added; the input is not changed."""
    out = json.loads(json.dumps(template))
    spec = out.setdefault("spec", {})
    names = {ctr.get("name") for key in _KEYS for ctr in spec.get(key, [])}
    volumes = {v.get("name") for v in spec.get("volumes", [])}
    for runtime, given in runtimes:
        overrides = {o["name"]: o for o in runtime.containers}
        for key in _KEYS:
            for ctr in given[key]:
                if ctr["name"] not in names:
                    names.add(ctr["name"])
                    spec.setdefault(key, []).append(_overridden(json.loads(json.dumps(ctr)), overrides.get(ctr["name"], {})))
        for volume in given["volumes"]:
            if volume["name"] not in volumes:
                volumes.add(volume["name"])
                spec.setdefault("volumes", []).append(json.loads(json.dumps(volume)))
    return out


def _role(group: str, role: RoleSpec, observed: Observed, available: dict[str, Content]) -> tuple[RoleSpec, list[str]]:
    """The role with its profiles injected and recorded, and the profiles it keeps as recorded though they changed."""
    record = recorded(observed, workload_name(group, role.name))
    given: dict[str, Content] = {}
    kept = []
    for name in dict.fromkeys(r.profile_name for r in role.engine_runtimes):
        old = content(record[name]) if name in record else None
        strategy = (observed.profiles[name].get("spec") or {}).get("updateStrategy", c.PROFILE_NO_UPDATE)
        given[name] = old if old is not None and strategy == c.PROFILE_NO_UPDATE else available[name]
        if given[name] != available[name]:
            kept.append(name)
    template = inject(role.pod_template, [(r, given[r.profile_name]) for r in role.engine_runtimes])
    note = json.dumps(given, sort_keys=True, separators=(",", ":"))
    return role.with_template(template).model_copy(update={"annotations": {**role.annotations, c.ANNOTATION_ENGINE_RUNTIMES: note}}), kept


def runtimes(group: str, spec: RoleBasedGroupSpec, observed: Observed) -> Runtimes:
    """Every role's profiles injected; roles whose profiles are missing left as they run."""
    if not any(r.engine_runtimes for r in spec.roles):
        return Runtimes(spec, {}, frozenset(), None)
    available: dict[str, Content] = {}
    for name, profile in observed.profiles.items():
        found = content(profile.get("spec") or {})
        if found is not None:
            available[name] = found
    roles: list[RoleSpec] = []
    missing: dict[str, list[str]] = {}
    keeps: list[str] = []
    for role in spec.roles:
        names = list(dict.fromkeys(r.profile_name for r in role.engine_runtimes))
        problems = [f"{n} ({'not valid' if n in observed.profiles else 'not found'})" for n in names if n not in available]
        if problems:
            missing[role.name] = problems
            roles.append(role)
        elif names and role.template is not None:  # a customComponentsPattern role is not run yet
            injected, kept = _role(group, role, observed, available)
            roles.append(injected)
            keeps += [f"{role.name} keeps the {name} it was given ({c.PROFILE_NO_UPDATE})" for name in kept]
        else:
            roles.append(role)
    withheld = frozenset(r for r in missing if observed.workload(workload_name(group, r)) is None)
    return Runtimes(spec.model_copy(update={"roles": roles}), missing, withheld, _condition(spec, missing, keeps))


def _condition(spec: RoleBasedGroupSpec, missing: dict[str, list[str]], keeps: list[str]) -> dict[str, Any]:
    if missing:
        roles = "; ".join(f"{role} names {', '.join(problems)}" for role, problems in missing.items())
        message = f"{c.KIND_ENGINE_RUNTIME_PROFILE}: {roles}; these roles are left as they run (not created if they never were)"
        return condition(c.COND_ENGINE_RUNTIMES, False, c.REASON_PROFILE_NOT_FOUND, message)
    using = [f"{r.name} ({', '.join(dict.fromkeys(e.profile_name for e in r.engine_runtimes))})" for r in spec.roles if r.engine_runtimes]
    message = f"profiles injected: {', '.join(using)}" + "".join(f"; {k}" for k in keeps)
    return condition(c.COND_ENGINE_RUNTIMES, True, c.REASON_PROFILES_INJECTED, message)
