"""Our CRDs on the real kube-apiserver: schema, defaults, CEL rules, status and scale subresources, printer columns."""

from __future__ import annotations

import copy
import json

import pytest
import requests
import yaml
from lightkube import ApiError
from lightkube.types import PatchType

from hooks import constants as c
from localcluster.cluster import third_party_crds
from rbgclient.kube import RoleBasedGroup, apply_manifests, as_dict
from tests.support import EXAMPLES, ROOT, example_group, example_id, startup_stages, sync, workload_kinds


def _doc(path):
    return next(d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == c.KIND_RBG)


def _group(name="g", roles=None, **spec):
    roles = roles or [{"name": "a", "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}]
    return {"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": name}, "spec": {"roles": roles, **spec}}


def _role(name, **extra):
    return {"name": name, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}, **extra}


class Rejected(Exception):
    pass


def _create(cluster, ns, obj):
    """`kubectl create --validate=strict`, as a user would: the stored object, or Rejected with kubectl's error."""
    obj = copy.deepcopy(obj)
    obj["metadata"]["namespace"] = ns
    out = cluster.kubectl("create", "--validate=strict", "-o", "json", "-f", "-", input=json.dumps(obj))
    if out.returncode != 0:
        raise Rejected(out.stderr)
    return json.loads(out.stdout)


def _patch_status(kube, ns, name, status):
    patched = kube.patch(RoleBasedGroup.Status, name, {"status": status}, namespace=ns, patch_type=PatchType.MERGE)
    return as_dict(patched)["status"]


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_examples_are_accepted_with_upstream_defaults(cluster, ns, example):
    stored = _create(cluster, ns, _doc(example))  # as written: v1alpha2, or the kept v1alpha1 one
    for role in stored["spec"]["roles"]:
        assert role["replicas"] >= 0
        if stored["apiVersion"] == c.API_VERSION_V1ALPHA1:
            assert role["workload"]["apiVersion"] == "apps/v1" and role["workload"]["kind"] in ("StatefulSet", "Deployment")
        else:
            assert role["podManagementPolicy"] == "Parallel" and "standalonePattern" in role
    assert set(workload_kinds(stored).values()) <= {"StatefulSet", "Deployment"}


def _ours(path):
    """The documents of an example file in our API groups."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d and d["apiVersion"].split("/")[0] in (c.GROUP, c.SEED_GROUP)]


@pytest.mark.parametrize("path", [p for p in sorted((ROOT / "examples").rglob("*.yaml")) if _ours(p)], ids=example_id)
def test_every_document_of_ours_in_the_examples_is_accepted_as_written(cluster, ns, path):
    """Groups, sets and CoordinatedPolicies of every example file (v1alpha2, the kept v1alpha1 one, the
    seed form), created with kubectl's strict validation: no field pruned or unknown."""
    for doc in _ours(path):
        stored = _create(cluster, ns, doc)
        assert (stored["apiVersion"], stored["kind"]) == (doc["apiVersion"], doc["kind"])
        assert contains(stored["spec"], doc["spec"]) == [], f"{doc['kind']} {doc['metadata']['name']} stored otherwise than written"
        assert stored["metadata"].get("annotations", {}) == doc["metadata"].get("annotations", {})


