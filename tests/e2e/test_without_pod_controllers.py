"""The install without the pod controllers (overlays/without-pod-controllers) under Metacontroller
(tier `metacontroller`), on a cluster of its own whose audit log records who lists and watches
pods: Metacontroller does neither, a group on StatefulSets becomes Ready in dependency order, and a
group with a RoleInstanceSet role runs its other roles and says why that one is not created."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import Namespace, Pod

from hooks import constants as c
from localcluster.cluster import LocalCluster, metacontroller_binary
from rbgclient.kube import RoleBasedGroup, apply_manifests, as_dict, condition, wait_for
from tests.e2e.conftest import SKIP_METACONTROLLER, _start, namespace
from tests.e2e.test_metacontroller import PD, READY_TIMEOUT, first_ready_rv, roles
from tests.e2e.watch import Recorder, group_ready
from tests.support import group_doc, pods_of

pytestmark = pytest.mark.metacontroller

KINDS = (RoleBasedGroup, StatefulSet, Pod)
OVERLAY = f"overlays/{c.NO_POD_CONTROLLERS_OVERLAY}"


@pytest.fixture(scope="module")
def lean(bin_dir, tmp_path_factory) -> Iterator[LocalCluster]:
    binary = metacontroller_binary(bin_dir)
    assert binary is not None, SKIP_METACONTROLLER
    cluster = _start(bin_dir, tmp_path_factory.mktemp("without-pod-controllers"), metacontroller=binary, overlay=OVERLAY, audit=True)
    yield cluster
    cluster.stop()


@pytest.fixture
def lean_ns(lean) -> Iterator[str]:
    yield from namespace(lean.kube)


def pod_readers(cluster: LocalCluster) -> set[str]:
    """The user agents (program names) that listed or watched pods, from the audit log."""
    agents = set()
    for line in cluster.audit_log.read_text().splitlines():
        entry = json.loads(line)
        if (entry.get("objectRef") or {}).get("resource") == "pods" and entry["verb"] in ("list", "watch"):
            agents.add((entry.get("userAgent") or "").split("/")[0])
    return agents


def test_metacontroller_watches_no_pods_and_a_group_becomes_ready_in_dependency_order(lean, lean_ns):
    since = lean.kube.get(Namespace, lean_ns).metadata.resourceVersion
    doc = group_doc(PD)
    name = doc["metadata"]["name"]
    with Recorder(lean.kubeconfig, lean_ns, KINDS, since) as rec:
        apply_manifests(lean.kube, [doc], namespace=lean_ns)
        rec.wait(group_ready(name), READY_TIMEOUT, f"{name} Ready")
        for role, spec in roles(doc).items():
            (created,) = rec.of("StatefulSet", f"{name}-{role}", "ADDED")
            for dep in spec.get("dependencies") or []:
                last_ready = max(first_ready_rv(rec, p) for p in pods_of(rec, name, dep))
                assert created.rv > last_ready, f"{role} created at rv {created.rv}, {dep} Ready at rv {last_ready}"
    readers = pod_readers(lean)
    assert "kube-scheduler" in readers  # the audit log does record who watches pods
    assert "metacontroller" not in readers, readers


def test_a_role_instance_set_role_says_why_and_the_other_roles_run(lean, lean_ns):
    doc = group_doc(PD)
    name = doc["metadata"]["name"]
    for role in doc["spec"]["roles"]:
        role.pop("dependencies", None)
    ris_role = doc["spec"]["roles"][0]
    ris_role.setdefault("annotations", {})[c.ANNOTATION_ROLE_WORKLOAD_TYPE] = f"{c.API_VERSION}/{c.KIND_ROLE_INSTANCE_SET}"
    apply_manifests(lean.kube, [doc], namespace=lean_ns)

    def reported() -> dict:
        return condition(as_dict(lean.kube.get(RoleBasedGroup, name, namespace=lean_ns)), c.COND_ROLE_INSTANCE_SETS) or {}

    cond = wait_for(lambda x: x.get("status") == "False", READY_TIMEOUT, "condition RoleInstanceSets False", reported)
    assert cond["reason"] == c.REASON_ROLE_INSTANCE_SETS_UNAVAILABLE and OVERLAY in cond["message"] and ris_role["name"] in cond["message"]
    others = [r["name"] for r in doc["spec"]["roles"][1:]]
    for role in others:
        wait_for(bool, READY_TIMEOUT, f"StatefulSet of {role}", lambda: lean.kube.get(StatefulSet, f"{name}-{role}", namespace=lean_ns))
    names = {s.metadata.name for s in lean.kube.list(StatefulSet, namespace=lean_ns)}
    assert f"{name}-{ris_role['name']}" not in names
