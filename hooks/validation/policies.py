"""A group's policies outside its spec, read for the core: the gang its annotations ask for, and
the coordination of its CoordinatedPolicy.

A CoordinatedPolicy binds the RoleBasedGroup of its namespace and name (a related object of the
group). A group converted from v1alpha1 carries its spec.coordination and spec.podGroupPolicy in
the conversion's annotations (constants ANNOTATION_V1ALPHA1_*): its coordination counts when no
CoordinatedPolicy binds it, and its podGroupPolicy as written (it tells Volcano from
scheduler-plugins even without a queue).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .. import constants as c
from ..api import Coordination, CoordinatedPolicySpec, KubeScheduling, PodGroupPolicy, VolcanoScheduling
from ..api.v1alpha1 import Coordination as CoordinationV1alpha1
from ..conversion.v1alpha1 import pod_group_policy
from .rules import Problem, loc_path

_V1ALPHA1_COORDINATION: TypeAdapter[list[CoordinationV1alpha1]] = TypeAdapter(list[CoordinationV1alpha1])


def _annotation(key: str) -> str:
    return f"metadata.annotations[{key}]"


def gang(annotations: dict[str, str]) -> PodGroupPolicy | Problem | None:
    """The gang the group's annotations ask for: Volcano when a queue or priority class is named,
    else scheduler-plugins with its timeout; a converted v1alpha1 group's podGroupPolicy as written."""
    written = pod_group_policy(annotations)  # a converted v1alpha1 group's, while its gang annotations say it
    if written is not None:
        try:
            return PodGroupPolicy.model_validate(written)
        except ValidationError as err:
            return Problem(_annotation(c.ANNOTATION_V1ALPHA1_POD_GROUP_POLICY), f"not a v1alpha1 podGroupPolicy: {err.errors()[0]['msg']}")
    if annotations.get(c.ANNOTATION_GANG) != "true":
        return None
    queue, priority = annotations.get(c.ANNOTATION_GANG_VOLCANO_QUEUE), annotations.get(c.ANNOTATION_GANG_VOLCANO_PRIORITY)
    try:
        if queue is not None or priority is not None:
            return PodGroupPolicy(volcano_scheduling=VolcanoScheduling(queue=queue or None, priority_class_name=priority or None))
        timeout = annotations.get(c.ANNOTATION_GANG_TIMEOUT)
        if timeout is None:
            return PodGroupPolicy(kube_scheduling=KubeScheduling())
        if not timeout.isdigit():
            return Problem(_annotation(c.ANNOTATION_GANG_TIMEOUT), f"{timeout!r} is not a number of seconds")
        return PodGroupPolicy(kube_scheduling=KubeScheduling(schedule_timeout_seconds=int(timeout)))
    except ValidationError as err:
        return Problem("metadata.annotations", f"gang scheduling: {err.errors()[0]['msg']}")


def startup_gate(annotations: dict[str, str]) -> Problem | None:
    """What is wrong with the group's startup-gate annotation, if anything."""
    gate = annotations.get(c.ANNOTATION_STARTUP_GATE, c.STARTUP_GATE_WORKLOADS)
    if gate in c.STARTUP_GATES:
        return None
    return Problem(_annotation(c.ANNOTATION_STARTUP_GATE), f"{gate!r} is not one of {', '.join(c.STARTUP_GATES)}")


def coordination(annotations: dict[str, str], policy: dict[str, Any] | None) -> list[Coordination] | Problem:
    """The CoordinatedPolicy's policies (`policy`: its spec), else a converted v1alpha1 group's."""
    if policy is not None:
        try:
            return list(CoordinatedPolicySpec.model_validate(policy).policies)
        except ValidationError as err:
            return Problem(f"{c.KIND_COORDINATED_POLICY} {loc_path(err.errors()[0]['loc'])}", err.errors()[0]["msg"])
    raw = annotations.get(c.ANNOTATION_V1ALPHA1_COORDINATION)
    if raw is None:
        return []
    try:
        written = _V1ALPHA1_COORDINATION.validate_json(raw)
    except ValidationError as err:
        return Problem(_annotation(c.ANNOTATION_V1ALPHA1_COORDINATION), f"not a v1alpha1 coordination list: {err.errors()[0]['msg']}")
    return [Coordination.model_validate(co.model_dump(by_alias=True, exclude_none=True)) for co in written]


def problems(*found: object) -> Iterator[Problem]:
    return (p for p in found if isinstance(p, Problem))


