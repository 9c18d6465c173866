"""Prometheus metrics of the hook server, served at /metrics.

Under `rbg serve` prometheus_client runs in multiprocess mode: hooks.server sets
PROMETHEUS_MULTIPROC_DIR before any worker imports this module, every worker writes its samples
to files there, and a scrape merges the files of all workers, dead ones included. Without the
variable (tests, a bare Flask app) this process's own registry is served.

Label values come from the constants below or from a group's own namespace and name, never
from other request content, so the series are bounded by the groups the hooks are asked about.
"""

from __future__ import annotations

import os
import time

from flask import Response, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from . import constants as c
from .core.result import Result

# prometheus_client picks its storage when it is imported: read the variable once, as it did.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

HOOKS = (
    "sync", "finalize", "customize", "rbgs-sync", "rbgsa-sync", "rbgsa-customize", "cpolicy-sync", "cpolicy-customize",
    "ris-sync", "rins-sync", "gangready-sync", "gangready-customize", "convert",
)
INVALID_REASONS = (c.REASON_DEPENDENCY_CYCLE, c.REASON_INVALID_ROLES, c.REASON_INVALID_FIELDS)
# Every (type, status, reason) the core reports (an invalid spec also makes Ready False with its reason).
CONDITIONS = (
    (c.COND_READY, "True", c.REASON_ALL_ROLES_READY),
    (c.COND_READY, "False", c.REASON_ROLES_NOT_READY),
    *((c.COND_READY, "False", reason) for reason in INVALID_REASONS),
    (c.COND_PROGRESSING, "True", c.REASON_WAITING_FOR_DEPENDENCIES),
    (c.COND_PROGRESSING, "True", c.REASON_ROLLOUT_IN_PROGRESS),
    (c.COND_PROGRESSING, "False", c.REASON_COMPLETE),
    (c.COND_INVALID_SPEC, "False", c.REASON_SPEC_VALID),
    *((c.COND_INVALID_SPEC, "True", reason) for reason in INVALID_REASONS),
    (c.COND_DISCOVERY_TRUNCATED, "False", c.REASON_ALL_INSTANCES_LISTED),
    (c.COND_DISCOVERY_TRUNCATED, "True", c.REASON_INSTANCE_LIST_TOO_LONG),
    (c.COND_COORDINATING, "False", c.REASON_IN_STEP),
    (c.COND_COORDINATING, "True", c.REASON_ADVANCING_IN_STEP),
    (c.COND_RECOVERING, "False", c.REASON_WATCHING),
    (c.COND_RECOVERING, "True", c.REASON_BACKING_OFF),
    (c.COND_RECOVERING, "True", c.REASON_RECREATING),
    (c.COND_RECOVERING, "False", c.REASON_RESTART_LIMIT_REACHED),
    (c.COND_RECOVERING, "False", c.REASON_PODS_NOT_OBSERVED),
    (c.COND_GANG_SCHEDULING, "True", c.REASON_ALL_ROLES_ENROLLED),
    (c.COND_GANG_SCHEDULING, "True", c.REASON_ENROLLING_ROLES),
    (c.COND_GANG_SCHEDULING, "False", c.REASON_POD_GROUP_NOT_REGISTERED),
    (c.COND_DRAINING, "True", c.REASON_WAITING_FOR_DRAIN),
    (c.COND_DRAINING, "False", c.REASON_NOTHING_TO_DRAIN),
    (c.COND_PODS_SCHEDULED, "True", c.REASON_ALL_PODS_SCHEDULED),
    (c.COND_PODS_SCHEDULED, "False", c.REASON_UNSCHEDULABLE),
    (c.COND_LEADER_WORKER_SETS, "True", c.REASON_LWS_REGISTERED),
    (c.COND_LEADER_WORKER_SETS, "False", c.REASON_LWS_NOT_REGISTERED),
    (c.COND_ROLE_INSTANCE_SETS, "True", c.REASON_ROLE_INSTANCE_SETS_REGISTERED),
    (c.COND_ROLE_INSTANCE_SETS, "False", c.REASON_ROLE_INSTANCE_SETS_UNAVAILABLE),
    (c.COND_ENGINE_RUNTIMES, "True", c.REASON_PROFILES_INJECTED),
    (c.COND_ENGINE_RUNTIMES, "False", c.REASON_PROFILE_NOT_FOUND),
)

LATENCY = Histogram(
    "rbg_hook_duration_seconds",
    "Time from a hook request's arrival to its answer, errors included.",
    ["hook"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RESPONSES = Counter("rbg_hook_responses_total", "Hook answers by HTTP status code.", ["hook", "code"])
INTERNAL_ERRORS = Counter(
    "rbg_hook_internal_errors_total",
    "Requests a hook failed on by an error of its own (answered 500: Metacontroller changes nothing and retries).",
    ["hook"],
)
INVALID_SPEC = Counter(
    "rbg_invalid_spec_total", "Hook answers for a group whose spec is invalid (InvalidSpec True), by reason.", ["hook", "reason"]
)
# "mostrecent": of the values the workers wrote for a series, the latest one is served.
GROUP_CONDITION = Gauge(
    "rbg_group_condition",
    "1 for each condition a group has after its last answer, 0 for the others; all 0 once finalized.",
    ["namespace", "name", "type", "status", "reason"],
    multiprocess_mode="mostrecent",
)
GROUP_ANSWERED = Gauge(
    "rbg_group_last_answer_timestamp_seconds",
    "Unix time of this hook server's last answer for a group: the freshest server knows its conditions.",
    ["namespace", "name"],
    multiprocess_mode="mostrecent",
)


def start() -> None:
    """Before every request: when it arrived."""
    g.rbg_started = time.perf_counter()


def answered(response: Response) -> Response:
    """After every request: the latency and code of each hook answer, 400/413/422/500 included."""
    if request.endpoint in HOOKS:
        LATENCY.labels(request.endpoint).observe(time.perf_counter() - g.rbg_started)
        RESPONSES.labels(request.endpoint, str(response.status_code)).inc()
    return response


def internal_error(hook: str) -> None:
    INTERNAL_ERRORS.labels(hook).inc()


def group_answered(hook: str, namespace: str, name: str, result: Result) -> None:
    """Every condition series of the group, so that this answer alone decides what a scrape shows."""
    # A frozen group keeps conditions from the request: they are only compared with ours, never echoed.
    current = [(cond.get("type"), cond.get("status"), cond.get("reason")) for cond in result.status.get("conditions", [])]
    for key in CONDITIONS:
        GROUP_CONDITION.labels(namespace, name, *key).set(not result.finalized and key in current)
    GROUP_ANSWERED.labels(namespace, name).set_to_current_time()
    for reason in INVALID_REASONS:
        if (c.COND_INVALID_SPEC, "True", reason) in current:
            INVALID_SPEC.labels(hook, reason).inc()


def exposition() -> Response:
    """GET /metrics: every worker's samples merged into a fresh registry, or this process's registry."""
    registry = REGISTRY
    if MULTIPROC_DIR:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, MULTIPROC_DIR)
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # text, or OpenMetrics if asked
    return Response(encode(registry), content_type=content_type)
