"""The conversion webhook's serving side on the local cluster: the hooks-tls server under a
certificate of the cluster's own CA, and CRDs that convert with the hooks installed calling it by
URL. The API server really calls it over TLS (the route's answers are tested elsewhere).

And the in-cluster certificate: overlays/cert-manager as kustomize builds it, and the commands of
docs/installation.md "Without cert-manager" run as written (kubectl's writes as server dry runs).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess

import pytest
import requests
import yaml
from lightkube import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Namespace

from localcluster.cluster import CONVERSION_SERVICE, LocalCluster, third_party_crds
from rbgclient.kube import FIELD_MANAGER, apply_manifests, as_dict
from tests.support import ROOT

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


# --- in a cluster: overlays/cert-manager --------------------------------------------------------

CONVERTING = {f"{plural}.workloads.x-k8s.io" for plural in
              ("rolebasedgroups", "rolebasedgroupsets", "rolebasedgroupscalingadapters", "clusterengineruntimeprofiles")}
INJECT = {"cert-manager.io/inject-ca-from": "rbg-system/rbg-hooks-serving"}
CERT_MANAGER_KINDS = {"Issuer", "Certificate"}


def _built(cluster: LocalCluster, path) -> list[dict]:
    built = cluster.kubectl("kustomize", str(path))
    assert built.returncode == 0, built.stderr
    return [d for d in yaml.safe_load_all(built.stdout) if d]


def _cert_manager_crds() -> list:
    """cert-manager's CRDs among the shared third-party ones (none there today)."""
    return sorted(p for p in third_party_crds().glob("cert-manager.io_*.yaml") if p.name.endswith(("_certificates.yaml", "_issuers.yaml")))


def _rbg_system(cluster: LocalCluster) -> None:
    """The namespace, really: a server-side dry run of namespaced objects needs it to exist."""
    try:
        cluster.kube.create(Namespace(metadata=ObjectMeta(name="rbg-system")))
    except ApiError as e:
        assert e.status.code == 409, e


def test_the_cert_manager_overlay_is_the_install_plus_certificates_and_ca_injection(cluster: LocalCluster):
    base = _built(cluster, ROOT / "metacontroller")
    docs = _built(cluster, ROOT / "overlays" / "cert-manager")
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    added = [d for d in docs if key(d) not in {key(b) for b in base}]
    assert sorted(map(key, added)) == [("Certificate", "rbg-hooks-ca"), ("Certificate", "rbg-hooks-serving"),
                                       ("Issuer", "rbg-hooks-ca"), ("Issuer", "rbg-selfsigned")]
    by_key = {key(d): d for d in docs}
    changed = {key(b) for b in base if by_key[key(b)] != b}
    assert changed == {("CustomResourceDefinition", name) for name in CONVERTING}
    for kind, name in changed:
        crd, original = by_key[(kind, name)], next(b for b in base if key(b) == (kind, name))
        assert crd["metadata"]["annotations"] == INJECT  # the annotation and nothing else
        assert {**crd, "metadata": {k: v for k, v in crd["metadata"].items() if k != "annotations"}} == original
    # The injector fills the caBundle of the conversion webhook: each annotated CRD that has one.
    serving = by_key[("Certificate", "rbg-hooks-serving")]
    assert f"{serving['metadata']['namespace']}/{serving['metadata']['name']}" == INJECT["cert-manager.io/inject-ca-from"]
    # Its Secret is mounted by the conversion webhook's pods alone, for the Service the CRDs call.
    secrets = {
        name: [v["secret"]["secretName"] for v in by_key[("Deployment", name)]["spec"]["template"]["spec"]["volumes"] if "secret" in v]
        for name in ("rbg-hooks", "rbg-convert")
    }
    assert secrets == {"rbg-hooks": [], "rbg-convert": [serving["spec"]["secretName"]]}
    assert by_key[("Service", CONVERSION_SERVICE["name"])]["metadata"]["namespace"] == CONVERSION_SERVICE["namespace"]
    assert serving["spec"]["dnsNames"][0] == "{name}.{namespace}.svc".format(**CONVERSION_SERVICE)


def test_the_cert_manager_overlay_but_cert_managers_objects_passes_a_server_side_dry_run(cluster: LocalCluster):
    """Every object of overlays/cert-manager but its Issuers and Certificates (whose CRDs need not be
    here), as a server-side dry run: the annotated CRDs and the Deployments rbg-hooks and rbg-convert."""
    cluster.install_crds([third_party_crds() / "metacontroller.k8s.io_crds-v1.yaml"])
    _rbg_system(cluster)
    docs = [d for d in _built(cluster, ROOT / "overlays" / "cert-manager") if d["kind"] not in CERT_MANAGER_KINDS]
    for doc in docs:
        apply_manifests(cluster.kube, [doc], dry_run=True)
    assert {d["kind"] for d in docs} >= {"CustomResourceDefinition", "Deployment", "Service"}
    assert {d["metadata"]["name"] for d in docs if d["kind"] in ("Deployment", "Service")} == {"rbg-hooks", "rbg-convert"}


