"""Specs the API server accepts that once stalled the hooks or made a child the API server refuses."""

import contextlib
import copy
import json
import signal

from hooks import constants as c
from hooks.api import RoleSpec, SyncRequest
from hooks.children.discovery import discovery_document, to_yaml
from hooks.children import workloads
from tests.support.plans import services_of, workload_of
from hooks.core import rbg
from hooks.validation import parse_spec
from tests.support.requests import as_hub
from tests.support import V1ALPHA1, by_kind, condition, example_group, go_json, observe, parent, request, startup_stages, sync
from tests.support import hub

PD = V1ALPHA1 / "pd-disagg.yaml"
CONTAINER = {"spec": {"containers": [{"name": "c", "image": "i"}]}}


@contextlib.contextmanager
def deadline(seconds):
    """Fail instead of hanging: SIGALRM interrupts a loop that never ends."""

    def expire(*_):
        raise TimeoutError(f"took more than {seconds}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _pd(prefill, decode):
    group = example_group(PD)
    for role in group["spec"]["roles"]:
        role["replicas"] = {"prefill": prefill, "decode": decode}.get(role["name"], role["replicas"])
    return group


def _annotation_bytes(child):
    """What Metacontroller's last-applied annotation of this child takes of the annotation limit."""
    return len(c.ANNOTATION_LAST_APPLIED) + len(go_json(child).encode())


def _configmap(children):
    return next(ch for ch in children if ch["kind"] == "ConfigMap")


def test_32_roles_of_int32_max_replicas_answer_at_once():
    roles = [{"name": f"r{i}", "replicas": c.INT32_MAX, "servicePorts": [{"port": 80}], "template": CONTAINER} for i in range(32)]
    group = parent({"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": "g"},
                    "spec": {"roles": roles, "startupPolicy": "Parallel"}})
    with deadline(1):
        result = sync(request(group))
        finalized = rbg.finalize(SyncRequest.model_validate(as_hub({**request(group, observe(result.children)), "finalizing": True})))
    assert len(go_json(_configmap(result.children)["data"][c.DISCOVERY_FILE])) - 2 <= c.DISCOVERY_MAX_BYTES
    assert {sts["spec"]["replicas"] for sts in result.children if sts["kind"] == "StatefulSet"} == {c.INT32_MAX}
    assert finalized.finalized is False and finalized.children
    truncated = condition(result.status, c.COND_DISCOVERY_TRUNCATED)
    assert (truncated["status"], truncated["reason"]) == ("True", c.REASON_INSTANCE_LIST_TOO_LONG)
    assert "of 2147483647 r31 instances" in truncated["message"]


def test_replicas_beyond_int32_freeze_a_running_group_at_once():
    group = _pd(2, 2)
    running = sync(request(group, observe(sync(request(group)).children)))
    group["spec"]["roles"][1]["replicas"] = 10**12
    with deadline(1):
        result = sync(request(group, observe(running.children)))
    assert by_kind(result.children) == by_kind(running.children)
    invalid = condition(result.status, c.COND_INVALID_SPEC)
    assert (invalid["status"], invalid["reason"]) == ("True", c.REASON_INVALID_FIELDS)
    assert invalid["message"] == "spec.roles[1].replicas: Input should be less than or equal to 2147483647"


def test_9000_prefill_and_decode_fit_the_annotation_limit_the_full_listing_breaks():
    result = sync(request(_pd(9000, 9000)))
    cm = _configmap(result.children)
    # Room for a second copy: kubectl's own last-applied annotation after `rbg render | kubectl apply`.
    assert _annotation_bytes(cm) <= c.MAX_ANNOTATIONS_BYTES // 2
    spec = parse_spec("sglang-pd", hub.group(_pd(9000, 9000)["spec"])["spec"])
    full, _ = discovery_document("sglang-pd", spec, {"prefill", "decode"}, services_of("sglang-pd", spec), budget=10**9)
    untruncated = {**cm, "data": {c.DISCOVERY_FILE: to_yaml(full)}}
    assert _annotation_bytes(untruncated) > c.MAX_ANNOTATIONS_BYTES  # what the API server refused
    assert len(to_yaml(full)) > 1024 * 1024  # even without the annotation

    assert '    truncated: true\n    addressTemplate: "sglang-pd-prefill-{index}.s-sglang-pd-prefill"\n' in cm["data"][c.DISCOVERY_FILE]
    truncated = condition(result.status, c.COND_DISCOVERY_TRUNCATED)
    assert (truncated["status"], truncated["reason"]) == ("True", c.REASON_INSTANCE_LIST_TOO_LONG)
    assert truncated["message"] == (
        "/etc/rbg/config.yaml lists 450 of 9000 prefill instances, 449 of 9000 decode instances "  # two bytes more per address: "s-"
        "(it is limited to 102400 bytes); each truncated role gives addressTemplate and ports for every instance"
    )


