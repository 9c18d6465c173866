"""Latency of the conversion webhook's work, in process, next to the JSON floor of the same payload.

    python bench/convert_latency.py [--iterations 2000]

For a group of 16 roles (bench/hook_latency.py's), a ConversionReview each way, prints p50 / p99
in microseconds of:
  floor    json.loads(review) + json.dumps(answer): the least any webhook must do;
  convert  json.loads + hooks.conversion.review + json.dumps, as the /convert route does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hook_latency import group, percentiles, timed  # noqa: E402
from hooks import constants as c  # noqa: E402
from hooks.app import dumps  # noqa: E402
from hooks.conversion import review  # noqa: E402
from hooks.conversion.v1alpha1 import to_hub  # noqa: E402
from hooks.server import tune_gc  # noqa: E402


def conversion_review(obj: dict, desired: str) -> bytes:
    return json.dumps({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "ConversionReview",
        "request": {"uid": "bench", "desiredAPIVersion": desired, "objects": [obj]},
    }).encode()


def converted(body: bytes) -> bytes:
    return dumps(review(json.loads(body))).encode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=2000)
    ap.add_argument("--roles", type=int, default=16)
    args = ap.parse_args()
    tune_gc()
    v1 = group(args.roles)
    cases = [("v1alpha1 -> v1alpha2", conversion_review(v1, c.API_VERSION)), ("v1alpha2 -> v1alpha1", conversion_review(to_hub(v1), c.API_VERSION_V1ALPHA1))]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.iterations} iterations, {args.roles} roles; microseconds")
    print(f"{'direction':>22} {'review':>9} | {'floor p50':>9} {'p99':>7} | {'convert p50':>11} {'p99':>7} {'x floor':>7}")
    for name, body in cases:
        answer = json.loads(converted(body))
        assert answer["response"]["result"]["status"] == "Success", answer["response"]["result"]
        floor = percentiles(timed(lambda: (json.loads(body), json.dumps(answer)), args.iterations))
        got = percentiles(timed(lambda: converted(body), args.iterations))
        print(f"{name:>22} {len(body):>8}B | {floor[0]:>9.0f} {floor[1]:>7.0f} | {got[0]:>11.0f} {got[1]:>7.0f} {got[1] / floor[1]:>6.1f}x")


if __name__ == "__main__":
    main()
