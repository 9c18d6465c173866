"""`python -m hooks.server --certfile --keyfile` (and `rbg serve`'s): the same hook server over
HTTPS, for the API server's conversion webhook; and the local cluster's certificates and CRD
rewrite for it."""

from __future__ import annotations

import base64
import contextlib
import copy
import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest
import requests

from hooks import server
from localcluster.cluster import _ca_signed_cert, with_conversion_url
from tests.support import ROOT


@pytest.fixture
def served(monkeypatch):
    """main()'s calls of serve(), instead of serving."""
    calls = []
    monkeypatch.setattr(server, "serve", lambda **kw: calls.append(kw))
    monkeypatch.setattr(server.logging, "basicConfig", lambda **kw: None)
    return calls


@pytest.fixture
def pem(tmp_path):
    """A certificate and key file (their content is not read by main)."""
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_text("cert")
    key.write_text("key")
    return str(cert), str(key)


def test_without_certificate_options_it_serves_http(served):
    server.main(["--bind", "0.0.0.0:8080", "--workers", "3"])
    assert served == [{"bind": "0.0.0.0:8080", "workers": 3, "certfile": None, "keyfile": None}]


def test_with_both_options_it_serves_https(served, pem):
    cert, key = pem
    server.main(["--bind", "0.0.0.0:9443", "--workers", "2", "--certfile", cert, "--keyfile", key])
    assert served == [{"bind": "0.0.0.0:9443", "workers": 2, "certfile": cert, "keyfile": key}]


@pytest.mark.parametrize("given", ["--certfile", "--keyfile"])
def test_one_option_without_the_other_is_refused(served, pem, capsys, given):
    with pytest.raises(SystemExit) as exit_:
        server.main([given, pem[0]])
    assert exit_.value.code == 2 and served == []
    assert "--certfile and --keyfile go together" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["--certfile", "--keyfile"])
def test_a_missing_or_unreadable_file_is_refused_before_serving(served, pem, tmp_path, capsys, missing):
    files = {"--certfile": pem[0], "--keyfile": pem[1], missing: str(tmp_path / "absent.pem")}
    with pytest.raises(SystemExit) as exit_:
        server.main([arg for flag, file in files.items() for arg in (flag, file)])
    assert exit_.value.code == 2 and served == []
    assert f"{missing} {tmp_path / 'absent.pem'}: no such readable file" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a directory is not a certificate either
        server.main(["--certfile", str(tmp_path), "--keyfile", pem[1]])


def test_rbg_serve_takes_the_same_options(served, pem, tmp_path, capsys):
    """`rbg serve --certfile --keyfile`: HTTPS as the image's entry point serves it; refused alike."""
    from rbgcli.main import main as rbg

    cert, key = pem
    assert rbg(["serve", "--bind", "127.0.0.1:9443", "--workers", "2", "--certfile", cert, "--keyfile", key]) == 0
    assert rbg(["serve"]) == 0
    assert served == [
        {"bind": "127.0.0.1:9443", "workers": 2, "certfile": cert, "keyfile": key},
        {"bind": "127.0.0.1:8080", "workers": 4, "certfile": None, "keyfile": None},
    ]
    for argv, message in (
        (["--certfile", cert], "--certfile and --keyfile go together"),
        (["--certfile", cert, "--keyfile", str(tmp_path / "absent.pem")], f"--keyfile {tmp_path / 'absent.pem'}: no such readable file"),
    ):
        with pytest.raises(SystemExit) as exit_:
            rbg(["serve", *argv])
        assert isinstance(exit_.value.code, str) and message in exit_.value.code  # exit status 1
    assert len(served) == 2


def test_serve_hands_the_certificate_to_gunicorn(monkeypatch, tmp_path, pem):
    options = []

    class Captured:
        def __init__(self, opts):
            options.append(opts)

        def run(self):
            pass

    monkeypatch.setattr(server, "_Server", Captured)
    monkeypatch.setenv(server.MULTIPROC_ENV, str(tmp_path / "metrics"))
    server.serve("127.0.0.1:9443", 2, certfile=pem[0], keyfile=pem[1])
    server.serve("127.0.0.1:8080", 2)
    assert (options[0]["certfile"], options[0]["keyfile"]) == pem
    assert "certfile" not in options[1] and "keyfile" not in options[1]
    with pytest.raises(ValueError, match="go together"):
        server.serve("127.0.0.1:9443", 2, certfile=pem[0])


# --- the real server, under the local cluster's certificates -------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serving_tls(tmp_path, certs):
    """`python -m hooks.server --certfile --keyfile`, until it answers /healthz over TLS."""
    url = f"https://127.0.0.1:{_free_port()}"
    log_path = tmp_path / "server.log"
    argv = [sys.executable, "-m", "hooks.server", "--bind", url.removeprefix("https://"), "--workers", "1",
            "--certfile", str(certs / "tls.crt"), "--keyfile", str(certs / "tls.key")]
    env = {**{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}, "PYTHONPATH": str(ROOT)}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{url}/healthz", verify=str(certs / "ca.crt"), timeout=1).ok:
                    break
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # any worker left behind


