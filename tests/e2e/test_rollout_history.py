"""Rollout history under the real Metacontroller: ControllerRevisions recorded per role, `rbg
rollout undo` renumbering one (the only change Kubernetes allows a revision), and `rbg rollout
pause|resume` holding and releasing a role's pods. Asserted on recorded watch events (watch.py).

Needs RBG_METACONTROLLER=/path/to/metacontroller; skipped otherwise (conftest.py).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import ControllerRevision, StatefulSet
from lightkube.resources.core_v1 import Pod

from hooks import constants as c
from hooks.children.revision import template_hash
from rbgcli.history import current_templates
from localcluster.cluster import LocalCluster
from rbgclient.kube import RoleBasedGroup, as_dict
from tests.e2e.test_metacontroller import PD, READY_TIMEOUT, apply_and_wait_ready, set_spec
from tests.e2e.watch import Recorder, group_ready, pod_ready
from tests.support import ROOT, role_template

pytestmark = pytest.mark.metacontroller

KINDS = (RoleBasedGroup, StatefulSet, ControllerRevision, Pod)
GROUP = "sglang-pd"
OLD, NEW = "lmsysorg/sglang:v0.5.3.post3", "lmsysorg/sglang:v0.5.4"


def rbg(cluster: LocalCluster, ns: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The `rbg` command against the cluster, as a user runs it."""
    argv = [sys.executable, "-m", "rbgcli", *args, "-n", ns, "--kubeconfig", str(cluster.kubeconfig)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)


def history(r: Recorder, role: str) -> dict[str, int]:
    """The role's recorded revisions: hash -> number."""
    return {
        o["metadata"]["labels"][c.LABEL_REVISION_HASH]: o["revision"]
        for o in r.live("ControllerRevision").values()
        if c.LABEL_REVISION_HASH in o["metadata"].get("labels", {}) and o["metadata"]["labels"].get(c.LABEL_REVISION_ROLE) == role
    }


def stored_hash(kube: Client, ns: str, role: str) -> str:
    """The hash the hooks give the role's template: of the group as the API server stores it, which
    has the CRD's defaults applied (a container port's `protocol: TCP`), not of the YAML applied."""
    template = current_templates(as_dict(kube.get(RoleBasedGroup, GROUP, namespace=ns)))[role]
    assert template is not None
    return template_hash(template)


def with_image(spec: dict[str, Any], role: str, image: str) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    role_template(next(r for r in out["roles"] if r["name"] == role))["spec"]["containers"][0]["image"] = image
    return out


def prefill_pods(r: Recorder) -> dict[str, dict[str, Any]]:
    return {n: p for n, p in r.live("Pod").items() if p["metadata"].get("labels", {}).get(c.LABEL_ROLE_NAME) == "prefill"}


def images(pods: dict[str, dict[str, Any]]) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in pods.values()}


def all_at(image: str, replicas: int = 2):
    def check(r: Recorder) -> bool:
        pods = prefill_pods(r)
        return len(pods) == replicas and images(pods) == {image} and all(pod_ready(p) for p in pods.values())

    return check


