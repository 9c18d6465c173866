"""The CRDs and the pydantic models agree: the CRDs are generated from the models, field by field."""

import copy
import functools
import itertools

import pytest
import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from hooks import constants as c
from hooks.api import v1alpha1
from hooks.api import (
    CoordinatedPolicySpec,
    CoordinatedPolicyStatus,
    RoleBasedGroupScalingAdapterSpec,
    RoleBasedGroupScalingAdapterStatus,
    RoleBasedGroupSetSpec,
    RoleBasedGroupSetStatus,
    RoleBasedGroupSpec,
    RoleBasedGroupStatus,
    RoleInstanceSetSpec,
    RoleInstanceSetStatus,
    RoleInstanceSpec,
    RoleInstanceStatus,
    RoleSpec,
)
from rbgcli import crdgen as generate
from tests.support import EXAMPLES, ROOT, example_group, example_id, startup_stages, sync

CRDS = ROOT / "crds"
CRD_FILE = CRDS / "rolebasedgroups.workloads.x-k8s.io.yaml"
SET_FILE = CRDS / "rolebasedgroupsets.workloads.x-k8s.io.yaml"
SEED_SET_FILE = CRDS / "seedrolebasedgroupsets.openpatio.io.yaml"
ADAPTER_FILE = CRDS / "rolebasedgroupscalingadapters.workloads.x-k8s.io.yaml"
PROFILE_FILE = CRDS / "clusterengineruntimeprofiles.workloads.x-k8s.io.yaml"
POLICY_FILE = CRDS / "coordinatedpolicies.workloads.x-k8s.io.yaml"
INSTANCE_SET_FILE = CRDS / "roleinstancesets.workloads.x-k8s.io.yaml"
INSTANCE_FILE = CRDS / "roleinstances.workloads.x-k8s.io.yaml"
FILES = [CRD_FILE, SET_FILE, SEED_SET_FILE, ADAPTER_FILE, PROFILE_FILE, POLICY_FILE, INSTANCE_SET_FILE, INSTANCE_FILE]
V1 = c.VERSION_V1ALPHA1


@functools.cache
def _parsed(path):
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


@functools.cache
def _generated():
    return generate.files()


def _crd(path=CRD_FILE):
    """The committed CRD at `path`, parsed once (a deep copy: tests may not share mutations)."""
    return copy.deepcopy(_parsed(path))


def _version(path=CRD_FILE, name=None):
    """The CRD's version `name`; by default its storage version (the seed form's only one)."""
    versions = _crd(path)["spec"]["versions"]
    return next(v for v in versions if v["name"] == name) if name else next(v for v in versions if v["storage"])


def _schema(path=CRD_FILE, version=None):
    return _version(path, version)["schema"]["openAPIV3Schema"]


def test_committed_crd_is_generated_from_the_models():
    assert CRD_FILE.read_text() == generate.render(), "run: python -m rbgcli.crdgen > " + str(CRD_FILE.relative_to(ROOT))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_committed_crd_is_generated_from_the_models(path):
    assert path.read_text() == _generated()[path.name], "run: make crd (python -m rbgcli.crdgen --out crds/)"


def test_crds_kustomization_installs_every_generated_crd_and_nothing_else():
    assert sorted(_generated()) == sorted(p.name for p in FILES)
    assert yaml.safe_load((CRDS / "kustomization.yaml").read_text())["resources"] == [p.name for p in FILES]
    assert sorted(CRDS.glob("*.yaml")) == sorted([*FILES, CRDS / "kustomization.yaml"])
    for path in FILES:
        assert path.name == _crd(path)["metadata"]["name"] + ".yaml"


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


def _walk(model, schema, path, renamed=None):
    """Every model field is a schema property (by alias) with the same required-ness and default.
    `renamed`: {model: {alias: property}} for a schema that spells some fields otherwise."""
    props = schema["properties"]
    spelling = (renamed or {}).get(model, {})
    fields = {spelling.get(f.alias or name, f.alias or name): f for name, f in model.model_fields.items()}
    assert set(fields) == set(props), f"{path}: fields {sorted(fields)} != schema {sorted(props)}"
    assert set(schema.get("required", [])) == {a for a, f in fields.items() if f.is_required()}, path
    for alias, field in fields.items():
        prop = props[alias]
        if field.default_factory is None and field.default not in (None, PydanticUndefined):
            assert prop.get("default") == field.default, f"{path}.{alias}: default"
        sub = _model_of(field.annotation)
        if sub is not None:
            node = prop["items"] if prop.get("type") == "array" else prop
            while "properties" not in node and isinstance(node.get("additionalProperties"), dict):  # a map (of maps) of the model
                node = node["additionalProperties"]
            _walk(sub, node, f"{path}.{alias}", renamed)