def test_the_cert_manager_overlay_passes_a_server_side_dry_run_with_cert_managers_crds(cluster: LocalCluster):
    """`kubectl apply --server-side --dry-run=server -k overlays/cert-manager`, cert-manager's CRDs
    installed from the shared third-party CRDs (never copied into this repository)."""
    cert_manager = _cert_manager_crds()
    if not cert_manager:
        pytest.skip(f"no cert-manager CRDs (cert-manager.io_certificates.yaml, cert-manager.io_issuers.yaml) in {third_party_crds()}")
    cluster.install_crds([third_party_crds() / "metacontroller.k8s.io_crds-v1.yaml", *cert_manager])
    _rbg_system(cluster)
    done = cluster.kubectl("apply", "--server-side", "--force-conflicts", "--dry-run=server", "-k",
                           str(ROOT / "overlays" / "cert-manager"))
    assert done.returncode == 0, done.stderr


# --- without cert-manager: the commands of docs/installation.md -------------------------------------


def _docs_blocks() -> list[str]:
    """The two bash blocks of docs/installation.md's "Without cert-manager"."""
    text = (ROOT / "docs" / "installation.md").read_text()
    section = text.split("### Without cert-manager", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert len(blocks) == 2, blocks
    return blocks


def _json_objects(text: str) -> list[dict]:
    decoder, objs, i = json.JSONDecoder(), [], 0
    while (i := text.find("{", i)) >= 0:
        obj, i = decoder.raw_decode(text, i)
        objs.append(obj)
    return objs


def test_the_docs_commands_without_cert_manager_make_a_certificate_and_a_ca_bundle_the_api_server_takes(
    cluster: LocalCluster, tmp_path
):
    make_certs, install = _docs_blocks()
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "metacontroller").symlink_to(ROOT / "metacontroller")
    (tmp_path / "crds").symlink_to(ROOT / "crds")  # metacontroller/'s ../crds
    made = subprocess.run(["bash", "-euo", "pipefail", "-c", make_certs], cwd=repo, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert "tls.crt: OK" in made.stdout
    certs = tmp_path / "rbg-hooks-tls"
    for name in ("rbg-convert.rbg-system.svc", "rbg-convert.rbg-system.svc.cluster.local"):
        verified = subprocess.run(["openssl", "verify", "-CAfile", "ca.crt", "-verify_hostname", name, "tls.crt"],
                                  cwd=certs, capture_output=True, text=True)
        assert verified.returncode == 0, verified.stderr

    installed = {name: as_dict(cluster.kube.get(CustomResourceDefinition, name)) for name in CONVERTING}
    if not any((d["spec"].get("conversion") or {}).get("webhook") for d in installed.values()):
        pytest.skip("crds/ has no conversion webhook yet: the API server refuses a caBundle without one")
    cluster.install_crds([third_party_crds() / "metacontroller.k8s.io_crds-v1.yaml"])
    _rbg_system(cluster)
    # The block as written, each kubectl write a server-side dry run whose result is printed. The
    # apply as the manager that installed the CRDs here: its `service` then replaces the local
    # cluster's `url`, as on a cluster installed from metacontroller/ (two managers would leave both).
    out = tmp_path / "kubectl.json"
    wrapper = (
        f'kubectl() {{ local force=""; [ "$1" = apply ] && force="--force-conflicts --field-manager={FIELD_MANAGER}"\n'
        f'  {cluster.bin_dir / "kubectl"} --kubeconfig={cluster.kubeconfig} "$@" $force --dry-run=server -o json >> {out}; }}\n'
    )
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", wrapper + install], cwd=repo, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    objs = _json_objects(out.read_text())
    applied, secret, *patched = objs
    assert applied["kind"] == "List" and {i["kind"] for i in applied["items"]} >= {"Deployment", "CustomResourceDefinition"}
    assert (secret["kind"], secret["metadata"]["name"], secret["type"]) == ("Secret", "rbg-hooks-tls", "kubernetes.io/tls")
    assert base64.b64decode(secret["data"]["tls.crt"]) == (certs / "tls.crt").read_bytes()
    ca_bundle = base64.b64encode((certs / "ca.crt").read_bytes()).decode()
    assert {p["metadata"]["name"] for p in patched} == CONVERTING
    for crd in patched:  # the API server parsed the CA (it refuses a caBundle that is not PEM)
        assert crd["spec"]["conversion"]["webhook"]["clientConfig"]["caBundle"] == ca_bundle
