"""/metrics: answers counted by hook and code, groups by condition; in one process and across gunicorn workers."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from hooks import constants as c
from hooks import metrics
from hooks.app import create_app
from hooks.core import rbg
from tests.support import EXAMPLES, ROOT, example_group, request, startup_stages, sync
from tests.support import post as _post

MINIMAL = ROOT / "examples" / "minimal.yaml"


def _group(name):
    group = example_group(MINIMAL)
    group["metadata"]["name"] = name
    return group


def _cycle(group):
    group["spec"]["roles"][0]["dependencies"] = ["app"]  # db <-> app
    return group


def _samples(text_or_families):
    families = text_string_to_metric_families(text_or_families) if isinstance(text_or_families, str) else text_or_families
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in families for s in family.samples}


def _value(samples, metric, **labels):
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def _conditions(samples, name):
    """{type: [(status, reason, value)]} of a group in namespace default."""
    out = {}
    for (metric, labels), value in samples.items():
        labels = dict(labels)
        if metric == "rbg_group_condition" and labels["name"] == name and labels["namespace"] == "default":
            out.setdefault(labels["type"], []).append((labels["status"], labels["reason"], value))
    return out


def _reported(req):
    """{type: (status, reason)} of the conditions the core answers to this request."""
    return {cond["type"]: (cond["status"], cond["reason"]) for cond in sync(req).status["conditions"]}


def _current(samples, name):
    """{type: (status, reason)} of the series at 1, asserting there is at most one per type."""
    out = {}
    for type_, series in _conditions(samples, name).items():
        ones = [(status, reason) for status, reason, value in series if value == 1]
        assert len(ones) <= 1 and all(value in (0, 1) for *_, value in series), series
        out.update({type_: one for one in ones})
    return out


# --- in one process: the Flask app without PROMETHEUS_MULTIPROC_DIR ---------------------------


def test_answers_are_counted_by_hook_and_code_and_timed(monkeypatch):
    monkeypatch.setattr("hooks.app.MAX_REQUEST_BYTES", 64 * 1024)
    client = create_app().test_client()
    before = _samples(client.get("/metrics").get_data(as_text=True))
    assert _post(client, "/sync", request(_group("counted"))).status_code == 200
    assert _post(client, "/sync", request(_cycle(_group("counted-cycle")))).status_code == 200
    assert _post(client, "/sync", b"not json").status_code == 400
    assert _post(client, "/sync", {"parent": {"kind": "Pod"}}).status_code == 422
    assert _post(client, "/sync", {"pad": "x" * 128 * 1024}).status_code == 413
    assert _post(client, "/finalize", {**request(_group("counted")), "finalizing": True}).status_code == 200
    assert client.get("/sync").status_code == 405 and client.post("/nope").status_code == 404  # not hook answers
    monkeypatch.setattr(rbg, "sync", lambda _: 1 / 0)
    assert _post(create_app().test_client(), "/sync", request(_group("counted"))).status_code == 500
    after = _samples(client.get("/metrics").get_data(as_text=True))

    def delta(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    codes = {"200": 2, "400": 1, "413": 1, "422": 1, "500": 1}
    assert {code: delta("rbg_hook_responses_total", hook="sync", code=code) for code in codes} == codes
    assert delta("rbg_hook_responses_total", hook="finalize", code="200") == 1
    counted = {dict(labels)["hook"] for (name, labels), value in after.items() if name == "rbg_hook_responses_total" and value != before.get((name, labels), 0)}
    assert counted == {"sync", "finalize"}
    assert delta("rbg_hook_duration_seconds_count", hook="sync") == sum(codes.values())
    assert delta("rbg_hook_duration_seconds_bucket", hook="sync", le="+Inf") == sum(codes.values())
    assert delta("rbg_invalid_spec_total", hook="sync", reason=c.REASON_DEPENDENCY_CYCLE) == 1
    assert _current(after, "counted-cycle")[c.COND_INVALID_SPEC] == ("True", c.REASON_DEPENDENCY_CYCLE)


def test_a_group_has_one_current_condition_per_type_and_none_once_finalized():
    client = create_app().test_client()
    stages = startup_stages(_group("flip"))
    _post(client, "/sync", stages[0])
    first = _samples(client.get("/metrics").get_data(as_text=True))
    assert _current(first, "flip") == _reported(stages[0])
    assert _current(first, "flip")[c.COND_READY] == ("False", c.REASON_ROLES_NOT_READY)
    _post(client, "/sync", stages[-1])
    ready = _samples(client.get("/metrics").get_data(as_text=True))
    assert _current(ready, "flip") == _reported(stages[-1])
    assert _current(ready, "flip")[c.COND_READY] == ("True", c.REASON_ALL_ROLES_READY)
    assert _value(ready, "rbg_group_last_answer_timestamp_seconds", namespace="default", name="flip") > 0
    finalized = _post(client, "/finalize", {**request(stages[-1]["parent"]), "finalizing": True})
    assert finalized.get_json()["finalized"] is True
    gone = _samples(client.get("/metrics").get_data(as_text=True))
    assert _current(gone, "flip") == {} and len(_conditions(gone, "flip")[c.COND_READY]) > 1


def test_label_values_never_echo_the_request():
    client = create_app().test_client()
    group = _cycle(_group("echo"))
    injected = {"type": c.COND_READY, "status": "True", "reason": "InjectedByUser", "message": "m"}
    group["status"] = {"conditions": [injected]}
    assert _post(client, "/sync", request(group)).status_code == 200  # a frozen group keeps its previous Ready
    text = client.get("/metrics").get_data(as_text=True)
    assert "InjectedByUser" not in text
    assert _current(_samples(text), "echo") == {c.COND_INVALID_SPEC: ("True", c.REASON_DEPENDENCY_CYCLE)}


def test_the_condition_series_cover_every_reason_and_everything_the_core_reports():
    # Of RoleBasedGroups: sets, scaling adapters, RoleInstanceSets and RoleInstances have their own reasons.
    others = {c.REASON_ALL_MEMBERS_READY, c.REASON_MEMBERS_NOT_READY, c.REASON_WAITING_FOR_MEMBERS, c.REASON_BOUND,
              c.REASON_TARGET_GROUP_NOT_FOUND, c.REASON_TARGET_ROLE_NOT_FOUND, c.REASON_SCALING_ADAPTER_NOT_ENABLED,
              c.REASON_NOT_THE_GROUPS_ADAPTER, c.REASON_INSTANCES_READY, c.REASON_INSTANCES_NOT_READY, c.REASON_ALL_PODS_READY,
              c.REASON_PODS_NOT_READY, c.REASON_POD_FAILED, c.REASON_NOT_UPDATABLE_IN_PLACE, c.REASON_UPDATED_IN_PLACE,
              c.REASON_LIFECYCLE_HOLD, c.REASON_READINESS_GATES, c.REASON_MIN_READY}
    reasons = {value for key, value in vars(c).items() if key.startswith("REASON_")} - others
    assert {reason for _, _, reason in metrics.CONDITIONS} == reasons
    reqs = [req for example in EXAMPLES for req in startup_stages(example_group(example))]
    reqs += [request(_cycle(_group("cycle")))]
    reported = {(cond["type"], cond["status"], cond["reason"]) for req in reqs for cond in sync(req).status["conditions"]}
    assert reported <= set(metrics.CONDITIONS)


# --- across processes: `rbg serve` with two gunicorn workers ------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serving(tmp_path, **env):
    """`rbg serve --workers 2` in its own process group; the whole group is gone afterwards."""
    url = f"http://127.0.0.1:{_free_port()}"
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hooks.server", "--bind", url.removeprefix("http://"), "--workers", "2"],
            cwd=ROOT,
            env={**{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}, "PYTHONPATH": str(ROOT), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{url}/healthz", timeout=1).ok:
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


def _by_worker(directory, name):
    """{pid: a group's current conditions as that worker last wrote them} (files are gauge_<mode>_<pid>.db)."""
    files = {}
    for path in directory.glob("gauge_*.db"):
        files.setdefault(path.stem.rsplit("_", 1)[1], []).append(str(path))
    return {pid: _current(_samples(MultiProcessCollector.merge(paths)), name) for pid, paths in files.items()}


def test_workers_add_up_and_the_latest_condition_wins(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left over from an earlier run")
    stages = startup_stages(_group("flip"))
    not_ready, ready = stages[0], stages[-1]
    with _serving(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as url:
        assert not (metrics_dir / "counter_1.db").exists()

        def post(body):
            return requests.post(f"{url}/sync", json=body, timeout=10).status_code

        def scrape():
            return _samples(requests.get(f"{url}/metrics", timeout=10).text)

        # Ready False then True, each on a new connection, until one worker answered the False
        # and the other the True after it: one worker's file still says False.
        sent, stale = 0, set()
        while not stale:
            assert sent < 200, "every transition was answered by one worker"
            assert [post(not_ready), post(ready)] == [200, 200]
            sent += 2
            workers = _by_worker(metrics_dir, "flip")
            stale = {pid for pid, now in workers.items() if now[c.COND_READY] == ("False", c.REASON_ROLES_NOT_READY)}
        (latest,) = set(workers) - stale
        with ThreadPoolExecutor(8) as pool:  # and some at once
            codes = list(pool.map(post, [request(_group(f"g{i}")) for i in range(10)] + [{"parent": {}}] * 3))
        assert codes == [200] * 10 + [422] * 3

        samples = scrape()
        assert all(scrape() == samples for _ in range(3))  # whichever worker answers the scrape
        assert _value(samples, "rbg_hook_responses_total", hook="sync", code="200") == sent + 10
        assert _value(samples, "rbg_hook_responses_total", hook="sync", code="422") == 3
        assert _value(samples, "rbg_hook_duration_seconds_count", hook="sync") == sent + 13
        assert _current(samples, "flip") == _reported(ready)
        assert _current(samples, "flip")[c.COND_READY] == ("True", c.REASON_ALL_ROLES_READY)
        for i in range(10):
            assert _current(samples, f"g{i}") == _reported(request(_group(f"g{i}")))

        # The worker that wrote the latest conditions dies: what it wrote, and counted, stays.
        os.kill(int(latest), signal.SIGKILL)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{latest}"):  # until gunicorn has reaped it (and run child_exit)
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert scrape() == samples


def test_serve_without_a_metrics_dir_makes_one_and_removes_it(tmp_path):
    with _serving(tmp_path, TMPDIR=str(tmp_path)) as url:
        made = [p for p in tmp_path.iterdir() if p.name.startswith("rbg-metrics-")]
        assert requests.post(f"{url}/sync", json=request(_group("tmp")), timeout=10).status_code == 200
        assert "rbg_hook_responses_total" in requests.get(f"{url}/metrics", timeout=10).text
        assert len(made) == 1 and list(made[0].glob("*.db"))
    assert not made[0].exists()


def test_the_hook_server_logs_one_json_line_per_request(tmp_path):
    """`python -m hooks.server`, the image's entry point: each answer is logged, naming the group."""
    with _serving(tmp_path) as url:
        assert requests.post(f"{url}/sync", json=request(_group("logged")), timeout=10).status_code == 200
        deadline = time.monotonic() + 10
        while '"msg":"synced"' not in (tmp_path / "server.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    lines = [json.loads(ln) for ln in (tmp_path / "server.log").read_text().splitlines() if ln.startswith("{")]
    assert [(ln["hook"], ln["parent"], ln["msg"]) for ln in lines] == [("sync", "default/logged", "synced")]
