"""Both API versions under the real Metacontroller: a group written as v1alpha1 is read and written
as v1alpha2 without a write to its children; a CoordinatedPolicy binds the group of its name and
says so; a v1alpha2 group's pods carry v1alpha2's labels and variables.

Needs RBG_METACONTROLLER=/path/to/metacontroller; skipped otherwise (conftest.py).
"""

from __future__ import annotations

import copy
import os
import subprocess

import pytest
from lightkube.resources.apps_v1 import ControllerRevision, Deployment, StatefulSet
from lightkube.resources.core_v1 import ConfigMap, Pod, Service
from lightkube.types import PatchType

from hooks import constants as c
from rbgclient.kube import CoordinatedPolicy, RoleBasedGroup, apply_manifests, as_dict
from tests.e2e.test_metacontroller import hook_calls, spec_writes
from tests.e2e.watch import Recorder, group_ready
from tests.support import ROOT, condition

pytestmark = pytest.mark.metacontroller

KINDS = (RoleBasedGroup, StatefulSet, Deployment, Service, ConfigMap, Pod, CoordinatedPolicy, ControllerRevision)
READY_TIMEOUT = 60
PD = ROOT / "examples" / "v1alpha1" / "pd-disagg.yaml"  # the example kept in v1alpha1


def _pod_changes(events):
    return [f"{e.type} {e.kind}/{e.name}" for e in events if e.kind == "Pod" and e.type in ("ADDED", "DELETED")]


def test_a_group_written_as_v1alpha1_is_read_and_written_as_v1alpha2_without_a_write_to_its_children(mc_cluster, mc_kube, rec: Recorder, mc_ns):
    apply_manifests(mc_kube, [PD], namespace=mc_ns)  # v1alpha1
    rec.wait(group_ready("sglang-pd"), READY_TIMEOUT, "sglang-pd Ready")
    rec.quiet(3)
    stored = as_dict(mc_kube.get(RoleBasedGroup, "sglang-pd", namespace=mc_ns))  # as v1alpha2
    assert stored["apiVersion"] == c.API_VERSION and "standalonePattern" in stored["spec"]["roles"][0]
    assert stored["metadata"]["annotations"][c.ANNOTATION_API_ORIGIN] == c.VERSION_V1ALPHA1
    pods = [e.obj for e in rec.of("Pod") if e.type != "DELETED"]
    env = {e["name"] for p in pods for e in p["spec"]["containers"][0].get("env", [])}
    assert c.ENV_ROLE_INSTANCE_NAME not in env, "pods of a group written as v1alpha1 keep the variables they had"

    # Written back as v1alpha2: its metadata (a sync) and its spec exactly as read (no new generation).
    synced = hook_calls(mc_cluster, mc_ns)
    mc_kube.patch(RoleBasedGroup, "sglang-pd", {"metadata": {"labels": {"touched": "v1alpha2"}}}, namespace=mc_ns, patch_type=PatchType.MERGE)
    spec = copy.deepcopy(stored["spec"])
    mc_kube.patch(RoleBasedGroup, "sglang-pd", {"spec": spec}, namespace=mc_ns, patch_type=PatchType.MERGE)
    after = rec.quiet(10)
    assert hook_calls(mc_cluster, mc_ns) > synced, "Metacontroller synced the group after the writes"
    assert spec_writes(after) == [] and _pod_changes(after) == []
    assert as_dict(mc_kube.get(RoleBasedGroup, "sglang-pd", namespace=mc_ns))["metadata"]["generation"] == stored["metadata"]["generation"]


def _v2_pd(name: str) -> dict:
    """examples/pd-disagg.yaml's prefill and decode, smaller."""
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND_RBG,
        "metadata": {"name": name},
        "spec": {
            "roles": [
                {"name": "prefill", "replicas": 2, "standalonePattern": {"template": {"spec": {"containers": [{"name": "e", "image": "engine:1"}]}}}},
                {"name": "decode", "replicas": 2, "standalonePattern": {"template": {"spec": {"containers": [{"name": "e", "image": "engine:1"}]}}}},
            ]
        },
    }


