"""Strategic merge of a patch over a JSON document, as Kubernetes merges a pod template patch.

Pure and deterministic: `merge(base, patch, keys)` returns a new document and changes neither
input. `keys` maps a field's path ("spec.containers", "spec.containers[].env": `[]` steps into
list items) to its Kubernetes patch metadata, {"patchStrategy", "patchMergeKey"};
`merge_pod_template` uses the table generated from the Kubernetes v1.34 OpenAPI
(hooks/schemas/k8s_patch_keys.json, tools/gen_pod_schema.py).

- Maps merge key by key; `null` in the patch deletes the key.
- A list with patchStrategy `merge` merges: items (objects) by their patchMergeKey, a patch item
  merging into the base item with the same key or else being added; scalars as a set. Every
  other list is replaced by the patch's.
- Order: base items and keys keep their order, the patch's new ones follow in patch order.
  (Kubernetes puts the patch's items first, before the base's: `env: [{name: B}]` over
  `[{name: A}]` gives B, A there, which breaks a `$(A)` in B. Here it gives A, B.)
- Directives: `$patch: replace` on a map (the patch's map, not merged) or as a list item (the
  list is the patch's other items); `$patch: delete` on a map (emptied, as Kubernetes does; a
  map the base lacks stays absent) or as a list item with the merge key (every base item with
  that key goes); `$retainKeys: [...]` (base keys not listed go); `$deleteFromPrimitiveList/<key>`
  (values removed from a base list of scalars, before the patch's list merges).
  `$setElementOrder/<key>` and any other `$` key are errors, as are directives in a list that
  is replaced, and a merged list item without its merge key.

Errors are `PatchError` (a ValueError) naming the path in the patch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .schemas.k8s import pod_template_patch_keys

PatchKeys = Mapping[str, Mapping[str, str]]

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER = "$setElementOrder/"


class PatchError(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def merge(base: dict[str, Any], patch: dict[str, Any], keys: PatchKeys) -> dict[str, Any]:
    """`patch` merged over `base`: a new document."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        raise PatchError("", "a strategic merge takes two objects")
    out = _map(json.loads(json.dumps(base)), patch, keys, "", "")
    return out if out is not None else {}


@lru_cache(maxsize=1)
def _pod_template_keys() -> PatchKeys:
    return pod_template_patch_keys()


