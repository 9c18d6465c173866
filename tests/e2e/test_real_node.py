"""The real node (localcluster/realnode.py) beside the KWOK ones: busybox pods there run, log,
take `kubectl exec`, find a peer through cluster DNS by its headless Service name, and reach it by
TCP. Skipped, with the reason, where the machine can not run a real node (conftest.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from lightkube import codecs
from lightkube.resources.core_v1 import Node, Pod

from localcluster import realnode
from localcluster.cluster import LocalCluster
from rbgclient.kube import as_dict, has_condition, wait_for
from tests.e2e.conftest import namespace

PORT = 7000
GREETING = "hello-from-server"


@pytest.fixture
def rn_ns(real_node_cluster: LocalCluster) -> Iterator[str]:
    yield from namespace(real_node_cluster.kube)


def busybox(cluster: LocalCluster) -> str:
    assert cluster.real_node is not None and cluster.real_node.images is not None
    tags = [t for t in realnode.image_tags(cluster.real_node.images) if t.startswith("localhost/rbg/busybox:")]
    assert tags, f"no localhost/rbg/busybox image in {cluster.real_node.images}/images.txt"
    return tags[0]


def pod(name: str, image: str, command: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "peer"}},
        "spec": {
            "hostname": name,
            "subdomain": "peers",
            "nodeSelector": {realnode.LABEL: "true"},
            "tolerations": [{"key": realnode.LABEL, "operator": "Exists", "effect": "NoSchedule"}],
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "main", "image": image, "command": ["sh", "-c", command]}],
        },
    }


def test_the_real_node_is_ready_labelled_and_tainted(real_node_cluster: LocalCluster) -> None:
    node = as_dict(real_node_cluster.kube.get(Node, realnode.NAME))
    assert has_condition(node, "Ready")
    assert node["metadata"]["labels"][realnode.LABEL] == "true"
    assert {"key": realnode.LABEL, "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert {"type": "InternalIP", "address": realnode.NODE_IP} in node["status"]["addresses"]


def test_a_pod_finds_its_peer_by_cluster_dns_and_connects_by_tcp(real_node_cluster: LocalCluster, rn_ns: str) -> None:
    c, kube = real_node_cluster, real_node_cluster.kube
    image = busybox(c)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "peers"},
        "spec": {"clusterIP": "None", "selector": {"app": "peer"}, "ports": [{"name": "tcp", "port": PORT}]},
    }
    kube.create(codecs.from_dict(service), namespace=rn_ns)
    server = f"echo server up; while true; do echo {GREETING} | nc -l -p {PORT}; done"
    for manifest in (pod("server", image, server), pod("client", image, "echo client up; exec sleep 3600")):
        kube.create(codecs.from_dict(manifest), namespace=rn_ns)

    def pods() -> dict[str, dict]:
        return {name: as_dict(kube.get(Pod, name, namespace=rn_ns)) for name in ("server", "client")}

    seen = wait_for(lambda ps: all(has_condition(p, "Ready") for p in ps.values()), 120, "both pods Ready", pods)
    assert {p["spec"]["nodeName"] for p in seen.values()} == {realnode.NAME}
    server_ip = seen["server"]["status"]["podIP"]
    assert ipaddress.ip_address(server_ip) in ipaddress.ip_network(realnode.POD_CIDR)

    logs = c.kubectl("logs", "-n", rn_ns, "server")
    assert logs.returncode == 0 and "server up" in logs.stdout, logs.stderr

    fqdn = f"server.peers.{rn_ns}.svc.{realnode.CLUSTER_DOMAIN}"

    def lookup() -> str:  # the headless Service's EndpointSlice follows the pods within a second or two
        return c.kubectl("exec", "-n", rn_ns, "client", "--", "nslookup", fqdn).stdout

    answer = wait_for(lambda out: f"Address: {server_ip}" in out, 30, f"{fqdn} to resolve to {server_ip}", lookup)
    assert f"Name:\t{fqdn}" in answer

    connect = c.kubectl("exec", "-n", rn_ns, "client", "--", "sh", "-c", f"nc -w 5 {fqdn} {PORT} </dev/null")
    assert connect.returncode == 0, connect.stderr
    assert connect.stdout.strip() == GREETING

    # The API server through kube-proxy: the `kubernetes` Service by its cluster DNS name.
    version = c.kubectl(
        "exec", "-n", rn_ns, "client", "--", "wget", "-q", "-O-", "--no-check-certificate",
        f"https://kubernetes.default.svc.{realnode.CLUSTER_DOMAIN}/version",
    )
    assert version.returncode == 0, version.stderr
    assert '"gitVersion": "v1.34' in version.stdout

