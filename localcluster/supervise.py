"""A detached supervisor that owns a LocalCluster, so the cluster outlives `rbg up`.

`rbg up` runs `python -m localcluster.supervise` in a new session; it starts the cluster,
records it in state_dir/cluster.json (pids, kubeconfig) and stops it on SIGTERM/SIGINT/SIGHUP.
`rbg down` signals it (pid in state_dir/supervisor.pid), kills by pid whatever is left, tears
down a real node it left (localcluster/realnode.py), and removes the state dir.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from . import realnode
from .cluster import LocalCluster, python_env

log = logging.getLogger(__name__)

SUPERVISOR_PID = "supervisor.pid"
CLUSTER_STATE = "cluster.json"
SUPERVISOR_LOG = "logs/supervise.log"
MODULE = "localcluster.supervise"


class _Stop(BaseException):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # a second signal must not interrupt the shutdown
    log.info("received %s: stopping the cluster", signal.Signals(signum).name)
    raise _Stop


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__)
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--nodes", type=int, default=4)
    p.add_argument("--metacontroller", help="Metacontroller binary (default: none; nothing reconciles)")
    p.add_argument("--lws-controller", help="LeaderWorkerSet controller binary (default: none)")
    p.add_argument("--real-node", action="store_true", help="a real node too (localcluster/realnode.py)")
    p.add_argument("--images", help="the real node's image tars (tools/images.sh's output directory)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    cluster = LocalCluster(
        args.bin_dir,
        args.state_dir,
        nodes=args.nodes,
        metacontroller=args.metacontroller,
        lws_controller=args.lws_controller,
        real_node=args.real_node,
        images=args.images,
    )
    try:
        cluster.start()
        reported: set[str] = set()
        while True:
            time.sleep(2)
            for comp in cluster.components.values():
                if comp.proc is not None and comp.proc.poll() is not None and comp.name not in reported:
                    reported.add(comp.name)
                    log.error("%s exited with code %s (see logs/%s.log)", comp.name, comp.proc.returncode, comp.name)
    except _Stop:
        return 0
    except Exception:
        log.exception("the cluster failed")
        return 1
    finally:
        cluster.stop(keep=True)


# --- used by `rbg up` / `rbg down` ------------------------------------------------------------------
def is_ours(state_dir: Path) -> bool:
    return (state_dir / SUPERVISOR_PID).exists() or (state_dir / CLUSTER_STATE).exists()


def running_supervisor(state_dir: Path) -> int | None:
    """The pid of the live supervisor of `state_dir`, if any."""
    try:
        pid = int((state_dir / SUPERVISOR_PID).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid, MODULE) else None


def spawn(
    bin_dir: Path,
    state_dir: Path,
    nodes: int,
    metacontroller: Path | None,
    lws_controller: Path | None,
    images: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start the supervisor in its own session; it keeps running after this process exits. With
    `images`, the cluster has a real node running the image tars of that directory."""
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    env = python_env()
    argv = [sys.executable, "-m", MODULE, f"--bin-dir={bin_dir}", f"--state-dir={state_dir}", f"--nodes={nodes}"]
    if metacontroller is not None:
        argv.append(f"--metacontroller={metacontroller}")
    if lws_controller is not None:
        argv.append(f"--lws-controller={lws_controller}")
    if images is not None:
        argv += ["--real-node", f"--images={images}"]
    with open(state_dir / SUPERVISOR_LOG, "ab") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    (state_dir / SUPERVISOR_PID).write_text(f"{proc.pid}\n")
    return proc


def wait_ready(proc: subprocess.Popen[bytes], state_dir: Path, timeout: float) -> dict[str, Any]:
    """cluster.json once the cluster is ready; raises with the supervisor's log tail if it fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the cluster failed to start (exit {proc.returncode})\n{_tail(state_dir)}")
        state = read_state(state_dir)
        if state.get("ready"):
            return state
        time.sleep(0.5)
    raise TimeoutError(f"the cluster was not ready after {timeout:g}s\n{_tail(state_dir)}")


def read_state(state_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((state_dir / CLUSTER_STATE).read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def shut_down(state_dir: Path, timeout: float = 120) -> None:
    """Stop the supervisor (which stops the cluster), SIGKILL by pid whatever it left behind, tear
    down the real node it left (raises, keeping the state dir, if something stays mounted in it),
    and remove the state dir."""
    pid = running_supervisor(state_dir)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, MODULE, timeout):
            log.warning("supervisor %d still running after %gs: SIGKILL", pid, timeout)
            os.kill(pid, signal.SIGKILL)
    for name, comp in reversed(read_state(state_dir).get("components", {}).items()):
        if _alive(comp["pid"], comp["cmd"]):
            log.warning("%s (pid %d) is still running: stopping it", name, comp["pid"])
            os.kill(comp["pid"], signal.SIGTERM)
            if not _wait_gone(comp["pid"], comp["cmd"], 10):
                os.kill(comp["pid"], signal.SIGKILL)
    if (state_dir / "real-node").exists():
        realnode.teardown(state_dir / "real-node")
    shutil.rmtree(state_dir)


def _alive(pid: int, marker: str) -> bool:
    """Whether `pid` runs and (where /proc exists) its command line contains `marker`,
    so a recycled pid is never signalled."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return marker.encode() in cmdline.read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()


def _wait_gone(pid: int, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid, marker):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def _tail(state_dir: Path, lines: int = 30) -> str:
    path = state_dir / SUPERVISOR_LOG
    text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else ["<no log>"]
    return f"--- last lines of {path} ---\n" + "\n".join(text)


if __name__ == "__main__":
    sys.exit(main())
