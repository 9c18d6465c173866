"""The second copy of failure recovery's state (hooks.core.recovery), beside status.recovery."""

from __future__ import annotations

import json
from typing import Any

from .. import constants as c
from ..naming import recovery_state_name


def recovery_state(group: str, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": c.KIND_CONFIGMAP,
        "metadata": {"name": recovery_state_name(group), "labels": {c.LABEL_GROUP_NAME: group}},
        "data": {c.RECOVERY_STATE_KEY: json.dumps(state, sort_keys=True, separators=(",", ":"))},
    }
