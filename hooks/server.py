"""gunicorn serving the Flask app: the production entry point of `rbg serve`."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from .app import create_app


class _Server(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()


def serve(bind: str, workers: int) -> None:
    _Server(
        {
            "bind": bind,
            "workers": workers,
            "worker_class": "gthread",
            "threads": 4,
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "info",
            # No runtime-management socket: nothing should reconfigure a hook server from inside.
            "control_socket_disable": True,
        }
    ).run()
