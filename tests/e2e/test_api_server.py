"""Our CRD on the real kube-apiserver: schema, defaults, CEL rules, status subresource, printer columns."""

from __future__ import annotations

import copy
import json
import subprocess

import pytest
import requests
import yaml

from hooks import constants as c
from hooks.localcluster.kube import ApiError
from tests.support import EXAMPLES, ROOT, example_group, startup_stages, sync


def _doc(path):
    return next(d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == c.KIND_RBG)


def _group(name="g", roles=None):
    roles = roles or [{"name": "a", "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}]
    return {"apiVersion": c.API_VERSION, "kind": c.KIND_RBG, "metadata": {"name": name}, "spec": {"roles": roles}}


def _role(name, **extra):
    return {"name": name, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}, **extra}


def _create(kube, ns, obj):
    obj = copy.deepcopy(obj)
    obj["metadata"]["namespace"] = ns
    return kube.request("POST", kube.path(c.API_VERSION, c.KIND_RBG, None, ns), obj, fieldValidation="Strict")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_accepted_with_upstream_defaults(kube, ns, example):
    stored = _create(kube, ns, _doc(example))
    for role in stored["spec"]["roles"]:
        assert role["replicas"] >= 0
        assert role["workload"]["apiVersion"] == "apps/v1" and role["workload"]["kind"] in ("StatefulSet", "Deployment")


def test_upstream_manifest_applies_unchanged(kube, ns, cluster):
    """An sgl-project/rbg style manifest: workload {}, engineRuntimes, scalingAdapter, integer quantities."""
    manifest = f"""
apiVersion: workloads.x-k8s.io/v1alpha1
kind: RoleBasedGroup
metadata: {{name: upstream, namespace: {ns}}}
spec:
  roles:
  - name: prefill
    replicas: 1
    workload: {{}}
    scalingAdapter: {{enable: true}}
    engineRuntimes:
    - profileName: sglang-pd-runtime
      containers: [{{name: patio-runtime, args: ["--x"]}}]
    rolloutStrategy: {{rollingUpdate: {{maxUnavailable: 1, partition: 0}}}}
    template:
      spec:
        containers:
        - name: prefill
          image: lmsysorg/sglang:v0.5.3.post3
          resources:
            limits: {{rdma/hca: 1, nvidia.com/gpu: "2", memory: 128Gi, cpu: "16"}}
"""
    kubectl = cluster.bin_dir / "kubectl"
    out = subprocess.run(
        [str(kubectl), "--kubeconfig", str(cluster.kubeconfig), "apply", "--server-side", "-f", "-"],
        input=manifest, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    stored = kube.get(c.API_VERSION, c.KIND_RBG, "upstream", ns)
    role = stored["spec"]["roles"][0]
    assert role["workload"] == {"apiVersion": "apps/v1", "kind": "StatefulSet"}
    assert role["engineRuntimes"][0]["profileName"] == "sglang-pd-runtime"
    assert role["template"]["spec"]["containers"][0]["resources"]["limits"]["rdma/hca"] == 1


REJECTED = [
    ("duplicate-role-names", _group(roles=[_role("a"), _role("a")]), "role names must be unique"),
    ("unknown-dependency", _group(roles=[_role("a", dependencies=["nope"])]), "every dependency must name another role"),
    ("self-dependency", _group(roles=[_role("a", dependencies=["a"])]), "every dependency must name another role"),
    ("names-too-long", _group(name="g" * 40, roles=[_role("r" * 12)]), "must be at most 52 characters"),
    ("group-name-starts-with-digit", _group(name="1g"), "must be a DNS-1035 label"),
    ("role-name-not-dns-label", _group(roles=[_role("Prefill")]), "spec.roles[0].name"),
    ("negative-replicas", _group(roles=[_role("a", replicas=-1)]), "spec.roles[0].replicas"),
    ("bad-quantity", _group(roles=[{"name": "a", "template": {"spec": {"containers": [
        {"name": "c", "image": "i", "resources": {"limits": {"cpu": "lots"}}}]}}}]), "resources.limits.cpu"),
    ("container-without-name", _group(roles=[{"name": "a", "template": {"spec": {"containers": [{"image": "i"}]}}}]),
     "containers[0].name: Required value"),
    ("unknown-field", _group(roles=[_role("a", replica=2)]), 'unknown field "spec.roles[0].replica"'),
    ("too-many-roles", _group(roles=[_role(f"r{i}") for i in range(33)]), "spec.roles: Too many"),
]


@pytest.mark.parametrize("obj,message", [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_invalid_groups_are_rejected_with_a_clear_message(kube, ns, obj, message):
    with pytest.raises(ApiError) as err:
        _create(kube, ns, obj)
    assert err.value.code in (400, 422)
    assert message in err.value.message, err.value.message


def test_kubectl_explain_walks_into_the_pod_template(cluster):
    out = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(cluster.kubeconfig), "explain",
         "rbg.spec.roles.template.spec.containers.resources"],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "limits" in out.stdout and "requests" in out.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_status_the_hooks_write_is_stored_unpruned(kube, ns, cluster, example):
    """A pruned status field would make Metacontroller rewrite the status on every sync."""
    _create(kube, ns, _doc(example))
    status = sync(startup_stages(example_group(example))[-1]).status
    name = _doc(example)["metadata"]["name"]
    stored = kube.patch_status(c.API_VERSION, c.KIND_RBG, name, {"status": status}, ns)["status"]
    assert stored == status
    out = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(cluster.kubeconfig), "get", "rbg", name, "-n", ns],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")
    assert out[0].split() == ["NAME", "READY", "ROLES", "AGE"]
    assert out[1].split()[:3] == [name, "True", status["readyRoles"]]


def test_hook_server_answers_a_stored_group_with_a_cycle_by_freezing(kube, ns, cluster):
    """CEL can not see cycles; the hooks do: InvalidSpec names the roles, and no child is created."""
    cyclic = _group(roles=[_role("a", dependencies=["b"]), _role("b", dependencies=["a"])])
    stored = _create(kube, ns, cyclic)
    req = {"controller": {}, "parent": stored, "children": {}, "related": {}, "finalizing": False}
    got = requests.post(f"{cluster.hook_url}/sync", data=json.dumps(req), timeout=5,
                        headers={"Content-Type": "application/json"})
    assert got.status_code == 200
    body = got.json()
    assert body["children"] == []
    invalid = next(x for x in body["status"]["conditions"] if x["type"] == c.COND_INVALID_SPEC)
    assert invalid["status"] == "True" and invalid["reason"] == c.REASON_DEPENDENCY_CYCLE
    assert "roles a, b" in invalid["message"]
    # The status it returns is what the API server stores.
    assert kube.patch_status(c.API_VERSION, c.KIND_RBG, "g", {"status": body["status"]}, ns)["status"] == body["status"]
    # lastTransitionTime came from the stored object's own timestamps, not a clock.
    assert invalid["lastTransitionTime"] >= stored["metadata"]["creationTimestamp"]


def test_install_manifests_are_accepted_by_the_api_server(kube, cluster):
    """`kubectl apply --server-side -k metacontroller/`, as a server-side dry run. The
    CompositeController is left out: its CRD comes with Metacontroller, which is not built here."""
    built = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "kustomize", str(ROOT / "metacontroller")],
        capture_output=True, text=True, check=True,
    ).stdout
    docs = [d for d in yaml.safe_load_all(built) if d and d["kind"] != "CompositeController"]
    assert {d["kind"] for d in docs} == {
        "CustomResourceDefinition", "Namespace", "ServiceAccount", "Deployment", "Service", "ClusterRole", "ClusterRoleBinding",
    }
    for doc in sorted(docs, key=lambda d: d["kind"] != "Namespace"):
        if doc["kind"] == "Namespace":
            kube.apply(doc)  # namespaced objects dry-run only into an existing namespace
            continue
        kube.apply(doc, dry_run=True)
