"""The RoleBasedGroup core: (parent, observed children) -> (desired children, status).

Pure and deterministic: no API calls, no clock, no environment. The plan is made from what
Metacontroller observed and from the parent's own status; a request flows down once:

1. Validate (hooks.validation): every spec rule, and every role's pod template made (its
   roleTemplate with its templatePatch merged over it). An invalid spec freezes the group: every
   observed child is returned exactly as last applied (nothing created, changed or deleted) and
   status says why.
2. Plan: engine runtimes injected (hooks.core.runtimes); each role sized (its spec, or its
   scaling adapter: hooks.core.scaling) and held while members drain (hooks.core.drain); failure
   recovery (hooks.core.recovery) withholds roles being recreated, and LeaderWorkerSet roles wait
   while their child type is not registered (condition LeaderWorkerSets). First creation is gated:
   a role's workload is returned once it exists, or once every dependency's workload has all
   desired replicas ready (startupPolicy Ordered), or at once (Parallel), and not while pods of a
   deleted workload of it linger. Readiness is read from the group's pods where they are observed
   (they show it before the workload's status does), else from the workload's status. An existing
   workload is never withdrawn because a dependency became unready. Each started role then gets
   its decisions: its Service name (hooks.core.services), its rollout (hooks.core.rollout), its
   pods' placement (hooks.core.topology) and gang enrolment (hooks.core.gang); its pod templates
   are built, and coordination (hooks.core.coordination) and drain-safe rolling updates hold
   its partition or pace from them.
3. Build (hooks.children) from the plans: each role's workload and Service, the discovery
   ConfigMap (its instance lists cut to a size budget if need be, the members being drained left
   out), the scaling adapters, each role's rollout history (ControllerRevisions:
   hooks.core.history), recovery's state and timer, drain timers, and the PodGroup sized to the
   workloads returned. No child is changed after it is built.
4. Compute status from the observed children (and pods: hooks.core.pending).

A role whose engine runtime profile is missing keeps its workload exactly as last applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .. import constants as c
from ..api import GroupSpec, Parent, SyncRequest
from ..children.discovery import Cut, discovery_configmap
from ..children.podtemplate import build_pod_template
from ..children.service import headless_service
from ..children.workloads import INDEX_LABELS, applied_size, workload
from ..decisions import RolePlan
from ..naming import workload_name
from ..validation import Invalid, Problem, pod_templates, validate
from . import conventions, grouphistory, rollout, topology
from .coordination import Coordinated, coordinate, coordination_condition
from .drain import Rollouts, drain, drain_condition, hold_rollouts
from .gang import Gang, schedule
from .history import revisions
from .kinds import workload_kinds
from .observed import Observed, counts, is_ready, lingers, request_time
from .pending import scheduling_condition
from .recovery import effective_policy, recover
from .scaling import sizes
from .result import Result
from .runtimes import runtimes
from .services import service_of
from .status import condition, frozen_conditions, merge_conditions


@dataclass(frozen=True)
class Plan:
    """Which roles may have their workload now, and which wait on which dependencies."""

    started: list[str]
    waiting: dict[str, list[str]] = field(default_factory=dict)
    ready: set[str] = field(default_factory=set)


def plan(group: str, spec: GroupSpec, observed: Observed, withheld: frozenset[str] = frozenset()) -> Plan:
    """`withheld` roles (being recreated: hooks.core.recovery) are neither started nor ready."""
    ready = {
        r.name
        for r in spec.roles
        if r.name not in withheld
        and is_ready(observed.workload(workload_name(group, r.name)), r.replicas, observed.role_pods(r.name))
    }
    started: list[str] = []
    waiting: dict[str, list[str]] = {}
    for role in spec.roles:
        if role.name in withheld:
            continue
        exists = observed.workload(workload_name(group, role.name)) is not None
        blocked = [d for d in dict.fromkeys(role.dependencies) if d not in ready]
        if not exists and any(map(lingers, observed.role_pods(role.name) or [])):
            waiting[role.name] = []  # a new workload would adopt them, or race their deletion
        elif exists or spec.startup_policy == c.STARTUP_PARALLEL or not blocked:
            started.append(role.name)
        else:
            waiting[role.name] = sorted(blocked)
    return Plan(started=started, waiting=waiting, ready=ready)


def unregistered_roles(spec: GroupSpec, children: dict[str, Any]) -> frozenset[str]:
    """LeaderWorkerSet roles while the controller is not registered for LeaderWorkerSets (the request's
    children lack their type: overlays/leaderworkerset registers it): they are not created."""
    if c.CHILD_LWS in children:
        return frozenset()
    return frozenset(r.name for r in spec.roles if r.workload.kind == c.KIND_LWS)


def instance_set_roles(spec: GroupSpec) -> list[str]:
    """Roles that run on RoleInstanceSets (customComponentsPattern, or the workload-type annotation)."""
    return [r.name for r in spec.roles if r.workload.kind == c.KIND_ROLE_INSTANCE_SET]


def unregistered_instance_sets(spec: GroupSpec, children: dict[str, Any]) -> frozenset[str]:
    """RoleInstanceSet roles while the controller is not registered for RoleInstanceSets: not created."""
    return frozenset() if c.CHILD_ROLE_INSTANCE_SET in children else frozenset(instance_set_roles(spec))


def role_instance_sets_condition(spec: GroupSpec, unregistered: frozenset[str]) -> dict[str, Any] | None:
    """Only on groups with a RoleInstanceSet role: whether that child type is registered."""
    roles = instance_set_roles(spec)
    if not roles:
        return None
    if not unregistered:
        return condition(c.COND_ROLE_INSTANCE_SETS, True, c.REASON_ROLE_INSTANCE_SETS_REGISTERED, f"{', '.join(roles)} run as RoleInstanceSets")
    message = (
        f"{', '.join(roles)} run on RoleInstanceSets ({c.API_VERSION}), a child type the rolebasedgroup controller is not "
        f"registered for (an older release's registrations, or overlays/{c.NO_POD_CONTROLLERS_OVERLAY}, which leaves it out): "
        "apply the registrations of this release (metacontroller/); until then these roles are not created (the others are)"
    )
    return condition(c.COND_ROLE_INSTANCE_SETS, False, c.REASON_ROLE_INSTANCE_SETS_UNAVAILABLE, message)


def leader_worker_sets_condition(spec: GroupSpec, unregistered: frozenset[str]) -> dict[str, Any] | None:
    """Only on groups with a LeaderWorkerSet role: whether the LeaderWorkerSet child type is registered."""
    lws = [r.name for r in spec.roles if r.workload.kind == c.KIND_LWS]
    if not lws:
        return None
    if not unregistered:
        return condition(c.COND_LEADER_WORKER_SETS, True, c.REASON_LWS_REGISTERED, f"{', '.join(lws)} run as LeaderWorkerSets")
    message = (
        f"{', '.join(lws)} need LeaderWorkerSets ({c.LWS_API_VERSION}), a child type the rolebasedgroup controller is not "
        f"registered for: install LeaderWorkerSet (its CRD and controller), then `kubectl apply --server-side -k "
        f"overlays/{c.LWS_OVERLAY}`; until then these roles are not created (the others are)"
    )
    return condition(c.COND_LEADER_WORKER_SETS, False, c.REASON_LWS_NOT_REGISTERED, message)


def role_plans(
    namespace: str,
    group: str,
    annotations: dict[str, str],
    spec: GroupSpec,
    started: list[str],
    gang: Gang,
    observed: Observed,
    group_labels: dict[str, str] | None = None,
    workload_labels: dict[str, tuple[tuple[str, str], ...]] | None = None,
) -> dict[str, RolePlan]:
    """Every started role's plan before coordination and drains: its size, Service, rollout, and
    each pod template's placement, gang enrolment, grace, and v1alpha2 labels and variables;
    `workload_labels`, by role, its workload's own labels (upstream's revision label)."""
    placement = topology.terms(namespace, group, annotations)
    labelled = conventions.labels(namespace, group, annotations, group_labels or {})
    plans = {}
    for role in spec.roles:
        if role.name not in started:
            continue
        templates = pod_templates(role)
        placed = topology.place(placement, role, templates)
        service = service_of(group, role, observed)
        pods = []
        for template, terms, env in zip(templates, placed, conventions.env(namespace, group, annotations, role, len(templates), service)):
            seconds, grace = rollout.grace(role, template)
            enrolled = gang.enrol(template)
            pods.append(
                replace(enrolled, affinity=terms, pre_stop_seconds=seconds, termination_grace_seconds=grace, env=env, labels=labelled + enrolled.labels)
            )
        seen = observed.workload(workload_name(group, role.name))
        management = str((observed.applied(seen).get("spec") or {}).get("podManagementPolicy") or role.pod_management_policy) if seen else role.pod_management_policy
        policy = effective_policy(spec.recovery_policy, [role]) if role.workload.kind == c.KIND_ROLE_INSTANCE_SET else None
        plans[role.name] = RolePlan(
            role, role.replicas, service, templates, tuple(pods), rollout.rollout(role), management,
            (workload_labels or {}).get(role.name, ()), (policy.backoff_seconds, policy.max_backoff_seconds) if policy else None,
        )
    return plans


def built_templates(namespace: str, group: str, plan: RolePlan) -> tuple[dict[str, Any], ...]:
    index = INDEX_LABELS[plan.role.workload.kind]
    return tuple(
        build_pod_template(t, namespace=namespace, group=group, role=plan.role.name, index_label=index, decision=d)
        for t, d in zip(plan.templates, plan.pods)
    )


def held(plan: RolePlan, coordinated: Coordinated, rolled: Rollouts) -> RolePlan:
    """The plan with what coordination and a drain-safe rolling update hold it to."""
    hold = coordinated.holds.get(plan.role.name)
    ro, replicas = plan.rollout, plan.replicas
    if hold is not None:
        if hold.replicas is not None:
            replicas = hold.replicas
        if hold.partition:
            ro = replace(ro, partition=max(ro.partition, hold.partition))
        if hold.paused:
            ro = replace(ro, paused=True)
    if plan.role.name in rolled.partitions:
        ro = replace(ro, partition=rolled.partitions[plan.role.name])
    return replace(plan, replicas=replicas, rollout=ro)


class TooLarge(Exception):
    """A workload Metacontroller could not store: a spec problem found once it is built."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def role_children(
    group: str,
    spec: GroupSpec,
    plans: dict[str, RolePlan],
    templates: dict[str, tuple[dict[str, Any], ...]],
    kept: set[str],
    observed: Observed,
) -> list[tuple[str, dict[str, Any]]]:
    """Every started role's Service (StatefulSet roles) and workload, by role; a role in `kept`
    (its engine runtime profile missing) keeps its workload exactly as last applied."""
    out = []
    for i, role in enumerate(spec.roles):
        plan = plans.get(role.name)
        if plan is None:
            continue
        if role.workload.kind in (c.KIND_STATEFULSET, c.KIND_ROLE_INSTANCE_SET):
            out.append((role.name, headless_service(group, role, plan.service)))
        seen = observed.workload(workload_name(group, role.name)) if role.name in kept else None
        if seen is not None:
            out.append((role.name, observed.applied(seen)))
            continue
        child = workload(group, plan, templates[role.name])
        size = applied_size(child)
        if size > c.MAX_ANNOTATIONS_BYTES:
            raise TooLarge(Problem(
                f"spec.roles[{i}].template",
                f"role {role.name}: its {child['kind']} would carry {size} bytes of annotations once applied (Metacontroller stores "
                f"the whole object in {c.ANNOTATION_LAST_APPLIED}), over Kubernetes' limit of "
                f"{c.MAX_ANNOTATIONS_BYTES}: make the pod template smaller",
            ))
        out.append((role.name, child))
    return out


