import importlib.util
import json
import os
from pathlib import Path

import pytest

from hooks.schemas.k8s import pod_template_patch_keys, pod_template_problems, pod_template_spec_schema, service_port_schema

REPO = Path(__file__).resolve().parents[2]
SCHEMAS_JSON = REPO / "hooks" / "schemas" / "k8s_schemas.json"
PATCH_KEYS_JSON = REPO / "hooks" / "schemas" / "k8s_patch_keys.json"
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


@pytest.fixture(scope="module")
def generated():
    """The generator and the Kubernetes OpenAPI it reads."""
    mod_cache = Path(os.environ.get("GOMODCACHE") or Path(os.environ.get("GOPATH", Path.home() / "go")) / "pkg" / "mod")
    openapi = mod_cache / "k8s.io/kubernetes@v1.34.10/api/openapi-spec/v3/api__v1_openapi.json"
    if not openapi.is_file():
        pytest.skip(f"{openapi} missing: run `go mod download k8s.io/kubernetes@v1.34.10`")
    spec = importlib.util.spec_from_file_location("gen_pod_schema", REPO / "tools" / "gen_pod_schema.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen, json.loads(openapi.read_text())


def test_committed_json_matches_generator(generated):
    gen, openapi = generated
    assert gen.render(gen.build(openapi)) == SCHEMAS_JSON.read_text()


def test_committed_patch_keys_match_generator(generated):
    gen, openapi = generated
    assert gen.render(gen.patch_keys(openapi)) == PATCH_KEYS_JSON.read_text()


def test_patch_keys_name_merged_lists_of_the_schema():
    """Every path is a list of the PodTemplateSpec schema (or of the ObjectMeta fields the CRD
    leaves out); a merge key is a field of its items, and one of its list-map keys."""
    lists = {path.removeprefix("$."): node for path, node in nodes(pod_template_spec_schema()) if node.get("type") == "array"}
    keys = pod_template_patch_keys()
    assert len(keys) == 25
    for path, meta in keys.items():
        assert "merge" in meta["patchStrategy"].split(","), path
        if path.endswith((".finalizers", ".ownerReferences")) and path not in lists:
            continue  # ObjectMeta fields our template schema does not carry
        node = lists[path]
        if "patchMergeKey" in meta:
            assert meta["patchMergeKey"] in node["items"]["properties"], path
            assert meta["patchMergeKey"] in node["x-kubernetes-list-map-keys"], path
        else:
            assert node["items"]["type"] != "object", path


def _problems(template):
    return sorted(pod_template_problems(template))


def test_pod_template_problems_as_the_api_server_finds_them():
    assert _problems({"spec": {"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80}]}]}}) == []
    assert _problems({"spec": {"containers": [{"image": "x"}]}}) == [("spec.containers[0].name", "required")]
    assert _problems({"spec": {"containers": [{"name": "a", "imagee": "x"}]}}) == [("spec.containers[0].imagee", "unknown field")]
    assert _problems({"spec": {"containers": [{"name": "a", "ports": "80"}]}}) == [("spec.containers[0].ports", "must be of type array")]
    assert _problems({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 2**40}]}]}}) == [
        ("spec.containers[0].ports[0].containerPort", "must fit in 32 bits")
    ]
    assert _problems({"spec": {"containers": [{"name": "a", "tty": "yes"}]}}) == [("spec.containers[0].tty", "must be of type boolean")]
    assert _problems({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "lots"}}}]}}) == [
        ("spec.containers[0].resources.limits[cpu]", "'lots' is not of the form the field takes")
    ]
    assert _problems({"metadata": {"labels": {"a": 1}}, "spec": {"containers": [{"name": "a"}]}}) == [("metadata.labels[a]", "must be of type string")]
    assert _problems({"spec": {"containers": [{"name": "a"}, {"name": "a"}]}}) == [("spec.containers[1]", 'duplicate entry for name ["a"]')]
    assert _problems({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}]}]}}) == []
    assert _problems({"spec": {}}) == [("spec.containers", "required")]
