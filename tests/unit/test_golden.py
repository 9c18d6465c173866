"""Golden JSON in/out, through the HTTP face, for every document of every example that a hook handles.

Every YAML file under examples/ (recursively) is read; each of its documents is either the parent
of a scenario below, or named in SKIPPED with the reason no hook answers for it. A new example is
covered as soon as it exists: its goldens are missing until `make golden` writes them.

Layout: tests/golden/<example path without .yaml>/<object name>/ holds, for one parent object,

    customize-request.json, customize-response.json   the customize hook's call, where it has one
    <n>-request.json, <n>-response.json               sync step n (0, 1, ...)

except a CoordinatedPolicy, which has the name of the group it binds: its folder is
tests/golden/<example path without .yaml>/CoordinatedPolicy/<object name>/.

Requests are posted as the very bytes of the request file; responses are stored indented, and the
server's answer must be exactly their compact form (the key order included). The scenarios:

- RoleBasedGroup (POST /customize, then /sync): step 0 observes no children; each next step
  observes the previous answer's children as Metacontroller shows them, every workload ready,
  until the answer's children no longer change. The request carries the child types the
  registration would: metacontroller/'s, plus LeaderWorkerSets for a group with an LWS role
  (overlays/leaderworkerset) and the PodGroup type its gang annotations (or a v1alpha1 group's
  podGroupPolicy) name (overlays/volcano or overlays/scheduler-plugins). `related` holds what the
  customize answer asked for: the ClusterEngineRuntimeProfiles and the CoordinatedPolicies of the
  same example file, and the pods of its workloads (Running, Ready, at the workload's revision).
- RoleBasedGroupScalingAdapter (/rbgsa/customize, /rbgsa/sync): an example's own documents, and
  the adapters a group of the example creates (folder named as the adapter): the group as it ends
  its startup, and the target role's pods, are related; each step observes the previous status.
- RoleBasedGroupSet, both forms (/rbgs/sync): as a group, its members observed with the status
  their own startup (the RoleBasedGroup scenario) ends with, and its observedGeneration.
- CoordinatedPolicy (/cpolicy/customize, /cpolicy/sync): the group of its name in the same example
  file, as it ends its startup, is related; each step observes the previous status.
- gang-ready pods (/gangready/customize, /gangready/sync): a pod labelled with a gang, its gang
  the pods of its file with the same label; step 0 all Pending, step 1 all Running, step 2 the
  target with the labels of answer 1 and Succeeded (KWOK's pod-complete-on-ready Stage).

Regenerate after an intended change with `make golden` (UPDATE_GOLDEN=1) and review the diff.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks import constants as c
from hooks.api import RoleSpec
from hooks.app import create_app
from hooks.conversion.v1alpha1 import to_hub
from hooks.validation.policies import gang
from tests.support import (
    KEYS,
    ROOT,
    adapter_request,
    child_key,
    customize_request,
    gang_request,
    observe,
    observe_members,
    parent,
    request,
    set_request,
    workload_pods,
)

GOLDEN = ROOT / "tests" / "golden"
EXAMPLES_DIR = ROOT / "examples"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
NAMESPACE = "default"
MAX_STEPS = 10

# Documents no hook answers for, by kind, and why.
SKIPPED = {
    "HorizontalPodAutoscaler": "no hook: the HPA controller scales a RoleBasedGroupScalingAdapter through /scale; "
    "the adapters themselves are covered, as the groups that enable them create them",
    "ConfigMap": "no hook: a ConfigMap of the example is plain Kubernetes",
    "Service": "no hook: a Service of the example (not a child of ours) is plain Kubernetes",
    "Node": "no hook: a KWOK node of the example",
    "Stage": "no hook: a KWOK Stage of the example (kwok.x-k8s.io), run by KWOK",
    c.KIND_ENGINE_RUNTIME_PROFILE: "no hook: a profile is no parent; it is given as a related object to the groups that name it",
}
UNLABELLED_POD = f"no hook: the gang-ready DecoratorController selects only pods labelled {c.LABEL_PODGROUP_NAME}"


def _text(obj: Any) -> str:
    return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"


def _wire(obj: Any) -> bytes:
    """What the hook server writes for `obj`: compact JSON, UTF-8, keys in the order given."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


_CLIENT = create_app().test_client()


