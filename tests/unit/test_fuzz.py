"""Fuzzing /sync and /finalize through the Flask app with requests near and far from Metacontroller's.

Whatever arrives: no 5xx, no 200 without the complete desired state, and a group whose spec is
invalid keeps every observed child.
"""

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooks import constants as c
from hooks.app import create_app
from tests.support import observe, parent, request, sync

CLIENT = create_app().test_client()
NAMES = ["a", "b", "prefill", "no", "r" * 60, "Bad", "ü", ""]
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.sampled_from([2**31, 2**31 - 1, -1, 10**30])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["50%", "-5%", "1e999", "🙂", "default/x", "\u2028"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
TEMPLATES = st.sampled_from(
    [
        {"spec": {"containers": [{"name": "c", "image": "i"}]}},
        {"spec": {"containers": [{"name": "c", "image": "i", "env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "a"}}}],
                                  "resources": {"limits": {"cpu": "0.5", "memory": "1e3"}}}],
                  "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1Gi"}}]}},
        {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}]}},
    ]
)


@st.composite
def specs(draw):
    roles = []
    for name in draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4)):
        role = {
            "name": name,
            "replicas": draw(st.integers(0, 3) | st.sampled_from([c.INT32_MAX, 2**31, -1])),
            "dependencies": draw(st.lists(st.sampled_from(NAMES), max_size=2)),
            "workload": draw(st.sampled_from([{}, {"kind": "Deployment"}, {"apiVersion": "x/v1", "kind": "Y"}])),
            "template": draw(TEMPLATES),
        }
        if draw(st.booleans()):
            role["servicePorts"] = draw(st.lists(st.fixed_dictionaries({"name": st.sampled_from(["http", "b-p", "no"]), "port": st.integers(0, 70000)}), max_size=2))
        if draw(st.booleans()):
            role["rolloutStrategy"] = {"rollingUpdate": {"partition": draw(st.sampled_from([0, 2**31 - 1, "50%", "x", "200%"]))}}
        roles.append(role)
    return {"roles": roles, "startupPolicy": draw(st.sampled_from(["Ordered", "Parallel"]))}


def _paths(node, at=()):
    yield at
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _paths(value, (*at, key))


@st.composite
def requests(draw):
    spec = draw(specs())
    group = parent({"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": draw(st.sampled_from(["g", "1g", "ü"]))}, "spec": spec})
    # Observed children: some of what a valid version of the group would have, maybe stripped of
    # their last-applied annotation or given status of any shape.
    valid = copy.deepcopy(group)
    valid["metadata"]["name"] = "g"
    valid["spec"] = {"roles": [{"name": n, "replicas": 2, "template": {"spec": {"containers": [{"name": "c"}]}}} for n in ("a", "b")],
                     "startupPolicy": "Parallel"}
    present = [ch for ch in sync(request(valid)).children if draw(st.booleans())]
    children = observe(present, ready=draw(st.booleans()))
    req = request(group, children)
    if draw(st.booleans()):
        req["parent"]["status"] = sync(request(valid)).status
    for _ in range(draw(st.integers(0, 3))):
        paths = list(_paths(req))
        path = draw(st.sampled_from([p for p in paths if len(p) <= 3]) | st.sampled_from(paths))
        action = draw(st.sampled_from(["junk", "delete", "extra"]))
        if not path:
            req = draw(JUNK) if action == "junk" else req
            continue
        target = req
        for key in path[:-1]:
            target = target[key]
        if action == "junk":
            target[path[-1]] = draw(JUNK)
        elif action == "delete":
            del target[path[-1]]
        elif isinstance(target[path[-1]], dict):
            target[path[-1]][draw(st.text(max_size=6))] = draw(JUNK)
    return req


def _observed(req):
    children = req.get("children") if isinstance(req, dict) else None
    return {
        (key.split(".", 1)[0], obj["metadata"]["name"])
        for key, objs in (children.items() if isinstance(children, dict) else ())
        if key in c.CHILD_TYPES and isinstance(objs, dict)
        for obj in objs.values()
    }


def _complete(req):
    return (
        isinstance(req, dict)
        and {"controller", "parent", "children"} <= set(req)
        and isinstance(req["children"], dict)
        and set(c.CHILD_TYPES) <= set(req["children"])
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(requests(), st.sampled_from(["/sync", "/finalize"]))
def test_any_request_gets_a_complete_answer_or_a_client_error(req, path):
    got = CLIENT.post(path, data=json.dumps(req), content_type="application/json")
    assert got.status_code in (200, 400, 422), got.get_data(as_text=True)
    if got.status_code != 200:
        assert "error" in got.get_json()
        return
    assert _complete(req)
    body = got.get_json()
    assert set(body) == ({"status", "children", "finalized"} if path == "/finalize" else {"status", "children"})
    for child in body["children"]:
        assert {"apiVersion", "kind", "metadata"} <= set(child) and isinstance(child["metadata"]["name"], str)
    types = [cond["type"] for cond in body["status"]["conditions"]]
    assert len(types) == len(set(types)) and {c.COND_READY, c.COND_INVALID_SPEC} <= set(types)
    for cond in body["status"]["conditions"]:
        assert all(isinstance(cond[k], str) for k in ("status", "reason", "message", "lastTransitionTime"))
    invalid = next(cond for cond in body["status"]["conditions"] if cond["type"] == c.COND_INVALID_SPEC)
    if invalid["status"] == "True" and path == "/sync":  # frozen: nothing deleted
        assert _observed(req) <= {(ch["kind"], ch["metadata"]["name"]) for ch in body["children"]}
