"""Kubernetes access for the local cluster, `rbg up`, the e2e suite and bench/cluster.py, on lightkube.

lightkube (gtsystem/lightkube) was chosen over the official `kubernetes` client and kr8s: typed
models of the cluster's own minor version (lightkube-models 1.34) beside generic resources for
CRDs, server-side apply, watches that resume, kubeconfig with token auth, errors that carry the
parsed Kubernetes Status, and two small dependencies (httpx2, PyYAML) instead of a generated
client of several megabytes. This module only adds what lightkube leaves to its caller: our
kinds, multi-document YAML, and polling and condition helpers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import requests
import yaml
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.core.resource import NamespacedResource, Resource
from lightkube.generic_resource import create_global_resource, create_namespaced_resource

from .. import constants as c

T = TypeVar("T")
Obj = dict[str, Any]

FIELD_MANAGER = "rbg"

RoleBasedGroup = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_RBG, "rolebasedgroups")
CompositeController = create_global_resource(
    "metacontroller.k8s.io", "v1alpha1", "CompositeController", "compositecontrollers"
)

__all__ = ["ApiError", "Client", "CompositeController", "RoleBasedGroup", "connect", "wait_for"]


def connect(kubeconfig: str | Path, timeout: float = 30) -> Client:
    """A client for the current context of `kubeconfig`; proxies and CA bundles from the
    environment are ignored (everything here is on loopback)."""
    return Client(
        KubeConfig.from_file(kubeconfig),
        field_manager=FIELD_MANAGER,
        trust_env=False,
        timeout=httpx2.Timeout(timeout),
    )


def load_documents(paths_or_docs: Iterable[str | Path | Obj]) -> list[Obj]:
    """Objects from YAML files (multi-document, `kind: List` expanded) and dicts, in order."""
    docs: list[Obj] = []
    for item in paths_or_docs:
        loaded = [item] if isinstance(item, dict) else list(yaml.safe_load_all(Path(item).read_text()))
        for doc in loaded:
            if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and "items" in doc:
                docs += doc["items"] or []
            elif isinstance(doc, dict):
                docs.append(doc)
    return docs


def apply_manifests(
    client: Client, paths_or_docs: Iterable[str | Path | Obj], namespace: str | None = None, dry_run: bool = False
) -> list[Any]:
    """Server-side apply every object of the given YAML files / dicts, in order; `namespace`
    fills in namespaced objects that have none. Returns what the API server stored."""
    applied = []
    for doc in load_documents(paths_or_docs):
        obj = codecs.from_dict(doc)
        meta = doc.get("metadata") or {}
        if namespace and isinstance(obj, NamespacedResource) and not meta.get("namespace"):
            # In the document: a generic resource's `metadata` attribute is a copy.
            obj = codecs.from_dict({**doc, "metadata": {**meta, "namespace": namespace}})
        applied.append(client.apply(obj, force=True, dry_run=dry_run))
    return applied


def as_dict(obj: Any) -> Obj:
    """The plain dict of a lightkube object (or a dict as it is)."""
    return obj if isinstance(obj, dict) else obj.to_dict()


def wait_for(
    predicate: Callable[[T], bool], timeout: float, what: str, observe: Callable[[], T], interval: float = 0.5
) -> T:
    """Poll `observe()` until `predicate` holds on what it returned, and return that value.

    API and connection errors while observing count as "not yet" (the last one is reported);
    any other exception propagates. Raises TimeoutError naming `what` and the last seen value.
    """
    deadline = time.monotonic() + timeout
    last: object = "nothing observed yet"
    while True:
        try:
            value = observe()
            if predicate(value):
                return value
            last = value
        except (ApiError, httpx2.HTTPError, requests.RequestException) as e:  # requests: the launcher's probes
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}; last seen: {last}")
        time.sleep(interval)


def condition(obj: Resource | Obj, type_: str) -> Obj | None:
    """The status condition of the given type, if present."""
    status = as_dict(obj).get("status") or {}
    return next((x for x in status.get("conditions") or [] if x.get("type") == type_), None)


def has_condition(obj: Resource | Obj, type_: str, status: str = "True") -> bool:
    cond = condition(obj, type_)
    return cond is not None and cond.get("status") == status
