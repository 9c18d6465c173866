"""The real node's configuration and teardown logic (localcluster/realnode.py), without a host:
what it writes, what it asks of the API server, what it deletes and why it would not run."""

from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path

import pytest
import yaml

from localcluster import realnode
from localcluster.cluster import LocalCluster


def test_the_pod_network_clashes_with_neither_services_nor_kwok_pods() -> None:
    pods = ipaddress.ip_network(realnode.POD_CIDR)
    for other in ("10.96.0.0/16", "10.244.0.0/16"):  # the API server's service range, kwok's --cidr
        assert not pods.overlaps(ipaddress.ip_network(other))
    assert ipaddress.ip_address(realnode.NODE_IP) in pods


def test_apiserver_listens_for_the_pods_and_calls_kubelet_with_certificates(tmp_path: Path) -> None:
    c = LocalCluster(tmp_path / "bin", tmp_path / "state", rbg=False, real_node=True, images=tmp_path / "images")
    argv = c.components["kube-apiserver"].argv
    flags = dict(a.split("=", 1) for a in argv[1:] if "=" in a)
    assert flags["--bind-address"] == "0.0.0.0"
    assert flags["--advertise-address"] == realnode.NODE_IP
    assert flags["--endpoint-reconciler-type"] == "lease"
    assert flags["--tls-cert-file"] == str(c.pki / "apiserver.crt")
    assert flags["--kubelet-certificate-authority"].endswith("real-node/pki/ca.crt")
    assert "--kubelet-client-certificate" in flags and "--kubelet-client-key" in flags
    assert len(argv) == len(set(a.split("=", 1)[0] for a in argv))  # each flag once
    assert c.real_node is not None and c.real_node.api_port == c.api_port
    assert [n for n in c.components][-4:] == ["containerd", "coredns", "kubelet", "kube-proxy"]


def test_a_cluster_without_a_real_node_keeps_its_api_server_on_loopback(tmp_path: Path) -> None:
    c = LocalCluster(tmp_path / "bin", tmp_path / "state", rbg=False)
    argv = c.components["kube-apiserver"].argv
    assert "--bind-address=127.0.0.1" in argv and "--endpoint-reconciler-type=none" in argv
    assert not any(a.startswith("--kubelet-") for a in argv)
    assert c.real_node is None and "kubelet" not in c.components


def test_kubelet_config(tmp_path: Path) -> None:
    cfg = realnode.kubelet_config(tmp_path, tmp_path / "c.sock", tmp_path / "pki", 10250, 10248)
    assert cfg["cgroupDriver"] == "cgroupfs" and cfg["cgroupRoot"] == f"/{realnode.NAME}"
    assert cfg["failSwapOn"] is False
    assert cfg["clusterDNS"] == [realnode.NODE_IP] and cfg["clusterDomain"] == "cluster.local"
    assert cfg["containerRuntimeEndpoint"] == f"unix://{tmp_path / 'c.sock'}"
    assert cfg["registerWithTaints"] == [{"key": realnode.LABEL, "value": "true", "effect": "NoSchedule"}]
    assert cfg["authentication"]["anonymous"] == {"enabled": False}
    assert cfg["authorization"] == {"mode": "Webhook"}
    assert cfg["podLogsDir"].startswith(str(tmp_path))
    assert cfg["makeIPTablesUtilChains"] is False
    assert "staticPodPath" not in cfg
    yaml.safe_dump(cfg)


def test_containerd_config_keeps_everything_in_the_state_dir(tmp_path: Path) -> None:
    text = realnode.containerd_config(tmp_path, tmp_path / "c.sock", "localhost/rbg/pause:3.10", "native", "/usr/sbin/runc", Path("/usr/lib/cni"))
    for key in ('root = "', 'state = "', 'address = "', 'conf_dir = "', 'Root = "'):
        line = next(line for line in text.splitlines() if line.strip().startswith(key))
        assert str(tmp_path) in line, line
    assert 'sandbox_image = "localhost/rbg/pause:3.10"' in text
    assert 'snapshotter = "native"' in text
    assert "SystemdCgroup = false" in text
    assert "restrict_oom_score_adj = true" in text


def test_cni_config_is_a_bridge_on_the_pod_network_without_masquerade(tmp_path: Path) -> None:
    cfg = realnode.cni_config(tmp_path)
    bridge, portmap = cfg["plugins"]
    assert cfg["name"] == realnode.NAME and bridge["bridge"] == realnode.BRIDGE
    assert bridge["ipam"]["ranges"] == [[{"subnet": realnode.POD_CIDR, "gateway": realnode.NODE_IP}]]
    assert bridge["ipam"]["dataDir"] == str(tmp_path)
    assert bridge["hairpinMode"] is True and bridge["ipMasq"] is False
    assert portmap == {"type": "portmap", "capabilities": {"portMappings": True}}


def test_kube_proxy_config() -> None:
    cfg = realnode.kube_proxy_config(Path("/k"), 1, 2)
    assert cfg["mode"] == "iptables" and cfg["clusterCIDR"] == realnode.POD_CIDR
    assert cfg["hostnameOverride"] == realnode.NAME
    assert cfg["iptables"]["localhostNodePorts"] is False
    assert cfg["healthzBindAddress"] == "127.0.0.1:1"


