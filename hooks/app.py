"""The HTTP face of the hooks: parse, call the core, serialise. Nothing else lives here.

Status codes follow Metacontroller's contract: 200 only with the complete desired state;
400 for a body that is not a JSON object, 422 for a request that is not a complete request of
the route's kind (EXPECTED names it); 500 if the core fails. Every non-200 makes Metacontroller retry with backoff
and leaves all children as they are.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from . import constants as c
from . import conversion, metrics
from .api import (
    AdapterCustomizeRequest,
    AdapterSyncRequest,
    CustomizeRequest,
    GangReadyCustomizeRequest,
    GangReadySyncRequest,
    InstanceSetSyncRequest,
    InstanceSyncRequest,
    PolicyCustomizeRequest,
    PolicySyncRequest,
    SetSyncRequest,
    SyncRequest,
)
from .conversion.v1alpha1 import to_hub
from .core import adapter, gangready, instance, policy, rbg, rbgs, ris
from .core.observed import customize
from .core.result import Result

log = logging.getLogger("rbg.hooks")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", SyncRequest, SetSyncRequest, AdapterSyncRequest, PolicySyncRequest, InstanceSetSyncRequest, InstanceSyncRequest)
C = TypeVar("C", CustomizeRequest, AdapterCustomizeRequest, GangReadyCustomizeRequest, PolicyCustomizeRequest)

# A sync request carries the parent and its children (a few kB per role); anything near this is not one.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
# What each request model is a hook request for, as a 422 answer names it.
EXPECTED = {
    SyncRequest: "RoleBasedGroup",
    CustomizeRequest: "RoleBasedGroup",
    SetSyncRequest: "RoleBasedGroupSet",
    AdapterSyncRequest: "RoleBasedGroupScalingAdapter",
    AdapterCustomizeRequest: "RoleBasedGroupScalingAdapter",
    PolicySyncRequest: "CoordinatedPolicy",
    PolicyCustomizeRequest: "CoordinatedPolicy",
    InstanceSetSyncRequest: "RoleInstanceSet",
    InstanceSyncRequest: "RoleInstance",
    GangReadySyncRequest: "gang-ready pod",
    GangReadyCustomizeRequest: "gang-ready pod",
}


def dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _reply(code: int, body: Any) -> Response:
    return Response(dumps(body), status=code, mimetype="application/json")


def _error(code: int, message: str, **extra: Any) -> Response:
    return _reply(code, {"error": message, **extra})


def _log(level: int, hook: str, parent: dict[str, Any] | None, message: str, exc_info: bool = False, **fields: Any) -> None:
    """One JSON line per request, naming the parent as "namespace/name"."""
    meta = (parent or {}).get("metadata")
    meta = meta if isinstance(meta, dict) else {}  # logged before the request is validated
    record = {"hook": hook, "parent": f"{meta.get('namespace', '')}/{meta.get('name', '')}", "msg": message, **fields}
    log.log(level, dumps(record), exc_info=exc_info)


def _parse(name: str, model: type[M]) -> M | Response:
    """The request as `model`, or the 400/422 answer that says why it is not one."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        _log(logging.WARNING, name, None, "rejected: body is not a JSON object")
        return _error(400, "request body must be a JSON object (a Metacontroller hook request)")
    parent = body.get("parent")
    if isinstance(parent, dict) and parent.get("apiVersion") == c.API_VERSION_V1ALPHA1:
        # An older registration's v1alpha1 parent: the core plans from v1alpha2 only. One that does
        # not convert is left as it is, for the model to say what it is not.
        try:
            body = {**body, "parent": to_hub(parent)}
        except ValueError:
            pass
    try:
        return model.model_validate(body)
    except ValidationError as err:
        problems = [
            {"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in err.errors(include_url=False)
        ]
        parent = body.get("parent") if isinstance(body.get("parent"), dict) else None
        message = f"not a {EXPECTED[model]} hook request"
        _log(logging.WARNING, name, parent, f"rejected: {message}", problems=problems)
        return _error(422, message, problems=problems)


def _hook(name: str, model: type[R], core: Callable[[R], Result]) -> Callable[[], Response]:
    def handler() -> Response:
        started = time.perf_counter()
        req = _parse(name, model)
        if isinstance(req, Response):
            return req
        parent = request.get_json()["parent"]
        try:
            result = core(req)
        except Exception:  # ours, never the user's spec: no InvalidSpec, nothing frozen or changed
            _log(logging.ERROR, name, parent, "hook failed", exc_info=True)
            metrics.internal_error(name)
            return _error(500, "internal error; children are left as they are and the hook will be retried")
        if isinstance(req, SyncRequest):  # the condition series are a RoleBasedGroup's
            metrics.group_answered(name, req.parent.metadata.namespace, req.parent.metadata.name, result)
        conditions = {cond["type"]: cond["status"] for cond in result.status.get("conditions", [])}
        _log(
            logging.INFO,
            name,
            parent,
            "synced",
            generation=req.parent.metadata.generation,
            children=len(result.children),
            conditions=conditions,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return _reply(200, result.response())

    handler.__name__ = name
    return handler


def _customize(name: str, model: type[C], core: Callable[[C], dict[str, Any]]) -> Callable[[], Response]:
    def handler() -> Response:
        req = _parse(name, model)
        return req if isinstance(req, Response) else _reply(200, core(req))

    handler.__name__ = name
    return handler


def _decorate(name: str, core: Callable[[GangReadySyncRequest], dict[str, Any]]) -> Callable[[], Response]:
    """A DecoratorController sync hook: the answer sets labels of the target object (`object`)."""

    def handler() -> Response:
        started = time.perf_counter()
        req = _parse(name, GangReadySyncRequest)
        if isinstance(req, Response):
            return req
        target = request.get_json()["object"]
        try:
            answer = core(req)
        except Exception:
            _log(logging.ERROR, name, target, "hook failed", exc_info=True)
            metrics.internal_error(name)
            return _error(500, "internal error; the object is left as it is and the hook will be retried")
        _log(logging.INFO, name, target, "synced", labels=answer["labels"], ms=round((time.perf_counter() - started) * 1000, 2))
        return _reply(200, answer)

    handler.__name__ = name
    return handler


def convert() -> Response:
    """apiextensions.k8s.io/v1 ConversionReview: objects it cannot convert fail in the review's
    result (the API server reports it), never with a 500 and never by losing fields."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        _log(logging.WARNING, "convert", None, "rejected: body is not a JSON object")
        return _error(400, "request body must be a JSON object (a ConversionReview)")
    try:
        answer = conversion.review(body)
    except ValueError as err:
        _log(logging.WARNING, "convert", None, f"rejected: {err}")
        return _error(400, str(err))
    except Exception:
        _log(logging.ERROR, "convert", None, "conversion failed", exc_info=True)
        metrics.internal_error("convert")
        return _error(500, "internal error; the API server will retry")
    result = answer["response"]["result"]
    if result.get("status") != "Success":
        _log(logging.WARNING, "convert", None, "not converted", reason=result.get("message"))
    return _reply(200, answer)


def create_app() -> Flask:
    app = Flask("rbg-hooks")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.register_error_handler(HTTPException, lambda e: _error(e.code or 500, e.description or e.name))
    app.before_request(metrics.start)
    app.after_request(metrics.answered)
    hooks = {
        # RoleBasedGroup
        "/sync": _hook("sync", SyncRequest, rbg.sync),
        "/finalize": _hook("finalize", SyncRequest, rbg.finalize),
        "/customize": _customize("customize", CustomizeRequest, lambda r: customize(r.parent.metadata.namespace, r.parent.metadata.name, r.parent.metadata.annotations, r.parent.spec)),
        # RoleBasedGroupSet, both forms
        "/rbgs/sync": _hook("rbgs-sync", SetSyncRequest, rbgs.sync),
        # RoleBasedGroupScalingAdapter
        "/rbgsa/sync": _hook("rbgsa-sync", AdapterSyncRequest, adapter.sync),
        "/rbgsa/customize": _customize("rbgsa-customize", AdapterCustomizeRequest, lambda r: adapter.customize(r.parent)),
        # CoordinatedPolicy
        "/cpolicy/sync": _hook("cpolicy-sync", PolicySyncRequest, policy.sync),
        "/cpolicy/customize": _customize("cpolicy-customize", PolicyCustomizeRequest, lambda r: policy.customize(r.parent)),
        # RoleInstanceSet (its RoleInstances) and RoleInstance (its pods)
        "/ris/sync": _hook("ris-sync", InstanceSetSyncRequest, ris.sync),
        "/rins/sync": _hook("rins-sync", InstanceSyncRequest, instance.sync),
        # The conversion webhook (the API server's, over HTTPS: hooks.server --certfile)
        "/convert": convert,
        # Gang-ready pod labels (a DecoratorController of pods)
        "/gangready/sync": _decorate("gangready-sync", gangready.sync),
        "/gangready/customize": _customize("gangready-customize", GangReadyCustomizeRequest, lambda r: gangready.customize(r.parent)),
    }
    for path, view in hooks.items():
        app.add_url_rule(path, view_func=view, methods=["POST"])
    app.add_url_rule("/healthz", view_func=lambda: Response("ok\n", mimetype="text/plain"), methods=["GET"])
    app.add_url_rule("/metrics", view_func=metrics.exposition, methods=["GET"])
    return app
