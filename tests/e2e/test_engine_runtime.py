"""Engine runtime profiles on the real API server (CI tier) and under the real Metacontroller.

CI tier: upstream's `pd-disagg/sglang/patio-profile.yaml` and `sglang-pd.yaml` apply unchanged
(strict field validation) with our CRDs, and the StatefulSets the hooks make from them, sidecar
injected, are accepted and stored as emitted.

Metacontroller tier (RBG_METACONTROLLER): a profile's sidecar is in the pods; a missing profile is
named in condition EngineRuntimes and nothing is created or changed until it comes; a change of a
NoUpdate profile leaves the role as it is, one of a RollingUpdate profile rolls it.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.generic_resource import create_global_resource
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from hooks import constants as c
from hooks.conversion.v1alpha1 import to_hub
from localcluster.cluster import LocalCluster
from rbgclient.kube import RoleBasedGroup, apply_manifests, as_dict, condition, wait_for
from tests.e2e.test_children_on_cluster import contains, get
from tests.support import UPSTREAM_EXAMPLES, parent, request, sync

Profile = create_global_resource(c.GROUP, c.VERSION, c.KIND_ENGINE_RUNTIME_PROFILE, c.ENGINE_RUNTIME_PROFILES)
SGLANG = UPSTREAM_EXAMPLES / "pd-disagg" / "sglang"
TIMEOUT = 90

Obj = dict[str, Any]


def _docs(name: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all((SGLANG / name).read_text()) if d]


# --- CI tier: the API server with our CRDs ------------------------------------------------------
def test_upstream_profile_and_group_apply_unchanged_and_their_children_are_accepted(kube: Client, cluster: LocalCluster, ns: str) -> None:
    (profile,) = _docs("patio-profile.yaml")
    try:
        for name in ("patio-profile.yaml", "sglang-pd.yaml"):  # its Service names namespace default: applied there, as written
            strict = cluster.kubectl("apply", "--server-side", "--validate=strict", "-f", str(SGLANG / name))
            assert strict.returncode == 0, strict.stderr
        stored = as_dict(kube.get(Profile, profile["metadata"]["name"]))
        assert stored["spec"] == profile["spec"]  # nothing pruned
        (group,) = [d for d in _docs("sglang-pd.yaml") if d["kind"] == c.KIND_RBG]
        req = request(parent({**group, "metadata": {**group["metadata"], "namespace": ns}}))
        req["related"] = {c.RELATED_ENGINE_RUNTIME_PROFILE: {f"/{profile['metadata']['name']}": stored}}
        sets = {ch["metadata"]["name"]: ch for ch in sync(req).children if ch["kind"] == c.KIND_STATEFULSET}
        assert set(sets) == {"sglang-pd-router", "sglang-pd-prefill", "sglang-pd-decode"}  # the router names no dependencies
        for name, child in sets.items():
            sidecar = "patio-runtime" in [x["name"] for x in child["spec"]["template"]["spec"]["containers"]]
            assert sidecar is (name != "sglang-pd-router")
            strict = cluster.kubectl("create", "--validate=strict", "--dry-run=server", "-n", ns, "-f", "-", input=yaml.safe_dump(child))
            assert strict.returncode == 0, strict.stderr
            apply_manifests(kube, [child], namespace=ns)
            assert contains(get(kube, StatefulSet, name, ns), child) == []
    finally:
        for name in ("sglang-pd.yaml", "patio-profile.yaml"):
            cluster.kubectl("delete", "--ignore-not-found", "--wait=false", "-f", str(SGLANG / name))


# --- Metacontroller tier ----------------------------------------------------------------------
def _group(name: str, profile: str, replicas: int = 1) -> Obj:
    role = {
        "name": "app",
        "replicas": replicas,
        "engineRuntimes": [{"profileName": profile, "containers": [{"name": "agent", "args": ["--role=app"]}]}],
        "template": {"spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}},
    }
    return {"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": name}, "spec": {"roles": [role]}}


def _profile(name: str, image: str, strategy: str) -> Obj:
    spec = {"containers": [{"name": "agent", "image": image}], "volumes": [{"name": "agent-sock", "emptyDir": {}}], "updateStrategy": strategy}
    return {"apiVersion": c.API_VERSION, "kind": c.KIND_ENGINE_RUNTIME_PROFILE, "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def profile_name(mc_kube: Client) -> Iterator[str]:
    """A cluster-wide profile name of this test's own; the profile is deleted after it."""
    name = f"e2e-profile-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        mc_kube.delete(Profile, name)
    except Exception:
        pass


def _engine_condition(kube: Client, ns: str, name: str) -> Obj:
    return condition(as_dict(kube.get(RoleBasedGroup, name, namespace=ns)), c.COND_ENGINE_RUNTIMES) or {}