@pytest.mark.parametrize("forward", [True, False])
def test_corefile(forward: bool) -> None:
    text = realnode.corefile(Path("/state/kubeconfig"), 1, 2, forward)
    assert f"bind {realnode.NODE_IP}" in text
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in text
    assert "kubeconfig /state/kubeconfig" in text
    assert ("forward . /etc/resolv.conf" in text) is forward
    assert "cache" not in text
    assert text.count("{") == text.count("}")


def test_only_our_iptables_rules_are_deleted() -> None:
    listing = "\n".join(
        [
            "-P INPUT ACCEPT",
            "-N CNI-DN-be6de1ecf7c7a65fb1047",
            '-A INPUT ! -s 10.222.0.0/16 ! -i lo -p tcp -m tcp --dport 39659 -m comment --comment rbg-real-node -j DROP',
            '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"rbg-real-node\\" id: \\"d275\\"" -m multiport --dports 18080 -j CNI-DN-be6de1ecf7c7a65fb1047',
            '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"podman\\" id: \\"abcd\\"" -m multiport --dports 8080 -j CNI-DN-0000',
            '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
            '-A INPUT -m comment --comment "rbg-real-node-other" -j DROP',
        ]
    )
    rules = realnode.iptables_rules_to_delete(listing)
    assert rules == [
        ["INPUT", "!", "-s", "10.222.0.0/16", "!", "-i", "lo", "-p", "tcp", "-m", "tcp", "--dport", "39659", "-m", "comment", "--comment", "rbg-real-node", "-j", "DROP"],
        ["CNI-HOSTPORT-DNAT", "-p", "tcp", "-m", "comment", "--comment", 'dnat name: "rbg-real-node" id: "d275"', "-m", "multiport", "--dports", "18080", "-j", "CNI-DN-be6de1ecf7c7a65fb1047"],
    ]


def test_api_guard_lets_in_the_host_and_the_pods_only() -> None:
    v4, v6 = realnode._api_guard(6443)
    assert v4[:4] == ["iptables", "-w", "-I", "INPUT"] and v6[:4] == ["ip6tables", "-w", "-I", "INPUT"]
    for rule in (v4, v6):
        assert realnode.iptables_rules_to_delete("-A " + " ".join(rule[3:])) == [rule[3:]]
        assert ["!", "-i", "lo"] == rule[rule.index("-i") - 1 : rule.index("-i") + 2]
    assert realnode.POD_CIDR in v4 and realnode.POD_CIDR not in v6


def test_shim_socket_name_is_containerds() -> None:
    # containerd 1.6: sha256 of filepath.Join(<its socket>, <namespace>, <container id>), in /run/containerd/s
    expected = hashlib.sha256(b"/s/c.sock/k8s.io/abc").hexdigest()
    assert realnode.shim_socket_name(Path("/s/c.sock"), "k8s.io", "abc") == expected


def test_mountinfo_escapes() -> None:
    assert realnode._unescape(r"/tmp/a\040b\011c\134d") == "/tmp/a b\tc\\d"


def test_image_tags(tmp_path: Path) -> None:
    (tmp_path / "images.txt").write_text("localhost/rbg/pause:3.10 pause.tar\nlocalhost/rbg/busybox:1.35 busybox.tar\n\n")
    assert realnode.image_tags(tmp_path) == {"localhost/rbg/pause:3.10": "pause.tar", "localhost/rbg/busybox:1.35": "busybox.tar"}
    assert realnode.image_tags(tmp_path / "missing") == {}


def test_not_root_is_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realnode.sys, "platform", "linux")
    monkeypatch.setattr(realnode.os, "geteuid", lambda: 1000)
    assert realnode.host_unavailable() == (
        "a real node needs root (kubelet, containerd, a bridge and iptables rules); running as uid 1000"
    )


def test_missing_tools_are_named_with_their_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realnode.sys, "platform", "linux")
    monkeypatch.setattr(realnode.os, "geteuid", lambda: 0)
    monkeypatch.setattr(realnode, "_which", lambda tool: None if tool in ("containerd", "runc") else f"/usr/bin/{tool}")
    reason = realnode.host_unavailable()
    assert reason == f"not installed: containerd, runc (Debian: apt-get install {realnode.DEBIAN_PACKAGES})"


def test_missing_binaries_and_images_are_reasons(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(realnode, "host_unavailable", lambda: None)
    assert realnode.unavailable(tmp_path, tmp_path) == (
        f"not built in {tmp_path}: kubelet, kube-proxy, coredns (bash tools/build.sh kubelet kube-proxy coredns)"
    )
    for name in realnode.BINARIES:
        (tmp_path / name).write_text("")
    assert realnode.unavailable(tmp_path, None).startswith("no images directory")
    assert realnode.unavailable(tmp_path, tmp_path) == f"no image tars (*.tar) in {tmp_path}"
    (tmp_path / "pause.tar").write_text("")
    assert realnode.unavailable(tmp_path, tmp_path) is None