def contains(stored, written, path="spec") -> list[str]:
    """Where `stored` lacks or differs from what `written` sets (the API server may add defaults)."""
    if isinstance(written, dict):
        if not isinstance(stored, dict):
            return [f"{path}: {stored!r}"]
        return [d for k, v in written.items() for d in contains(stored.get(k), v, f"{path}.{k}")]
    if isinstance(written, list):
        if not isinstance(stored, list) or len(stored) != len(written):
            return [f"{path}: {stored!r} != {written!r}"]
        return [d for i, (s, v) in enumerate(zip(stored, written)) for d in contains(s, v, f"{path}[{i}]")]
    return [] if stored == written else [f"{path}: stored {stored!r}, written {written!r}"]


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
    out = cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest)
    assert out.returncode == 0, out.stderr
    stored = as_dict(kube.get(RoleBasedGroup, "upstream", namespace=ns))
    role = stored["spec"]["roles"][0]  # read as v1alpha2
    assert role["annotations"] == {c.ANNOTATION_ROLE_WORKLOAD_TYPE: "apps/v1/StatefulSet"}
    assert role["engineRuntimes"][0]["profileName"] == "sglang-pd-runtime"
    assert role["standalonePattern"]["template"]["spec"]["containers"][0]["resources"]["limits"]["rdma/hca"] == 1


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
    ("template-and-template-ref", _group(roles=[_role("a", templateRef={"name": "t"})], roleTemplates=[
        {"name": "t", "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}]),
     "template and templateRef are mutually exclusive"),
    ("neither-template-nor-ref", _group(roles=[{"name": "a"}]), "template or templateRef is required"),
    ("template-ref-to-nothing", _group(roles=[{"name": "a", "templateRef": {"name": "nope"}}]),
     "every templateRef must name an entry of spec.roleTemplates"),
    ("patch-without-ref", _group(roles=[_role("a", templatePatch={"metadata": {"labels": {"x": "y"}}})]),
     "templatePatch is only valid with templateRef"),
]


def _v2(roles, **spec):
    return {"apiVersion": c.API_VERSION, "kind": c.KIND_RBG, "metadata": {"name": "g"}, "spec": {"roles": roles, **spec}}


TEMPLATE = {"spec": {"containers": [{"name": "c", "image": "i"}]}}
REJECTED += [
    ("no-pattern", _v2([{"name": "a"}]), "exactly one of standalonePattern, leaderWorkerPattern and customComponentsPattern is required"),
    ("two-patterns", _v2([{"name": "a", "standalonePattern": {"template": TEMPLATE}, "leaderWorkerPattern": {"template": TEMPLATE}}]),
     "exactly one of standalonePattern"),
    ("pattern-template-and-ref", _v2([{"name": "a", "standalonePattern": {"template": TEMPLATE, "templateRef": {"name": "t"}}}],
                                     roleTemplates=[{"name": "t", "template": TEMPLATE}]), "template and templateRef are mutually exclusive"),
    ("pattern-ref-to-nothing", _v2([{"name": "a", "leaderWorkerPattern": {"templateRef": {"name": "nope"}}}]),
     "every templateRef must name an entry of spec.roleTemplates"),
    ("unknown-workload-type", _v2([{"name": "a", "annotations": {c.ANNOTATION_ROLE_WORKLOAD_TYPE: "batch/v1/Job"}, "standalonePattern": {"template": TEMPLATE}}]),
     f"annotation {c.ANNOTATION_ROLE_WORKLOAD_TYPE} must be one of"),
    ("delays-inverted", _v2([{"name": "a", "leaderWorkerPattern": {"template": TEMPLATE, "restartPolicyConfig": {"baseDelaySeconds": 60, "maxDelaySeconds": 5}}}]),
     "maxDelaySeconds must be greater than or equal to baseDelaySeconds"),
    ("surge-and-unavailable-both-zero", _v2([{"name": "a", "rolloutStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}, "standalonePattern": {"template": TEMPLATE}}]),
     "maxSurge and maxUnavailable may not both be 0"),
    ("v1alpha1-field-in-v1alpha2", _v2([{"name": "a", "template": TEMPLATE}]), 'unknown field "spec.roles[0].template"'),
]


@pytest.mark.parametrize("obj,message", [r[1:] for r in REJECTED], ids=[r[0] for r in REJECTED])
def test_invalid_groups_are_rejected_with_a_clear_message(cluster, ns, obj, message):
    with pytest.raises(Rejected) as err:
        _create(cluster, ns, obj)
    assert message in str(err.value), str(err.value)


def _set(name="s", replicas=2, roles=None, seed=False):
    """A RoleBasedGroupSet; `seed`: in the openpatio.io spelling (spec.groupTemplate, roles named by `role`)."""
    roles = roles or [_role("a")]
    if not seed:
        spec = {"replicas": replicas, "template": {"roles": roles}}
        return {"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBGS, "metadata": {"name": name}, "spec": spec}
    roles = [{"role": r["name"], **{k: v for k, v in r.items() if k != "name"}} for r in roles]
    spec = {"replicas": replicas, "groupTemplate": {"roles": roles}}
    return {"apiVersion": c.SEED_API_VERSION, "kind": c.KIND_RBGS, "metadata": {"name": name}, "spec": spec}


SPELLINGS = pytest.mark.parametrize("seed", [False, True], ids=["workloads", "openpatio"])


def _sets(seed):
    return f"{c.SEED_PLURAL}.{c.SEED_GROUP}" if seed else f"rolebasedgroupsets.{c.GROUP}"


@SPELLINGS
def test_sets_are_accepted_with_defaults_and_scale(cluster, ns, seed):
    stored = _create(cluster, ns, _set(seed=seed))
    template = stored["spec"]["groupTemplate" if seed else "template"]
    assert stored["spec"]["startupPolicy"] == c.STARTUP_PARALLEL and template["startupPolicy"] == c.STARTUP_ORDERED
    assert template["roles"][0]["replicas"] == 1
    out = cluster.kubectl("scale", _sets(seed), "s", "-n", ns, "--replicas=3")
    assert out.returncode == 0, out.stderr
    got = cluster.kubectl("get", _sets(seed), "s", "-n", ns, "-o", "jsonpath={.spec.replicas}")
    assert got.stdout == "3", got.stderr
    header = cluster.kubectl("get", _sets(seed), "s", "-n", ns, "-o", "wide").stdout.split("\n")[0].split()
    assert header == ["NAME", "DESIRED", "READY", "UPDATED", "AGE"]


@SPELLINGS
def test_set_member_workload_names_are_bounded_also_through_scale(cluster, ns, seed):
    """"<set>-<highest index>-<role>" within 52: 37 + 1 + 1 + 12 + 1 = 52 at 10 members, 53 at 11."""
    name, roles = "s" * 37, [_role("r" * 12)]
    _create(cluster, ns, _set(name=name, replicas=10, roles=roles, seed=seed))
    with pytest.raises(Rejected, match="must be at most 52 characters"):
        _create(cluster, ns, _set(name=name[:-1] + "t", replicas=11, roles=roles, seed=seed))
    out = cluster.kubectl("scale", _sets(seed), name, "-n", ns, "--replicas=11")
    assert out.returncode != 0 and "must be at most 52 characters" in out.stderr, out.stderr


SET_REJECTED = [
    ("duplicate-role-names", dict(roles=[_role("a"), _role("a")]), "role names must be unique"),
    ("unknown-dependency", dict(roles=[_role("a", dependencies=["nope"])]), "every dependency must name another role"),
    ("set-name-starts-with-digit", dict(name="1s"), "must be a DNS-1035 label"),
    ("too-many-members", dict(replicas=c.MAX_SET_REPLICAS + 1), "spec.replicas"),
]


@SPELLINGS
@pytest.mark.parametrize("fields,message", [r[1:] for r in SET_REJECTED], ids=[r[0] for r in SET_REJECTED])
def test_invalid_sets_are_rejected_with_a_clear_message(cluster, ns, seed, fields, message):
    with pytest.raises(Rejected) as err:
        _create(cluster, ns, _set(seed=seed, **fields))
    assert message in str(err.value), str(err.value)


def test_seed_sets_name_roles_by_role(cluster, ns):
    obj = _set(seed=True)
    obj["spec"]["groupTemplate"]["roles"] = [_role("a")]
    with pytest.raises(Rejected, match=r'unknown field "spec.groupTemplate.roles\[0\].name"'):
        _create(cluster, ns, obj)


def test_scaling_adapter_is_a_scale_target(cluster, ns):
    adapter = {
        "apiVersion": c.API_VERSION, "kind": c.KIND_RBGSA, "metadata": {"name": "g-a"},
        "spec": {"scaleTargetRef": {"name": "g", "role": "a"}},
    }
    _create(cluster, ns, adapter)
    out = cluster.kubectl("scale", "rbgsa", "g-a", "-n", ns, "--replicas=3")
    assert out.returncode == 0, out.stderr
    got = cluster.kubectl("get", "rbgsa", "g-a", "-n", ns, "-o", "jsonpath={.spec.replicas}")
    assert got.stdout == "3", got.stderr
    header = cluster.kubectl("get", "rbgsa", "g-a", "-n", ns, "-o", "wide").stdout.split("\n")[0].split()
    assert header == ["NAME", "PHASE", "REPLICAS", "TARGET", "ROLE", "AGE"]


def _components():
    return [{"name": "main", "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}]


def _kubectl_ok(cluster, *args):
    out = cluster.kubectl(*args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_role_instance_sets_are_accepted_with_defaults_and_scale(cluster, ns):
    obj = {"apiVersion": c.API_VERSION, "kind": c.KIND_ROLE_INSTANCE_SET, "metadata": {"name": "s"},
           "spec": {"roleInstanceTemplate": {"components": _components()}}}
    stored = _create(cluster, ns, obj)
    spec = stored["spec"]
    assert (spec["replicas"], spec["podManagementPolicy"], spec["revisionHistoryLimit"]) == (1, "Parallel", 10)
    assert spec["roleInstanceTemplate"]["readyPolicy"] == c.READY_POLICY_ALL_PODS
    # The component's pod template is the Kubernetes schema: an unknown field is refused.
    bad = copy.deepcopy(obj)
    bad["metadata"]["name"] = "t"
    bad["spec"]["roleInstanceTemplate"]["components"][0]["template"]["spec"]["containers"][0]["imag"] = "i"
    with pytest.raises(Rejected, match="imag"):
        _create(cluster, ns, bad)
    _kubectl_ok(cluster, "scale", "ris", "s", "-n", ns, "--replicas=3")
    assert _kubectl_ok(cluster, "get", "ris", "s", "-n", ns, "-o", "jsonpath={.spec.replicas}") == "3"
    # /scale reads the selector at status.labelSelector, as upstream's.
    status = {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "updatedReadyReplicas": 2, "labelSelector": "a=b"}
    _kubectl_ok(cluster, "patch", "ris", "s", "-n", ns, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))
    scale = json.loads(_kubectl_ok(cluster, "get", "--raw", f"/apis/{c.API_VERSION}/namespaces/{ns}/roleinstancesets/s/scale"))
    assert (scale["spec"]["replicas"], scale["status"]["replicas"], scale["status"]["selector"]) == (3, 3, "a=b")
    out = _kubectl_ok(cluster, "get", "ris", "s", "-n", ns, "-o", "wide").split("\n")
    assert out[0].split() == ["NAME", "DESIRED", "UPDATED", "UPDATED_READY", "READY", "TOTAL", "AGE", "SELECTOR"]
    row = out[1].split()
    assert row[:6] == ["s", "3", "3", "2", "2", "3"] and row[-1] == "a=b"


def test_role_instances_show_their_readiness(cluster, ns):
    obj = {"apiVersion": c.API_VERSION, "kind": c.KIND_ROLE_INSTANCE, "metadata": {"name": "s-0"}, "spec": {"components": _components()}}
    stored = _create(cluster, ns, obj)
    assert stored["spec"]["readyPolicy"] == c.READY_POLICY_ALL_PODS
    with pytest.raises(Rejected, match="spec.components"):
        _create(cluster, ns, {**obj, "metadata": {"name": "s-1"}, "spec": {"components": []}})
    ready = {"type": c.COND_ROLE_INSTANCE_READY, "status": "True", "reason": c.REASON_ALL_PODS_READY, "message": "",
             "lastTransitionTime": stored["metadata"]["creationTimestamp"]}
    status = {"conditions": [ready], "labelSelector": "a=b",
              "inPlaceUpdateContainerBaselines": {"s-0-main-0": {"c": {"restartCount": 1}}}}
    patched = _kubectl_ok(cluster, "patch", "rins", "s-0", "-n", ns, "--subresource=status", "--type=merge", "-o", "json",
                          "-p", json.dumps({"status": status}))
    assert json.loads(patched)["status"] == status  # stored unpruned
    out = _kubectl_ok(cluster, "get", "rins", "s-0", "-n", ns).split("\n")
    assert out[0].split() == ["NAME", "READY", "AGE"] and out[1].split()[:2] == ["s-0", "True"]


def test_kubectl_explain_walks_into_the_pod_template(cluster):
    out = cluster.kubectl("explain", "rbg.spec.roles.standalonePattern.template.spec.containers.resources")
    assert out.returncode == 0, out.stderr
    assert "limits" in out.stdout and "requests" in out.stdout
    out = cluster.kubectl("explain", "rbg.spec.roles.template.spec.containers.resources", f"--api-version={c.API_VERSION_V1ALPHA1}")
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_status_the_hooks_write_is_stored_unpruned(kube, ns, cluster, example):
    """A pruned status field would make Metacontroller rewrite the status on every sync."""
    _create(cluster, ns, _doc(example))
    status = sync(startup_stages(example_group(example))[-1]).status
    name = _doc(example)["metadata"]["name"]
    assert _patch_status(kube, ns, name, status) == status
    got = cluster.kubectl("get", "rbg", name, "-n", ns)
    assert got.returncode == 0, got.stderr
    out = got.stdout.split("\n")
    assert out[0].split() == ["NAME", "READY", "ROLES", "AGE"]
    assert out[1].split()[:3] == [name, "True", status["readyRoles"]]


def test_hook_server_answers_a_stored_group_with_a_cycle_by_freezing(kube, ns, cluster):
    """CEL can not see cycles; the hooks do: InvalidSpec names the roles, and no child is created."""
    cyclic = _group(roles=[_role("a", dependencies=["b"]), _role("b", dependencies=["a"])])
    stored = _create(cluster, ns, cyclic)
    children = {key: {} for key in c.CHILD_TYPES}
    req = {"controller": {}, "parent": stored, "children": children, "related": {}, "finalizing": False}
    got = requests.post(f"{cluster.hook_url}/sync", data=json.dumps(req), timeout=5,
                        headers={"Content-Type": "application/json"})
    assert got.status_code == 200
    body = got.json()
    assert body["children"] == []
    invalid = next(x for x in body["status"]["conditions"] if x["type"] == c.COND_INVALID_SPEC)
    assert invalid["status"] == "True" and invalid["reason"] == c.REASON_DEPENDENCY_CYCLE
    assert "roles a, b" in invalid["message"]
    # The status it returns is what the API server stores.
    assert _patch_status(kube, ns, "g", body["status"]) == body["status"]
    # lastTransitionTime came from the stored object's own timestamps, not a clock.
    assert invalid["lastTransitionTime"] >= stored["metadata"]["creationTimestamp"]


def test_install_manifests_are_accepted_by_the_api_server(kube, cluster):
    """`kubectl apply --server-side -k metacontroller/`, as a server-side dry run, the registration
    included: checked against Metacontroller's real CRDs (../shared/crds/third-party), which are
    installed here without Metacontroller itself."""
    built = cluster.kubectl("kustomize", str(ROOT / "metacontroller"))
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert {d["kind"] for d in docs} == {
        "CustomResourceDefinition", "Namespace", "ServiceAccount", "Deployment", "Service", "ClusterRole",
        "ClusterRoleBinding", "CompositeController", "DecoratorController",
    }
    cluster.install_crds([third_party_crds() / "metacontroller.k8s.io_crds-v1.yaml"])
    for doc in sorted(docs, key=lambda d: d["kind"] != "Namespace"):
        # namespaced objects dry-run only into an existing namespace
        apply_manifests(kube, [doc], dry_run=doc["kind"] != "Namespace")
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "CompositeController"} == {
        "rolebasedgroup", "rolebasedgroupset", "openpatio-rolebasedgroupset", "rolebasedgroupscalingadapter", "coordinatedpolicy",
        "roleinstanceset", "roleinstance",
    }  # every one dry-run above
    (decorator,) = [d for d in docs if d["kind"] == "DecoratorController"]
    assert decorator["metadata"]["name"] == "gang-ready"  # dry-run above
    with pytest.raises(ApiError, match="spec.resources"):  # its schema is really checked too
        apply_manifests(kube, [{**decorator, "spec": {**decorator["spec"], "resources": [{"apiVersion": "v1"}]}}], dry_run=True)
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "CustomResourceDefinition"} == {
        "rolebasedgroups.workloads.x-k8s.io", "rolebasedgroupsets.workloads.x-k8s.io",
        "seedrolebasedgroupsets.openpatio.io", "rolebasedgroupscalingadapters.workloads.x-k8s.io",
        "clusterengineruntimeprofiles.workloads.x-k8s.io", "coordinatedpolicies.workloads.x-k8s.io",
        "roleinstancesets.workloads.x-k8s.io", "roleinstances.workloads.x-k8s.io",
    }
    controller = next(d for d in docs if d["kind"] == "CompositeController" and d["metadata"]["name"] == "rolebasedgroup")
    with pytest.raises(ApiError, match="spec.hooks.sync.webhook.timeout"):  # the schema is really checked
        broken = copy.deepcopy(controller)
        broken["spec"]["hooks"]["sync"]["webhook"]["timeout"] = 10
        apply_manifests(kube, [broken], dry_run=True)