def merge_pod_template(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A PodTemplateSpec patch merged over a PodTemplateSpec."""
    return merge(base, patch, _pod_template_keys())


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _identity(value: Any) -> tuple[str, Any]:
    """What a merge key or a set item is compared by: JSON values, numbers by value (1 == 1.0, as
    Go decodes every number to float64), never a bool equal to a number."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, str):
        return ("string", value)
    return ("json", json.dumps(value, sort_keys=True))


def _map(base: dict[str, Any] | None, patch: dict[str, Any], keys: PatchKeys, spath: str, dpath: str) -> dict[str, Any] | None:
    """`patch` over `base` (owned: it may be reused). None: drop the key (a delete of nothing)."""
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "delete":
            return None if base is None else {}
        if directive == "replace":
            return _map(None, {k: v for k, v in patch.items() if k != DIRECTIVE}, keys, spath, dpath)
        raise PatchError(_join(dpath, DIRECTIVE), f"{directive!r} is not a directive: use replace or delete")
    out: dict[str, Any] = base if base is not None else {}
    if RETAIN_KEYS in patch:
        retain = patch[RETAIN_KEYS]
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise PatchError(_join(dpath, RETAIN_KEYS), "must be a list of field names")
        for key, value in patch.items():
            if value is not None and not key.startswith("$") and key not in retain:
                raise PatchError(_join(dpath, RETAIN_KEYS), f"must list {key!r}, which the patch sets")
        out = {k: v for k, v in out.items() if k in retain}
    for key, value in patch.items():
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            field = key[len(DELETE_FROM_PRIMITIVE_LIST):]
            if not isinstance(value, list):
                raise PatchError(_join(dpath, key), "must be a list of the values to remove")
            gone = {_identity(v) for v in value}
            if isinstance(out.get(field), list):
                out[field] = [v for v in out[field] if _identity(v) not in gone]
        elif key.startswith(SET_ELEMENT_ORDER):
            raise PatchError(_join(dpath, key), "$setElementOrder is not supported: merged lists keep the base's order")
        elif key.startswith("$") and key not in (RETAIN_KEYS, DIRECTIVE):
            raise PatchError(_join(dpath, key), "not a strategic merge directive ($patch, $retainKeys, $deleteFromPrimitiveList/<field>)")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
            continue
        merged = _value(out.get(key), value, keys, _join(spath, key), _join(dpath, key))
        if merged is None:
            out.pop(key, None)
        else:
            out[key] = merged
    return out


def _value(base: Any, patch: Any, keys: PatchKeys, spath: str, dpath: str) -> Any:
    """`patch` over `base` (None: absent); a base of another type is replaced."""
    if isinstance(patch, dict):
        return _map(base if isinstance(base, dict) else None, patch, keys, spath, dpath)
    if isinstance(patch, list):
        return _list(base if isinstance(base, list) else [], patch, keys, spath, dpath)
    return patch


def _list(base: list[Any], patch: list[Any], keys: PatchKeys, spath: str, dpath: str) -> list[Any]:
    meta = keys.get(spath) or {}
    if "merge" not in meta.get("patchStrategy", "").split(","):
        return [_plain(item, f"{dpath}[{i}]", dpath) for i, item in enumerate(patch)]
    key = meta.get("patchMergeKey")
    if not key:  # a set of scalars
        for i, item in enumerate(patch):
            if isinstance(item, (dict, list)):
                raise PatchError(f"{dpath}[{i}]", "this list holds scalars")
        unique: dict[tuple[str, Any], Any] = {}
        for item in [*base, *patch]:
            unique.setdefault(_identity(item), item)
        return list(unique.values())
    out = list(base)
    items: list[tuple[int, dict[str, Any]]] = []
    replace = False
    for i, item in enumerate(patch):
        at = f"{dpath}[{i}]"
        if not isinstance(item, dict):
            raise PatchError(at, f"items of this list are objects merged by {key!r}")
        if DIRECTIVE in item:
            directive = item[DIRECTIVE]
            if directive == "replace":
                replace = True
            elif directive == "delete":
                if key not in item:
                    raise PatchError(at, f"$patch: delete needs the merge key {key!r} of the item to delete")
                out = [b for b in out if not (isinstance(b, dict) and key in b and _identity(b[key]) == _identity(item[key]))]
            else:
                raise PatchError(_join(at, DIRECTIVE), f"{directive!r} is not a list item directive: use replace or delete")
        elif key not in item:
            raise PatchError(at, f"the merge key {key!r} is missing")
        else:
            items.append((i, item))
    if replace:
        out = []
    for i, item in items:
        found = next(
            (j for j, b in enumerate(out) if isinstance(b, dict) and key in b and _identity(b[key]) == _identity(item[key])),
            None,
        )
        merged = _map(out[found] if found is not None else None, item, keys, f"{spath}[]", f"{dpath}[{i}]")
        assert merged is not None  # only a $patch: delete gives None, and items with directives are out
        if found is not None:
            out[found] = merged
        else:
            out.append(merged)
    return out


def _plain(value: Any, dpath: str, replaced: str) -> Any:
    """A value of a list that is replaced as a whole: copied, nulls in maps dropped, no directives."""
    if isinstance(value, dict):
        out = {}
        for key, sub in value.items():
            if key.startswith("$"):
                raise PatchError(_join(dpath, key), f"{replaced} has no patch merge key: it is replaced as a whole, without directives")
            if sub is not None:
                out[key] = _plain(sub, _join(dpath, key), replaced)
        return out
    if isinstance(value, list):
        return [_plain(item, f"{dpath}[{i}]", replaced) for i, item in enumerate(value)]
    return value