def post(route: str, req: dict[str, Any]) -> dict[str, Any]:
    """The answer to `req` (posted as its golden text) on `route`; it must be a 200."""
    got = _CLIENT.post(route, data=_text(req).encode(), content_type="application/json")
    assert got.status_code == 200, f"{route} answered {got.status_code}: {got.get_data(as_text=True)}"
    return json.loads(got.data)


# --- the examples' documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    path: Path  # the example file
    obj: dict[str, Any]

    @property
    def example(self) -> str:
        """The example's path under examples/, without .yaml."""
        return self.path.relative_to(EXAMPLES_DIR).with_suffix("").as_posix()

    @property
    def kind(self) -> str:
        return self.obj.get("kind", "")

    @property
    def name(self) -> str:
        return self.obj.get("metadata", {}).get("name", "")


def example_files() -> list[Path]:
    return sorted(EXAMPLES_DIR.rglob("*.yaml"))


def documents(path: Path) -> list[Doc]:
    return [Doc(path, d) for d in yaml.safe_load_all(path.read_text()) if d]


# --- scenarios: a parent's sequence of (route, request, response) --------------------------------


@dataclass
class Case:
    folder: str  # under tests/golden/
    calls: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (file stem, route, req, resp)

    def call(self, stem: str, route: str, req: dict[str, Any]) -> dict[str, Any]:
        resp = post(route, req)
        self.calls.append((stem, route, req, resp))
        return resp


def _time(step: int) -> str:
    return f"2026-01-01T00:{step:02d}:00Z"


# RoleBasedGroup ---------------------------------------------------------------------------------


def group_types(obj: dict[str, Any]) -> list[str]:
    """The optional child types registered for a group like this (either version): the overlay it needs."""
    hub = to_hub(obj) if obj.get("apiVersion") == c.API_VERSION_V1ALPHA1 else obj
    types = []
    roles = [RoleSpec.model_validate(r) for r in (hub.get("spec") or {}).get("roles") or []]
    if any(r.workload.kind == c.KIND_LWS for r in roles):
        types.append(c.CHILD_LWS)
    policy = gang((hub.get("metadata") or {}).get("annotations") or {})
    assert not hasattr(policy, "path"), f"the example's gang annotations are invalid: {policy}"
    if policy is not None and policy.kube_scheduling is not None:
        types.append(c.CHILD_KUBE_POD_GROUP)
    elif policy is not None and policy.volcano_scheduling is not None:
        types.append(c.CHILD_VOLCANO_POD_GROUP)
    return types


def observed_children(desired: list[dict[str, Any]], types: list[str], time: str, pods: bool) -> dict[str, dict[str, Any]]:
    """The children Metacontroller shows after applying `desired`, every workload ready; with
    pods observed, StatefulSets name the revision their pods (workload_pods) run."""
    for child in desired:
        assert child["kind"] in KEYS or child_key(child) in types, f"a {child_key(child)} child, but its type is not registered"
    return observe(desired, time=time, types=types, revisions=pods)


