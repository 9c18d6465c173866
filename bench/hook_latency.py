"""Latency of the sync hook, in process and over HTTP under gunicorn, next to the JSON floor.

    python bench/hook_latency.py [--iterations 2000]

For groups of 1, 4 and 16 roles in steady state (every child observed and ready), prints
p50 / p99 in microseconds of:
  floor    json.loads(request) + json.dumps(response): the least any hook must do;
  core     json.loads + request validation + sync + json.dumps, in this process;
  http     a POST to `rbg serve` (gunicorn, 2 workers) over loopback, one at a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hooks.api import SyncRequest  # noqa: E402
from hooks.app import dumps  # noqa: E402
from hooks.conversion.v1alpha1 import to_hub  # noqa: E402
from hooks.core import rbg  # noqa: E402
from hooks.server import tune_gc  # noqa: E402
from tests.support import observe, parent, request  # noqa: E402


def group(n: int) -> dict:
    roles = []
    for i in range(n):
        roles.append(
            {
                "name": f"role{i}",
                "replicas": 4,
                "dependencies": [f"role{i - 1}"] if i else [],
                "servicePorts": [{"name": "http", "port": 8000}],
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "server",
                                "image": "lmsysorg/sglang:v0.5.3",
                                "command": ["python3", "-m", "sglang.launch_server", "--port", "8000"],
                                "env": [{"name": "MODEL", "value": "/models/m"}],
                                "ports": [{"containerPort": 8000}],
                                "resources": {"limits": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "1"}},
                            }
                        ]
                    }
                },
            }
        )
    return parent({"apiVersion": "workloads.x-k8s.io/v1alpha1", "kind": "RoleBasedGroup",
                   "metadata": {"name": "bench"}, "spec": {"roles": roles, "startupPolicy": "Parallel"}})


def steady_request(n: int) -> bytes:
    """The group as Metacontroller sends it: v1alpha2 (written as v1alpha1, converted), every child observed."""
    p = to_hub(group(n))
    first = rbg.sync(SyncRequest.model_validate(request(p)))
    p["status"] = first.status
    return json.dumps(request(p, observe(first.children))).encode()


def in_process(body: bytes) -> bytes:
    return dumps(rbg.sync(SyncRequest.model_validate(json.loads(body))).response()).encode()


def percentiles(samples: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49] * 1e6, q[98] * 1e6


def timed(fn, iterations: int) -> list[float]:
    for _ in range(min(100, iterations)):
        fn()
    out = []
    for _ in range(iterations):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def hook_server(workers: int = 4) -> Iterator[str]:
    """`rbg serve` on a free loopback port, answering /healthz; yields its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "hooks.server", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/healthz", timeout=1)
                break
            except requests.RequestException:  # not listening yet, or slow to answer on a busy machine
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=2000)
    args = ap.parse_args()
    tune_gc()  # as the hook server's workers do, for the floor and the core alike
    session = requests.Session()
    with hook_server() as base:
        url = f"{base}/sync"
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.iterations} iterations; microseconds")
        print(f"{'roles':>5} {'request':>9} | {'floor p50':>9} {'p99':>7} | {'core p50':>9} {'p99':>7} {'x floor':>7} | {'http p50':>9} {'p99':>7}")
        for n in (1, 4, 16):
            body = steady_request(n)
            response = in_process(body)
            resp_obj = json.loads(response)
            floor = percentiles(timed(lambda: (json.loads(body), json.dumps(resp_obj)), args.iterations))
            core = percentiles(timed(lambda: in_process(body), args.iterations))
            headers = {"Content-Type": "application/json"}
            http = percentiles(timed(lambda: session.post(url, data=body, headers=headers).content, args.iterations))
            print(
                f"{n:>5} {len(body):>8}B | {floor[0]:>9.0f} {floor[1]:>7.0f} | {core[0]:>9.0f} {core[1]:>7.0f} "
                f"{core[1] / floor[1]:>6.1f}x | {http[0]:>9.0f} {http[1]:>7.0f}"
            )


if __name__ == "__main__":
    main()
