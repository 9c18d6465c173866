"""`rbg up` / `rbg down`: the README's main job, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import ROOT


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"  # a zombie has exited


def rbg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hooks.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_up_applies_an_example_and_down_stops_every_process(bin_dir, tmp_path):
    state = tmp_path / "state"
    up = rbg("up", "--bin-dir", str(bin_dir), "--state-dir", str(state), "--example", "examples/minimal.yaml", "--nodes", "2")
    try:
        assert up.returncode == 0, up.stderr
        assert f"export KUBECONFIG={state / 'kubeconfig'}" in up.stdout
        assert "get rbg" in up.stdout
        assert "BLOCKED: no Metacontroller binary" in up.stderr  # says plainly that nothing reconciles
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
