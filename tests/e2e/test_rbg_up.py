"""`rbg up` / `rbg down`: the README's main job, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from localcluster.cluster import LWS_CONTROLLER_ENV, METACONTROLLER_ENV
from tests.support import ROOT, UPSTREAM_EXAMPLES


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"  # a zombie has exited


def rbg(*args: str, metacontroller: str | None = None, lws_controller: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (METACONTROLLER_ENV, LWS_CONTROLLER_ENV)}
    if metacontroller:
        env[METACONTROLLER_ENV] = metacontroller
    if lws_controller:
        env[LWS_CONTROLLER_ENV] = lws_controller
    argv = [sys.executable, "-m", "rbgcli", *args]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=300, env=env)


def test_up_without_metacontroller_says_nothing_reconciles(bin_dir, tmp_path):
    state = tmp_path / "state"
    up = rbg("up", "--bin-dir", str(bin_dir), "--state-dir", str(state), "--example", "examples/minimal.yaml", "--nodes", "2")
    try:
        assert up.returncode == 0, up.stderr
        assert f"export KUBECONFIG={state / 'kubeconfig'}" in up.stdout
        assert "get rbg" in up.stdout
        assert f"NOTHING RECONCILES: no Metacontroller binary (set {METACONTROLLER_ENV}=" in up.stderr
        kubectl = [str(bin_dir / "kubectl"), "--kubeconfig", str(state / "kubeconfig")]
        got = subprocess.run([*kubectl, "get", "rbg", "minimal", "-o", "name"], capture_output=True, text=True)
        assert got.stdout.strip() == "rolebasedgroup.workloads.x-k8s.io/minimal", got.stderr
        pids = [c["pid"] for c in json.loads((state / "cluster.json").read_text())["components"].values() if c.get("pid")]
        assert len(pids) >= 6 and all(map(_alive, pids))  # still running after `rbg up` returned
    finally:
        down = rbg("down", "--state-dir", str(state))
    assert down.returncode == 0, down.stderr
    assert not state.exists()
    assert not any(map(_alive, pids))


@pytest.mark.metacontroller
def test_up_with_metacontroller_runs_it_and_the_example_becomes_ready(bin_dir, tmp_path):
    state = tmp_path / "state"
    binary = os.environ[METACONTROLLER_ENV]
    up = rbg("up", "--bin-dir", str(bin_dir), "--state-dir", str(state), "--example", "examples/minimal.yaml",
             "--nodes", "2", metacontroller=binary)
    try:
        assert up.returncode == 0, up.stderr
        assert f"Metacontroller: {os.path.realpath(binary)}" in up.stderr
        assert "RoleBasedGroup default/minimal is Ready" in up.stderr
        assert "NOTHING RECONCILES" not in up.stderr
    finally:
        down = rbg("down", "--state-dir", str(state))
    assert down.returncode == 0, down.stderr


@pytest.mark.metacontroller
@pytest.mark.lws
def test_up_with_an_lws_controller_runs_it_and_an_lws_example_becomes_ready(bin_dir, tmp_path):
    state = tmp_path / "state"
    binary = os.environ[LWS_CONTROLLER_ENV]
    example = UPSTREAM_EXAMPLES / "basics" / "rbg-with-lws-workload.yaml"
    up = rbg("up", "--bin-dir", str(bin_dir), "--state-dir", str(state), "--example", str(example), "--nodes", "2",
             metacontroller=os.environ[METACONTROLLER_ENV], lws_controller=binary)
    try:
        assert up.returncode == 0, up.stderr
        assert f"LeaderWorkerSet controller: {os.path.realpath(binary)}" in up.stderr
        assert " is Ready" in up.stderr, up.stderr
    finally:
        down = rbg("down", "--state-dir", str(state))
    assert down.returncode == 0, down.stderr


def test_up_refuses_a_metacontroller_path_that_is_not_a_binary(bin_dir, tmp_path):
    up = rbg("up", "--bin-dir", str(bin_dir), "--state-dir", str(tmp_path / "state"), metacontroller=str(tmp_path / "nope"))
    assert up.returncode == 1
    assert f"{METACONTROLLER_ENV}={tmp_path / 'nope'} is not an executable file" in up.stderr


def test_a_launcher_killed_outright_leaves_no_component_running(bin_dir, tmp_path):
    """A crashed test run or supervisor (SIGKILL: no teardown runs) must not leak a control plane."""
    script = (
        "import json, sys, time\n"
        "from localcluster.cluster import LocalCluster\n"
        f"c = LocalCluster({str(bin_dir)!r}, {str(tmp_path / 'state')!r}, nodes=1).start()\n"
        "print(json.dumps([comp.proc.pid for comp in c.components.values()]), flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != METACONTROLLER_ENV}
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env) as launcher:
        try:
            pids = json.loads(launcher.stdout.readline())
            assert len(pids) == 7 and all(map(_alive, pids))  # etcd, API server, controller manager, scheduler, KWOK, the hook servers (HTTP, HTTPS)
        finally:
            launcher.kill()
    deadline = time.monotonic() + 10
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(_alive, pids))