@pytest.mark.parametrize("version,model", [(c.VERSION, RoleBasedGroupSpec), (V1, v1alpha1.RoleBasedGroupSpec)])
def test_spec_schema_matches_the_models_field_by_field(version, model):
    _walk(model, _schema(CRD_FILE, version)["properties"]["spec"], "spec")


@pytest.mark.parametrize("version", [c.VERSION, V1])
def test_status_schema_matches_the_models_field_by_field(version):
    _walk(RoleBasedGroupStatus, _schema(CRD_FILE, version)["properties"]["status"], "status")


SEED_SPELLING = {v1alpha1.RoleBasedGroupSetSpec: {"template": "groupTemplate"}, v1alpha1.RoleSpec: {"name": "role"}}


@pytest.mark.parametrize(
    ("path", "version", "model", "part", "renamed"),
    [
        (SET_FILE, c.VERSION, RoleBasedGroupSetSpec, "spec", None),
        (SET_FILE, V1, v1alpha1.RoleBasedGroupSetSpec, "spec", None),
        (SET_FILE, c.VERSION, RoleBasedGroupSetStatus, "status", None),
        (SEED_SET_FILE, V1, v1alpha1.RoleBasedGroupSetSpec, "spec", SEED_SPELLING),
        (SEED_SET_FILE, V1, RoleBasedGroupSetStatus, "status", None),
        (ADAPTER_FILE, c.VERSION, RoleBasedGroupScalingAdapterSpec, "spec", None),
        (ADAPTER_FILE, V1, RoleBasedGroupScalingAdapterSpec, "spec", None),
        (ADAPTER_FILE, c.VERSION, RoleBasedGroupScalingAdapterStatus, "status", None),
        (POLICY_FILE, c.VERSION, CoordinatedPolicySpec, "spec", None),
        (POLICY_FILE, c.VERSION, CoordinatedPolicyStatus, "status", None),
        (INSTANCE_SET_FILE, c.VERSION, RoleInstanceSetSpec, "spec", None),
        (INSTANCE_SET_FILE, c.VERSION, RoleInstanceSetStatus, "status", None),
        (INSTANCE_FILE, c.VERSION, RoleInstanceSpec, "spec", None),
        (INSTANCE_FILE, c.VERSION, RoleInstanceStatus, "status", None),
    ],
    ids=[
        "set-spec", "set-v1alpha1-spec", "set-status", "seed-set-spec", "seed-set-status", "adapter-spec", "adapter-v1alpha1-spec",
        "adapter-status", "policy-spec", "policy-status", "instance-set-spec", "instance-set-status", "instance-spec", "instance-status",
    ],
)
def test_new_kinds_schemas_match_the_models_field_by_field(path, version, model, part, renamed):
    _walk(model, _schema(path, version)["properties"][part], part, renamed)


@pytest.mark.parametrize("path", [CRD_FILE, SET_FILE, ADAPTER_FILE, PROFILE_FILE], ids=lambda p: p.name)
def test_v1alpha2_is_stored_v1alpha1_served_deprecated_and_converted_by_the_webhook(path):
    crd = _crd(path)["spec"]
    assert [(v["name"], v["served"], v["storage"], v.get("deprecated", False)) for v in crd["versions"]] == [(c.VERSION, True, True, False), (V1, True, False, True)]
    assert "deprecated" in crd["versions"][1]["deprecationWarning"]
    hook = crd["conversion"]["webhook"]
    assert crd["conversion"]["strategy"] == "Webhook" and hook["conversionReviewVersions"] == ["v1"]
    assert hook["clientConfig"]["service"] == {"namespace": "rbg-system", "name": "rbg-convert", "path": "/convert", "port": 443}


def test_set_template_is_the_whole_group_spec_with_its_rules():
    for version, template in ((c.VERSION, lambda s: s["groupTemplate"]["properties"]["spec"]), (V1, lambda s: s["template"])):
        got = template(_schema(SET_FILE, version)["properties"]["spec"]["properties"])
        group = _schema(CRD_FILE, version)["properties"]["spec"]
        assert {k: v for k, v in got.items() if k != "description"} == {k: v for k, v in group.items() if k != "description"}
        assert got["x-kubernetes-validations"] == group["x-kubernetes-validations"]


