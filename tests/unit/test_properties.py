"""Properties over generated groups and observed states: determinism, gates, never shrinking."""

import copy
import json

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hooks import constants as c
from hooks.api import RoleBasedGroupSpec
from hooks.children.discovery import discovery_document, to_yaml
from hooks.core.observed import is_ready
from hooks.validation import parse_spec
from tests.support import go_json, observe, parent, request, sync
from tests.support import hub

NAMES = ["a", "b", "c", "d", "e"]
KINDS = [{"apiVersion": "apps/v1", "kind": "StatefulSet"}, {"apiVersion": "apps/v1", "kind": "Deployment"}]
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


@st.composite
def groups(draw, acyclic=True):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    roles = []
    for i, name in enumerate(names):
        pool = names[:i] if acyclic else names
        roles.append(
            {
                "name": name,
                "replicas": draw(st.integers(0, 3)),
                "dependencies": draw(st.lists(st.sampled_from(pool), unique=True, max_size=3)) if pool else [],
                "workload": draw(st.sampled_from(KINDS)),
                "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}},
            }
        )
    policy = draw(st.sampled_from(["Ordered", "Parallel"]))
    return parent({"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": "g"},
                   "spec": {"roles": roles, "startupPolicy": policy}})


@st.composite
def observed_states(draw, group):
    """Some of the children the group could have, each workload ready or not."""
    everything = copy.deepcopy(group)
    everything["spec"]["startupPolicy"] = "Parallel"
    # Observed children may come from an older spec: let replicas differ.
    for role in everything["spec"]["roles"]:
        role["replicas"] = draw(st.sampled_from([role["replicas"], 1, 2]))
    children = sync(request(everything)).children
    present = [ch for ch in children if draw(st.booleans())]
    ready = {r["name"] for r in group["spec"]["roles"] if draw(st.booleans())}
    return observe(present, ready=ready)


def _workloads(children):
    return {(ch["kind"], ch["metadata"]["name"]) for ch in children if ch["kind"] in ("StatefulSet", "Deployment")}


def _observed_workloads(observed):
    return {
        (obj["kind"], obj["metadata"]["name"])
        for key in (c.CHILD_STATEFULSET, c.CHILD_DEPLOYMENT)
        for obj in observed.get(key, {}).values()
    }


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data())
def test_same_request_same_bytes(data):
    group = data.draw(groups(acyclic=data.draw(st.booleans())))
    req = request(group, data.draw(observed_states(group)))
    first = json.dumps(sync(req).response())
    assert json.dumps(sync(copy.deepcopy(req)).response()) == first


@SETTINGS
@given(st.data())
def test_gates_never_open_early(data):
    group = data.draw(groups())
    group["spec"]["startupPolicy"] = "Ordered"
    observed = data.draw(observed_states(group))
    seen = {obj["metadata"]["name"]: obj for key in (c.CHILD_STATEFULSET, c.CHILD_DEPLOYMENT) for obj in observed[key].values()}
    roles = {r["name"]: r for r in group["spec"]["roles"]}
    for kind, name in _workloads(sync(request(group, observed)).children):
        role = roles[name.removeprefix("g-")]
        if name in seen:
            continue  # existing workloads are never withdrawn
        for dep in role["dependencies"]:
            assert is_ready(seen.get(f"g-{dep}"), roles[dep]["replicas"]), f"{name} created before {dep} was ready"


@SETTINGS
@given(st.data())
def test_existing_workloads_are_never_dropped(data):
    group = data.draw(groups(acyclic=data.draw(st.booleans())))
    observed = data.draw(observed_states(group))
    got = _workloads(sync(request(group, observed)).children)
    current = {(r["workload"]["kind"], f"g-{r['name']}") for r in group["spec"]["roles"]}
    assert _observed_workloads(observed) & current <= got