def changing_roles(workloads: dict[str, dict[str, Any]], observed: Observed) -> set[str]:
    """Roles whose workload is returned with another spec than Metacontroller last applied."""
    out = set()
    for role, child in workloads.items():
        seen = observed.workload(child["metadata"]["name"])
        if seen is not None and observed.applied(seen).get("spec") != child["spec"]:
            out.add(role)
    return out


def role_statuses(group: str, spec: GroupSpec, observed: Observed) -> list[dict[str, Any]]:
    out = []
    for role in spec.roles:
        got = counts(observed.workload(workload_name(group, role.name)), observed.role_pods(role.name))
        out.append(
            {"name": role.name, "replicas": role.replicas, "readyReplicas": got.ready, "updatedReplicas": got.updated}
        )
    return out


def _progress(s: dict[str, Any]) -> str:
    """ "prefill (2/2 ready, 1/2 updated)": updated only when pods of an older revision are among the ready."""
    updated = f", {s['updatedReplicas']}/{s['replicas']} updated" if s["updatedReplicas"] < s["readyReplicas"] else ""
    return f"{s['name']} ({s['readyReplicas']}/{s['replicas']} ready{updated})"


def discovery_condition(cuts: list[Cut]) -> dict[str, Any]:
    file = f"{c.DISCOVERY_MOUNT_PATH}/{c.DISCOVERY_FILE}"
    if not cuts:
        return condition(c.COND_DISCOVERY_TRUNCATED, False, c.REASON_ALL_INSTANCES_LISTED, f"{file} lists every instance")
    listed = ", ".join(f"{cut.listed} of {cut.size} {cut.role} instances" for cut in cuts)
    return condition(
        c.COND_DISCOVERY_TRUNCATED,
        True,
        c.REASON_INSTANCE_LIST_TOO_LONG,
        f"{file} lists {listed} (it is limited to {c.DISCOVERY_MAX_BYTES} bytes); "
        "each truncated role gives addressTemplate and ports for every instance",
    )


