"""gunicorn serving the Flask app: the image's entry point (`python -m hooks.server`), and `rbg serve`'s.

Plain HTTP for Metacontroller; with `--certfile` and `--keyfile`, HTTPS for the API server's
conversion webhook (`/convert`). The same app either way. gunicorn reads the certificate and key
for every connection it accepts, so a renewed Secret (cert-manager's) needs no restart.

Metrics use prometheus_client's multiprocess mode (hooks.metrics), which is chosen when the
library is imported: the master sets PROMETHEUS_MULTIPROC_DIR before any worker forks and
imports the app.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Idle seconds a kept-alive HTTPS connection is held open: under the API server's 90 s, so the
# server, not the client, closes it (Go's client retries a request that met a closed idle connection).
KEEPALIVE_SECONDS = 30


class _Server(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from .app import create_app  # in the worker, after PROMETHEUS_MULTIPROC_DIR is set

        app = create_app()
        tune_gc()
        return app


# A sync request is one large tree of short-lived dicts (128 kB of JSON for 16 roles): at
# Python's default thresholds the collector ran several times per request and its full passes
# made the p99 of a 16-role sync 28 ms against a p50 of 4 ms (bench/hook_latency.py). Younger
# collections less often, and the long-lived objects of the loaded app kept out of them.
GC_THRESHOLDS = (100_000, 50, 1000)


def tune_gc() -> None:
    """For a process that answers hooks: call once the app is loaded."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _metrics_dir() -> tuple[str, bool]:
    """PROMETHEUS_MULTIPROC_DIR emptied of an earlier run's files, or a new directory; and whether it is new."""
    given = os.environ.get(MULTIPROC_ENV)
    if not given:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="rbg-metrics-")
        return os.environ[MULTIPROC_ENV], True
    Path(given).mkdir(parents=True, exist_ok=True)
    for stale in Path(given).glob("*.db"):
        stale.unlink()
    return given, False


def serve(bind: str, workers: int, certfile: str | None = None, keyfile: str | None = None) -> None:
    """Serve until signalled: HTTPS when `certfile` and `keyfile` (PEM) are given, else HTTP."""
    if (certfile is None) != (keyfile is None):
        raise ValueError("certfile and keyfile go together")
    path, created = _metrics_dir()
    from prometheus_client import multiprocess  # only now: the library reads the variable on import

    options: dict[str, Any] = {
        "bind": bind,
        "workers": workers,
        # One request per process, accepted only by an idle worker: a large request (parsing 16 MiB
        # holds the GIL for 100 ms at a time) never delays another group's sync (bench/hostile.py).
        "worker_class": "sync",
        "threads": 1,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        # No runtime-management socket: nothing should reconfigure a hook server from inside.
        "control_socket_disable": True,
        # prometheus_client's multiprocess setup: drops a dead worker's live* gauge files (none today).
        "child_exit": lambda _arbiter, worker: multiprocess.mark_process_dead(worker.pid, path),
    }
    if certfile is not None:
        # The API server's conversion requests: kept-alive connections, as its client keeps them.
        # A TLS handshake (gunicorn loads the certificate for each connection) costs three times
        # the conversion itself; a sync worker closes the connection after every request.
        options |= {"certfile": certfile, "keyfile": keyfile, "worker_class": "gthread", "threads": 4, "keepalive": KEEPALIVE_SECONDS}
    if created:  # a directory of our own goes with the server
        options["on_exit"] = lambda _arbiter: shutil.rmtree(path, ignore_errors=True)
    _Server(options).run()


def tls_problem(certfile: str | None, keyfile: str | None) -> str | None:
    """What is wrong with the options --certfile and --keyfile, if anything (`python -m hooks.server`
    and `rbg serve` refuse to serve then)."""
    if (certfile is None) != (keyfile is None):
        return "--certfile and --keyfile go together: give both (HTTPS) or neither (HTTP)"
    for flag, file in (("--certfile", certfile), ("--keyfile", keyfile)):
        if file is not None and not (os.path.isfile(file) and os.access(file, os.R_OK)):
            return f"{flag} {file}: no such readable file"
    return None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m hooks.server", description="serve the Metacontroller hooks with gunicorn")
    ap.add_argument("--bind", default="127.0.0.1:8080", help="host:port (default 127.0.0.1:8080)")
    ap.add_argument(
        "--workers", type=int, default=4,
        help="processes, each serving one request at a time (default 4); more than the syncs Metacontroller runs at once",
    )
    ap.add_argument("--certfile", help="serving certificate (PEM; with --keyfile): serve HTTPS, as the conversion webhook")
    ap.add_argument("--keyfile", help="its private key (PEM; with --certfile)")
    args = ap.parse_args(argv)
    if problem := tls_problem(args.certfile, args.keyfile):
        ap.error(problem)
    # One JSON line per hook request (hooks.app), on stderr with gunicorn's own log.
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    serve(bind=args.bind, workers=args.workers, certfile=args.certfile, keyfile=args.keyfile)


if __name__ == "__main__":
    main()
