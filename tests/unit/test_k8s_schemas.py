import importlib.util
import json
import os
from pathlib import Path

import pytest

from hooks.crd.k8s_schemas import pod_template_spec_schema, service_port_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMAS_JSON = REPO / "hooks" / "crd" / "k8s_schemas.json"
QUANTITY = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]"
    r"|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
    "x-kubernetes-int-or-string": True,
}


def nodes(schema, path="$"):
    """Yield (path, node) for every schema node."""
    yield path, schema
    for name, sub in schema.get("properties", {}).items():
        yield from nodes(sub, f"{path}.{name}")
    if "items" in schema:
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from nodes(schema["additionalProperties"], f"{path}{{}}")


@pytest.fixture(params=["PodTemplateSpec", "ServicePort"])
def schema(request):
    return {"PodTemplateSpec": pod_template_spec_schema, "ServicePort": service_port_schema}[request.param]()


def test_no_refs_or_descriptions(schema):
    text = json.dumps(schema)
    assert "$ref" not in text and "allOf" not in text and '"description"' not in text


def test_structural(schema):
    for path, node in nodes(schema):
        if "properties" in node or "additionalProperties" in node:
            assert node.get("type") == "object", path
        assert "type" in node or node.get("x-kubernetes-int-or-string") or node.get(
            "x-kubernetes-preserve-unknown-fields"
        ), path
        if "anyOf" in node:
            assert node.get("x-kubernetes-int-or-string") and "type" not in node, path
        if node.get("x-kubernetes-list-type") == "set":
            assert node["items"]["type"] not in ("object", "array"), path


def test_list_map_keys_are_required_or_defaulted(schema):
    for path, node in nodes(schema):
        if node.get("x-kubernetes-list-type") == "map":
            item = node["items"]
            for key in node["x-kubernetes-list-map-keys"]:
                assert key in item.get("required", []) or "default" in item["properties"][key], f"{path}.{key}"


def test_defaults_only_on_optional_list_map_keys():
    defaulted = sorted(path for path, node in nodes(pod_template_spec_schema()) if "default" in node)
    assert defaulted == [
        "$.spec.containers[].ports[].protocol",
        "$.spec.ephemeralContainers[].ports[].protocol",
        "$.spec.imagePullSecrets[].name",
        "$.spec.initContainers[].ports[].protocol",
    ]


def test_pod_template_shape():
    template = pod_template_spec_schema()
    assert set(template["properties"]["metadata"]["properties"]) == {
        "labels", "annotations", "name", "namespace", "finalizers"
    }
    container = template["properties"]["spec"]["properties"]["containers"]["items"]
    assert {"name", "image", "env", "resources", "volumeMounts"} <= set(container["properties"])
    assert container["required"] == ["name"]
    resources = container["properties"]["resources"]["properties"]
    assert resources["limits"]["additionalProperties"] == QUANTITY
    assert resources["requests"]["additionalProperties"] == QUANTITY


def test_service_port_shape():
    port = service_port_schema()
    assert port["required"] == ["port"]
    assert port["properties"]["targetPort"] == {
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "x-kubernetes-int-or-string": True,
    }


def test_returns_copies():
    pod_template_spec_schema()["properties"].clear()
    assert pod_template_spec_schema()["properties"]


def test_committed_json_matches_generator():
    mod_cache = Path(os.environ.get("GOMODCACHE") or Path(os.environ.get("GOPATH", Path.home() / "go")) / "pkg" / "mod")
    openapi = mod_cache / "k8s.io/kubernetes@v1.34.10/api/openapi-spec/v3/api__v1_openapi.json"
    if not openapi.is_file():
        pytest.skip(f"{openapi} missing: run `go mod download k8s.io/kubernetes@v1.34.10`")
    spec = importlib.util.spec_from_file_location("gen_pod_schema", REPO / "tools" / "gen_pod_schema.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.render(gen.build(json.loads(openapi.read_text()))) == SCHEMAS_JSON.read_text()
