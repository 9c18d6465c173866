"""Upstream v0.7.0's examples, both API versions, on the real API server and under Metacontroller.

CI tier: every RoleBasedGroup, RoleBasedGroupSet, RoleBasedGroupScalingAdapter, CoordinatedPolicy
and ClusterEngineRuntimeProfile document of ../shared/upstream/rbg-v0.7.0/examples is accepted as
written by `kubectl apply --server-side --validate=strict` (a server-side dry run: the schema, the
CEL rules, and for v1alpha1 documents the conversion webhook over HTTPS, all run).

Metacontroller tier: every v1alpha2 RoleBasedGroup is applied (into the test's namespace: the only
change) and reaches Ready (customComponentsPattern and, without an LWS controller, leaderWorkerPattern
roles on RoleInstanceSets), or, where this cluster lacks what it needs, its status says which.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks import constants as c
from localcluster.cluster import LocalCluster
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import ConfigMap, Pod, Service

from rbgclient.kube import RoleBasedGroup, apply_manifests
from tests.e2e.watch import Recorder, group_ready
from tests.support import condition
from tests.support.examples import _shared

V07 = _shared() / "upstream" / "rbg-v0.7.0" / "examples"
DOC_KINDS = ("RoleBasedGroup", "RoleBasedGroupSet", "RoleBasedGroupScalingAdapter", "CoordinatedPolicy", "ClusterEngineRuntimeProfile")
KINDS = (RoleBasedGroup, StatefulSet, Deployment, Service, ConfigMap, Pod)  # what the recorder watches
# Upstream v0.6's InstanceSet and Instance kinds (deprecated/v1alpha1/instanceset) are not ours.
NOT_OURS = {"Instance", "InstanceSet"}


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d and str(d.get("apiVersion", "")).startswith(c.GROUP + "/")]


FILES = sorted(p for p in V07.rglob("*.yaml") if any(d["kind"] in DOC_KINDS for d in documents(p)))
# Upstream's documents no schema of the Kubernetes pod template takes: a container's probes written
# under a volume (a wrong indentation). Upstream's own CRD refuses them alike; the API server names the field.
DEFECTS = {"inference/agg-standalone.yaml": r'volumes\[name="dshm"\]\.(readiness|liveness)Probe: field not declared in schema'}


V1ALPHA2_GROUPS = [
    p for p in FILES if "deprecated" not in p.parts and str(p.relative_to(V07)) not in DEFECTS and any(d["kind"] == c.KIND_RBG for d in documents(p))
]


def test_the_corpus_is_upstreams_v070() -> None:
    docs = [d for p in FILES for d in documents(p) if d["kind"] in DOC_KINDS]
    v2 = [d for d in docs if d["apiVersion"] == c.API_VERSION]
    assert len(v2) == 41, "33 RoleBasedGroups, 3 CoordinatedPolicies, 2 sets, 2 adapters, 1 profile"
    assert {d["apiVersion"] for d in docs} == {c.API_VERSION, c.API_VERSION_V1ALPHA1}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(V07)))
def test_every_document_is_accepted_as_written_with_strict_field_validation(cluster: LocalCluster, path: Path) -> None:
    docs = [d for d in documents(path) if d["kind"] not in NOT_OURS]
    text = yaml.safe_dump_all(docs, sort_keys=False)
    got = cluster.kubectl("apply", "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=v07", "-f", "-", input=text)
    defect = DEFECTS.get(str(path.relative_to(V07)))
    if defect is not None:
        assert got.returncode != 0 and re.search(defect, got.stderr), got.stderr
        return
    assert got.returncode == 0, got.stderr
    if any(d["apiVersion"] == c.API_VERSION_V1ALPHA1 for d in docs):
        assert "is deprecated" in got.stderr, "v1alpha1 is served with a deprecation warning"


# What a group needs that this cluster lacks, by the condition that says so.
NEEDS = {
    "basic/rbg/scheduling/volcano-gang.yaml": (c.COND_GANG_SCHEDULING, "False"),
    "basic/rbg/scheduling/scheduler-plugins-gang.yaml": (c.COND_GANG_SCHEDULING, "False"),
}


@pytest.mark.metacontroller
@pytest.mark.parametrize("path", V1ALPHA2_GROUPS, ids=lambda p: str(p.relative_to(V07)))
def test_every_v1alpha2_group_becomes_ready_or_says_what_it_needs(mc_kube, mc_cluster: LocalCluster, rec: Recorder, mc_ns: str, path: Path) -> None:
    docs = [{**d, "metadata": {k: v for k, v in d["metadata"].items() if k != "namespace"}} for d in documents(path)]
    apply_manifests(mc_kube, docs, namespace=mc_ns)
    for group in (d for d in docs if d["kind"] == c.KIND_RBG):
        name = group["metadata"]["name"]
        needs = NEEDS.get(str(path.relative_to(V07)))
        if needs is None:
            rec.wait(group_ready(name), 90, f"{name} Ready")
            continue
        kind, status = needs

        def says(r: Recorder) -> bool:
            got = r.get(c.KIND_RBG, name)
            found = condition(got, kind) if got and (got.get("status") or {}).get("conditions") else None
            return found is not None and found["status"] == status

        rec.wait(says, 60, f"{name}: {kind} {status}")
        got = rec.get(c.KIND_RBG, name)
        assert condition(got, c.COND_INVALID_SPEC)["status"] == "False"
        assert condition(got, c.COND_READY)["status"] == "False"
