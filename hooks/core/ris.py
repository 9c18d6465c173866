"""The RoleInstanceSet core: (set, its RoleInstances, its own status) -> its RoleInstances and status.

Instances are `<set>-<index>`. The set keeps the instances it has, drops the excess on scale-down
(first those named in scaleStrategy.roleInstanceToDelete, then the highest indices) and fills up
to `replicas` at the lowest free indices: all at once (Parallel) or one at a time, each after the
one below is Ready (OrderedReady). An index whose instance is terminating is filled once it is gone.

A template change rolls from the highest index down to `partition` (indices below it keep the old
template), at most `maxUnavailable` instances unavailable at a time (default 10% of replicas, at
least 1 without maxSurge; an instance already unavailable is updated at once), none while
`paused`. With `maxSurge`, up to that many extra instances `<set>-<replicas>`... are created at
the new template while the rollout runs, each Ready one letting one more old instance go; they
are deleted once it is done (every instance it rolls updated and available). An updated
instance gets the new spec and updates its pods itself, in place where it can (hooks.core.instance);
with type Recreate it is deleted and created again instead.

History: a ControllerRevision `<set>-<hash>` per instance template, its `data` the template, its
number as a StatefulSet's (hooks.core.history.numbering): the current one, every one an instance
still runs, and the newest `revisionHistoryLimit` others are kept; Metacontroller deletes the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .. import constants as c
from ..api import InstanceSetSyncRequest, RoleInstanceSetSpec
from ..children import instances as instance_builder
from ..children.revision import instance_set_revision
from . import lifecycle
from .history import numbering
from ..naming import content_hash
from .observed import last_applied, latest_time
from .result import Result
from .status import condition, merge_conditions

DEFAULT_MAX_UNAVAILABLE = "10%"


@dataclass(frozen=True)
class InstancePlan:
    """Indices of the set's instances: created or updated at the current template, kept as they
    are; every other observed instance is deleted."""

    create: tuple[int, ...]
    update: tuple[int, ...]
    keep: tuple[int, ...]


def _count(value: int | str | None, total: int, default: int | str, round_up: bool) -> int:
    value = default if value is None else value
    if isinstance(value, int):
        return value
    share = int(value.rstrip("%")) * total / 100
    return math.ceil(share) if round_up else math.floor(share)


def is_ready(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(obj["metadata"].get("generation") or 0):
        return False
    return any(cond.get("type") == c.COND_ROLE_INSTANCE_READY and cond.get("status") == "True" for cond in status.get("conditions") or [])


def is_available(obj: dict[str, Any], min_ready_seconds: int) -> bool:
    """Ready, and with minReadySeconds, Ready that long (the instance's RoleInstanceAvailable)."""
    if not is_ready(obj):
        return False
    conditions = (obj.get("status") or {}).get("conditions") or []
    return min_ready_seconds == 0 or any(x.get("type") == c.COND_ROLE_INSTANCE_AVAILABLE and x.get("status") == "True" for x in conditions)


def index_of(set_name: str, name: str) -> int | None:
    prefix, _, tail = name.rpartition("-")
    return int(tail) if prefix == set_name and tail.isdigit() and str(int(tail)) == tail else None


def _outdated(obj: dict[str, Any], revision: str) -> bool:
    return (obj["metadata"].get("labels") or {}).get(c.LABEL_CONTROLLER_REVISION_HASH) != revision


def plan(spec: RoleInstanceSetSpec, name: str, alive: dict[int, dict[str, Any]], terminating: set[int], revision: str) -> InstancePlan:
    """What to do with each index, from the instances there are (alive, by index) and the template's revision."""
    ru = spec.update_strategy
    paused = bool(ru and ru.paused)

    def available(i: int) -> bool:
        return is_available(alive[i], spec.min_ready_seconds)

    partition = _count(ru.partition if ru else None, spec.replicas, 0, round_up=True)
    surge = min(_count(ru.max_surge if ru else None, spec.replicas, 0, round_up=True), spec.replicas)
    # maxSurge: while instances in [partition, replicas) are outdated, the indices above replicas
    # hold up to maxSurge extra instances at the new template; they go once the rollout is done:
    # every one of those instances updated and available (the last updated may not be yet).
    rolled = [i for i in alive if partition <= i < spec.replicas]
    surging = any(i in alive for i in range(spec.replicas, spec.replicas + surge))
    rolling = surge > 0 and not paused and (
        any(_outdated(alive[i], revision) for i in rolled) or (surging and not all(available(i) for i in rolled))
    )
    extra = set(range(spec.replicas, spec.replicas + surge)) if rolling else set()
    doomed = set(spec.scale_strategy.role_instance_to_delete if spec.scale_strategy else [])
    kept = sorted(i for i in alive if i not in extra)
    if len(kept) > spec.replicas:
        order = [i for i in kept if f"{name}-{i}" in doomed] + [i for i in reversed(kept) if f"{name}-{i}" not in doomed]
        dropped = set(order[: len(kept) - spec.replicas])
        kept = [i for i in kept if i not in dropped]
    free = (i for i in range(spec.replicas + len(alive) + len(terminating)) if i not in kept and i not in extra)
    new = sorted(next(free) for _ in range(spec.replicas - len(kept)))
    create = [i for i in new if i not in terminating]
    if spec.scale_strategy and spec.scale_strategy.max_unavailable is not None:
        # Scaling up: new instances (unavailable until Ready) only while fewer than maxUnavailable
        # (at least 1: 0 would never scale up) are.
        room = max(_count(spec.scale_strategy.max_unavailable, spec.replicas, 0, round_up=True), 1) - sum(1 for i in kept if not available(i))
        create = create[: max(room, 0)]
    if spec.pod_management_policy == "OrderedReady":
        first = next((i for i in new), None)
        create = [first] if first is not None and first in create and all(is_ready(alive[i]) for i in kept if i < first) else []
    surged = sorted(i for i in extra if i in alive)
    create += sorted(i for i in extra if i not in alive and i not in terminating)

    # Ready instances taken down stay within maxUnavailable plus the Ready surge (default 10% of
    # replicas, at least 1 without surge); an instance already unavailable is updated at once.
    floor = 0 if surge else 1
    budget = max(_count(ru.max_unavailable if ru else None, spec.replicas, DEFAULT_MAX_UNAVAILABLE, round_up=False), floor)
    budget += sum(1 for i in surged if available(i) and not _outdated(alive[i], revision))
    budget -= sum(1 for i in kept if not available(i)) + len(new)
    update: list[int] = [i for i in surged if _outdated(alive[i], revision)]
    for i in sorted((i for i in kept if _outdated(alive[i], revision)), reverse=True):
        if paused or i < partition:
            continue
        if not available(i):
            update.append(i)
        elif budget > 0:
            update.append(i)
            budget -= 1
    keep = [i for i in (*kept, *surged) if i not in update]
    return InstancePlan(create=tuple(sorted(create)), update=tuple(sorted(update)), keep=tuple(sorted(keep)))


def _selector(spec: RoleInstanceSetSpec, name: str) -> dict[str, str]:
    return dict(spec.selector.match_labels) if spec.selector and spec.selector.match_labels else {c.LABEL_ROLE_INSTANCE_OWNER: name}


def sync(request: InstanceSetSyncRequest) -> Result:
    parent = request.parent
    meta = parent.metadata
    observed = {n: o for n, o in sorted((request.children.get(c.CHILD_ROLE_INSTANCE) or {}).items()) if isinstance(o, dict)}
    revisions = [o for _, o in sorted((request.children.get(c.CHILD_CONTROLLER_REVISION) or {}).items()) if isinstance(o, dict)]
    previous = parent.status or {}
    now = latest_time(parent, observed.values())
    try:
        spec = RoleInstanceSetSpec.model_validate(parent.spec)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        message = f"spec.{'.'.join(map(str, first['loc']))}: {first['msg']}; its instances are kept as they are"
        conditions = merge_conditions(previous.get("conditions") or [], [condition(c.COND_INVALID_SPEC, True, c.REASON_INVALID_FIELDS, message)], now=now, generation=meta.generation)
        return Result(status={**previous, "conditions": conditions}, children=[last_applied(o) for o in [*observed.values(), *revisions]])

    template = spec.role_instance_template.model_dump(mode="json", by_alias=True, exclude_none=True)
    revision = content_hash(template, 10)
    alive: dict[int, dict[str, Any]] = {}
    terminating: set[int] = set()
    for obj in observed.values():
        i = index_of(meta.name, obj["metadata"]["name"])
        if i is None:
            continue  # not one of ours by name: deleted
        (terminating.add(i) if obj["metadata"].get("deletionTimestamp") else alive.__setitem__(i, obj))
    decided = plan(spec, meta.name, alive, terminating, revision)

    selector = _selector(spec, meta.name)
    update_type = (spec.update_strategy.type if spec.update_strategy else None) or "InPlaceIfPossible"
    role_type = {k: v for k, v in meta.labels.items() if k == c.LABEL_ROLE_TYPE}
    passed = {k: v for k, v in meta.annotations.items() if k in (c.ANNOTATION_RESTART_BASE_DELAY, c.ANNOTATION_RESTART_MAX_DELAY)}

    hooks = spec.lifecycle
    not_ready = lifecycle.not_ready_states(hooks)
    annotations = {**passed, c.ANNOTATION_UPDATE_TYPE: update_type}
    if not_ready:
        annotations[c.ANNOTATION_LIFECYCLE_NOT_READY] = not_ready
    if spec.min_ready_seconds:
        annotations[c.ANNOTATION_MIN_READY_SECONDS] = str(spec.min_ready_seconds)

    def build(i: int) -> dict[str, Any]:
        labels = {**selector, **role_type, c.LABEL_ROLE_INSTANCE_OWNER: meta.name, c.LABEL_ROLE_INSTANCE_INDEX: str(i), c.LABEL_CONTROLLER_REVISION_HASH: revision}
        return instance_builder.instance(meta.namespace, f"{meta.name}-{i}", labels, annotations, template)

    recreate = update_type == "Recreate"
    children = {i: instance_builder.carrying(build(i), lifecycle.created(hooks)) for i in decided.create}
    for i in decided.keep:
        current = not _outdated(alive[i], revision) and is_ready(alive[i])
        children[i] = instance_builder.carrying(last_applied(alive[i]), lifecycle.kept(hooks, alive[i], current))
    if not recreate:  # Recreate: deleted now, created when gone
        for i in decided.update:
            hold = lifecycle.updating(hooks, alive[i])
            children[i] = instance_builder.carrying(build(i) if hold.go else last_applied(alive[i]), hold)
    # preDelete: an instance to delete (scale-down, Recreate) that still carries a handler stays,
    # PreparingDelete, until your controller removes it.
    for i in sorted(i for i in alive if i not in children):
        hold = lifecycle.deleting(hooks, alive[i])
        if not hold.go:
            children[i] = instance_builder.carrying(last_applied(alive[i]), hold)

    kept = [alive[i] for i in (*decided.keep, *decided.update)]
    updated = [o for o in kept if (o["metadata"].get("labels") or {}).get(c.LABEL_CONTROLLER_REVISION_HASH) == revision]
    ready = [o for o in kept if is_ready(o)]
    updated_ready = [o for o in updated if is_ready(o)]
    partition = _count(spec.update_strategy.partition if spec.update_strategy else None, spec.replicas, 0, round_up=True)
    expected = max(spec.replicas - partition, 0)
    done = len(ready) == spec.replicas and len(updated_ready) >= expected and len(kept) == spec.replicas
    conds = [
        condition(
            c.COND_READY,
            done,
            c.REASON_INSTANCES_READY if done else c.REASON_INSTANCES_NOT_READY,
            f"{len(ready)}/{spec.replicas} instances ready, {len(updated)} at the current template",
        ),
        condition(c.COND_INVALID_SPEC, False, c.REASON_SPEC_VALID, "spec is valid"),
    ]
    status = {
        "observedGeneration": meta.generation,
        "replicas": len(kept),
        "readyReplicas": len(ready),
        "availableReplicas": sum(1 for o in kept if is_available(o, spec.min_ready_seconds)),
        "currentReplicas": len(kept) - len(updated) if len(updated) < len(kept) else len(kept),
        "updatedReplicas": len(updated),
        "updatedReadyReplicas": len(updated_ready),
        "expectedUpdatedReplicas": expected,
        "updateRevision": revision,
        "currentRevision": revision if len(updated) == len(kept) else previous.get("currentRevision", revision),
        "labelSelector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        "conditions": merge_conditions(previous.get("conditions") or [], conds, now=now, generation=meta.generation),
    }
    in_use = {(o["metadata"].get("labels") or {}).get(c.LABEL_CONTROLLER_REVISION_HASH) for o in alive.values()}
    history = _history(meta.name, revision, template, revisions, in_use, spec.revision_history_limit)
    return Result(status=status, children=[*(children[i] for i in sorted(children)), *history])


def _history(name: str, revision: str, template: dict[str, Any], objects: list[dict[str, Any]], in_use: set[str | None], limit: int) -> list[dict[str, Any]]:
    """The set's ControllerRevisions: the current template's, those of templates an instance
    still runs, and the newest `limit` others. A recorded one keeps its name and data (they never
    change); one not made by the hooks, or altered, is left out, so it is deleted."""
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        digest = (meta.get("labels") or {}).get(c.LABEL_CONTROLLER_REVISION_HASH)
        data, number = obj.get("data"), obj.get("revision")
        if (isinstance(digest, str) and meta.get("name") == f"{name}-{digest}" and isinstance(data, dict) and set(data) == {"roleInstanceTemplate"}
                and isinstance(data["roleInstanceTemplate"], dict) and isinstance(number, int)):
            seen[digest] = (number, data["roleInstanceTemplate"])
    numbers = numbering(revision, {h: n for h, (n, _) in seen.items()}, limit)
    numbers |= {h: seen[h][0] for h in sorted(in_use & set(seen)) if h not in numbers}
    return [instance_set_revision(name, h, seen[h][1] if h in seen else template, n) for h, n in sorted(numbers.items(), key=lambda x: (-x[1], x[0]))]
