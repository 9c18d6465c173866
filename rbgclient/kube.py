"""Kubernetes access for the local cluster, `rbg up`, `rbg status|rollout`, the e2e suite and bench/cluster.py, on lightkube.

lightkube (gtsystem/lightkube) was chosen over the official `kubernetes` client and kr8s: typed
models of the cluster's own minor version (lightkube-models 1.34) beside generic resources for
CRDs, server-side apply, watches that resume, kubeconfig with token auth, errors that carry the
parsed Kubernetes Status, and two small dependencies (httpx2, PyYAML) instead of a generated
client of several megabytes. This module only adds what lightkube leaves to its caller: our
kinds, multi-document YAML, and polling and condition helpers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import requests
import yaml
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ConfigError
from lightkube.core.resource import NamespacedResource, Resource
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.operators import exists
from lightkube.types import PatchType

from hooks import constants as c

T = TypeVar("T")
Obj = dict[str, Any]

FIELD_MANAGER = "rbg"

RoleBasedGroup = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_RBG, "rolebasedgroups")
RoleBasedGroupScalingAdapter = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_RBGSA, "rolebasedgroupscalingadapters")
CoordinatedPolicy = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_COORDINATED_POLICY, c.COORDINATED_POLICIES)
# Every other kind and version of ours, known to lightkube's codecs: apply_manifests decodes documents with them.
for _version in (c.VERSION, c.VERSION_V1ALPHA1):
    if _version != c.VERSION:
        create_namespaced_resource(c.GROUP, _version, c.KIND_RBG, "rolebasedgroups")
        create_namespaced_resource(c.GROUP, _version, c.KIND_RBGSA, "rolebasedgroupscalingadapters")
    create_namespaced_resource(c.GROUP, _version, c.KIND_RBGS, "rolebasedgroupsets")
    create_global_resource(c.GROUP, _version, c.KIND_ENGINE_RUNTIME_PROFILE, c.ENGINE_RUNTIME_PROFILES)
create_namespaced_resource(c.SEED_GROUP, c.VERSION_V1ALPHA1, c.KIND_RBGS, c.SEED_PLURAL)
CompositeController = create_global_resource(
    "metacontroller.k8s.io", "v1alpha1", "CompositeController", "compositecontrollers"
)
# Created, a kind is known to lightkube's codecs: apply_manifests decodes the registrations with them.
DecoratorController = create_global_resource(
    "metacontroller.k8s.io", "v1alpha1", "DecoratorController", "decoratorcontrollers"
)

__all__ = ["ApiError", "Client", "CompositeController", "DecoratorController", "GroupApi", "RoleBasedGroup", "connect", "user_config", "wait_for"]


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


# Paths in a kubeconfig that are relative to the file they are written in (as kubectl reads them).
_KUBECONFIG_PATHS = {"clusters": ("certificate-authority",), "users": ("client-certificate", "client-key", "tokenFile")}


def user_config(kubeconfig: str | None = None, context: str | None = None) -> SingleConfig:
    """The cluster and credentials kubectl would use: `--kubeconfig`, else every file of
    $KUBECONFIG merged (the first to name a cluster, user or context wins; the first
    current-context), else ~/.kube/config, else the pod's service account; then `--context` or
    the current context. ConfigError says what is missing."""
    if kubeconfig:
        paths = [Path(kubeconfig).expanduser()]
        if not paths[0].is_file():
            raise ConfigError(f"kubeconfig {kubeconfig} not found")
    else:
        listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p] or ["~/.kube/config"]
        paths = [Path(p).expanduser() for p in listed if Path(p).expanduser().is_file()]
    if not paths:
        try:
            config = KubeConfig.from_service_account()
        except (ConfigError, KeyError):
            raise ConfigError("no kubeconfig: set KUBECONFIG or pass --kubeconfig") from None
    else:
        merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": [], "current-context": None}
        for path in paths:
            doc = yaml.safe_load(path.read_text()) or {}
            for key in ("clusters", "contexts", "users"):
                seen = {e["name"] for e in merged[key]}
                for entry in doc.get(key) or []:
                    if entry.get("name") in seen:
                        continue
                    body = dict(entry.get(key[:-1]) or {})
                    for field in _KUBECONFIG_PATHS.get(key, ()):
                        if body.get(field) and not Path(body[field]).expanduser().is_absolute():
                            body[field] = str(path.parent / body[field])
                    merged[key].append({"name": entry.get("name"), key[:-1]: body})
            merged["current-context"] = merged["current-context"] or doc.get("current-context") or None
        config = KubeConfig.from_dict(merged, fname=paths[0])
    single = config.get(context_name=context)
    assert single is not None  # get() raises when there is no context to use
    return single


class GroupApi:
    """What `rbg status` and `rbg rollout` read and write, as plain dicts: the seam between
    rbgcli.history (pure) and the cluster. Errors are lightkube's ApiError (404: not found)."""

    def __init__(self, config: SingleConfig, timeout: float = 30) -> None:
        self.client = Client(config, field_manager=FIELD_MANAGER, timeout=httpx2.Timeout(timeout))

    def group(self, namespace: str, name: str) -> Obj:
        return as_dict(self.client.get(RoleBasedGroup, name, namespace=namespace))

    def revisions(self, namespace: str, group: str) -> list[Obj]:
        from lightkube.resources.apps_v1 import ControllerRevision

        labels: dict[str, Any] = {c.LABEL_GROUP_NAME: group, c.LABEL_REVISION_HASH: exists()}
        return [as_dict(o) for o in self.client.list(ControllerRevision, namespace=namespace, labels=labels)]

    def workloads(self, namespace: str, group: str) -> list[Obj]:
        from lightkube.resources.apps_v1 import Deployment, StatefulSet

        out = []
        for kind in (StatefulSet, Deployment):
            for obj in self.client.list(kind, namespace=namespace, labels={c.LABEL_GROUP_NAME: group}):
                out.append({"kind": kind.__name__, **as_dict(obj)})
        return out

    def pods(self, namespace: str, group: str) -> list[Obj]:
        from lightkube.resources.core_v1 import Pod

        return [as_dict(o) for o in self.client.list(Pod, namespace=namespace, labels={c.LABEL_GROUP_NAME: group})]

    def patch_group(self, namespace: str, name: str, patch: Obj) -> Obj:
        """A JSON merge patch of the group."""
        return as_dict(self.client.patch(RoleBasedGroup, name, patch, namespace=namespace, patch_type=PatchType.MERGE))