def conditions(spec: GroupSpec, p: Plan, statuses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    not_ready = [_progress(s) if s["name"] in p.started else f"{s['name']} (not created)" for s in statuses if s["name"] not in p.ready]
    all_ready = not not_ready
    ready = condition(
        c.COND_READY,
        all_ready,
        c.REASON_ALL_ROLES_READY if all_ready else c.REASON_ROLES_NOT_READY,
        "all roles are ready" if all_ready else "roles not ready: " + ", ".join(not_ready),
    )
    if p.waiting:
        waits = "; ".join(f"{role} waits for {', '.join(deps) or 'its previous pods to go'}" for role, deps in p.waiting.items())
        progressing = condition(c.COND_PROGRESSING, True, c.REASON_WAITING_FOR_DEPENDENCIES, waits)
    elif not all_ready:
        progressing = condition(
            c.COND_PROGRESSING, True, c.REASON_ROLLOUT_IN_PROGRESS, "waiting for " + ", ".join(not_ready)
        )
    else:
        progressing = condition(c.COND_PROGRESSING, False, c.REASON_COMPLETE, "all roles are created and ready")
    valid = condition(c.COND_INVALID_SPEC, False, c.REASON_SPEC_VALID, "spec is valid")
    return [ready, progressing, valid]


@dataclass(frozen=True)
class Answer:
    """The hook's answer, each child with the role it belongs to (None: the group's)."""

    status: dict[str, Any]
    children: list[tuple[str | None, dict[str, Any]]]

    def result(self) -> Result:
        return Result(status=self.status, children=[child for _, child in self.children])


def _frozen(parent: Parent, observed: Observed, invalid: Invalid, now: str) -> Answer:
    """Keep every child as it is and say why in status, keeping what status said before."""
    previous = dict(parent.status or {})
    status = {k: v for k, v in previous.items() if k not in ("conditions", "observedGeneration")}
    status["conditions"] = frozen_conditions(previous, invalid, now, parent.metadata.generation)
    return Answer(status=status, children=[(None, child) for child in observed.as_applied()])


def _reconcile(request: SyncRequest) -> tuple[Answer, GroupSpec | Invalid, Observed]:
    parent = request.parent
    group, namespace = parent.metadata.name, parent.metadata.namespace
    observed = Observed.from_request(request.children, request.related, namespace, group)
    now = request_time(parent, request.children, observed)

    parsed = validate(group, parent.spec, parent.metadata.annotations, observed.policy)
    if isinstance(parsed, Invalid):
        return _frozen(parent, observed, parsed, now), parsed, observed
    try:
        return _answer(request, parsed, observed, now), parsed, observed
    except TooLarge as err:  # a value the schema let through but the children can not carry
        invalid = Invalid(c.REASON_INVALID_FIELDS, (err.problem,))
        return _frozen(parent, observed, invalid, now), invalid, observed


def _answer(request: SyncRequest, parsed: GroupSpec, observed: Observed, now: str) -> Answer:
    parent = request.parent
    group, namespace = parent.metadata.name, parent.metadata.namespace
    parsed = workload_kinds(group, parsed, observed, request.children)
    engines = runtimes(group, parsed, observed)  # engineRuntimes: profiles injected (hooks.core.runtimes)
    written, parsed = parsed, engines.spec  # the rollout history records the templates as written
    sized = sizes(group, parsed, observed, parent.status)
    draining = drain(group, sized.spec, observed, request.finalizing, now)
    spec = draining.sized(sized.spec)  # a draining role keeps its replicas until its members are drained
    recovery = recover(group, spec, observed, (parent.status or {}).get("recovery"), now, parent.metadata.generation)
    unregistered = unregistered_roles(spec, request.children)
    instance_sets = unregistered_instance_sets(spec, request.children)
    p = plan(group, spec, observed, recovery.withheld | unregistered | engines.withheld | instance_sets)
    gang = schedule(group, spec, request.children)  # podGroupPolicy: pods enrolled here, the PodGroup sized below
    revision_labels = grouphistory.workload_labels(parent.metadata.annotations, parent.spec)
    plans = role_plans(namespace, group, parent.metadata.annotations, spec, p.started, gang, observed, parent.metadata.labels, revision_labels)
    templates = {name: built_templates(namespace, group, rp) for name, rp in plans.items()}
    pod_template = {name: t[0] for name, t in templates.items()}  # a StatefulSet's or Deployment's spec.template
    coordinated = coordinate(group, spec, plans, pod_template, observed)
    paced = {name: held(rp, coordinated, Rollouts()) for name, rp in plans.items()}
    rolled = hold_rollouts(group, paced, pod_template, observed, set(draining.held), now)
    plans = {name: held(rp, coordinated, rolled) for name, rp in plans.items()}
    # The discovery file leaves out the members being drained, a rolling update's one included.
    services = {name: rp.service for name, rp in plans.items()}
    configmap, cuts = discovery_configmap(group, spec, set(p.started), services, {**draining.excluded, **rolled.excluded})
    roles = role_children(group, spec, plans, templates, set(engines.missing), observed)
    workloads = {role: child for role, child in roles if child["kind"] in c.WORKLOAD_KINDS}
    # A role whose workload this answer changes is not ready, whatever its old status said.
    p = replace(p, ready=p.ready - changing_roles(workloads, observed))
    pod_groups, gang_conditions = gang.pod_groups(workloads, observed)
    children: list[tuple[str | None, dict[str, Any]]] = [
        (None, configmap),
        *roles,
        *((a["metadata"]["labels"][c.LABEL_ROLE_NAME], a) for a in sized.adapters),
        *revisions(group, written, p.started, observed),
        *((None, rev) for rev in grouphistory.group_revisions(group, parent.metadata.annotations, parent.spec, spec, observed)),
        *((None, child) for child in recovery.children),
        *draining.timers,
        *rolled.timers,
        *((None, pg) for pg in pod_groups),
    ]
    statuses = [
        {**s, "scalingAdapter": sized.held[s["name"]]} if s["name"] in sized.held else s
        for s in role_statuses(group, spec, observed)
    ]
    previous = (parent.status or {}).get("conditions") or []
    status: dict[str, Any] = {
        "readyRoles": f"{len(p.ready)}/{len(spec.roles)}",
        "roleStatuses": statuses,
        "conditions": merge_conditions(
            previous,
            [
                *conditions(spec, p, statuses),
                discovery_condition(cuts),
                *([coordination_condition(coordinated.messages)] if spec.coordination else []),
                *([recovery.condition] if recovery.condition else []),
                *filter(None, [drain_condition(spec, draining.report + rolled.report)]),
                *filter(None, [scheduling_condition(spec, observed)]),
                *gang_conditions,
                *filter(None, [leader_worker_sets_condition(spec, unregistered)]),
                *filter(None, [role_instance_sets_condition(spec, instance_sets)]),
                *filter(None, [engines.condition]),
            ],
            now=now,
            generation=parent.metadata.generation,
        ),
    }
    if recovery.status is not None:
        status["recovery"] = recovery.status
    if draining.report or rolled.report:
        status["draining"] = draining.report + rolled.report
    return Answer(status=status, children=children)


def sync(request: SyncRequest) -> Result:
    """The sync hook."""
    return _reconcile(request)[0].result()


def finalize(request: SyncRequest) -> Result:
    """Tear down in reverse dependency order: a role's workload goes once nothing observed depends on it.

    Services and the discovery ConfigMap go with the last workload; `finalized` once nothing is left.
    """
    answer, spec, observed = _reconcile(request)
    if isinstance(spec, Invalid) or not observed.objects:
        return Result(status=answer.status, children=[], finalized=not observed.objects)
    group = request.parent.metadata.name
    live = [r for r in spec.roles if observed.workload(workload_name(group, r.name)) is not None]
    # Live roles that a live role depends on stay, and so do roles whose members still drain
    # (hooks.core.drain: finalizing shrinks them to 0); nothing else is created while finalizing.
    keep = {d for r in live for d in r.dependencies} & {r.name for r in live}
    keep |= {d["role"] for d in answer.status.get("draining", [])}
    kept = [child for role, child in answer.children if role in keep or (role is None and live)]
    return Result(status=answer.status, children=kept, finalized=False)
