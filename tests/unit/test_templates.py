"""Role templates (spec.roleTemplates, roles[].templateRef + templatePatch) through the sync hook."""

import copy
import json

import pytest

from hooks import constants as c
from hooks.validation import resolve
from hooks.validation import Invalid, parse_spec
from tests.support import hub
from tests.support import UPSTREAM_EXAMPLES, V1ALPHA1, by_kind, condition, example_group, observe, request, startup_stages, sync

UPSTREAM_EXAMPLE = UPSTREAM_EXAMPLES / "basics" / "rbg-with-roletemplates.yaml"
NGINX = {"name": "nginx", "image": "nginx:1.24", "resources": {"requests": {"memory": "64Mi", "cpu": "100m"}}}


def _upstream():
    if not UPSTREAM_EXAMPLE.is_file():
        pytest.skip(f"{UPSTREAM_EXAMPLE} missing")
    return example_group(UPSTREAM_EXAMPLE)


def _workloads(result):
    return {ch["metadata"]["name"]: ch for ch in result.children if ch["kind"] in (c.KIND_STATEFULSET, c.KIND_DEPLOYMENT)}


def _everything(group):
    """The children once every role is started and ready."""
    return startup_stages(group)[-1]


def test_upstream_example_runs_the_merged_templates():
    group = _upstream()
    result = sync(_everything(group))
    assert condition(result.status, c.COND_INVALID_SPEC)["status"] == "False"
    sts = _workloads(result)
    assert sorted(sts) == ["rbg-with-roletemplates-backend", "rbg-with-roletemplates-frontend"]
    for name, port, requests in (("frontend", 80, {"memory": "64Mi", "cpu": "100m"}), ("backend", 8080, {"memory": "128Mi", "cpu": "200m"})):
        pod = sts[f"rbg-with-roletemplates-{name}"]["spec"]["template"]
        assert pod["metadata"]["labels"]["app"] == "nginx"
        (container,) = pod["spec"]["containers"]
        assert (container["name"], container["image"]) == ("nginx", "nginx:1.24")
        assert container["ports"] == [{"containerPort": port, "name": "http"}]
        assert container["resources"] == {"requests": requests}
        assert [e["name"] for e in container["env"]][:2] == ["GROUP_NAME", "RBG_GROUP_NAME"]


def test_upstream_example_gives_the_children_of_the_same_group_written_out():
    """A role made from a roleTemplate and its patch is the role with the merged template as its own."""
    group = _upstream()
    written = copy.deepcopy(group)
    del written["spec"]["roleTemplates"]
    for role, port, requests in zip(written["spec"]["roles"], (80, 8080), ({"memory": "64Mi", "cpu": "100m"}, {"memory": "128Mi", "cpu": "200m"})):
        del role["templateRef"], role["templatePatch"]
        container = {**NGINX, "resources": {"requests": requests}, "ports": [{"containerPort": port, "name": "http"}]}
        role["template"] = {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [container]}}
    for got, want in zip(startup_stages(group), startup_stages(written)):
        assert json.dumps(sync(got).response()) == json.dumps(sync(want).response())


def _shared_group():
    """a and b use the shared template `base`; c has its own."""
    own = {"spec": {"containers": [{"name": "c", "image": "own:1"}]}}
    return example_group(V1ALPHA1 / "minimal.yaml") | {
        "spec": {
            "startupPolicy": "Parallel",
            "roleTemplates": [{"name": "base", "template": {"spec": {"containers": [{"name": "main", "image": "engine:1"}]}}}],
            "roles": [
                {"name": "a", "templateRef": {"name": "base"}, "templatePatch": {"spec": {"containers": [{"name": "main", "args": ["--a"]}]}}},
                {"name": "b", "templateRef": {"name": "base"}, "templatePatch": {}},
                {"name": "c", "template": own},
            ],
        }
    }


def _children(group):
    return by_kind(sync(_everything(group)).children)


def _changed(before, after):
    """The children that differ (added, removed or changed), and the roles they belong to (None: the group's)."""
    keys = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    labels = [(before.get(key) or after[key])["metadata"].get("labels") or {} for key in keys]
    roles = {ls.get(c.LABEL_ROLE_NAME) or ls.get(c.LABEL_REVISION_ROLE) for ls in labels}
    return keys, roles


def test_a_shared_template_change_changes_exactly_the_roles_that_use_it():
    group = _shared_group()
    before = _children(group)
    group["spec"]["roleTemplates"][0]["template"]["spec"]["containers"][0]["image"] = "engine:2"
    after = _children(group)
    changed, roles = _changed(before, after)
    assert roles == {"a", "b"}
    assert {("StatefulSet", "minimal-a"), ("StatefulSet", "minimal-b")} <= set(changed)
    for role in ("a", "b"):
        (container,) = after[("StatefulSet", f"minimal-{role}")]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "engine:2"
    assert after[("StatefulSet", "minimal-a")]["spec"]["template"]["spec"]["containers"][0]["args"] == ["--a"]


