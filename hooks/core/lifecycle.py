"""A RoleInstanceSet's lifecycle hooks (upstream's, from OpenKruise): `preDelete` and
`inPlaceUpdate`, each with `labelsHandler`, `finalizersHandler` and `markPodNotReady`.

A hook holds an instance while it carries any of the hook's handler labels (with their values)
or finalizers: your controller removes them when it has done its part (drained the instance,
say). Every instance is created carrying the handlers of both hooks; a handler your controller
removed is never put back by the set, except as below. The state is the instance's
`rbg.workloads.x-k8s.io/role-instance-lifecycle-state` label (none: Normal):

- to be deleted (scale-down, Recreate) while held by preDelete: kept, `PreparingDelete`, until free;
- to be updated in place while held by inPlaceUpdate: kept at its template, `PreparingUpdate`,
  until free; then updated, `Updating`; once Ready at the new template, `Updated` if the hook's
  handlers are gone (else Normal); `Updated` becomes Normal when your controller has put every
  handler back. An `Updated` instance to be updated again gets the handlers back from the set and
  waits in `PreparingUpdate`, as upstream;
- an instance no longer to be deleted or updated returns to Normal.

With `markPodNotReady`, an instance in that hook's preparing state reports RoleInstanceReady False
(hooks.core.instance reads the states from its annotation
`rbg.workloads.x-k8s.io/lifecycle-not-ready-states`).
"""

from __future__ import annotations

from typing import Any

from .. import constants as c
from ..api import InstanceSetLifecycle, LifecycleHook
from ..decisions import Hold


def _hooks(lifecycle: InstanceSetLifecycle | None) -> list[LifecycleHook]:
    return [h for h in (lifecycle.pre_delete, lifecycle.in_place_update) if h is not None] if lifecycle else []


def _all(lifecycle: InstanceSetLifecycle | None) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    labels: dict[str, str] = {}
    finalizers: list[str] = []
    for hook in _hooks(lifecycle):
        labels |= hook.labels_handler
        finalizers += [f for f in hook.finalizers_handler if f not in finalizers]
    return tuple(sorted(labels.items())), tuple(finalizers)


def _carried(lifecycle: InstanceSetLifecycle | None, obj: dict[str, Any]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    labels, finalizers = _all(lifecycle)
    meta = obj["metadata"]
    have = meta.get("labels") or {}
    return tuple((k, v) for k, v in labels if have.get(k) == v), tuple(f for f in finalizers if f in (meta.get("finalizers") or []))


def hooked(hook: LifecycleHook | None, obj: dict[str, Any]) -> bool:
    """The instance carries any of the hook's handlers."""
    if hook is None:
        return False
    meta = obj["metadata"]
    labels, finalizers = meta.get("labels") or {}, meta.get("finalizers") or []
    return any(labels.get(k) == v for k, v in hook.labels_handler.items()) or any(f in finalizers for f in hook.finalizers_handler)


def _all_hooked(hook: LifecycleHook, obj: dict[str, Any]) -> bool:
    meta = obj["metadata"]
    labels, finalizers = meta.get("labels") or {}, meta.get("finalizers") or []
    return all(labels.get(k) == v for k, v in hook.labels_handler.items()) and all(f in finalizers for f in hook.finalizers_handler)


def state(obj: dict[str, Any]) -> str:
    return (obj["metadata"].get("labels") or {}).get(c.LABEL_LIFECYCLE_STATE) or ""


def _hold(lifecycle: InstanceSetLifecycle | None, go: bool, state_: str | None, labels: tuple[tuple[str, str], ...], finalizers: tuple[str, ...]) -> Hold:
    every, all_finalizers = _all(lifecycle)
    return Hold(go, state_, labels, finalizers, tuple(k for k, _ in every), all_finalizers)


def created(lifecycle: InstanceSetLifecycle | None) -> Hold:
    labels, finalizers = _all(lifecycle)
    return _hold(lifecycle, True, None, labels, finalizers)


def deleting(lifecycle: InstanceSetLifecycle | None, obj: dict[str, Any]) -> Hold:
    labels, finalizers = _carried(lifecycle, obj)
    held = hooked(lifecycle.pre_delete if lifecycle else None, obj)
    return _hold(lifecycle, not held, c.LIFECYCLE_PREPARING_DELETE if held else None, labels, finalizers)


def updating(lifecycle: InstanceSetLifecycle | None, obj: dict[str, Any]) -> Hold:
    """An instance whose template is to change in place."""
    labels, finalizers = _carried(lifecycle, obj)
    hook = lifecycle.in_place_update if lifecycle else None
    if hook is None:
        return _hold(lifecycle, True, None, labels, finalizers)
    if state(obj) == c.LIFECYCLE_UPDATED:  # updated before and not hooked again: the set hooks it again
        every, all_finalizers = _all(lifecycle)
        wanted = dict(labels) | hook.labels_handler
        return _hold(lifecycle, False, c.LIFECYCLE_PREPARING_UPDATE, tuple((k, v) for k, v in every if k in wanted), tuple(f for f in all_finalizers if f in finalizers or f in hook.finalizers_handler))
    if hooked(hook, obj):
        return _hold(lifecycle, False, c.LIFECYCLE_PREPARING_UPDATE, labels, finalizers)
    return _hold(lifecycle, True, c.LIFECYCLE_UPDATING, labels, finalizers)


def kept(lifecycle: InstanceSetLifecycle | None, obj: dict[str, Any], updated_and_ready: bool) -> Hold:
    """An instance neither updated nor deleted now."""
    labels, finalizers = _carried(lifecycle, obj)
    hook = lifecycle.in_place_update if lifecycle else None
    now = state(obj)
    if hook is None or now not in (c.LIFECYCLE_UPDATING, c.LIFECYCLE_UPDATED):
        return _hold(lifecycle, True, None, labels, finalizers)
    if now == c.LIFECYCLE_UPDATING:
        if not updated_and_ready:
            return _hold(lifecycle, True, c.LIFECYCLE_UPDATING, labels, finalizers)
        return _hold(lifecycle, True, None if hooked(hook, obj) else c.LIFECYCLE_UPDATED, labels, finalizers)
    return _hold(lifecycle, True, None if _all_hooked(hook, obj) else c.LIFECYCLE_UPDATED, labels, finalizers)


def not_ready_states(lifecycle: InstanceSetLifecycle | None) -> str:
    """The states in which an instance reports not Ready (markPodNotReady), comma-separated."""
    if lifecycle is None:
        return ""
    marks = ((lifecycle.pre_delete, c.LIFECYCLE_PREPARING_DELETE), (lifecycle.in_place_update, c.LIFECYCLE_PREPARING_UPDATE))
    return ",".join(s for hook, s in marks if hook is not None and hook.mark_pod_not_ready)
