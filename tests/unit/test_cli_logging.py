"""The `rbg` command's stderr: the HTTP client's log (httpx2's INFO line per request, under
lightkube) only with -v/--verbose, the command's own messages always."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


class _NotFound(BaseHTTPRequestHandler):
    """An API server that has nothing: every GET is a Kubernetes 404 Status."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
                           "message": "not found"}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u", "namespace": "ns"}}],
        "current-context": "fake",
    }))
    yield path
    server.shutdown()
    server.server_close()


def _rbg(*args: str) -> subprocess.CompletedProcess[str]:
    """`rbg` in a process of its own: the logging set up by main(), not pytest's."""
    return subprocess.run([sys.executable, "-m", "rbgcli", *args], capture_output=True, text=True, cwd=ROOT, check=False)


NOT_FOUND = "rbg: RoleBasedGroup ns/g not found\n"


def test_no_http_log_without_verbose(kubeconfig):
    out = _rbg("status", "g", "--kubeconfig", str(kubeconfig))
    assert (out.returncode, out.stdout, out.stderr) == (1, "", NOT_FOUND)


@pytest.mark.parametrize("argv", [
    ["-v", "status", "g"], ["--verbose", "status", "g"], ["status", "-v", "g"],
    ["-v", "rollout", "history", "g"], ["rollout", "history", "g", "--verbose"],
], ids=" ".join)
def test_verbose_shows_the_http_requests(kubeconfig, argv):
    out = _rbg(*argv, "--kubeconfig", str(kubeconfig))
    assert out.returncode == 1 and out.stdout == ""
    *requests, said = out.stderr.splitlines(keepends=True)
    assert said == NOT_FOUND
    assert requests == [
        f"HTTP Request: GET http://127.0.0.1:{kubeconfig_port(kubeconfig)}"
        '/apis/workloads.x-k8s.io/v1alpha2/namespaces/ns/rolebasedgroups/g "HTTP/1.0 404 Not Found"\n'
    ]


def kubeconfig_port(path: Path) -> int:
    return int(yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"].rsplit(":", 1)[1])


def test_the_flag_is_in_the_help():
    out = _rbg("--help")
    assert "-v, --verbose" in out.stdout
