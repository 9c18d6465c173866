"""Isolation: the sync latency of a normal group, alone and while pathological groups are synced.

    python bench/hostile.py [--iterations 1000] [--clients 2]

Starts `rbg serve` (gunicorn) on a free port and times POSTs of a normal 4-role group
in steady state (as in bench/hook_latency.py), one at a time: first alone, then while
`--clients` client processes keep sending, back to back, the pathological requests below. Prints p50 /
p99 in microseconds of both runs and their ratio, and what each pathological request took.

  int32      the 4-role group with 2147483647 replicas in every role (and observed so)
  32 roles   32 roles of 2147483647 replicas, every child observed
  16 MiB     the largest body the server takes: 32 roles with big pod templates, every child observed
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import multiprocessing
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from hook_latency import group, hook_server, percentiles, steady_request  # noqa: E402

from hooks import constants as c  # noqa: E402
from hooks.app import MAX_REQUEST_BYTES  # noqa: E402
from tests.support import observe, request, sync  # noqa: E402


def steady(p: dict) -> bytes:
    """The request once every child the group asks for is observed, all ready."""
    first = sync(request(p))
    p["status"] = first.status
    return json.dumps(request(p, observe(first.children))).encode()


def int32_group(n: int) -> dict:
    p = group(n)
    for role in p["spec"]["roles"]:
        role["replicas"] = c.INT32_MAX
    return p


def largest() -> bytes:
    """32 roles whose env makes the steady-state request as large as the server takes."""

    def sized(count: int) -> bytes:
        p = int32_group(32)
        for role in p["spec"]["roles"]:
            role["template"]["spec"]["containers"][0]["env"] = [{"name": f"VAR_{i:05d}", "value": "x" * 100} for i in range(count)]
        return steady(p)

    one, two = len(sized(1)), len(sized(2))
    body = sized(1 + (MAX_REQUEST_BYTES - one) // (two - one))
    assert len(body) <= MAX_REQUEST_BYTES
    return body


def post(session: requests.Session, url: str, body: bytes) -> float:
    t = time.perf_counter()
    got = session.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert got.status_code == 200, got.text[:200]
    return time.perf_counter() - t


def pathological(url: str, hostile: dict[str, bytes], stop: Any, results: Any) -> None:
    """A client process (so that its work does not slow the timing process): sends until stopped."""
    session, took = requests.Session(), {name: [] for name in hostile}
    while not stop.is_set():
        for name, body in hostile.items():
            took[name].append(post(session, url, body))
    results.put(took)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=2, help="processes sending pathological requests")
    ap.add_argument("--workers", type=int, default=4, help="rbg serve --workers (default 4, as rbg serve)")
    args = ap.parse_args()
    normal = steady_request(4)
    hostile = {"int32": steady(int32_group(4)), "32 roles": steady(int32_group(32)), "16 MiB": largest()}
    with hook_server(args.workers) as base:
        url = f"{base}/sync"
        session = requests.Session()

        def timed() -> list[float]:
            for _ in range(50):
                post(session, url, normal)
            return [post(session, url, normal) for _ in range(args.iterations)]

        alone = percentiles(timed())
        stop, results = multiprocessing.Event(), multiprocessing.Queue()
        clients = [multiprocessing.Process(target=pathological, args=(url, hostile, stop, results)) for _ in range(args.clients)]
        for client in clients:
            client.start()
        time.sleep(2)  # every client busy
        loaded = percentiles(timed())
        stop.set()
        took: dict[str, list[float]] = {name: [] for name in hostile}
        for _ in clients:
            for name, samples in results.get().items():
                took[name] += samples
        for client in clients:
            client.join()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, rbg serve --workers {args.workers}, {args.iterations} iterations")
    print("pathological requests (size, p50 under load, count):", ", ".join(
        f"{name} {len(hostile[name]) / 2**20:.1f} MiB {percentiles(took[name])[0] / 1e3:.0f} ms p50 ({len(took[name])} sent)"
        for name in hostile
    ))
    print(f"normal 4-role sync ({len(normal)} B), microseconds:")
    print(f"{'':>38} {'p50':>7} {'p99':>7}")
    print(f"{'alone':>38} {alone[0]:>7.0f} {alone[1]:>7.0f}")
    print(f"{f'with {args.clients} clients sending pathological':>38} {loaded[0]:>7.0f} {loaded[1]:>7.0f}")
    print(f"{'ratio':>38} {loaded[0] / alone[0]:>6.1f}x {loaded[1] / alone[1]:>6.1f}x")


if __name__ == "__main__":
    main()
