"""The HTTP contract Metacontroller relies on: 200 only with the full desired state."""

import json

import pytest

from hooks.app import create_app
from hooks.core import rbg
from tests.support import ROOT, example_group, observe, request, sync


@pytest.fixture
def client():
    return create_app().test_client()


def _post(client, path, body, raw=False):
    data = body if raw else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")


def test_healthz(client):
    got = client.get("/healthz")
    assert got.status_code == 200 and got.data == b"ok\n"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""], ids=["garbage", "array", "empty"])
def test_400_for_a_body_that_is_not_a_json_object(client, body):
    got = _post(client, "/sync", body, raw=True)
    assert got.status_code == 400
    assert got.get_json() == {"error": "request body must be a JSON object (a Metacontroller hook request)"}


def _req():
    return request(example_group(ROOT / "examples" / "minimal.yaml"))


@pytest.mark.parametrize(
    "mutate,path",
    [
        pytest.param(lambda r: r.pop("parent"), "parent", id="no-parent"),
        pytest.param(lambda r: r["parent"].update(kind="Deployment"), "parent.kind", id="wrong-kind"),
        pytest.param(lambda r: r["parent"]["metadata"].pop("name"), "parent.metadata.name", id="no-name"),
        pytest.param(lambda r: r["parent"].update(spec="x"), "parent.spec", id="spec-not-object"),
        pytest.param(lambda r: r.update(children={"StatefulSet.apps/v1": {"x": {"metadata": {}}}}), "children", id="child-without-name"),
    ],
)
def test_422_for_a_request_that_is_not_a_rolebasedgroup_hook_request(client, mutate, path):
    req = _req()
    mutate(req)
    got = _post(client, "/sync", req)
    assert got.status_code == 422
    body = got.get_json()
    assert body["error"] == "not a RoleBasedGroup hook request"
    assert any(p["path"].startswith(path) for p in body["problems"]), body


def test_200_carries_exactly_status_and_children(client):
    got = _post(client, "/sync", _req())
    assert got.status_code == 200 and got.mimetype == "application/json"
    body = got.get_json()
    assert set(body) == {"status", "children"}  # hook v2 decodes strictly: no other keys
    assert {ch["kind"] for ch in body["children"]} == {"ConfigMap", "Service", "StatefulSet"}


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


def test_finalize_route(client):
    req = _req()
    req["children"] = observe(sync(req).children)
    req["finalizing"] = True
    body = _post(client, "/finalize", req).get_json()
    assert body["finalized"] is False and [ch["kind"] for ch in body["children"]] == ["ConfigMap"]
    req["children"] = {}
    assert _post(client, "/finalize", req).get_json()["finalized"] is True


def test_logs_name_the_parent(client, caplog):
    caplog.set_level("INFO", logger="rbg.hooks")
    _post(client, "/sync", _req())
    record = json.loads(caplog.records[-1].getMessage())
    assert record["parent"] == "default/minimal" and record["hook"] == "sync" and record["children"] == 3


def test_oversized_body_is_refused_before_parsing(client, monkeypatch):
    from hooks import app as app_module

    monkeypatch.setattr(app_module, "MAX_REQUEST_BYTES", 1024)
    got = _post(app_module.create_app().test_client(), "/sync", {"pad": "x" * 2048})
    assert got.status_code == 413 and "error" in got.get_json()


@pytest.mark.parametrize("method,path,code", [("GET", "/sync", 405), ("POST", "/nope", 404)])
def test_other_routes_answer_json_errors(client, method, path, code):
    got = client.open(path, method=method)
    assert got.status_code == code and "error" in got.get_json()
