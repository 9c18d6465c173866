"""`rbg validate` and `rbg render`, offline."""

import re
import subprocess
import sys

import yaml

from tests.support import EXAMPLES, ROOT, UPSTREAM_EXAMPLES, example_group, observe, request, sync

UPSTREAM_ROLE_TEMPLATES = UPSTREAM_EXAMPLES / "basics" / "rbg-with-roletemplates.yaml"


def rbg(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "rbgcli", *args], input=stdin, capture_output=True, text=True, cwd=ROOT)


def test_validate_accepts_every_example():
    for example in EXAMPLES:
        out = rbg("validate", str(example))
        assert out.returncode == 0 and "valid" in out.stdout, out.stderr


def test_validate_reports_field_paths(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: workloads.x-k8s.io/v1alpha1\nkind: RoleBasedGroup\nmetadata: {name: g}\nspec:\n  roles:\n"
        "  - {name: a, dependencies: [zz], template: {}}\n  - {name: b, replicas: -1, template: {}}\n"
    )
    out = rbg("validate", str(bad))
    assert out.returncode == 1
    assert "RoleBasedGroup g: spec.roles[1].replicas: Input should be greater than or equal to 0" in out.stderr


def test_render_prints_the_first_stage_and_conditions():
    out = rbg("render", str(ROOT / "examples" / "pd-disagg.yaml"))
    assert out.returncode == 0, out.stderr
    assert "# sglang-pd Progressing=True WaitingForDependencies: router waits for decode, prefill" in out.stdout
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    kinds = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert ("StatefulSet", "sglang-pd-prefill") in kinds and ("StatefulSet", "sglang-pd-router") not in kinds
    # The discovery file reads as a literal block, and parses back to what the hook returns.
    assert re.search(r'  config.yaml: \|\n    version: "[0-9a-f]{16}"\n    group:\n      name: sglang-pd\n', out.stdout)
    rendered = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.yaml"]
    assert rendered == sync(request(example_group(ROOT / "examples" / "pd-disagg.yaml"))).children[0]["data"]["config.yaml"]


def test_render_and_validate_read_the_files_coordinated_policy_of_the_groups_name(tmp_path):
    out = rbg("render", str(ROOT / "examples" / "rollouts" / "coordinated.yaml"))
    assert out.returncode == 0, out.stderr
    assert "# pd-coordinated Coordinating=True AdvancingInStep: pd: prefill 0/4 scaled, may reach 1" in out.stdout
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "examples" / "rollouts" / "coordinated.yaml").read_text()
    bad.write_text(text.replace("maxSkew: 25%", "maxSkew: lots", 1))
    out = rbg("validate", str(bad))
    assert out.returncode == 1 and "CoordinatedPolicy" in out.stderr and "maxSkew" in out.stderr


def test_render_with_observed_children_opens_the_gate(tmp_path):
    example = ROOT / "examples" / "minimal.yaml"
    observed = observe(sync(request(example_group(example))).children)
    (tmp_path / "observed.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [o for objs in observed.values() for o in objs.values()]})
    )
    out = rbg("render", str(example), "--observed", str(tmp_path))
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(out.stdout) if d and d["kind"] == "StatefulSet"]
    assert names == ["minimal-db", "minimal-app"]


def test_validate_and_render_the_upstream_role_templates_example():
    out = rbg("validate", str(UPSTREAM_ROLE_TEMPLATES))
    assert out.returncode == 0 and "RoleBasedGroup rbg-with-roletemplates: valid" in out.stdout, out.stderr
    out = rbg("render", str(UPSTREAM_ROLE_TEMPLATES))
    assert out.returncode == 0, out.stderr
    (frontend,) = [d for d in yaml.safe_load_all(out.stdout) if d and d["kind"] == "StatefulSet"]  # backend waits for it
    (container,) = frontend["spec"]["template"]["spec"]["containers"]
    assert (container["image"], container["ports"]) == ("nginx:1.24", [{"containerPort": 80, "name": "http"}])


def test_validate_reports_a_template_patch_that_does_not_merge(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: workloads.x-k8s.io/v1alpha1\nkind: RoleBasedGroup\nmetadata: {name: g}\nspec:\n"
        "  roleTemplates: [{name: base, template: {spec: {containers: [{name: c, image: i}]}}}]\n"
        "  roles: [{name: a, templateRef: {name: base}, templatePatch: {spec: {containers: [{image: j}]}}}]\n"
    )
    out = rbg("validate", str(bad))
    assert out.returncode == 1
    assert "RoleBasedGroup g: spec.roles[0].standalonePattern.templateRef.patch.spec.containers[0]: the merge key 'name' is missing" in out.stderr


def test_render_shows_the_podgroup_of_an_upstream_gang_example():
    out = rbg("render", str(UPSTREAM_EXAMPLES / "basics" / "scheduler-plugins-gang.yaml"))
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    (pod_group,) = [d for d in docs if d["kind"] == "PodGroup"]
    assert pod_group["apiVersion"] == "scheduling.x-k8s.io/v1alpha1" and pod_group["spec"]["minMember"] >= 1
