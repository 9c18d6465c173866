"""ClusterEngineRuntimeProfiles, checked before a role is given one (hooks.core.runtimes): a
profile the API server let through, or a record of one on a workload that it never checked."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..api import ClusterEngineRuntimeProfileSpec
from ..schemas.k8s import container_schema, schema_problems, volume_schema

# A profile's initContainers, containers and volumes.
Content = dict[str, list[dict[str, Any]]]


def content(spec: Any) -> Content | None:
    """A profile spec's (or a recorded entry's) init containers, containers and volumes; None if it is not valid."""
    try:
        parsed = ClusterEngineRuntimeProfileSpec.model_validate(spec)
    except ValidationError:
        return None
    out = {"initContainers": parsed.init_containers, "containers": parsed.containers, "volumes": parsed.volumes}
    containers, volumes = container_schema(), volume_schema()  # as the API server checks them (a record is not checked by it)
    for key, items in out.items():
        if any(next(schema_problems(item, volumes if key == "volumes" else containers), None) for item in items):
            return None
    return out
