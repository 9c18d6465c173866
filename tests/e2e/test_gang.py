"""Gang scheduling on the real API server, with the real third-party PodGroup CRDs (from
../shared/crds/third-party, never copied here): the PodGroups the hooks make for upstream's two
gang examples are stored as emitted, their pods carry the enrolment, and the overlays that register
the PodGroup types build and pass a server-side dry run. Under Metacontroller (marker
`metacontroller`), with the overlay's registration, the examples get their PodGroups and removing
podGroupPolicy deletes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from hooks import constants as c
from localcluster.cluster import LocalCluster, controller_manifests, third_party_crds
from rbgclient.kube import RoleBasedGroup, apply_manifests, wait_for
from tests.e2e.test_children_on_cluster import apply, contains, get, pods, wait_pods_ready
from tests.e2e.watch import Recorder
from tests.support import ROOT, UPSTREAM_EXAMPLES, example_group, request, sync

KubePodGroup = create_namespaced_resource("scheduling.x-k8s.io", "v1alpha1", c.KIND_POD_GROUP, "podgroups")
VolcanoPodGroup = create_namespaced_resource("scheduling.volcano.sh", "v1beta1", c.KIND_POD_GROUP, "podgroups")
POD_GROUP_CRDS = ("scheduling.x-k8s.io_podgroups.yaml", "scheduling.volcano.sh_podgroups.yaml")
# (upstream example, the PodGroup's child type, its lightkube class, the recorder's name for it)
EXAMPLES = [
    pytest.param("scheduler-plugins-gang", c.CHILD_KUBE_POD_GROUP, KubePodGroup, "KubePodGroup", id="scheduler-plugins"),
    pytest.param("volcano-gang", c.CHILD_VOLCANO_POD_GROUP, VolcanoPodGroup, "VolcanoPodGroup", id="volcano"),
]
KINDS = (RoleBasedGroup, StatefulSet, Deployment, Pod, ("KubePodGroup", KubePodGroup), ("VolcanoPodGroup", VolcanoPodGroup))
OVERLAYS = ("scheduler-plugins", "volcano", "scheduler-plugins-and-volcano")
GANG_TIMEOUT = 150  # Metacontroller finds a newly installed CRD at its next discovery (every 30 s), then retries the controller


def upstream(name: str, ns: str) -> dict:
    """The example's group as the API server sends it to the hooks."""
    group = example_group(UPSTREAM_EXAMPLES / "basics" / f"{name}.yaml")
    group["metadata"]["namespace"] = ns
    return group


def enrolled_pod(pod: dict, name: str, kind: str) -> bool:
    """Whether a pod (or a pod template) is enrolled in the PodGroup `name` of child type `kind`."""
    meta = pod.get("metadata") or {}
    if kind == c.CHILD_KUBE_POD_GROUP:
        labels = meta.get("labels") or {}
        return labels.get(c.LABEL_POD_GROUP) == labels.get(c.LABEL_POD_GROUP_LEGACY) == name
    annotated = (meta.get("annotations") or {}).get(c.ANNOTATION_VOLCANO_GROUP_NAME) == name
    return annotated and pod["spec"].get("schedulerName") == "volcano"


def install_pod_group_crds(cluster: LocalCluster) -> None:
    cluster.install_crds([third_party_crds() / name for name in POD_GROUP_CRDS])


# --- without a controller: the hooks' children applied as they are ---------------------------------


@pytest.fixture(scope="module")
def pod_group_crds(cluster: LocalCluster) -> None:
    install_pod_group_crds(cluster)


@pytest.mark.parametrize(("name", "kind", "resource", "_"), EXAMPLES)
def test_the_pod_groups_of_upstreams_gang_examples_are_accepted_as_emitted(kube, cluster, ns, pod_group_crds, name, kind, resource, _):
    req = request(upstream(name, ns))
    req["children"][kind] = {}  # registered, as the overlay does
    children = sync(req).children
    (pod_group,) = [ch for ch in children if ch["kind"] == c.KIND_POD_GROUP]
    strict = cluster.kubectl("create", "--validate=strict", "--dry-run=server", "-n", ns, "-f", "-", input=yaml.safe_dump(pod_group))
    assert strict.returncode == 0, strict.stderr
    apply(kube, ns, children)
    assert contains(get(kube, resource, name, ns), pod_group) == []  # stored as emitted: nothing pruned or defaulted away
    if kind == c.CHILD_KUBE_POD_GROUP:
        # The default scheduler ignores the labels: the pods run, enrolled.
        running = wait_pods_ready(kube, ns, name, 2)
    else:
        # No Volcano scheduler here: the pods wait for it, enrolled.
        running = wait_for(lambda ps: len(ps) == 2, 60, f"2 pods of {name}", lambda: pods(kube, ns, name))
        assert not any(p["spec"].get("nodeName") for p in running)
    assert all(enrolled_pod(p, name, kind) for p in running)