def test_the_server_answers_over_https_under_a_ca_signed_certificate_and_picks_up_a_renewed_one(tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    ca_pem = _ca_signed_cert(certs, "127.0.0.1")
    assert ca_pem == (certs / "ca.crt").read_bytes() and ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    renewed = tmp_path / "renewed"  # another CA and its certificate
    renewed.mkdir()
    _ca_signed_cert(renewed, "127.0.0.1")
    with _serving_tls(tmp_path, certs) as url:
        # Verified against the CA alone, for the IP address (Go's API server checks the same).
        assert requests.get(f"{url}/healthz", verify=str(certs / "ca.crt"), timeout=5).ok
        with pytest.raises(requests.exceptions.SSLError):  # another CA does not vouch for it
            requests.get(f"{url}/healthz", verify=str(renewed / "ca.crt"), timeout=5)
        with pytest.raises(requests.ConnectionError):  # no plain HTTP on the TLS port
            requests.get(url.replace("https://", "http://") + "/healthz", timeout=5)

        # cert-manager renews the Secret in place: the next connection gets the new certificate.
        for name in ("tls.crt", "tls.key"):
            (certs / name).write_bytes((renewed / name).read_bytes())
        served = ssl.get_server_certificate(("127.0.0.1", int(url.rsplit(":", 1)[1])))
        assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert((renewed / "tls.crt").read_text())
        assert requests.get(f"{url}/healthz", verify=str(renewed / "ca.crt"), timeout=5).ok


def test_https_connections_are_kept_alive(tmp_path):
    """The API server keeps its connections to the conversion webhook: one TLS handshake serves
    many conversions (a sync worker would close each connection after one request)."""
    certs = tmp_path / "certs"
    certs.mkdir()
    _ca_signed_cert(certs, "127.0.0.1")
    with _serving_tls(tmp_path, certs) as url:
        conn = http.client.HTTPSConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), context=ssl.create_default_context(cafile=str(certs / "ca.crt")))
        try:
            for _ in range(3):
                conn.request("GET", "/healthz")
                answer = conn.getresponse()
                answer.read()
                assert answer.status == 200 and not answer.will_close, answer.getheaders()
            assert conn.sock is not None  # the same connection throughout
        finally:
            conn.close()


# --- the local cluster's CRDs: conversion by URL ---------------------------------------------------

SERVICE = {"namespace": "rbg-system", "name": "rbg-convert", "path": "/convert", "port": 443}


def _crd(conversion=None):
    spec = {
        "group": "workloads.x-k8s.io",
        "names": {"plural": "things", "kind": "Thing"},
        "scope": "Namespaced",
        "versions": [{"name": "v1alpha1", "served": True, "storage": False}, {"name": "v1alpha2", "served": True, "storage": True}],
    }
    if conversion is not None:
        spec["conversion"] = conversion
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "things.workloads.x-k8s.io"}, "spec": spec}


def test_with_conversion_url_calls_the_url_and_trusts_the_ca():
    crd = _crd({"strategy": "Webhook", "webhook": {"conversionReviewVersions": ["v1"], "clientConfig": {"service": SERVICE}}})
    before = copy.deepcopy(crd)
    got = with_conversion_url(crd, "https://127.0.0.1:4443/convert", b"-----BEGIN CERTIFICATE-----\nCA\n")
    assert crd == before  # not changed in place
    assert got["spec"]["conversion"] == {
        "strategy": "Webhook",
        "webhook": {
            "conversionReviewVersions": ["v1"],
            "clientConfig": {
                "url": "https://127.0.0.1:4443/convert",
                "caBundle": base64.b64encode(b"-----BEGIN CERTIFICATE-----\nCA\n").decode(),
            },
        },
    }
    assert {k: v for k, v in got["spec"].items() if k != "conversion"} == {k: v for k, v in crd["spec"].items() if k != "conversion"}


@pytest.mark.parametrize("conversion", [None, {"strategy": "None"}], ids=["no-conversion", "strategy-none"])
def test_with_conversion_url_leaves_a_crd_without_a_conversion_webhook_alone(conversion):
    crd = _crd(conversion)
    assert with_conversion_url(crd, "https://127.0.0.1:4443/convert", b"CA") == _crd(conversion)


def test_every_crd_of_crds_installs_unchanged_until_one_has_a_conversion_webhook():
    """Today no CRD of crds/ converts: the rewrite is a no-op on every one; once one does, its
    webhook calls the hook Service, which is what install_crds rewrites."""
    from localcluster.cluster import CONVERSION_SERVICE, _conversion_service, rbg_crds
    from rbgclient.kube import load_documents

    for crd in load_documents(rbg_crds()):
        service = _conversion_service(crd)
        if service is None:
            assert with_conversion_url(crd, "https://127.0.0.1:1/convert", b"CA") is crd
        else:
            assert {k: service[k] for k in CONVERSION_SERVICE} == CONVERSION_SERVICE and service["path"] == "/convert"
