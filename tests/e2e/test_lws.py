"""LeaderWorkerSet roles on the real API server, with the real LeaderWorkerSet CRD (from
../shared/crds/third-party, never copied here): the LeaderWorkerSets the hooks make for upstream's
five LWS examples pass a strict server-side dry run and are stored as emitted, and
overlays/leaderworkerset builds and passes a server-side dry run. No LWS controller runs here.
"""

from __future__ import annotations

import pytest
import yaml
from lightkube.generic_resource import create_namespaced_resource

from hooks import constants as c
from hooks.localcluster.cluster import LocalCluster, third_party_crds
from hooks.localcluster.kube import apply_manifests
from tests.e2e.test_children_on_cluster import contains, get
from tests.support import ROOT, UPSTREAM_EXAMPLES, example_group, request, sync

LeaderWorkerSet = create_namespaced_resource("leaderworkerset.x-k8s.io", "v1", c.KIND_LWS, "leaderworkersets")
LWS_CRD = "leaderworkerset.x-k8s.io_leaderworkersets.yaml"
UPSTREAM_LWS = ["rbg-with-lws-workload", "exclusive-topology", "restart-policy", "rolling-update", "rolling-update-with-partition"]


@pytest.fixture(scope="module")
def lws_crd(cluster: LocalCluster) -> None:
    cluster.install_crds([third_party_crds() / LWS_CRD])


@pytest.mark.parametrize("name", UPSTREAM_LWS)
def test_the_lws_of_upstreams_examples_is_accepted_as_emitted(kube, cluster, ns, lws_crd, name):
    group = example_group(UPSTREAM_EXAMPLES / "basics" / f"{name}.yaml")
    group["metadata"]["namespace"] = ns
    req = request(group)
    req["children"][c.CHILD_LWS] = {}  # registered, as overlays/leaderworkerset does
    (lws,) = [ch for ch in sync(req).children if ch["kind"] == c.KIND_LWS]
    strict = cluster.kubectl("create", "--validate=strict", "--dry-run=server", "-n", ns, "-f", "-", input=yaml.safe_dump(lws))
    assert strict.returncode == 0, strict.stderr
    apply_manifests(kube, [lws], namespace=ns)
    assert contains(get(kube, LeaderWorkerSet, lws["metadata"]["name"], ns), lws) == []  # nothing pruned or changed


def test_the_lws_overlay_builds_and_passes_a_server_side_dry_run(kube, cluster, lws_crd):
    cluster.install_crds([third_party_crds() / "metacontroller.k8s.io_crds-v1.yaml"])
    built = cluster.kubectl("kustomize", str(ROOT / "overlays" / c.LWS_OVERLAY))
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    (controller,) = [d for d in docs if d["kind"] == "CompositeController" and d["metadata"]["name"] == "rolebasedgroup"]
    assert {"apiVersion": c.LWS_API_VERSION, "resource": "leaderworkersets", "updateStrategy": {"method": "InPlace"}} in controller["spec"]["childResources"]
    for doc in sorted((d for d in docs if d["kind"] != "CustomResourceDefinition"), key=lambda d: d["kind"] != "Namespace"):
        apply_manifests(kube, [doc], dry_run=doc["kind"] != "Namespace")
