"""Posting to the hook server's Flask test client, as Metacontroller posts to it."""

from __future__ import annotations

import json
from typing import Any


def post(client: Any, path: str, body: Any, raw: bool = False) -> Any:
    """POST `body` as JSON; bytes (or anything, with `raw`) go as they are."""
    data = body if raw or isinstance(body, bytes) else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")
