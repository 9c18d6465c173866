"""What kubectl reaches by each name a user types for a RoleBasedGroupSet, on the real API server.

Two CRDs serve kind RoleBasedGroupSet: upstream's (workloads.x-k8s.io) and the seed form's
(openpatio.io). kubectl resolves a name that two groups serve to the group first in discovery
order (groups of equal priority sort by name: openpatio.io first), so they share no plural,
singular or short name: each spelling of upstream's reaches upstream's sets, and the seed form
answers to its own names and to its kind qualified by its group.

Only etcd and kube-apiserver run (no controller, no Metacontroller): a cluster of its own, as
kubectl discovery is all this needs.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from hooks import constants as c
from localcluster.cluster import LocalCluster, rbg_crds
from rbgcli import crdgen
from rbgclient.kube import as_dict, wait_for

ROOT = Path(__file__).resolve().parents[2]
NS = "default"
UPSTREAM_SET, SEED_SET = "upstream-set", "demo-group"  # the second: examples/sets/seed-set.yaml


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    build = subprocess.run(
        ["bash", str(ROOT / "tools" / "build.sh"), "kube-apiserver", "kubectl", "etcd"],
        stdout=subprocess.PIPE, text=True, check=False,
    )
    assert build.returncode == 0, f"tools/build.sh failed with exit {build.returncode}; its log is above"
    cluster = LocalCluster(Path(build.stdout.strip().splitlines()[-1]), tmp_path_factory.mktemp("api-server"), rbg=False, nodes=0)
    cluster.logs.mkdir(parents=True, exist_ok=True)
    cluster._write_secrets()  # the first phase of start(); the rest would start every other component
    try:
        for name in ("etcd", "kube-apiserver"):
            cluster.start_component(name)
        cluster.install_crds(rbg_crds())
        upstream = {
            "apiVersion": c.API_VERSION,
            "kind": c.KIND_RBGS,
            "metadata": {"name": UPSTREAM_SET},
            "spec": {"replicas": 1, "groupTemplate": {"spec": {"roles": [{"name": "a", "standalonePattern": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}]}}},
        }
        seed = (ROOT / "examples" / "sets" / "seed-set.yaml").read_text()  # applies unchanged: kind RoleBasedGroupSet
        applied = cluster.kubectl("apply", "-n", NS, "-f", "-", input=yaml.safe_dump(upstream) + "---\n" + seed)
        assert applied.returncode == 0, applied.stderr
        yield cluster
    finally:
        cluster.stop()


def _listed(cluster: LocalCluster, name: str) -> list[str]:
    """`kubectl get <name>`: the apiVersion of each set it lists (the group that answered)."""
    got = cluster.kubectl("get", name, "-n", NS, "-o", "jsonpath={range .items[*]}{.apiVersion} {.metadata.name}{'\\n'}{end}")
    assert got.returncode == 0, f"kubectl get {name}: {got.stderr}"
    return got.stdout.split()


@pytest.mark.parametrize("name", ["rolebasedgroupsets", "rolebasedgroupset", "RoleBasedGroupSet", "rbgs",
                                  f"rolebasedgroupsets.{c.GROUP}", f"{c.KIND_RBGS}.{c.GROUP}", f"{c.KIND_RBGS}.{c.VERSION}.{c.GROUP}"])
def test_upstream_names_reach_upstream_sets(api_server, name):
    assert _listed(api_server, name) == [c.API_VERSION, UPSTREAM_SET]


@pytest.mark.parametrize("name", [c.SEED_SHORT_NAME, c.SEED_PLURAL, c.SEED_SINGULAR, f"{c.SEED_PLURAL}.{c.SEED_GROUP}",
                                  f"{c.SEED_SINGULAR}.{c.SEED_GROUP}", f"{c.KIND_RBGS}.{c.SEED_GROUP}",
                                  f"{c.KIND_RBGS.lower()}.{c.SEED_GROUP}",  # what `kubectl apply` prints
                                  f"{c.KIND_RBGS}.{c.VERSION_V1ALPHA1}.{c.SEED_GROUP}"])
def test_seed_names_reach_seed_sets(api_server, name):
    assert _listed(api_server, name) == [c.SEED_API_VERSION, SEED_SET]


def test_the_seed_forms_former_full_name_is_gone(api_server):
    """`rolebasedgroupsets.openpatio.io`, the seed CRD's name before it had a plural of its own:
    neither a resource nor a kind of openpatio.io now."""
    got = api_server.kubectl("get", f"rolebasedgroupsets.{c.SEED_GROUP}", "-n", NS)
    assert (got.returncode, got.stderr) == (1, 'error: the server doesn\'t have a resource type "rolebasedgroupsets"\n')


def test_api_resources_shows_the_seed_forms_own_names(api_server):
    got = api_server.kubectl("api-resources", f"--api-group={c.SEED_GROUP}", "--no-headers")
    assert got.returncode == 0, got.stderr
    assert [line.split() for line in got.stdout.splitlines()] == [
        [c.SEED_PLURAL, c.SEED_SHORT_NAME, c.SEED_API_VERSION, "true", c.KIND_RBGS],
    ]
    got = api_server.kubectl("api-resources", f"--api-group={c.GROUP}", "--no-headers")
    assert ["rolebasedgroupsets", "rbgs", c.API_VERSION, "true", c.KIND_RBGS] in [line.split() for line in got.stdout.splitlines()]


def test_the_former_seed_crd_and_the_new_one_can_not_both_be_served(api_server):
    """Upgrading: the former seed CRD (rolebasedgroupsets.openpatio.io) names the same kind in the
    same group, so the API server accepts only the CRD that was there first. A cluster that has it
    must delete it (and with it the seed-form sets) before the new one is served."""
    former = copy.deepcopy(crdgen.seed_set_crd())
    former["metadata"]["name"] = f"rolebasedgroupsets.{c.SEED_GROUP}"
    former["spec"]["names"].update(plural="rolebasedgroupsets", singular=c.KIND_RBGS.lower())
    applied = api_server.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(former))
    assert applied.returncode == 0, applied.stderr
    try:
        conditions = wait_for(
            lambda got: "NamesAccepted" in got, 30, "the former seed CRD's NamesAccepted condition",
            lambda: {
                cond["type"]: (cond["status"], cond["reason"], cond["message"])
                for cond in as_dict(api_server.kube.get(CustomResourceDefinition, f"rolebasedgroupsets.{c.SEED_GROUP}"))
                .get("status", {}).get("conditions") or []
            },
        )
        assert conditions["NamesAccepted"] == ("False", "ListKindConflict", f'"{c.KIND_RBGS}List" is already in use')
        assert _listed(api_server, c.SEED_SHORT_NAME) == [c.SEED_API_VERSION, SEED_SET]  # still the new CRD's
    finally:
        api_server.kubectl("delete", "crd", f"rolebasedgroupsets.{c.SEED_GROUP}", "--wait=true")