def test_a_truncated_discovery_file_changes_nothing_else():
    """The group starts, scales and becomes Ready as any other; the response is deterministic."""
    stages = startup_stages(_pd(9000, 9000))
    last = sync(stages[-1])
    assert json.dumps(last.response()) == json.dumps(sync(copy.deepcopy(stages[-1])).response())
    workloads = {ch["metadata"]["name"]: ch["spec"]["replicas"] for ch in last.children if ch["kind"] == "StatefulSet"}
    assert workloads == {"sglang-pd-router": 1, "sglang-pd-prefill": 9000, "sglang-pd-decode": 9000}
    assert {ch["metadata"]["name"] for ch in last.children if ch["kind"] == "Service"} == {f"s-{w}" for w in workloads}
    assert [(x["type"], x["status"]) for x in last.status["conditions"]] == [
        (c.COND_READY, "True"), (c.COND_PROGRESSING, "False"), (c.COND_INVALID_SPEC, "False"), (c.COND_DISCOVERY_TRUNCATED, "True"),
    ]


def test_the_longest_document_the_api_allows_fits_the_budget():
    """32 roles of the longest names, 64 service ports of the longest names each, int32 replicas."""
    ports = [{"name": f"port-{i:010d}", "port": 65535} for i in range(c.MAX_SERVICE_PORTS)]
    roles = [{"name": f"{i:02d}".rjust(50, "r"), "replicas": c.INT32_MAX, "servicePorts": ports, "template": CONTAINER} for i in range(32)]
    group = parent({"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": "g"},
                    "spec": {"roles": roles, "startupPolicy": "Parallel"}})
    result = sync(request(group))
    assert condition(result.status, c.COND_INVALID_SPEC)["status"] == "False"
    text = _configmap(result.children)["data"][c.DISCOVERY_FILE]
    assert len(go_json(text)) - 2 <= c.DISCOVERY_MAX_BYTES
    assert text.count("    truncated: true\n") == 32 and text.count("port_0000000063: 65535") >= 32


def test_a_statefulset_does_not_grow_with_replicas():
    small, huge = (workload_of("ns", "g", hub.role({"name": "r", "replicas": n, "template": CONTAINER})) for n in (1, c.INT32_MAX))
    assert len(go_json(huge)) - len(go_json(small)) == len(str(c.INT32_MAX)) - 1


def _with_env_of(size):
    group = example_group(PD)
    env = [{"name": "BIG", "value": "x" * size}]
    next(r for r in group["spec"]["roles"] if r["name"] == "prefill")["template"]["spec"]["containers"][0]["env"] = env
    return group


def test_a_workload_metacontroller_could_not_store_freezes_the_group_with_the_reason():
    """A pod template of ~256 KiB passes the API server (a group may be 1.5 MiB), but the
    workload's last-applied annotation would not: every apply would fail, for ever."""
    result = sync(request(_with_env_of(270_000)))
    invalid = condition(result.status, c.COND_INVALID_SPEC)
    assert (invalid["status"], invalid["reason"]) == ("True", c.REASON_INVALID_FIELDS)
    assert "role prefill: its StatefulSet would carry" in invalid["message"] and "make the pod template smaller" in invalid["message"]
    assert result.children == []


def test_applied_size_is_what_go_writes_in_the_annotation_plus_the_other_annotations():
    group = _with_env_of(1000)
    role = hub.role({**group["spec"]["roles"][1], "annotations": {"a": "<&>"}})
    sts = workload_of("ns", "g", role)
    sts["spec"]["template"]["spec"]["containers"][0]["command"] = ["sh", "-c", "a && b > c < d"]
    expected = len(go_json(sts).encode()) + len(c.ANNOTATION_LAST_APPLIED) + len("a") + len("<&>")
    assert workloads.applied_size(sts) == expected
    assert sync(request(_with_env_of(200_000))).children  # large but storable: reconciled