def test_history_is_recorded_and_undo_puts_the_previous_template_back(mc_cluster, mc_kube, rec, mc_ns):
    doc = apply_and_wait_ready(mc_kube, rec, mc_ns, PD)
    old, decode = stored_hash(mc_kube, mc_ns, "prefill"), stored_hash(mc_kube, mc_ns, "decode")
    rec.wait(
        lambda r: all(list(history(r, role).values()) == [1] for role in ("router", "prefill", "decode")),
        READY_TIMEOUT, "revision 1 of every role",
    )
    owners = [o["metadata"]["ownerReferences"] for o in rec.live("ControllerRevision").values() if c.LABEL_REVISION_HASH in o["metadata"]["labels"]]
    assert all(refs[0]["kind"] == c.KIND_RBG and refs[0]["controller"] for refs in owners)

    changed = with_image(doc["spec"], "prefill", NEW)
    generation = set_spec(mc_kube, mc_ns, GROUP, changed)
    new = stored_hash(mc_kube, mc_ns, "prefill")
    assert new != old
    rec.wait(group_ready(GROUP, generation), READY_TIMEOUT, "Ready at the new prefill image")
    rec.wait(lambda r: history(r, "prefill") == {old: 1, new: 2}, READY_TIMEOUT, "prefill revision 2")

    shown = rbg(mc_cluster, mc_ns, "rollout", "history", GROUP, "--role", "prefill")
    assert shown.returncode == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines()[1:]]
    assert [(row[1], row[2] == "*") for row in rows] == [("1", False), ("2", True)]

    diff = rbg(mc_cluster, mc_ns, "rollout", "diff", GROUP, "--role", "prefill", "--revision", "1")
    assert diff.returncode == 0 and f"-    image: {OLD}" in diff.stdout and f"+    image: {NEW}" in diff.stdout, diff

    start = len(rec.events)
    undo = rbg(mc_cluster, mc_ns, "rollout", "undo", GROUP, "--role", "prefill")
    assert undo.returncode == 0, undo.stderr
    assert "role prefill: template set to revision 1" in undo.stdout
    group = as_dict(mc_kube.get(RoleBasedGroup, GROUP, namespace=mc_ns))
    rec.wait(group_ready(GROUP, group["metadata"]["generation"]), READY_TIMEOUT, "Ready after the undo")
    rec.wait(all_at(OLD), READY_TIMEOUT, "every prefill pod back at the old image, Ready")
    # Deployment-style numbering: the old template's revision becomes the newest, under its old name.
    rec.wait(lambda r: history(r, "prefill") == {old: 3, new: 2}, READY_TIMEOUT, "revision 1 renumbered 3")
    revisions = [e for e in rec.events[start:] if e.kind == "ControllerRevision" and c.LABEL_REVISION_HASH in e.labels]
    assert {e.type for e in revisions} == {"MODIFIED"}, "an undo creates and deletes no revision"
    # Kubernetes refuses any change of `data`: each name kept the data it was created with.
    for e in revisions:
        (added,) = [a for a in rec.of("ControllerRevision", e.name, "ADDED")]
        assert e.obj["data"] == added.obj["data"]
    assert stored_hash(mc_kube, mc_ns, "prefill") == old, "the undo wrote revision 1's template back as it was"
    assert history(rec, "decode") == {decode: 1}

    # Steady afterwards: no revision, workload or group write.
    rec.quiet(3)
    steady = rec.quiet(10)
    assert [f"{e.type} {e.kind}/{e.name}" for e in steady if e.kind in ("ControllerRevision", "StatefulSet", "RoleBasedGroup")] == []

    missing = rbg(mc_cluster, mc_ns, "rollout", "undo", GROUP, "--role", "prefill", "--to-revision", "9")
    assert missing.returncode == 1 and "has no revision 9 (its revisions: 2, 3)" in missing.stderr
    gone = rbg(mc_cluster, mc_ns, "rollout", "history", "no-such-group")
    assert gone.returncode == 1 and f"RoleBasedGroup {mc_ns}/no-such-group not found" in gone.stderr


def test_pause_holds_a_roles_pods_and_resume_rolls_them(mc_cluster, mc_kube, rec, mc_ns):
    apply_and_wait_ready(mc_kube, rec, mc_ns, PD)
    paused = rbg(mc_cluster, mc_ns, "rollout", "pause", GROUP, "--role", "prefill")
    assert paused.returncode == 0 and "role prefill: paused" in paused.stdout, paused.stderr

    def partition(r: Recorder) -> int | None:
        sts = r.get("StatefulSet", f"{GROUP}-prefill") or {}
        return ((sts.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate", {}).get("partition")

    rec.wait(lambda r: partition(r) == 2, READY_TIMEOUT, "prefill held at partition 2 (all its pods)")
    group = as_dict(mc_kube.get(RoleBasedGroup, GROUP, namespace=mc_ns))
    uids = {n: p["metadata"]["uid"] for n, p in prefill_pods(rec).items()}
    set_spec(mc_kube, mc_ns, GROUP, with_image(group["spec"], "prefill", NEW))

    def template_image(r: Recorder) -> str | None:
        sts = r.get("StatefulSet", f"{GROUP}-prefill") or {}
        return sts["spec"]["template"]["spec"]["containers"][0]["image"] if sts else None

    rec.wait(lambda r: template_image(r) == NEW, READY_TIMEOUT, "the new template handed to the prefill StatefulSet")
    rec.quiet(10)
    held = prefill_pods(rec)
    assert {n: p["metadata"]["uid"] for n, p in held.items()} == uids and images(held) == {OLD}, "a paused role's pods are not replaced"
    status = rbg(mc_cluster, mc_ns, "status", GROUP)
    assert status.returncode == 0 and "prefill  revision 2, paused" in status.stdout, status

    resumed = rbg(mc_cluster, mc_ns, "rollout", "resume", GROUP, "--role", "prefill")
    assert resumed.returncode == 0 and "role prefill: resumed" in resumed.stdout, resumed.stderr
    group = as_dict(mc_kube.get(RoleBasedGroup, GROUP, namespace=mc_ns))
    rec.wait(group_ready(GROUP, group["metadata"]["generation"]), READY_TIMEOUT, "Ready after resume")
    rec.wait(all_at(NEW), READY_TIMEOUT, "every prefill pod at the new image, Ready")
    assert partition(rec) in (0, None)
