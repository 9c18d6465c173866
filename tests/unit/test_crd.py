"""The CRD and the pydantic models agree: the CRD is generated from the models, field by field."""

import pytest
import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from hooks.api import RoleBasedGroupSpec, RoleBasedGroupStatus
from hooks.crd import generate
from tests.support import EXAMPLES, ROOT, example_group, startup_stages, sync

CRD_FILE = ROOT / "crds" / "rolebasedgroups.workloads.x-k8s.io.yaml"


def _schema():
    return yaml.safe_load(CRD_FILE.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def test_committed_crd_is_generated_from_the_models():
    assert CRD_FILE.read_text() == generate.render(), "run: python -m hooks.crd.generate > " + str(CRD_FILE.relative_to(ROOT))


def _model_of(annotation):
    for candidate in getattr(annotation, "__args__", ()) + (annotation,):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        if (inner := _model_of_list(candidate)) is not None:
            return inner
    return None


def _model_of_list(annotation):
    args = getattr(annotation, "__args__", ())
    return next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)


def _walk(model, schema, path):
    """Every model field is a schema property (by alias) with the same required-ness and default."""
    props = schema["properties"]
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    assert set(fields) == set(props), f"{path}: fields {sorted(fields)} != schema {sorted(props)}"
    assert set(schema.get("required", [])) == {a for a, f in fields.items() if f.is_required()}, path
    for alias, field in fields.items():
        prop = props[alias]
        if field.default_factory is None and field.default not in (None, PydanticUndefined):
            assert prop.get("default") == field.default, f"{path}.{alias}: default"
        sub = _model_of(field.annotation)
        if sub is not None:
            _walk(sub, prop["items"] if prop.get("type") == "array" else prop, f"{path}.{alias}")


def test_spec_schema_matches_the_models_field_by_field():
    _walk(RoleBasedGroupSpec, _schema()["properties"]["spec"], "spec")


def test_status_schema_matches_the_models_field_by_field():
    _walk(RoleBasedGroupStatus, _schema()["properties"]["status"], "status")


def test_template_and_ports_use_the_kubernetes_schemas():
    role = _schema()["properties"]["spec"]["properties"]["roles"]["items"]["properties"]
    containers = role["template"]["properties"]["spec"]["properties"]["containers"]["items"]["properties"]
    assert {"name", "image", "env", "resources", "volumeMounts"} <= set(containers)
    assert "port" in role["servicePorts"]["items"]["properties"]


def test_cel_rules_cover_unique_names_dependencies_and_name_length():
    rules = " ".join(r["rule"] for r in _schema()["x-kubernetes-validations"])
    rules += " ".join(r["rule"] for r in _schema()["properties"]["spec"]["x-kubernetes-validations"])
    assert "exists_one(o, o.name == r.name)" in rules
    assert "self.roles.exists(o, o.name == d)" in rules
    assert "size(self.metadata.name) + size(r.name) + 1 <= 52" in rules


def test_no_keyword_a_crd_schema_forbids():
    def walk(node):
        if isinstance(node, dict):
            assert not {"$ref", "const", "title", "$defs", "nullable"} & set(node)
            assert not ("additionalProperties" in node and "properties" in node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(_schema())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_status_the_hook_writes_fits_the_status_schema(example):
    """A status field the schema lacks would be pruned and rewritten on every sync."""
    for req in startup_stages(example_group(example)):
        RoleBasedGroupStatus.model_validate(sync(req).status)
