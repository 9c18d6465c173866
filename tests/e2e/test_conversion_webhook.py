"""The conversion webhook's serving side on the local cluster: the hooks-tls server under a
certificate of the cluster's own CA, and CRDs that convert with the hooks installed calling it by
URL. The API server really calls it over TLS (the route's answers are tested elsewhere)."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from lightkube import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from localcluster.cluster import CONVERSION_SERVICE, LocalCluster
from rbgclient.kube import as_dict

GROUP = "conversion-test.rbg.example"
CRD_NAME = f"things.{GROUP}"
SCHEMA = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}


def test_hooks_tls_serves_https_under_the_clusters_ca_and_is_saved_for_rbg_down(cluster: LocalCluster):
    assert cluster.components["hooks-tls"].live() is not None
    ca = cluster.conversion_dir / "ca.crt"
    assert requests.get(f"{cluster.conversion_url}/healthz", verify=str(ca), timeout=5).ok
    state = json.loads((cluster.state_dir / "cluster.json").read_text())
    assert state["conversion_url"] == cluster.conversion_url
    assert state["components"]["hooks-tls"]["pid"] == cluster.components["hooks-tls"].live().pid


def test_installed_crds_of_ours_call_the_conversion_webhook_by_url(cluster: LocalCluster, tmp_path, ns):
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "names": {"plural": "things", "singular": "thing", "kind": "Thing", "listKind": "ThingList"},
            "scope": "Namespaced",
            "versions": [
                {"name": "v1alpha1", "served": True, "storage": False, "schema": SCHEMA},
                {"name": "v1alpha2", "served": True, "storage": True, "schema": SCHEMA},
            ],
            # As rbgcli/crdgen writes it for the CRDs with two versions.
            "conversion": {
                "strategy": "Webhook",
                "webhook": {
                    "conversionReviewVersions": ["v1"],
                    "clientConfig": {"service": {**CONVERSION_SERVICE, "path": "/convert", "port": 443}},
                },
            },
        },
    }
    path = tmp_path / "crd.yaml"
    path.write_text(json.dumps(crd))
    cluster.install_crds([path])
    try:
        stored = as_dict(cluster.kube.get(CustomResourceDefinition, CRD_NAME))
        client_config = stored["spec"]["conversion"]["webhook"]["clientConfig"]
        assert client_config == {
            "url": f"{cluster.conversion_url}/convert",
            "caBundle": base64.b64encode((cluster.conversion_dir / "ca.crt").read_bytes()).decode(),
        }
        # Created as v1alpha2 (stored as is), read as v1alpha1: the API server calls the webhook.
        v2 = create_namespaced_resource(GROUP, "v1alpha2", "Thing", "things")
        v1 = create_namespaced_resource(GROUP, "v1alpha1", "Thing", "things")
        cluster.kube.create(v2(metadata={"name": "t", "namespace": ns}, spec={"a": 1}))
        try:
            got = as_dict(cluster.kube.get(v1, "t", namespace=ns))
            assert got["apiVersion"] == f"{GROUP}/v1alpha1"  # /convert answered this kind
        except ApiError as e:
            # /convert refused a kind it does not know, or is not there yet: the API server reached
            # it over TLS and trusted its certificate, which is what this test is about.
            message = e.status.message or ""
            assert "conversion webhook" in message, message
            for broken in ("x509", "certificate", "tls:", "connection refused", "no such host"):
                assert broken not in message, message
    finally:
        cluster.kube.delete(CustomResourceDefinition, CRD_NAME)


@pytest.mark.parametrize("name", ["rolebasedgroups.workloads.x-k8s.io", "rolebasedgroupsets.workloads.x-k8s.io"])
def test_our_crds_convert_by_url_once_they_have_a_conversion_webhook(cluster: LocalCluster, name):
    """Until crds/ has the conversion stanza: installed without one. After: calling hooks-tls."""
    conversion = as_dict(cluster.kube.get(CustomResourceDefinition, name))["spec"].get("conversion") or {}
    if conversion.get("strategy") == "Webhook":
        assert conversion["webhook"]["clientConfig"]["url"] == f"{cluster.conversion_url}/convert"
    else:
        assert "webhook" not in conversion
