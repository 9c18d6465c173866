"""The HTTP contract Metacontroller relies on: 200 only with the full desired state."""

import json

import pytest

from hooks import constants as c
from hooks.app import create_app
from hooks.core import rbg
from tests.support import V1ALPHA1, example_group, observe, request, sync
from tests.support import post as _post
from hooks.api import SyncRequest


def request_from(body):
    return SyncRequest.model_validate(body)


@pytest.fixture
def client():
    return create_app().test_client()


def test_healthz(client):
    got = client.get("/healthz")
    assert got.status_code == 200 and got.data == b"ok\n"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""], ids=["garbage", "array", "empty"])
def test_400_for_a_body_that_is_not_a_json_object(client, body):
    got = _post(client, "/sync", body, raw=True)
    assert got.status_code == 400
    assert got.get_json() == {"error": "request body must be a JSON object (a Metacontroller hook request)"}


def _req():
    return request(example_group(V1ALPHA1 / "minimal.yaml"))


@pytest.mark.parametrize(
    "mutate,path",
    [
        pytest.param(lambda r: r.pop("parent"), "parent", id="no-parent"),
        pytest.param(lambda r: r["parent"].update(kind="Deployment"), "parent.kind", id="wrong-kind"),
        pytest.param(lambda r: r["parent"]["metadata"].pop("name"), "parent.metadata.name", id="no-name"),
        pytest.param(lambda r: r["parent"].update(spec="x"), "parent.spec", id="spec-not-object"),
        pytest.param(lambda r: r["children"].update({c.CHILD_STATEFULSET: {"x": {"metadata": {}}}}), "children.StatefulSet.apps/v1.x.metadata.name", id="child-without-name"),
        pytest.param(
            lambda r: r["children"][c.CHILD_STATEFULSET].update({"default/x": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}}}),
            "children",
            id="child-of-another-type",
        ),
        pytest.param(lambda r: r.pop("controller"), "controller", id="no-controller"),
        pytest.param(lambda r: r.pop("children"), "children", id="no-children"),
        pytest.param(lambda r: r["children"].pop(c.CHILD_DEPLOYMENT), "children.Deployment.apps/v1", id="a-child-type-missing"),
        pytest.param(
            lambda r: r["children"].pop(c.CHILD_CONTROLLER_REVISION), "children.ControllerRevision.apps/v1", id="revisions-missing"
        ),
        pytest.param(
            lambda r: r["children"][c.CHILD_CONTROLLER_REVISION].update(
                {"default/x": {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "x"}, "revision": "2"}}
            ),
            "children.ControllerRevision.apps/v1.default/x.revision",
            id="revision-number-not-an-integer",
        ),
        pytest.param(lambda r: r.update(children={}), "children.ConfigMap.v1", id="children-empty"),
        pytest.param(
            lambda r: r["children"][c.CHILD_STATEFULSET].update(
                {"default/x": {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "x"}, "status": {"readyReplicas": "2"}}}
            ),
            "children.StatefulSet.apps/v1.default/x.status.readyReplicas",
            id="child-count-not-an-integer",
        ),
        pytest.param(
            lambda r: r["parent"].update(status={"conditions": [{"type": "Ready", "lastTransitionTime": 5}]}),
            "parent.status.conditions.0.lastTransitionTime",
            id="condition-time-not-a-string",
        ),
    ],
)
def test_422_for_a_request_that_is_not_a_rolebasedgroup_hook_request(client, mutate, path):
    req = _req()
    mutate(req)
    got = _post(client, "/sync", req)
    assert got.status_code == 422
    body = got.get_json()
    assert body["error"] == "not a RoleBasedGroup hook request"
    assert any(p["path"] == path for p in body["problems"]), body


@pytest.mark.parametrize(
    "path,expected",
    [
        ("/sync", "RoleBasedGroup"),
        ("/customize", "RoleBasedGroup"),
        ("/rbgs/sync", "RoleBasedGroupSet"),
        ("/rbgsa/sync", "RoleBasedGroupScalingAdapter"),
        ("/rbgsa/customize", "RoleBasedGroupScalingAdapter"),
        ("/gangready/sync", "gang-ready pod"),
        ("/gangready/customize", "gang-ready pod"),
    ],
)
def test_a_422_names_the_request_its_route_expects(client, path, expected):
    got = _post(client, path, {"controller": {}})
    assert got.status_code == 422
    assert got.get_json()["error"] == f"not a {expected} hook request"


def test_a_parent_whose_metadata_is_not_an_object_gets_422(client):
    req = _req()
    req["parent"]["metadata"] = [1]
    assert _post(client, "/sync", req).status_code == 422


def test_a_request_without_children_is_refused_not_answered_with_fewer_children(client):
    """Metacontroller deletes every observed child a 200 omits: a partial request must never get one."""
    req = _req()
    req["children"] = observe(sync(req).children)
    assert _post(client, "/sync", req).status_code == 200
    del req["children"]
    assert _post(client, "/sync", req).status_code == 422


def test_children_of_unregistered_types_are_ignored(client):
    req = _req()
    req["children"]["Pod.v1"] = {"default/p": {"metadata": {"name": "p"}, "status": "anything"}}
    assert _post(client, "/sync", req).data == _post(client, "/sync", _req()).data


def test_200_carries_exactly_status_and_children(client):
    got = _post(client, "/sync", _req())
    assert got.status_code == 200 and got.mimetype == "application/json"
    body = got.get_json()
    assert set(body) == {"status", "children"}  # hook v2 decodes strictly: no other keys
    assert {ch["kind"] for ch in body["children"]} == {"ConfigMap", "Service", "StatefulSet", "ControllerRevision"}