@SETTINGS
@given(st.data())
def test_invalid_or_unexpected_input_never_shrinks_the_children(data):
    group = data.draw(groups())
    observed = data.draw(observed_states(group))
    broken = copy.deepcopy(group)
    role = data.draw(st.sampled_from(broken["spec"]["roles"]))
    role[data.draw(st.sampled_from(["replicas", "dependencies", "workload", "template", "servicePorts", "bogus"]))] = data.draw(JUNK)
    try:
        converted = hub.group(broken["spec"])["spec"]
    except ValueError:  # the API server would refuse it: the conversion webhook fails it
        return
    result = sync(request(broken, observed))
    kept = {(ch["kind"], ch["metadata"]["name"]) for ch in result.children}
    seen = {(obj["kind"], obj["metadata"]["name"]) for objs in observed.values() for obj in objs.values()}
    invalid = next(x for x in result.status["conditions"] if x["type"] == c.COND_INVALID_SPEC)
    if invalid["status"] == "True":
        assert kept == seen  # frozen: nothing created, nothing removed
    else:  # still valid: what it now asks for is kept (a role may have switched kind)
        current = {(r.workload.kind, f"g-{r.name}") for r in parse_spec("g", converted).roles}
        assert _observed_workloads(observed) & current <= _workloads(result.children)


SCALARS = st.text(max_size=8) | st.integers(-(2**40), 2**40) | st.sampled_from(["true", "no", "null", "1e3", "-x", "a: b"])
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


@SETTINGS
@given(st.dictionaries(st.text(max_size=6), DOCS, min_size=1, max_size=3))
@example({"a\n": []})  # "$" also matches before a final newline
def test_discovery_yaml_reads_back_as_the_same_document(doc):
    assert yaml.safe_load(to_yaml(doc)) == doc


@st.composite
def listings(draw):
    """A spec, the roles started, and a budget for the discovery file."""
    roles = []
    for name in draw(st.lists(st.sampled_from(["a", "prefill", "no", "d" * 40]), min_size=1, max_size=4, unique=True)):
        ports = draw(st.lists(st.sampled_from(["http", "no", "bootstrap-port", "9p"]), unique=True, max_size=3))
        roles.append({
            "name": name,
            "replicas": draw(st.integers(0, 30) | st.just(c.INT32_MAX)),
            "workload": draw(st.sampled_from(KINDS)),
            "servicePorts": [{"name": p, "port": draw(st.integers(1, 65535))} for p in ports],
            "template": {},
        })
    started = draw(st.sets(st.sampled_from([r["name"] for r in roles])))
    return hub.spec({"roles": roles}), started, draw(st.integers(0, 6000))


@SETTINGS
@given(listings())
def test_discovery_lists_instances_only_within_the_budget_and_says_what_it_cut(case):
    spec, started, budget = case
    doc, cuts = discovery_document("g", spec, started, {r.name: f"g-{r.name}" for r in spec.roles}, budget)
    text = to_yaml(doc)
    assert yaml.safe_load(text) == doc
    listed = {name: len(role["instances"]) for name, role in doc["roles"].items()}
    if any(listed.values()):
        assert len(go_json(text)) - 2 <= budget  # as stored in the last-applied annotation
    assert {cut.role: (cut.listed, cut.size) for cut in cuts} == {
        r.name: (listed[r.name], r.replicas) for r in spec.roles if doc["roles"][r.name].get("truncated")
    }
    for r in spec.roles:
        role = doc["roles"][r.name]
        address = f"g-{r.name}-{{}}.g-{r.name}"
        ports = {p["name"].replace("-", "_"): p["port"] for p in r.service_ports}
        assert role["instances"] == [{"address": address.format(i), "ports": ports} for i in range(listed[r.name])]
        if role.get("truncated"):
            assert listed[r.name] < r.replicas and role["ports"] == ports
            assert role["addressTemplate"].format(index=r.replicas - 1) == address.format(r.replicas - 1)
        else:
            complete = r.name in started and r.workload.kind == c.KIND_STATEFULSET
            assert set(role) == {"size", "instances"} and listed[r.name] == (r.replicas if complete else 0)
    if all(r.replicas < 100 for r in spec.roles):
        full, none_cut = discovery_document("g", spec, started, {r.name: f"g-{r.name}" for r in spec.roles}, budget=10**6)
        if len(go_json(to_yaml(full))) - 2 <= budget:
            assert (doc, cuts) == (full, none_cut) == (full, [])