def group_related(
    answer: dict[str, Any], profiles: dict[str, dict[str, Any]], children: dict[str, dict[str, Any]], time: str, policies: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The related objects Metacontroller sends for a customize answer."""
    related: dict[str, Any] = {}
    policies = policies or {}
    for res in answer["relatedResources"]:
        if res["resource"] == "pods":
            related[c.RELATED_POD] = workload_pods(children, time)
        elif res["resource"] == c.ENGINE_RUNTIME_PROFILES:
            related[c.RELATED_ENGINE_RUNTIME_PROFILE] = {f"/{n}": profiles[n] for n in res["names"] if n in profiles}
        elif res["resource"] == c.COORDINATED_POLICIES:
            related[c.RELATED_COORDINATED_POLICY] = {f"{NAMESPACE}/{n}": policies[n] for n in res["names"] if n in policies}
        else:
            raise AssertionError(f"a related resource the scenario does not provide: {res}")
    return related


@dataclass
class GroupRun:
    case: Case
    final: dict[str, Any]  # the group, with the status of the last answer
    children: dict[str, dict[str, Any]]  # as last observed


def run_group(
    folder: str, obj: dict[str, Any], profiles: dict[str, dict[str, Any]], policies: dict[str, dict[str, Any]] | None = None
) -> GroupRun:
    case = Case(folder)
    types = group_types(obj)
    answer = case.call("customize", "/customize", customize_request(obj))
    wants_pods = any(r["resource"] == "pods" for r in answer["relatedResources"])
    req = request(obj, related=group_related(answer, profiles, {}, _time(0), policies), types=types)
    resp = case.call("0", "/sync", req)
    for step in range(1, MAX_STEPS):
        with_status = copy.deepcopy(obj)
        with_status["status"] = resp["status"]
        children = observed_children(resp["children"], types, _time(step), wants_pods)
        req = request(with_status, children, group_related(answer, profiles, children, _time(step), policies))
        previous, resp = resp, case.call(str(step), "/sync", req)
        if resp["children"] == previous["children"]:
            final = copy.deepcopy(obj)
            final["status"] = resp["status"]
            return GroupRun(case, final, children)
    raise AssertionError(f"{folder}: startup did not converge in {MAX_STEPS} steps")


# RoleBasedGroupScalingAdapter -------------------------------------------------------------------


def adapter_of(child: dict[str, Any], group: dict[str, Any]) -> dict[str, Any]:
    """An adapter a group created, as the API server sends it: owned by the group."""
    obj = copy.deepcopy(child)
    meta = obj["metadata"]
    meta.pop("annotations", None)
    meta["ownerReferences"] = [
        {
            "apiVersion": group["apiVersion"],
            "kind": group["kind"],
            "name": group["metadata"]["name"],
            "uid": group["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    obj.pop("status", None)
    return obj


def run_adapter(folder: str, obj: dict[str, Any], groups: dict[str, dict[str, Any]], children: dict[str, dict[str, Any]], time: str) -> Case:
    case = Case(folder)
    answer = case.call("customize", "/rbgsa/customize", customize_request(obj, "rolebasedgroupscalingadapter"))
    related: dict[str, Any] = {}
    for res in answer["relatedResources"]:
        if res["resource"] == "rolebasedgroups":
            related[c.CHILD_RBG] = {f"{NAMESPACE}/{n}": groups[n] for n in res["names"] if n in groups}
        elif res["resource"] == "pods":
            role = res["labelSelector"]["matchLabels"].get(c.LABEL_ROLE_NAME)
            related[c.RELATED_POD] = workload_pods(children, time, role=role)
        else:
            raise AssertionError(f"a related resource the scenario does not provide: {res}")
    current, previous = obj, None
    for step in range(MAX_STEPS):
        resp = case.call(str(step), "/rbgsa/sync", adapter_request(current, related))
        if resp == previous:
            return case
        previous, current = resp, {**copy.deepcopy(obj), "status": resp["status"]}
    raise AssertionError(f"{folder}: the adapter's status did not settle in {MAX_STEPS} steps")


# CoordinatedPolicy ------------------------------------------------------------------------------


def run_policy(folder: str, obj: dict[str, Any], groups: dict[str, dict[str, Any]]) -> Case:
    case = Case(folder)
    answer = case.call("customize", "/cpolicy/customize", customize_request(obj, "coordinatedpolicy"))
    related: dict[str, Any] = {}
    for res in answer["relatedResources"]:
        if res["resource"] == "rolebasedgroups":
            related[c.CHILD_RBG] = {f"{NAMESPACE}/{n}": groups[n] for n in res["names"] if n in groups}
        else:
            raise AssertionError(f"a related resource the scenario does not provide: {res}")
    current, previous = obj, None
    for step in range(MAX_STEPS):
        req = {"controller": {"metadata": {"name": "coordinatedpolicy"}}, "parent": current, "children": {}, "related": related, "finalizing": False}
        resp = case.call(str(step), "/cpolicy/sync", req)
        if resp == previous:
            return case
        previous, current = resp, {**copy.deepcopy(obj), "status": resp["status"]}
    raise AssertionError(f"{folder}: the policy's status did not settle in {MAX_STEPS} steps")


# RoleBasedGroupSet ------------------------------------------------------------------------------


def run_set(folder: str, obj: dict[str, Any], profiles: dict[str, dict[str, Any]]) -> Case:
    case = Case(folder)

    def member_status(member: dict[str, Any]) -> dict[str, Any]:
        """The status the member's own startup ends with, and the generation Metacontroller
        records with it (it sets status.observedGeneration on every status it writes)."""
        status = run_group("", member, profiles).final["status"]
        return {**status, "observedGeneration": member["metadata"]["generation"]}

    name = "openpatio-rolebasedgroupset" if obj["apiVersion"] == c.SEED_API_VERSION else "rolebasedgroupset"
    resp = case.call("0", "/rbgs/sync", set_request(obj, controller_name=name))
    for step in range(1, MAX_STEPS):
        with_status = copy.deepcopy(obj)
        with_status["status"] = resp["status"]
        members = observe_members(resp["children"], time=_time(step), status=member_status)
        previous, resp = resp, case.call(str(step), "/rbgs/sync", set_request(with_status, members, controller_name=name))
        if resp["children"] == previous["children"]:
            return case
    raise AssertionError(f"{folder}: the set did not converge in {MAX_STEPS} steps")


# gang-ready pods --------------------------------------------------------------------------------


def created_pod(doc: dict[str, Any], phase: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A pod document of the example as the API server shows it, in `phase`, with `labels` added."""
    obj = parent(doc)
    meta = obj["metadata"]
    meta["uid"] = f"uid-pod-{meta['name']}"
    meta.pop("generation", None)  # pods have none
    if labels:
        meta["labels"] = {**meta.get("labels", {}), **labels}
    obj["status"] = {"phase": phase}
    return obj


def run_gang_pod(folder: str, target: dict[str, Any], gang: list[dict[str, Any]]) -> Case:
    case = Case(folder)
    case.call("customize", "/gangready/customize", customize_request(created_pod(target, "Pending"), "gang-ready"))
    name = target["metadata"]["name"]

    def sync_request(phase: str, target_phase: str, labels: dict[str, str]) -> dict[str, Any]:
        me = created_pod(target, target_phase, labels)
        return gang_request(me, *(me if p["metadata"]["name"] == name else created_pod(p, phase) for p in gang), related_self=False)

    first = case.call("0", "/gangready/sync", sync_request("Pending", "Pending", {}))
    second = case.call("1", "/gangready/sync", sync_request("Running", "Running", first["labels"]))
    case.call("2", "/gangready/sync", sync_request("Running", "Succeeded", second["labels"]))
    return case


# --- every example -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Skip:
    folder: str
    reason: str


def example_cases(path: Path) -> Iterator[Case | Skip]:
    docs = documents(path)
    example = path.relative_to(EXAMPLES_DIR).with_suffix("").as_posix()
    profiles = {d.name: d.obj for d in docs if d.kind == c.KIND_ENGINE_RUNTIME_PROFILE}
    # A CoordinatedPolicy binds the group of its name: related to that group, as Metacontroller sends it.
    policies = {d.name: parent(d.obj) for d in docs if d.kind == c.KIND_COORDINATED_POLICY and d.obj.get("apiVersion") == c.API_VERSION}
    groups: dict[str, dict[str, Any]] = {}
    created_adapters: list[tuple[dict[str, Any], dict[str, dict[str, Any]]]] = []
    for doc in docs:
        folder = f"{example}/{doc.name}"
        api_group = doc.obj.get("apiVersion", "").split("/")[0]
        if doc.kind == c.KIND_RBG and api_group == c.GROUP:
            run = run_group(folder, parent(doc.obj), profiles, policies)
            groups[doc.name] = run.final
            for child in run.children.get(c.CHILD_ADAPTER, {}).values():
                created_adapters.append((adapter_of(child, run.final), run.children))
            yield run.case
        elif doc.kind == c.KIND_RBGS and api_group in (c.GROUP, c.SEED_GROUP):
            yield run_set(folder, parent(doc.obj), profiles)
        elif doc.kind == c.KIND_RBGSA and api_group == c.GROUP:
            created_adapters.append((parent(doc.obj), {}))
        elif doc.kind == c.KIND_COORDINATED_POLICY and doc.obj.get("apiVersion") == c.API_VERSION:
            pass  # after every group of the file, below: it reports on the group of its name
        elif doc.kind == "Pod" and doc.obj.get("apiVersion") == "v1":
            gang = (doc.obj["metadata"].get("labels") or {}).get(c.LABEL_PODGROUP_NAME)
            if gang is None:
                yield Skip(folder, UNLABELLED_POD)
                continue
            mates = [d.obj for d in docs if d.kind == "Pod" and (d.obj["metadata"].get("labels") or {}).get(c.LABEL_PODGROUP_NAME) == gang]
            yield run_gang_pod(folder, doc.obj, mates)
        elif doc.kind in SKIPPED:
            yield Skip(folder, SKIPPED[doc.kind])
        else:
            raise AssertionError(f"{path}: no scenario for a {doc.kind} ({doc.obj.get('apiVersion')}): add one, or a reason to SKIPPED")
    for adapter, children in created_adapters:  # after every group of the file: an adapter's target may come later
        yield run_adapter(f"{example}/{adapter['metadata']['name']}", adapter, groups, children, _time(MAX_STEPS))
    for name, policy in policies.items():
        yield run_policy(f"{example}/{c.KIND_COORDINATED_POLICY}/{name}", policy, groups)


def _all() -> tuple[list[Case], list[Skip]]:
    cases: list[Case] = []
    skips: list[Skip] = []
    for path in example_files():
        for item in example_cases(path):
            (skips if isinstance(item, Skip) else cases).append(item)
    folders = [x.folder for x in [*cases, *skips]]
    duplicated = sorted({f for f in folders if folders.count(f) > 1})
    assert not duplicated, f"two objects of one example share a golden folder: {duplicated}"
    return cases, skips


CASES, SKIPS = _all()


def _calls() -> Iterator[Any]:
    for case in CASES:
        for stem, route, req, resp in case.calls:
            yield pytest.param(case.folder, stem, route, req, resp, id=f"{case.folder}/{stem}")


@pytest.mark.parametrize("folder,stem,route,req,resp", list(_calls()))
def test_golden(folder, stem, route, req, resp):
    """Each call of each scenario: the request and the answer are the golden ones."""
    where = GOLDEN / folder
    req_file, resp_file = where / f"{stem}-request.json", where / f"{stem}-response.json"
    if UPDATE:
        where.mkdir(parents=True, exist_ok=True)
        req_file.write_text(_text(req))
        resp_file.write_text(_text(resp))
    assert req_file.exists() and resp_file.exists(), f"{req_file} is missing: `make golden`"
    assert _text(req) == req_file.read_text(), f"{req_file} is stale: review, then `make golden`"
    assert _text(resp) == resp_file.read_text(), f"{resp_file} differs: review, then `make golden`"


@pytest.mark.parametrize("folder,reason", [(s.folder, s.reason) for s in SKIPS], ids=[s.folder for s in SKIPS])
def test_skipped(folder, reason):
    """Documents no hook answers for: listed, with the reason."""
    assert not (GOLDEN / folder).exists(), f"goldens for {folder}, which is skipped"
    pytest.skip(reason)


def _route(req: dict[str, Any], customize: bool) -> str:
    """The route a golden request goes to, as its controller's registration names it."""
    if "object" in req:
        return "/gangready/sync"
    kind = req["parent"]["kind"]
    if kind == "Pod":
        return "/gangready/customize"
    prefix = {c.KIND_RBG: "", c.KIND_RBGS: "/rbgs", c.KIND_RBGSA: "/rbgsa", c.KIND_COORDINATED_POLICY: "/cpolicy"}[kind]
    return f"{prefix}/customize" if customize else f"{prefix}/sync"


def _golden_requests() -> list[Path]:
    return sorted(GOLDEN.rglob("*-request.json"))


@pytest.mark.parametrize("req_file", _golden_requests(), ids=lambda p: p.relative_to(GOLDEN).as_posix())
def test_golden_over_http(req_file):
    """Replayed from the files alone: the server answers each golden request with exactly the
    golden response, byte for byte in its compact form."""
    resp_file = req_file.with_name(req_file.name.replace("-request", "-response"))
    route = _route(json.loads(req_file.read_text()), customize=req_file.name.startswith("customize"))
    got = _CLIENT.post(route, data=req_file.read_bytes(), content_type="application/json")
    assert got.status_code == 200, got.get_data(as_text=True)
    assert got.data == _wire(json.loads(resp_file.read_text()))


def test_no_stale_goldens():
    """Every golden file belongs to a call of a scenario (a removed example takes its goldens along)."""
    expected = {GOLDEN / case.folder / f"{stem}-{what}.json" for case in CASES for stem, *_ in case.calls for what in ("request", "response")}
    extra = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*.json") if p not in expected)
    if UPDATE:
        for name in extra:
            (GOLDEN / name).unlink()
        for folder in sorted(GOLDEN.rglob("*"), reverse=True):  # and the folders left empty
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return
    assert not extra, f"golden files of no scenario (remove them): {extra}"


def test_every_example_file_is_covered():
    """Each example file gives at least one scenario or says why it has none."""
    seen = {case.folder.rsplit("/", 1)[0] for case in CASES} | {s.folder.rsplit("/", 1)[0] for s in SKIPS}
    missing = [p for p in example_files() if p.relative_to(EXAMPLES_DIR).with_suffix("").as_posix() not in seen]
    assert not missing, f"example files with no document at all: {missing}"
