"""The group's rollout history as upstream keeps it, for upstream's `kubectl rbg rollout` plugin.

One ControllerRevision per version of the spec, `<group>-<hash>-<number>`, its data the
strategic-merge patch upstream's undo applies: the roles (without replicas: scaling is not a
rollout) and the roleTemplates, each list replaced whole. Numbered as each role's own history
(hooks.core.history.numbering): the current spec keeps its number while it is the highest, an
older one put back (an undo) gets the next; older ones are kept up to spec.revisionHistoryLimit.
Each workload is labelled with the hash of its role (LABEL_ROLE_REVISION_PREFIX + role).

Groups converted from v1alpha1 get neither (hooks.core.conventions): their children stay as
they are, and upstream's plugin reads v1alpha2 groups.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .. import constants as c
from ..api import GroupSpec
from ..children.revision import group_revision
from .conventions import converted
from .history import numbering
from .observed import Observed

_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193
_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' rand.SafeEncodeString alphabet


def short_hash(value: Any) -> str:
    """FNV-1a (32 bits) of `value` as compact JSON with sorted keys, in Kubernetes' safe alphabet,
    as upstream names its revisions (the same length; the bytes hashed are ours)."""
    return _fnv(json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())


_FNV_SEEN: dict[bytes, str] = {}  # blake2b-128 of the bytes -> their FNV text, this process's
_FNV_SEEN_MAX = 4096


def _fnv(data: bytes) -> str:
    """A byte at a time in Python, a millisecond for a large spec; a group's every sync hashes the
    same specs again, so remembered by digest (a few hundred KiB at most)."""
    key = hashlib.blake2b(data, digest_size=16).digest()
    if (text := _FNV_SEEN.get(key)) is None:
        digest = _FNV_OFFSET
        for byte in data:
            digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
        text = "".join(_SAFE[ord(ch) % len(_SAFE)] for ch in str(digest))
        if len(_FNV_SEEN) >= _FNV_SEEN_MAX:
            _FNV_SEEN.clear()
        _FNV_SEEN[key] = text
    return text


def spec_patch(spec: dict[str, Any]) -> dict[str, Any]:
    """The patch that puts `spec`'s roles (without replicas) and roleTemplates back."""
    roles = [{k: v for k, v in r.items() if k != "replicas"} for r in spec.get("roles") or [] if isinstance(r, dict)]
    return {"spec": {"roles": [{"$patch": "replace"}, *roles], "roleTemplates": [{"$patch": "replace"}, *(spec.get("roleTemplates") or [])]}}


def role_hashes(spec: dict[str, Any]) -> dict[str, str]:
    """Each role's hash, its roleTemplate included: what its workload's revision label says."""
    templates = {t.get("name"): t.get("template") for t in spec.get("roleTemplates") or [] if isinstance(t, dict)}
    out = {}
    for role in spec.get("roles") or []:
        pattern = role.get("standalonePattern") or role.get("leaderWorkerPattern") or {}
        ref = (pattern.get("templateRef") or {}).get("name")
        out[str(role.get("name"))] = short_hash([{k: v for k, v in role.items() if k != "replicas"}, templates.get(ref)])
    return out


def workload_labels(annotations: dict[str, str], written: dict[str, Any]) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each role's workload label with its role's hash, where the key fits a label (a role name of
    up to 49 characters); none for a group converted from v1alpha1."""
    if converted(annotations):
        return {}
    room = 63 - len(c.LABEL_ROLE_REVISION_PREFIX.rpartition("/")[2])  # a label key's name part is at most 63 characters
    return {role: ((c.LABEL_ROLE_REVISION_PREFIX + role, digest),) for role, digest in role_hashes(written).items() if len(role) <= room}


@dataclass(frozen=True)
class Recorded:
    name: str
    revision: int
    data: dict[str, Any]


def recorded(group: str, observed: Observed) -> dict[str, Recorded]:
    """The group's observed revisions of upstream's form, by hash; others (a role's: hooks.core.history) are not these."""
    out = {}
    for (kind, name), obj in observed.objects.items():
        labels = (obj.get("metadata") or {}).get("labels") or {}
        digest, data, number = labels.get(c.LABEL_GROUP_REVISION), obj.get("data"), obj.get("revision")
        if kind == c.KIND_CONTROLLER_REVISION and labels.get(c.LABEL_GROUP_NAME_V2) == group and isinstance(digest, str) and isinstance(data, dict) and isinstance(number, int):
            out[digest] = Recorded(name, number, data)
    return out


def group_revisions(group: str, annotations: dict[str, str], written: dict[str, Any], spec: GroupSpec, observed: Observed) -> list[dict[str, Any]]:
    """The group's revisions: the current spec's, then the older ones kept. `written`: the spec as
    the API server holds it (defaults applied), which upstream's undo patches back."""
    if converted(annotations):
        return []
    data = spec_patch(written)
    current = short_hash(data)
    seen = recorded(group, observed)
    numbers = numbering(current, {h: r.revision for h, r in seen.items()}, spec.revision_history_limit)
    out = []
    for digest, number in numbers.items():
        if digest in seen:  # recorded: its name and data as they are (Kubernetes forbids changing data)
            out.append(group_revision(group, seen[digest].name, digest, seen[digest].data, number))
        else:
            out.append(group_revision(group, f"{group}-{digest}-{number}", digest, data, number))
    return out
