"""Rollout history: which ControllerRevisions each role keeps, and their numbers.

Pure and deterministic, decided from the observed revisions alone, for each role whose workload
is returned (per role, as Deployments and StatefulSets do):

- the current template's revision is named by its hash. A template never recorded gets
  1 + the highest observed number. A recorded one keeps its number, unless it is older than
  the highest (the template was put back: an undo), when it gets 1 + the highest;
- the older revisions kept are those with the highest numbers, at most
  `spec.revisionHistoryLimit` of them and within the role's share of HISTORY_MAX_BYTES;
  the others are omitted, so Metacontroller deletes them;
- an observed revision keeps its name and `data` (Kubernetes forbids changing `data`); only
  its number moves, in the undo case.

The next sync observes the numbers this one returned, so it gives the same answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import constants as c
from ..api import RoleBasedGroupSpec
from ..children.revision import controller_revision, revision_name, template_hash
from .observed import Observed


@dataclass(frozen=True)
class Recorded:
    """An observed revision of a role, in the shape the hooks give it."""

    hash: str
    revision: int
    template: dict[str, Any]


def recorded(group: str, role: str, objects: Iterable[dict[str, Any]]) -> list[Recorded]:
    """The role's observed revisions. Any other ControllerRevision (not made by these hooks, or
    altered by hand) is left out, so Metacontroller deletes it."""
    out = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        digest, data, number = labels.get(c.LABEL_REVISION_HASH), obj.get("data"), obj.get("revision")
        if (
            obj.get("kind") != c.KIND_CONTROLLER_REVISION
            or labels.get(c.LABEL_GROUP_NAME) != group
            or labels.get(c.LABEL_REVISION_ROLE) != role
            or not isinstance(digest, str)
            or meta.get("name") != revision_name(group, role, digest)
            or not isinstance(data, dict)
            or set(data) != {"template"}
            or not isinstance(data["template"], dict)
            or not isinstance(number, int)
        ):
            continue
        out.append(Recorded(digest, number, data["template"]))
    return out


def _size(template: dict[str, Any]) -> int:
    return len(json.dumps(template, separators=(",", ":"), ensure_ascii=False).encode())


def numbering(
    current: str, observed: Mapping[str, int], limit: int, sizes: Mapping[str, int] | None = None, budget: int | None = None
) -> dict[str, int]:
    """Revision numbers by hash: the current template's first, then the older ones kept, newest first.

    `observed` maps each recorded hash to its number; `sizes` and `budget` bound the bytes of
    the older revisions kept (no bound when not given).
    """
    top = max(observed.values(), default=0)
    number = observed[current] if current in observed and observed[current] == top else top + 1
    out = {current: number}
    spent = 0
    older = sorted((h for h in observed if h != current), key=lambda h: (-observed[h], h))
    for h in older[:limit]:
        spent += (sizes or {}).get(h, 0)
        if budget is not None and spent > budget:
            break
        out[h] = observed[h]
    return out


def revisions(group: str, spec: RoleBasedGroupSpec, started: Iterable[str], observed: Observed) -> list[tuple[str, dict[str, Any]]]:
    """The ControllerRevisions of every started role, and of every role with a recorded history
    (one being recreated keeps it), each with its role: its current one, then the older ones kept."""
    objects = [obj for (kind, _), obj in observed.objects.items() if kind == c.KIND_CONTROLLER_REVISION]
    share = c.HISTORY_MAX_BYTES // max(1, len(spec.roles))
    started = set(started)
    out = []
    for role in spec.roles:
        name = role.name
        seen = {r.hash: r for r in recorded(group, name, objects)}
        if (name not in started and not seen) or role.template is None:  # customComponentsPattern: not run yet
            continue
        current = template_hash(role.pod_template)
        sizes = {h: _size(r.template) for h, r in seen.items() if h != current}
        numbers = numbering(current, {h: r.revision for h, r in seen.items()}, spec.revision_history_limit, sizes, share)
        for digest, number in numbers.items():
            if digest in seen:  # recorded: its name and data as they are
                out.append((name, controller_revision(group, name, seen[digest].template, number, digest)))
            else:
                out.append((name, controller_revision(group, name, role.pod_template, number)))
    return out