def test_a_patch_change_changes_only_its_role():
    group = _shared_group()
    before = _children(group)
    group["spec"]["roles"][1]["templatePatch"] = {"spec": {"containers": [{"name": "main", "image": "engine:canary"}]}}
    after = _children(group)
    changed, roles = _changed(before, after)
    assert roles == {"b"} and ("StatefulSet", "minimal-b") in changed


def test_resolve_keeps_own_templates_and_leaves_plain_roles():
    spec = parse_spec("minimal", hub.group(_shared_group()["spec"])["spec"])
    assert not isinstance(spec, Invalid)
    resolved = resolve(spec)
    assert not isinstance(resolved, Invalid)
    assert resolved.roles[2] is spec.roles[2]  # own template: untouched
    assert resolved.role_templates == [] and all(r.template_ref is None for r in resolved.roles)
    assert resolved.roles[1].template == {"spec": {"containers": [{"name": "main", "image": "engine:1"}]}}
    assert resolved.roles[0].template is not resolved.roles[1].template  # no sharing between roles
    assert spec.role_templates[0].template == {"spec": {"containers": [{"name": "main", "image": "engine:1"}]}}  # input unchanged


def test_resolve_of_a_spec_without_role_templates_is_the_spec():
    spec = parse_spec("minimal", hub.group(example_group(V1ALPHA1 / "minimal.yaml")["spec"])["spec"])
    assert resolve(spec) is spec


def _running(group):
    """A group whose children exist and are ready; its status as the hook last wrote it."""
    last = _everything(group)
    result = sync(last)
    group = copy.deepcopy(group)
    group["status"] = result.status
    return group, observe(result.children), result


@pytest.mark.parametrize(
    "change,reason,message",
    [
        pytest.param(
            lambda s: s["roles"][0].update(templateRef={"name": "nope"}),
            c.REASON_INVALID_ROLES,
            "spec.roles[0].standalonePattern.templateRef.name: no entry of spec.roleTemplates is named 'nope'",
            id="missing-template",
        ),
        pytest.param(
            lambda s: s["roleTemplates"].append(copy.deepcopy(s["roleTemplates"][0])),
            c.REASON_INVALID_ROLES,
            "spec.roleTemplates[1].name: duplicate template name 'base'",
            id="duplicate-template",
        ),
        pytest.param(
            lambda s: s.pop("roleTemplates"),
            c.REASON_INVALID_ROLES,
            "spec.roles[0].standalonePattern.templateRef.name: no entry of spec.roleTemplates is named 'base'",
            id="templates-removed",
        ),
        pytest.param(
            lambda s: s["roles"][0].update(templatePatch={"spec": {"containers": [{"image": "x"}]}}),
            c.REASON_INVALID_FIELDS,
            "spec.roles[0].standalonePattern.templateRef.patch.spec.containers[0]: the merge key 'name' is missing",
            id="patch-does-not-merge",
        ),
        pytest.param(
            lambda s: s["roles"][1].update(templatePatch={"spec": {"containers": [{"name": "main", "ports": [{"containerPort": "http"}]}]}}),
            c.REASON_INVALID_FIELDS,
            "spec.roles[1].standalonePattern.templateRef.patch.spec.containers[0].ports[0].containerPort: must be of type integer (in the template merged over roleTemplate 'base')",
            id="patch-breaks-the-schema",
        ),
        pytest.param(
            lambda s: s["roles"][1].update(templatePatch={"spec": {"containers": [{"name": "main", "$patch": "delete"}]}}),
            c.REASON_INVALID_ROLES,
            "spec.roles[1].standalonePattern.templateRef.patch.spec.containers: at least one container is required",
            id="patch-deletes-every-container",
        ),
        pytest.param(
            lambda s: s["roles"][1].update(templatePatch={"metadata": {"labels": {"app": "a b"}}}),
            c.REASON_INVALID_ROLES,
            "spec.roles[1].standalonePattern.templateRef.patch.metadata.labels[app]: 'a b' is not a valid label value",
            id="patch-breaks-a-label",
        ),
    ],
)
def test_an_unusable_template_freezes_the_group_and_loses_nothing(change, reason, message):
    group, observed, running = _running(_shared_group())
    change(group["spec"])
    result = sync(request(group, observed))
    assert by_kind(result.children) == by_kind(running.children)  # as last applied: no create, update or delete
    invalid = condition(result.status, c.COND_INVALID_SPEC)
    assert (invalid["status"], invalid["reason"]) == ("True", reason)
    assert message in invalid["message"]


def test_deterministic():
    group = _upstream()
    req = _everything(group)
    first = json.dumps(sync(req).response())
    assert all(json.dumps(sync(copy.deepcopy(req)).response()) == first for _ in range(3))