def _images(kube: Client, ns: str, name: str) -> list[str]:
    sts = as_dict(kube.get(StatefulSet, name, namespace=ns))
    return [x["image"] for x in sts["spec"]["template"]["spec"]["containers"]]


@pytest.mark.metacontroller
def test_a_profiles_sidecar_is_in_the_pods(mc_kube: Client, mc_ns: str, profile_name: str) -> None:
    apply_manifests(mc_kube, [_profile(profile_name, "registry.k8s.io/pause:3.9", "NoUpdate"), _group("g", profile_name)], namespace=mc_ns)

    def pod() -> Obj | None:
        pods = [as_dict(p) for p in mc_kube.list(Pod, namespace=mc_ns, labels={c.LABEL_GROUP_NAME: "g"})]
        return pods[0] if pods else None

    got = wait_for(bool, TIMEOUT, "a pod of g", pod)
    containers = {x["name"]: x for x in got["spec"]["containers"]}
    assert set(containers) == {"app", "agent"} and containers["agent"]["args"] == ["--role=app"]
    assert "agent-sock" in {v["name"] for v in got["spec"]["volumes"]}
    assert _engine_condition(mc_kube, mc_ns, "g")["reason"] == c.REASON_PROFILES_INJECTED


@pytest.mark.metacontroller
def test_a_missing_profile_is_named_and_changes_nothing(mc_kube: Client, mc_ns: str, profile_name: str) -> None:
    apply_manifests(mc_kube, [_group("g", profile_name)], namespace=mc_ns)
    wait_for(lambda cond: cond.get("reason") == c.REASON_PROFILE_NOT_FOUND, TIMEOUT, "ProfileNotFound", lambda: _engine_condition(mc_kube, mc_ns, "g"))
    assert profile_name in _engine_condition(mc_kube, mc_ns, "g")["message"]
    assert list(mc_kube.list(StatefulSet, namespace=mc_ns)) == []  # never created without it
    apply_manifests(mc_kube, [_profile(profile_name, "registry.k8s.io/pause:3.9", "RollingUpdate")])
    wait_for(bool, TIMEOUT, "g-app created once the profile exists", lambda: list(mc_kube.list(StatefulSet, namespace=mc_ns)))
    before = as_dict(mc_kube.get(StatefulSet, "g-app", namespace=mc_ns))
    mc_kube.delete(Profile, profile_name)
    wait_for(lambda cond: cond.get("reason") == c.REASON_PROFILE_NOT_FOUND, TIMEOUT, "ProfileNotFound again", lambda: _engine_condition(mc_kube, mc_ns, "g"))
    spec = to_hub(_group("g", profile_name, replicas=2))["spec"]  # the client reads and writes v1alpha2
    mc_kube.patch(RoleBasedGroup, "g", {"spec": spec}, namespace=mc_ns, patch_type=PatchType.MERGE)
    wait_for(lambda g: g.get("status", {}).get("observedGeneration") == 2, TIMEOUT, "generation 2 synced", lambda: as_dict(mc_kube.get(RoleBasedGroup, "g", namespace=mc_ns)))
    after = as_dict(mc_kube.get(StatefulSet, "g-app", namespace=mc_ns))
    assert after["spec"] == before["spec"] and after["metadata"]["generation"] == before["metadata"]["generation"]


@pytest.mark.metacontroller
@pytest.mark.parametrize("strategy", ["NoUpdate", "RollingUpdate"])
def test_a_profile_change_rolls_only_under_rolling_update(mc_kube: Client, mc_ns: str, profile_name: str, strategy: str) -> None:
    old, new = "registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.10"
    apply_manifests(mc_kube, [_profile(profile_name, old, strategy), _group("g", profile_name)], namespace=mc_ns)
    wait_for(lambda images: images == ["registry.k8s.io/pause:3.10", old], TIMEOUT, "g-app with the sidecar", lambda: _safe_images(mc_kube, mc_ns))
    changed = copy.deepcopy(_profile(profile_name, new, strategy))
    apply_manifests(mc_kube, [changed])
    if strategy == "RollingUpdate":
        wait_for(lambda images: images[-1:] == [new], TIMEOUT, "the sidecar rolled", lambda: _safe_images(mc_kube, mc_ns))
    else:
        keeps = f"app keeps the {profile_name} it was given"
        wait_for(lambda cond: keeps in cond.get("message", ""), TIMEOUT, "the change seen and kept out", lambda: _engine_condition(mc_kube, mc_ns, "g"))
        assert _images(mc_kube, mc_ns, "g-app")[-1] == old


def _safe_images(kube: Client, ns: str) -> list[str]:
    try:
        return _images(kube, ns, "g-app")
    except Exception:
        return []