def test_200_is_byte_for_byte_deterministic(client):
    req = _req()
    assert _post(client, "/sync", req).data == _post(client, "/sync", req).data


def test_500_when_the_core_fails_never_200(client, monkeypatch):
    def boom(_):
        raise RuntimeError("bug")

    monkeypatch.setattr(rbg, "sync", boom)
    got = _post(create_app().test_client(), "/sync", _req())
    assert got.status_code == 500
    assert "children are left as they are" in got.get_json()["error"]


@pytest.mark.parametrize("kind", [c.KIND_STATEFULSET, c.KIND_DEPLOYMENT])
def test_a_failing_builder_is_a_500_that_changes_nothing_and_never_invalid_spec(client, monkeypatch, caplog, kind):
    """A bug in a builder (here: one that raises ValueError, once taken for a spec problem) is ours:
    the group is not frozen or called invalid; Metacontroller gets a 500, keeps every child and retries."""
    from hooks.children import workloads
    from hooks.metrics import INTERNAL_ERRORS

    group = example_group(V1ALPHA1 / "minimal.yaml")
    for role in group["spec"]["roles"]:
        role["workload"] = {"apiVersion": "apps/v1", "kind": kind}
    req = request(group)
    req["children"] = observe(sync(req).children)  # a running group
    before = INTERNAL_ERRORS.labels("sync")._value.get()

    def broken(*_args):
        raise ValueError("a bug in a builder")

    monkeypatch.setitem(workloads.BUILDERS, kind, broken)
    with pytest.raises(ValueError):
        rbg.sync(request_from(req))  # the core does not turn it into a verdict on the spec
    got = _post(client, "/sync", req)
    assert got.status_code == 500 and set(got.get_json()) == {"error"}  # no status written, no children to apply
    assert "InvalidSpec" not in got.get_data(as_text=True)
    assert INTERNAL_ERRORS.labels("sync")._value.get() == before + 1
    assert "a bug in a builder" in caplog.text  # the traceback is logged
    monkeypatch.undo()
    assert _post(client, "/sync", req).status_code == 200  # the retry, once the bug is gone


def test_finalize_route(client):
    req = _req()
    req["children"] = observe(sync(req).children)
    req["finalizing"] = True
    body = _post(client, "/finalize", req).get_json()
    assert body["finalized"] is False and [ch["kind"] for ch in body["children"]] == ["ConfigMap"]
    req["children"] = {key: {} for key in c.CHILD_TYPES}
    assert _post(client, "/finalize", req).get_json()["finalized"] is True


def test_logs_name_the_parent(client, caplog):
    caplog.set_level("INFO", logger="rbg.hooks")
    _post(client, "/sync", _req())
    record = json.loads(caplog.records[-1].getMessage())
    assert record["parent"] == "default/minimal" and record["hook"] == "sync" and record["children"] == 4


def test_oversized_body_is_refused_before_parsing(client, monkeypatch):
    from hooks import app as app_module

    monkeypatch.setattr(app_module, "MAX_REQUEST_BYTES", 1024)
    got = _post(app_module.create_app().test_client(), "/sync", {"pad": "x" * 2048})
    assert got.status_code == 413 and "error" in got.get_json()


@pytest.mark.parametrize("method,path,code", [("GET", "/sync", 405), ("POST", "/nope", 404)])
def test_other_routes_answer_json_errors(client, method, path, code):
    got = client.open(path, method=method)
    assert got.status_code == code and "error" in got.get_json()


# --- the conversion webhook ------------------------------------------------------------------------
def _review(*objects, desired=c.API_VERSION):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
            "request": {"uid": "u-1", "desiredAPIVersion": desired, "objects": list(objects)}}


def test_convert_route_converts_a_v1alpha1_group(client):
    got = _post(client, "/convert", _review(_req()["parent"]))
    assert got.status_code == 200
    response = got.get_json()["response"]
    assert response["uid"] == "u-1" and response["result"] == {"status": "Success"}
    (converted,) = response["convertedObjects"]
    assert converted["apiVersion"] == c.API_VERSION and "standalonePattern" in converted["spec"]["roles"][0]


def test_convert_route_fails_an_object_it_cannot_convert_in_the_review_not_with_a_500(client, caplog):
    caplog.set_level("INFO", logger="rbg.hooks")
    bad = {**_req()["parent"], "spec": {"roles": "not a list"}}
    got = _post(client, "/convert", _review(bad))
    assert got.status_code == 200
    result = got.get_json()["response"]["result"]
    assert result["status"] == "Failure" and "roles" in result["message"] and got.get_json()["response"]["convertedObjects"] == []
    assert "not converted" in caplog.records[-1].getMessage()


def test_convert_route_answers_400_to_a_body_that_is_no_review(client):
    assert _post(client, "/convert", {"kind": "ConversionReview"}).status_code == 400
    assert client.post("/convert", data="[]", content_type="application/json").status_code == 400


def test_convert_route_is_measured_like_the_hooks(client):
    from hooks.metrics import LATENCY, RESPONSES

    before = RESPONSES.labels("convert", "200")._value.get()
    _post(client, "/convert", _review(_req()["parent"]))
    assert RESPONSES.labels("convert", "200")._value.get() == before + 1
    assert LATENCY.labels("convert")._sum.get() > 0