def test_the_overlays_build_and_pass_a_server_side_dry_run(kube, cluster, pod_group_crds):
    """`kubectl apply --server-side -k overlays/<x>`, dry run, against Metacontroller's real CRDs."""
    cluster.install_crds([third_party_crds() / "metacontroller.k8s.io_crds-v1.yaml"])
    base = cluster.kubectl("kustomize", str(ROOT / "metacontroller"))
    assert base.returncode == 0, base.stderr
    base_docs = [d for d in yaml.safe_load_all(base.stdout) if d]
    for overlay in OVERLAYS:
        built = cluster.kubectl("kustomize", str(ROOT / "overlays" / overlay))
        assert built.returncode == 0, built.stderr
        docs = [d for d in yaml.safe_load_all(built.stdout) if d]
        assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [(d["kind"], d["metadata"]["name"]) for d in base_docs]
        changed = [d for d, b in zip(docs, base_docs) if d != b]
        assert {(d["kind"], d["metadata"]["name"]) for d in changed} == {("CompositeController", "rolebasedgroup"), ("ClusterRole", "rbg-metacontroller")}
        for doc in sorted((d for d in docs if d["kind"] != "CustomResourceDefinition"), key=lambda d: d["kind"] != "Namespace"):
            apply_manifests(kube, [doc], dry_run=doc["kind"] != "Namespace")


# --- under Metacontroller, registered through the overlay ---------------------------------------------


def gang_condition(rec: Recorder, name: str) -> dict | None:
    group = rec.get("RoleBasedGroup", name) or {}
    return next((x for x in (group.get("status") or {}).get("conditions") or [] if x["type"] == c.COND_GANG_SCHEDULING), None)


@pytest.fixture(scope="module")
def gang_registration(mc_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Both PodGroup CRDs, and the rolebasedgroup controller as overlays/scheduler-plugins-and-volcano
    registers it; the base registration is put back afterwards."""
    install_pod_group_crds(mc_cluster)
    built = mc_cluster.kubectl("kustomize", str(ROOT / "overlays" / "scheduler-plugins-and-volcano"))
    assert built.returncode == 0, built.stderr
    (controller,) = [
        d for d in yaml.safe_load_all(built.stdout)
        if d and d["kind"] == "CompositeController" and d["metadata"]["name"] == "rolebasedgroup"
    ]
    path: Path = tmp_path_factory.mktemp("gang") / "rolebasedgroup.yaml"
    path.write_text(yaml.safe_dump(controller))
    apply_manifests(mc_cluster.kube, controller_manifests(path, mc_cluster.hook_url))
    yield
    base = [d for d in controller_manifests(ROOT / "metacontroller" / "compositecontroller.yaml", mc_cluster.hook_url)
            if d["metadata"]["name"] == "rolebasedgroup"]
    apply_manifests(mc_cluster.kube, base)


@pytest.mark.metacontroller
@pytest.mark.parametrize(("name", "kind", "resource", "recorded"), EXAMPLES)
def test_upstream_gang_examples_get_their_pod_group_and_lose_it_with_the_policy(
    gang_registration, mc_kube: Client, rec: Recorder, mc_ns: str, name, kind, resource, recorded
):
    apply_manifests(mc_kube, [UPSTREAM_EXAMPLES / "basics" / f"{name}.yaml"], namespace=mc_ns)
    rec.wait(lambda r: r.get(recorded, name) is not None, GANG_TIMEOUT, f"PodGroup {name}")
    pod_group = rec.get(recorded, name)
    assert pod_group["spec"]["minMember"] == 2
    assert pod_group["metadata"]["ownerReferences"][0]["kind"] == c.KIND_RBG
    rec.wait(lambda r: len([p for p in r.live("Pod").values() if enrolled_pod(p, name, kind)]) == 2, 60, f"2 enrolled pods of {name}")
    rec.wait(lambda r: gang_condition(r, name) is not None, 60, f"{name}'s {c.COND_GANG_SCHEDULING} condition")
    said = gang_condition(rec, name)
    assert (said["status"], said["reason"]) == ("True", c.REASON_ALL_ROLES_ENROLLED)

    # Written as v1alpha1 (spec.podGroupPolicy), read as v1alpha2: the gang is the group's annotations.
    gang = (c.ANNOTATION_GANG, c.ANNOTATION_GANG_TIMEOUT, c.ANNOTATION_GANG_VOLCANO_QUEUE, c.ANNOTATION_GANG_VOLCANO_PRIORITY, c.ANNOTATION_V1ALPHA1_POD_GROUP_POLICY)
    mc_kube.patch(RoleBasedGroup, name, {"metadata": {"annotations": dict.fromkeys(gang)}}, namespace=mc_ns, patch_type=PatchType.MERGE)
    rec.wait(lambda r: r.get(recorded, name) is None, 60, f"PodGroup {name} deleted")
    assert [e.type for e in rec.of(recorded, name)][-1] == "DELETED"

    def unenrolled(r: Recorder) -> bool:
        workloads = [*r.live("StatefulSet").values(), *r.live("Deployment").values()]
        return len(workloads) == 2 and not any(enrolled_pod(w["spec"]["template"], name, kind) for w in workloads)

    rec.wait(unenrolled, 60, f"{name}'s pod templates without the enrolment")
    rec.wait(lambda r: gang_condition(r, name) is None, 60, f"{name} without {c.COND_GANG_SCHEDULING}")