def test_a_coordinated_policy_binds_the_group_of_its_name_and_one_of_another_name_says_so(mc_kube, rec: Recorder, mc_ns):
    policy = {"policies": [{"name": "pd", "roles": ["prefill", "decode"], "strategy": {"rollingUpdate": {"maxSkew": "50%"}}}]}
    docs = [
        _v2_pd("pd"),
        {"apiVersion": c.API_VERSION, "kind": c.KIND_COORDINATED_POLICY, "metadata": {"name": "pd"}, "spec": policy},
        {"apiVersion": c.API_VERSION, "kind": c.KIND_COORDINATED_POLICY, "metadata": {"name": "pd-rollout-policy"}, "spec": policy},
    ]
    apply_manifests(mc_kube, docs, namespace=mc_ns)
    rec.wait(group_ready("pd"), READY_TIMEOUT, "pd Ready")

    def bound(name: str, status: str):
        def check(r: Recorder) -> bool:
            got = r.get(c.KIND_COORDINATED_POLICY, name)
            return bool(got and (got.get("status") or {}).get("conditions") and condition(got, c.COND_BOUND)["status"] == status)

        return check

    rec.wait(bound("pd", "True"), 30, "policy pd Bound")
    rec.wait(bound("pd-rollout-policy", "False"), 30, "policy pd-rollout-policy not Bound")
    other = condition(rec.get(c.KIND_COORDINATED_POLICY, "pd-rollout-policy"), c.COND_BOUND)
    assert other["reason"] == c.REASON_TARGET_GROUP_NOT_FOUND and "of its own name" in other["message"]

    # The group reads its policy: a template change rolls both roles in step (Coordinating while it does).
    rec.quiet(2)
    patch = {"spec": {"roles": [{**r, "standalonePattern": {"template": {"spec": {"containers": [{"name": "e", "image": "engine:2"}]}}}} for r in _v2_pd("pd")["spec"]["roles"]]}}
    mc_kube.patch(RoleBasedGroup, "pd", patch, namespace=mc_ns, patch_type=PatchType.MERGE)
    rec.wait(group_ready("pd", 2), READY_TIMEOUT, "pd Ready at generation 2")
    coordinating = [e.obj for e in rec.of(c.KIND_RBG, "pd") if (e.obj.get("status") or {}).get("conditions") and any(
        x["type"] == c.COND_COORDINATING for x in e.obj["status"]["conditions"])]
    assert coordinating, "the group took its CoordinatedPolicy"


def test_a_v1alpha2_groups_pods_carry_v1alpha2_labels_and_variables(mc_kube, rec: Recorder, mc_ns):
    apply_manifests(mc_kube, [_v2_pd("fresh")], namespace=mc_ns)
    rec.wait(group_ready("fresh"), READY_TIMEOUT, "fresh Ready")
    pod = next(e.obj for e in rec.of("Pod") if e.type != "DELETED" and e.obj["metadata"]["name"] == "fresh-prefill-0")
    labels = pod["metadata"]["labels"]
    assert labels[c.LABEL_GROUP_NAME_V2] == "fresh" and labels[c.LABEL_ROLE_NAME_V2] == "prefill" and c.LABEL_GROUP_UID in labels
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert env[c.ENV_ROLE_INSTANCE_NAME]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert {"GROUP_NAME", "RBG_GROUP_NAME", "ROLE_INDEX", "RBG_ROLE_INDEX"} <= set(env)  # the v1alpha1-era ones too


# --- upstream's kubectl rbg plugin ------------------------------------------------------------------
# Built by hand from sgl-project/rbg (cmd/cli) outside this repository, like Metacontroller:
# RBG_KUBECTL_RBG=/path/to/kubectl-rbg. Without it these tests are reported skipped.
KUBECTL_RBG = os.environ.get("RBG_KUBECTL_RBG")
needs_plugin = pytest.mark.skipif(
    not KUBECTL_RBG, reason="upstream's kubectl rbg plugin not given: build sgl-project/rbg's ./cmd/cli and set RBG_KUBECTL_RBG"
)


def _plugin(cluster, ns: str, *args: str) -> str:
    got = subprocess.run([str(KUBECTL_RBG), *args, "-n", ns, f"--kubeconfig={cluster.kubeconfig}"], capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    return got.stdout


def _image(kube, ns: str, name: str) -> str:
    group = as_dict(kube.get(RoleBasedGroup, name, namespace=ns))
    return group["spec"]["roles"][0]["standalonePattern"]["template"]["spec"]["containers"][0]["image"]


@needs_plugin
def test_upstreams_plugin_lists_the_history_and_undoes_to_the_previous_spec(mc_cluster, mc_kube, rec: Recorder, mc_ns):
    apply_manifests(mc_kube, [_v2_pd("hist")], namespace=mc_ns)
    rec.wait(group_ready("hist"), READY_TIMEOUT, "hist Ready")
    changed = {"spec": {"roles": [{**r, "standalonePattern": {"template": {"spec": {"containers": [{"name": "e", "image": "engine:2"}]}}}} for r in _v2_pd("hist")["spec"]["roles"]]}}
    mc_kube.patch(RoleBasedGroup, "hist", changed, namespace=mc_ns, patch_type=PatchType.MERGE)
    rec.wait(group_ready("hist", 2), READY_TIMEOUT, "hist Ready at generation 2")
    rec.wait(lambda r: len([e for e in r.of("ControllerRevision") if e.type == "ADDED" and c.LABEL_GROUP_REVISION in e.obj["metadata"]["labels"]]) >= 2, 30, "two group revisions")

    history = _plugin(mc_cluster, mc_ns, "rollout", "history", "hist")
    rows = [line.split() for line in history.splitlines()[1:] if line.strip()]
    assert [int(r[1]) for r in rows] == [1, 2], history  # the spec's revisions, not the roles' own
    assert all(r[0].startswith("hist-") for r in rows)

    _plugin(mc_cluster, mc_ns, "rollout", "undo", "hist")
    assert _image(mc_kube, mc_ns, "hist") == "engine:1"
    rec.wait(group_ready("hist", 3), READY_TIMEOUT, "hist Ready after the undo")
    pods = [e.obj for e in rec.of("Pod") if e.type != "DELETED" and e.obj["metadata"]["name"].startswith("hist-")]
    assert {p["spec"]["containers"][0]["image"] for p in pods if not p["metadata"].get("deletionTimestamp")} >= {"engine:1"}