def test_seed_set_spells_the_template_group_template_and_roles_role():
    spec = _schema(SEED_SET_FILE)["properties"]["spec"]
    assert "template" not in spec["properties"] and "groupTemplate" in spec["required"]
    group = spec["properties"]["groupTemplate"]
    role = group["properties"]["roles"]["items"]
    assert "name" not in role["properties"] and "role" in role["required"]
    assert role["properties"]["role"] == _schema(CRD_FILE, V1)["properties"]["spec"]["properties"]["roles"]["items"]["properties"]["name"]
    assert "startupPolicy" in spec["properties"] and "startupPolicy" in group["properties"]
    rules = [r["rule"] for r in group["x-kubernetes-validations"]]
    assert rules == [
        "self.roles.all(r, self.roles.exists_one(o, o.role == r.role))",
        "self.roles.all(r, !has(r.dependencies) || r.dependencies.all(d, d != r.role && self.roles.exists(o, o.role == d)))",
        # roleTemplates keep `name`; a role's templateRef too
        "!has(self.roleTemplates) || self.roleTemplates.all(tpl, self.roleTemplates.exists_one(other, other.name == tpl.name))",
        "self.roles.all(r, !has(r.templateRef) || (has(self.roleTemplates) && self.roleTemplates.exists(tpl, tpl.name == r.templateRef.name)))",
    ]
    assert role["x-kubernetes-validations"] == _schema(CRD_FILE, V1)["properties"]["spec"]["properties"]["roles"]["items"]["x-kubernetes-validations"]
    root = " ".join(r["rule"] for r in _schema(SEED_SET_FILE)["x-kubernetes-validations"])
    assert "self.spec.groupTemplate.roles.all(r, " in root and "size(r.role)" in root and "r.name" not in root
    # Otherwise the workloads.x-k8s.io set's schema, exactly.
    assert spec == generate.seed_set_schema(_schema(SET_FILE, V1)["properties"]["spec"])
    assert _schema(SEED_SET_FILE)["properties"]["status"] == _schema(SET_FILE)["properties"]["status"]


def test_set_rules_bound_member_workload_names_and_the_set_name():
    rules = [r["rule"] for r in _schema(SET_FILE)["x-kubernetes-validations"]]
    assert "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')" in rules
    highest = "(self.spec.replicas > 0 ? self.spec.replicas - 1 : 0)"
    assert (
        f"!has(self.spec) || self.spec.groupTemplate.spec.roles.all(r, size(self.metadata.name) + size(string{highest}) + 1 "
        f"+ size(r.name) + 1 <= {c.MAX_WORKLOAD_NAME})"
    ) in rules
    spec = _schema(SET_FILE)["properties"]["spec"]["properties"]
    assert spec["replicas"]["maximum"] == c.MAX_SET_REPLICAS and spec["replicas"]["default"] == 1
    assert spec["groupTemplate"]["properties"]["spec"]["properties"]["roles"]["maxItems"] == 32  # the rules' cost stays bounded


def _names(path):
    crd = _crd(path)["spec"]
    return crd["group"], crd["names"]["kind"], crd["names"]["plural"], crd["names"].get("shortNames", []), crd["scope"]


def test_names_groups_and_short_names():
    assert [_names(p) for p in FILES] == [
        (c.GROUP, c.KIND_RBG, "rolebasedgroups", ["rbg"], "Namespaced"),
        (c.GROUP, c.KIND_RBGS, "rolebasedgroupsets", ["rbgs"], "Namespaced"),
        (c.SEED_GROUP, c.KIND_RBGS, "seedrolebasedgroupsets", ["oprbgs"], "Namespaced"),  # names of its own: see below
        (c.GROUP, c.KIND_RBGSA, "rolebasedgroupscalingadapters", ["rbgsa"], "Namespaced"),
        (c.GROUP, c.KIND_ENGINE_RUNTIME_PROFILE, "clusterengineruntimeprofiles", [], "Cluster"),  # as upstream's
        (c.GROUP, c.KIND_COORDINATED_POLICY, "coordinatedpolicies", ["cpolicy"], "Namespaced"),  # as upstream's
        (c.GROUP, c.KIND_ROLE_INSTANCE_SET, "roleinstancesets", ["ris"], "Namespaced"),  # as upstream's
        (c.GROUP, c.KIND_ROLE_INSTANCE, "roleinstances", ["rins"], "Namespaced"),  # as upstream's
    ]
    assert all(_version(p)["name"] == (V1 if p == SEED_SET_FILE else c.VERSION) and _version(p)["served"] for p in FILES)


def _typed_names(names):
    """What kubectl resolves to a CRD's resource without its group: plural, singular, short names.
    It lowercases the argument first, so a kind resolves as a singular; only a name no resource
    has is looked up as a kind."""
    return {names["plural"], names["singular"], *names.get("shortNames", [])}


