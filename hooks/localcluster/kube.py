"""A tiny Kubernetes REST client on `requests`: enough for the local cluster and the e2e tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
import urllib3
import yaml

T = TypeVar("T")
Obj = dict[str, Any]
Objs = list[Obj]  # spelled out here: `Kube.list` shadows `list` inside the class

# Built-in kinds: (apiVersion, kind) -> (resource, namespaced). Anything else is discovered.
_BUILTIN: dict[tuple[str, str], tuple[str, bool]] = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "Node"): ("nodes", False),
    ("v1", "Pod"): ("pods", True),
    ("v1", "Service"): ("services", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "Event"): ("events", True),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "ReplicaSet"): ("replicasets", True),
    ("apps/v1", "ControllerRevision"): ("controllerrevisions", True),
    ("coordination.k8s.io/v1", "Lease"): ("leases", True),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): ("customresourcedefinitions", False),
}


class ApiError(Exception):
    """A non-2xx answer; `status` is the parsed Kubernetes Status (or a stand-in built from the body)."""

    def __init__(self, method: str, path: str, code: int, status: Obj) -> None:
        self.code = code
        self.status = status
        self.reason: str = status.get("reason", "")
        self.message: str = status.get("message", "")
        super().__init__(f"{method} {path}: {code} {self.reason}: {self.message}")


@dataclass(frozen=True)
class KubeConfig:
    server: str
    token: str
    ca_file: str | None  # None: skip TLS verification

    @classmethod
    def load(cls, path: str | Path) -> KubeConfig:
        """The current context of a kubeconfig that uses a bearer token (what LocalCluster writes)."""
        cfg = yaml.safe_load(Path(path).read_text())
        ctx = _named(cfg["contexts"], cfg["current-context"])["context"]
        cluster = _named(cfg["clusters"], ctx["cluster"])["cluster"]
        user = _named(cfg["users"], ctx["user"])["user"]
        insecure = cluster.get("insecure-skip-tls-verify", False)
        return cls(cluster["server"], user["token"], None if insecure else cluster["certificate-authority"])


def _named(items: list[Obj], name: str) -> Obj:
    return next(item for item in items if item["name"] == name)


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


class Kube:
    def __init__(self, kubeconfig: str | Path | KubeConfig, field_manager: str = "rbg", timeout: float = 30) -> None:
        self.config = kubeconfig if isinstance(kubeconfig, KubeConfig) else KubeConfig.load(kubeconfig)
        self.field_manager = field_manager
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides `verify`, and proxies apply
        self.session.headers["Authorization"] = f"Bearer {self.config.token}"
        self.session.verify = self.config.ca_file or False
        if self.config.ca_file is None:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._resources = dict(_BUILTIN)

    # --- plumbing -------------------------------------------------------------------------------
    def request(
        self, method: str, path: str, body: Obj | None = None, content_type: str = "application/json", **params: Any
    ) -> Obj:
        resp = self.session.request(
            method,
            self.config.server + path,
            params={k: v for k, v in params.items() if v is not None},
            data=None if body is None else json.dumps(body),
            headers={"Content-Type": content_type},
            timeout=self.timeout,
        )
        payload: Obj
        try:
            payload = resp.json()
        except ValueError:
            payload = {"message": resp.text.strip()}
        if not resp.ok:
            status = payload if payload.get("kind") == "Status" else {"reason": resp.reason, **payload}
            raise ApiError(method, path, resp.status_code, status)
        return payload

    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of a kind, from the built-in map or the API server's discovery."""
        key = (api_version, kind)
        if key not in self._resources:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            for res in self.request("GET", base)["resources"]:
                if "/" not in res["name"]:
                    self._resources[(api_version, res["kind"])] = (res["name"], res["namespaced"])
        if key not in self._resources:
            raise ApiError("GET", f"/apis/{api_version}", 404, {"reason": "NotFound", "message": f"no kind {kind}"})
        return self._resources[key]

    def path(
        self, api_version: str, kind: str, name: str | None = None, namespace: str | None = "default", sub: str = ""
    ) -> str:
        """REST path; `namespace=None` on a namespaced kind means all namespaces (lists only)."""
        plural, namespaced = self.resource(api_version, kind)
        parts = ["/api/v1" if api_version == "v1" else f"/apis/{api_version}"]
        if namespaced and namespace:
            parts += ["namespaces", namespace]
        parts += [plural] + ([name] if name else []) + ([sub] if sub else [])
        return "/".join(parts)

    def _obj_path(self, obj: Obj, with_name: bool = True) -> str:
        meta = obj.get("metadata") or {}
        name = meta["name"] if with_name else None
        return self.path(obj["apiVersion"], obj["kind"], name, meta.get("namespace") or "default")

    # --- verbs ----------------------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str = "default") -> Obj:
        return self.request("GET", self.path(api_version, kind, name, namespace))

    def list(
        self, api_version: str, kind: str, namespace: str | None = "default", label_selector: str | None = None
    ) -> Objs:
        path = self.path(api_version, kind, None, namespace)
        items: Objs = self.request("GET", path, labelSelector=label_selector)["items"]
        return items

    def create(self, obj: Obj) -> Obj:
        return self.request("POST", self._obj_path(obj, with_name=False), obj, fieldManager=self.field_manager)

    def delete(
        self, api_version: str, kind: str, name: str, namespace: str = "default", propagation: str = "Background"
    ) -> Obj:
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        return self.request("DELETE", self.path(api_version, kind, name, namespace), body)

    def apply(self, obj: Obj, force: bool = True, dry_run: bool = False) -> Obj:
        """Server-side apply (creates or updates; JSON is valid apply-patch YAML); unknown fields are errors."""
        path = self._obj_path(obj)
        return self.request(
            "PATCH",
            path,
            obj,
            "application/apply-patch+yaml",
            fieldManager=self.field_manager,
            force=force,
            fieldValidation="Strict",
            dryRun="All" if dry_run else None,
        )

    def patch_status(self, api_version: str, kind: str, name: str, patch: Obj, namespace: str = "default") -> Obj:
        """JSON merge patch of the /status subresource."""
        path = self.path(api_version, kind, name, namespace, sub="status")
        return self.request("PATCH", path, patch, "application/merge-patch+json", fieldManager=self.field_manager)

    def apply_manifests(self, paths_or_docs: Iterable[str | Path | Obj], namespace: str | None = None) -> Objs:
        """Server-side apply every object of the given YAML files / dicts, in order; `namespace`
        fills in objects that have none (cluster-scoped kinds ignore it)."""
        applied = []
        for doc in load_documents(paths_or_docs):
            if namespace and not doc.get("metadata", {}).get("namespace"):
                doc = {**doc, "metadata": {**doc.get("metadata", {}), "namespace": namespace}}
            applied.append(self.apply(doc))
        return applied


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
        except (ApiError, requests.RequestException) as e:
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}; last seen: {last}")
        time.sleep(interval)


def condition(obj: Obj, type_: str) -> Obj | None:
    """The status condition of the given type, if present."""
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == type_), None)


def has_condition(obj: Obj, type_: str, status: str = "True") -> bool:
    cond = condition(obj, type_)
    return cond is not None and cond.get("status") == status
