"""The conversion webhook: an apiextensions.k8s.io/v1 ConversionReview in, its response out.

Pure: the HTTP route (hooks.app) only parses the body, calls `review` and serialises what it
returns; a ValueError from `review` is a malformed review (400). An object that cannot be
converted fails the whole review (`result.status: Failure`, a message naming the object and the
reason, no converted objects), as the API server expects.
"""

from __future__ import annotations

import copy
from typing import Any

from . import v1alpha1
from .v1alpha1 import KINDS, V1, V2, ConversionError

__all__ = ["review", "convert", "ConversionError"]

REVIEW_API_VERSION = "apiextensions.k8s.io/v1"
VERSIONS = (V1, V2)


def review(body: dict[str, Any]) -> dict[str, Any]:
    """The ConversionReview response to a ConversionReview request body."""
    if not isinstance(body, dict) or body.get("apiVersion") != REVIEW_API_VERSION or body.get("kind") != "ConversionReview":
        raise ValueError(f"not an {REVIEW_API_VERSION} ConversionReview")
    request = body.get("request")
    if not isinstance(request, dict):
        raise ValueError("ConversionReview without a request")
    uid, desired, objects = request.get("uid"), request.get("desiredAPIVersion"), request.get("objects")
    if not isinstance(uid, str) or not uid:
        raise ValueError("ConversionReview request without a uid")
    if not isinstance(desired, str) or not isinstance(objects, list):
        raise ValueError("ConversionReview request without desiredAPIVersion or objects")
    try:
        converted = [convert(obj, desired) for obj in objects]
    except ConversionError as error:
        result: dict[str, Any] = {"uid": uid, "convertedObjects": [], "result": {"status": "Failure", "message": str(error)}}
    else:
        result = {"uid": uid, "convertedObjects": converted, "result": {"status": "Success"}}
    return {"apiVersion": REVIEW_API_VERSION, "kind": "ConversionReview", "response": result}


def convert(obj: Any, desired: str) -> dict[str, Any]:
    """One object at `desired` (an object already there, unchanged); ConversionError names it and says why not."""
    if not isinstance(obj, dict):
        raise ConversionError(f"cannot convert {obj!r:.80} to {desired}: not an object")
    name = _name(obj)
    if desired not in VERSIONS:
        raise ConversionError(f"cannot convert {name} to {desired}: the desiredAPIVersion is not one of {', '.join(VERSIONS)}")
    if obj.get("apiVersion") not in VERSIONS or obj.get("kind") not in KINDS:
        raise ConversionError(f"cannot convert {name}: only {', '.join(KINDS)} of {', '.join(VERSIONS)} are converted here")
    if obj["apiVersion"] == desired:
        return copy.deepcopy(obj)
    try:
        return v1alpha1.to_hub(obj) if desired == V2 else v1alpha1.from_hub(obj)
    except ConversionError as error:
        raise ConversionError(f"cannot convert {name} to {desired}: {error}") from error


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    namespace, name = meta.get("namespace"), meta.get("name")
    return f"{obj.get('kind')} {f'{namespace}/' if namespace else ''}{name} ({obj.get('apiVersion')})"