def test_no_name_a_user_types_is_served_by_two_crds():
    """kubectl resolves a name that two groups serve to the group first in discovery order, and
    openpatio.io sorts before workloads.x-k8s.io: were the seed form's names upstream's too,
    `kubectl get rolebasedgroupsets` would list seed sets alone (tests/e2e/test_kubectl_names.py)."""
    served = {p.name: _typed_names(_crd(p)["spec"]["names"]) for p in FILES}
    for a, b in itertools.combinations(served, 2):
        assert not served[a] & served[b], f"{a} and {b} both answer to {served[a] & served[b]}"
    names = _crd(SEED_SET_FILE)["spec"]["names"]
    assert names == {
        "kind": c.KIND_RBGS,  # seed manifests (apiVersion openpatio.io/v1alpha1, kind RoleBasedGroupSet) apply unchanged
        "listKind": c.KIND_RBGS + "List",
        "plural": c.SEED_PLURAL,
        "singular": c.SEED_SINGULAR,
        "shortNames": [c.SEED_SHORT_NAME],
    }
    assert _crd(SEED_SET_FILE)["metadata"]["name"] == f"{c.SEED_PLURAL}.{c.SEED_GROUP}" == SEED_SET_FILE.stem
    # `RoleBasedGroupSet` is upstream's singular, lowercased: no kind lookup reaches the seed form.
    assert served[SET_FILE.name] == {"rolebasedgroupsets", c.KIND_RBGS.lower(), "rbgs"}


SCALE = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}


@pytest.mark.parametrize("path", [SET_FILE, SEED_SET_FILE, ADAPTER_FILE], ids=lambda p: p.name)
def test_new_kinds_have_status_and_scale_subresources(path):
    assert _version(path)["subresources"] == {"status": {}, "scale": SCALE}
    status = _schema(path)["properties"]["status"]["properties"]
    spec = _schema(path)["properties"]["spec"]["properties"]
    assert spec["replicas"]["type"] == status["replicas"]["type"] == "integer" and status["selector"]["type"] == "string"


def _columns(path):
    return [(col["name"], col["jsonPath"], col.get("priority", 0), col["type"]) for col in _version(path)["additionalPrinterColumns"]]


@pytest.mark.parametrize("path", [SET_FILE, SEED_SET_FILE], ids=lambda p: p.name)
def test_set_printer_columns(path):
    assert _columns(path) == [
        ("Desired", ".spec.replicas", 0, "integer"),
        ("Ready", ".status.readyReplicas", 0, "integer"),
        ("Updated", ".status.updatedReplicas", 1, "integer"),
        ("Age", ".metadata.creationTimestamp", 0, "date"),
    ]


@pytest.mark.parametrize("path", [POLICY_FILE, INSTANCE_SET_FILE, INSTANCE_FILE], ids=lambda p: p.name)
def test_v1alpha2_only_kinds_are_stored_and_not_converted(path):
    crd = _crd(path)["spec"]
    assert [(v["name"], v["served"], v["storage"]) for v in crd["versions"]] == [(c.VERSION, True, True)]
    assert "conversion" not in crd


def test_role_instance_set_has_upstreams_scale_and_columns():
    """/scale reads the selector at status.labelSelector, as upstream's; the columns are upstream's."""
    assert _version(INSTANCE_SET_FILE)["subresources"] == {"status": {}, "scale": {**SCALE, "labelSelectorPath": ".status.labelSelector"}}
    schema = _schema(INSTANCE_SET_FILE)["properties"]
    assert schema["spec"]["properties"]["replicas"]["type"] == schema["status"]["properties"]["replicas"]["type"] == "integer"
    assert schema["status"]["properties"]["labelSelector"]["type"] == "string"
    assert _columns(INSTANCE_SET_FILE) == [
        ("DESIRED", ".spec.replicas", 0, "integer"),
        ("UPDATED", ".status.updatedReplicas", 0, "integer"),
        ("UPDATED_READY", ".status.updatedReadyReplicas", 0, "integer"),
        ("READY", ".status.readyReplicas", 0, "integer"),
        ("TOTAL", ".status.replicas", 0, "integer"),
        ("AGE", ".metadata.creationTimestamp", 0, "date"),
        ("SELECTOR", ".status.labelSelector", 1, "string"),
    ]


def test_role_instance_has_a_status_and_upstreams_columns():
    assert _version(INSTANCE_FILE)["subresources"] == {"status": {}}
    assert _columns(INSTANCE_FILE) == [
        ("READY", ".status.conditions[?(@.type=='RoleInstanceReady')].status", 0, "string"),
        ("AGE", ".metadata.creationTimestamp", 0, "date"),
    ]


def test_role_instance_components_use_the_kubernetes_pod_template():
    """The same components in an instance and in a set's roleInstanceTemplate."""
    components = _schema(INSTANCE_FILE)["properties"]["spec"]["properties"]["components"]
    template = _schema(INSTANCE_SET_FILE)["properties"]["spec"]["properties"]["roleInstanceTemplate"]
    assert template["properties"]["components"] == components
    assert components["items"]["required"] == ["name", "template"]
    assert {k: v for k, v in components["items"]["properties"]["template"].items() if k != "description"} == _k8s_template()


def test_adapter_printer_columns():
    assert _columns(ADAPTER_FILE) == [
        ("Phase", ".status.phase", 0, "string"),
        ("Replicas", ".status.replicas", 0, "integer"),
        ("Target", ".spec.scaleTargetRef.name", 1, "string"),
        ("Role", ".spec.scaleTargetRef.role", 1, "string"),
        ("Age", ".metadata.creationTimestamp", 0, "date"),
    ]


def test_template_and_ports_use_the_kubernetes_schemas():
    role = _schema()["properties"]["spec"]["properties"]["roles"]["items"]["properties"]
    containers = role["standalonePattern"]["properties"]["template"]["properties"]["spec"]["properties"]["containers"]["items"]["properties"]
    assert {"name", "image", "env", "resources", "volumeMounts"} <= set(containers)
    assert "port" in role["servicePorts"]["items"]["properties"]


def test_role_templates_schema_and_rules():
    spec = _schema()["properties"]["spec"]
    templates = spec["properties"]["roleTemplates"]
    assert templates["maxItems"] == 32 and templates["items"]["required"] == ["name", "template"]
    assert templates["items"]["properties"]["template"] == {**_k8s_template(), "description": "The pod template."}
    role = spec["properties"]["roles"]["items"]
    for pattern in ("standalonePattern", "leaderWorkerPattern"):
        source = role["properties"][pattern]
        assert {k: v for k, v in source["properties"]["template"].items() if k != "description"} == _k8s_template()
        assert source["properties"]["templateRef"]["required"] == ["name"]
        assert source["properties"]["templateRef"]["properties"]["name"]["pattern"] == "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
        patch = source["properties"]["templateRef"]["properties"]["patch"]
        assert (patch["type"], patch["x-kubernetes-preserve-unknown-fields"]) == ("object", True) and "properties" not in patch
        assert source["x-kubernetes-validations"] == [
            {"rule": "!(has(self.template) && has(self.templateRef))", "message": "template and templateRef are mutually exclusive"},
            {"rule": "has(self.template) || has(self.templateRef)", "message": "template or templateRef is required"},
        ]
    assert role["x-kubernetes-validations"][0]["rule"] == "[has(self.standalonePattern), has(self.leaderWorkerPattern), has(self.customComponentsPattern)].exists_one(x, x)"
    rules = {r["message"]: r for r in spec["x-kubernetes-validations"]}
    assert rules["roleTemplates names must be unique"]["fieldPath"] == ".roleTemplates"
    assert "self.roleTemplates.exists(tpl, tpl.name == r.standalonePattern.templateRef.name)" in rules["every templateRef must name an entry of spec.roleTemplates"]["rule"]


def _k8s_template():
    from hooks.schemas.k8s import pod_template_spec_schema

    return pod_template_spec_schema()


def test_cel_rules_cover_unique_names_dependencies_and_name_length():
    rules = " ".join(r["rule"] for r in _schema()["x-kubernetes-validations"])
    rules += " ".join(r["rule"] for r in _schema()["properties"]["spec"]["x-kubernetes-validations"])
    assert "exists_one(o, o.name == r.name)" in rules
    assert "self.roles.exists(o, o.name == d)" in rules
    assert "size(self.metadata.name) + size(r.name) + 1 <= 52" in rules


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_keyword_a_crd_schema_forbids(path):
    def walk(node):
        if isinstance(node, dict):
            assert not {"$ref", "const", "title", "$defs", "nullable"} & set(node)
            assert not ("additionalProperties" in node and "properties" in node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(_schema(path))


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_status_the_hook_writes_fits_the_status_schema(example):
    """A status field the schema lacks would be pruned and rewritten on every sync."""
    for req in startup_stages(example_group(example)):
        RoleBasedGroupStatus.model_validate(sync(req).status)
