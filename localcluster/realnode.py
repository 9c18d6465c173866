"""A real node beside the KWOK ones: containerd with runc, the CNI bridge, kubelet, kube-proxy
(iptables) and CoreDNS, host processes of the local cluster (LocalCluster(real_node=True), `rbg up
--real-node`), with their configuration, state and logs under state_dir/real-node/ and
state_dir/logs/.

The node is `rbg-real-node`, labelled and tainted `rbg.local/real-node=true` (NoSchedule): only a
pod that selects the label and tolerates the taint lands there; KWOK nodes stay the default.

    spec:
      nodeSelector: {rbg.local/real-node: "true"}
      tolerations: [{key: rbg.local/real-node, operator: Exists, effect: NoSchedule}]

Addresses: pods get 10.222.0.0/16 on the bridge rbg0, whose address 10.222.0.1 is the node's
InternalIP, where kubelet serves (the API server reaches it for logs and exec), where CoreDNS answers
(the pods' nameserver; cluster domain cluster.local), and the API server's advertised address (the
`kubernetes` Service 10.96.0.1 leads there through kube-proxy). For that the API server listens on
every address (0.0.0.0; one iptables rule drops what reaches its port from anywhere but the host and
the pods), with a serving certificate for 127.0.0.1, 10.222.0.1 and 10.96.0.1 signed by the node's
CA, which also signs kubelet's serving certificate and the API server's kubelet client certificate.
kubelet, kube-proxy and CoreDNS use the cluster's admin kubeconfig.

Images are never pulled (no registry is reachable): every *.tar in the images directory (the output
of tools/images.sh, or $RBG_IMAGES) is imported with `ctr -n k8s.io images import`; the sandbox
image is `localhost/rbg/pause:3.10`. The directory's images.txt names each archive's tag
(image_tags()): tools/images.sh tags busybox with Debian's version, `localhost/rbg/busybox:1.35`.

One real node per machine (the bridge, port 53 of 10.222.0.1, kube-proxy's iptables chains are the
machine's): a lock in /run says which state dir holds it. Teardown (`teardown()`) kills every
process in the node's cgroups and its containerd's shims, unmounts what kubelet and containerd
mounted, removes the pods' network namespaces, the bridge, kube-proxy's and our iptables rules, the
CNI cache entries and the other files outside the state dir that belong to this node, and restores
the two sysctls it set. It works from the state dir alone, so `rbg down` can run it for a
supervisor that died.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import ipaddress
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

log = logging.getLogger(__name__)

NAME = "rbg-real-node"  # the Node, the CNI network, the cgroup under each hierarchy, iptables comments
LABEL = "rbg.local/real-node"  # label value "true"; the taint's key (value "true", NoSchedule)
POD_CIDR = "10.222.0.0/16"
NODE_IP = "10.222.0.1"  # the bridge's address: InternalIP, kubelet, CoreDNS, the API server's endpoint
BRIDGE = "rbg0"
CLUSTER_DOMAIN = "cluster.local"
SANDBOX_IMAGE = "localhost/rbg/pause:3.10"
IMAGES_ENV = "RBG_IMAGES"
# What the node needs on the host (Debian: apt-get install containerd runc containernetworking-plugins iptables).
HOST_TOOLS = ("containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables", "ip6tables", "ip")
DEBIAN_PACKAGES = "containerd runc containernetworking-plugins iptables conntrack"
CNI_BIN_DIRS = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")
BINARIES = ("kubelet", "kube-proxy", "coredns")  # built by tools/build.sh into the bin dir
LOCK_FILE = Path("/run/rbg-real-node.lock")
OWNER_FILE = Path("/run/rbg-real-node.json")  # which state dir holds the lock, for the next one's message
RECORD = "realnode.json"  # in the node dir: what teardown needs
# Outside the state dir, where kubelet, containerd and the CNI plugins write regardless.
NETNS_DIRS = (Path("/run/netns"), Path("/var/run/netns"))
SHIM_SOCKETS = Path("/run/containerd/s")
CNI_CACHE = Path("/var/lib/cni/results")
CONTAINER_LOGS = Path("/var/log/containers")
DEVICE_PLUGINS = Path("/var/lib/kubelet/device-plugins")
HOSTPORT_DNAT = "CNI-HOSTPORT-DNAT"  # portmap's, with its helpers
HOSTPORT_CHAINS = (HOSTPORT_DNAT, "CNI-HOSTPORT-SETMARK", "CNI-HOSTPORT-MASQ")
# (tool, table, chain) left behind by portmap, and by kube-proxy (a copy of kubelet's firewall chain
# that `kube-proxy --cleanup` leaves to kubelet).
SHARED_CHAINS = (
    ("iptables", "nat", HOSTPORT_DNAT),
    ("iptables", "filter", "KUBE-FIREWALL"),
    ("ip6tables", "filter", "KUBE-FIREWALL"),
)
OUTSIDE_DIRS = (DEVICE_PLUGINS, CNI_CACHE, SHIM_SOCKETS, CONTAINER_LOGS)  # removed by teardown if it made them and they are empty
SYSCTLS = {"net/ipv4/ip_forward": "1", "net/bridge/bridge-nf-call-iptables": "1"}
CGROUP_V1_NEEDED = ("cpu", "cpuacct", "cpuset", "memory", "pids")
MNT_DETACH = 2
STOP_SECONDS = 10


@dataclass
class Process:
    """A host process of the node: LocalCluster runs it as one of its components."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    timeout: float = 60
    env: dict[str, str] = field(default_factory=dict)


# --- can it run here? ----------------------------------------------------------------------------
def unavailable(bin_dir: str | Path, images: str | Path | None) -> str | None:
    """Why a real node can not run on this machine (None: it can): host_unavailable(), or a built
    binary or the images missing."""
    if (reason := host_unavailable()) is not None:
        return reason
    built = [name for name in BINARIES if not (Path(bin_dir) / name).is_file()]
    if built:
        return f"not built in {bin_dir}: {', '.join(built)} (bash tools/build.sh {' '.join(BINARIES)})"
    if images is None:
        return f"no images directory: give the output directory of tools/images.sh (or set {IMAGES_ENV})"
    if not Path(images).is_dir() or not any(Path(images).glob("*.tar")):
        return f"no image tars (*.tar) in {images}"
    return None


def host_unavailable() -> str | None:
    """Why this machine can not run a real node, whatever is built (None: it can): not Linux, not
    root, a host tool or CNI plugin missing, no usable cgroups or br_netfilter, or another real
    node running."""
    if sys.platform != "linux":
        return f"a real node needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return f"a real node needs root (kubelet, containerd, a bridge and iptables rules); running as uid {os.geteuid()}"
    missing = [tool for tool in HOST_TOOLS if _which(tool) is None]
    if missing:
        return f"not installed: {', '.join(missing)} (Debian: apt-get install {DEBIAN_PACKAGES})"
    if cni_bin_dir() is None:
        return (
            f"no CNI plugins ({', '.join(CNI_PLUGINS)}) in {' or '.join(map(str, CNI_BIN_DIRS))} "
            "(Debian: apt-get install containernetworking-plugins)"
        )
    if (reason := _cgroups_unusable()) is not None:
        return reason
    if not Path("/proc/sys/net/bridge").is_dir():
        subprocess.run(["modprobe", "br_netfilter"], capture_output=True, check=False)
        if not Path("/proc/sys/net/bridge").is_dir():
            return "br_netfilter is not available (no /proc/sys/net/bridge, modprobe br_netfilter failed): Services could not reach pods on the bridge"
    return _lock_holder()


def image_tags(images: str | Path) -> dict[str, str]:
    """Tag -> archive of an images directory, from its images.txt (`<tag> <file>` per line)."""
    try:
        lines = (Path(images) / "images.txt").read_text().splitlines()
    except OSError:
        return {}
    return {parts[0]: parts[1] for line in lines if len(parts := line.split()) == 2}


def cni_bin_dir() -> Path | None:
    return next((d for d in CNI_BIN_DIRS if all((d / p).is_file() for p in CNI_PLUGINS)), None)


def _which(tool: str) -> str | None:
    """`tool` on PATH or in the sbin directories (not on a non-root user's PATH)."""
    return shutil.which(tool) or shutil.which(tool, path="/usr/local/sbin:/usr/sbin:/sbin")


def _cgroups_unusable() -> str | None:
    mounts = cgroup_mounts()
    if any(kind == "cgroup2" and path == Path("/sys/fs/cgroup") for kind, path, _ in mounts):
        return None  # the unified hierarchy alone (cgroup v2)
    found = {c for kind, _, controllers in mounts if kind == "cgroup" for c in controllers}
    lacking = [c for c in CGROUP_V1_NEEDED if c not in found]
    return f"cgroup v1 controllers not mounted: {', '.join(lacking)}" if lacking else None


def cgroup_mounts() -> list[tuple[str, Path, set[str]]]:
    """(fstype, mount point, controllers) of every cgroup (v1) and cgroup2 mount."""
    out = []
    for entry in _mountinfo():
        if entry["fstype"] in ("cgroup", "cgroup2"):
            controllers = set(entry["super_options"].split(",")) & set(CGROUP_V1_NEEDED + ("blkio", "devices", "freezer", "hugetlb"))
            out.append((entry["fstype"], Path(entry["mount_point"]), controllers))
    return out


def _lock_holder() -> str | None:
    """Another real node's state dir, if one holds the lock."""
    try:
        fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        return f"can not open {LOCK_FILE}: {e}"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return f"another real node runs on this machine ({_owner_text()}); one per machine: stop that cluster first"
    finally:
        os.close(fd)
    return None


def _owner_text() -> str:
    try:
        owner = json.loads(OWNER_FILE.read_text())
        return f"state dir {owner['node_dir']}, pid {owner['pid']}"
    except (OSError, ValueError, KeyError):
        return f"see {OWNER_FILE}"


# --- the node ------------------------------------------------------------------------------------
class RealNode:
    """The node of one LocalCluster: `write_pki` and `apiserver_argv` before the API server starts,
    `processes()` as the cluster's components, `phases()` after the KWOK nodes, `teardown()` after
    the components stopped."""

    def __init__(
        self,
        bin_dir: str | Path,
        state_dir: str | Path,
        kubeconfig: Path,
        images: str | Path | None,
        sandbox_image: str = SANDBOX_IMAGE,
        service_ip: str = "10.96.0.1",
    ) -> None:
        self.bin_dir = Path(bin_dir)
        self.dir = Path(state_dir) / "real-node"
        self.logs = Path(state_dir) / "logs"
        self.kubeconfig = kubeconfig
        self.images = None if images is None else Path(images)
        self.sandbox_image = sandbox_image
        self.service_ip = service_ip
        self.pki = self.dir / "pki"
        self.socket = self.dir / "containerd" / "containerd.sock"
        self.snapshotter = "overlayfs"  # or native, chosen by prepare()
        self.kubelet_port, self.kubelet_healthz, self.proxy_healthz, self.proxy_metrics, self.dns_health, self.dns_ready = (
            _free_port() for _ in range(6)
        )
        self.api_port = 0  # set by apiserver_argv
        self.timings: dict[str, float] = {}
        self._lock_fd: int | None = None
        self._http = requests.Session()
        self._http.trust_env = False

    # before the API server
    def write_pki(self, cluster_pki: Path) -> None:
        """The node's CA (pki/ca.crt), kubelet's serving certificate, the API server's kubelet client
        certificate, and the API server's serving certificate: cluster_pki/apiserver.crt (itself and
        the CA, which the kubeconfig trusts as it trusted the self-signed one) and apiserver.key."""
        shutil.rmtree(self.pki, ignore_errors=True)
        self.pki.mkdir(parents=True)
        p = self.pki
        _openssl(
            "req", "-x509", *_EC_KEY, "-keyout", str(p / "ca.key"), "-out", str(p / "ca.crt"), "-days", "365",
            "-subj", f"/CN={NAME}-ca", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )
        sans = [f"IP:{ip}" for ip in ("127.0.0.1", NODE_IP, self.service_ip)] + [
            f"DNS:{n}" for n in ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{CLUSTER_DOMAIN}")
        ]
        self._sign("apiserver", "/CN=kube-apiserver", f"subjectAltName={','.join(sans)}\nextendedKeyUsage=serverAuth")
        self._sign("kubelet", f"/CN={NAME}", f"subjectAltName=IP:{NODE_IP},DNS:{NAME}\nextendedKeyUsage=serverAuth")
        self._sign("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", "extendedKeyUsage=clientAuth")
        (cluster_pki / "apiserver.crt").write_bytes((p / "apiserver.crt").read_bytes() + (p / "ca.crt").read_bytes())
        shutil.copyfile(p / "apiserver.key", cluster_pki / "apiserver.key")
        (cluster_pki / "apiserver.key").chmod(0o600)

    def _sign(self, name: str, subject: str, extensions: str) -> None:
        p = self.pki
        _openssl("req", "-new", *_EC_KEY, "-keyout", str(p / f"{name}.key"), "-out", str(p / f"{name}.csr"), "-subj", subject)
        (p / f"{name}.ext").write_text(f"{extensions}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
        _openssl(
            "x509", "-req", "-in", str(p / f"{name}.csr"), "-CA", str(p / "ca.crt"), "-CAkey", str(p / "ca.key"),
            "-set_serial", str(secrets.randbits(63)), "-days", "365", "-extfile", str(p / f"{name}.ext"), "-out", str(p / f"{name}.crt"),
        )

    def apiserver_argv(self, argv: list[str], cluster_pki: Path) -> list[str]:
        """The API server's command line for a real node: listening on every address, advertising
        NODE_IP (the `kubernetes` Service's endpoint, kept by the lease reconciler), serving
        write_pki's certificate, and calling kubelet with a client certificate, checking its
        serving certificate."""
        out = []
        for arg in argv:
            flag = arg.split("=", 1)[0]
            if flag == "--secure-port":
                self.api_port = int(arg.split("=", 1)[1])
            replaced = {
                "--bind-address": "--bind-address=0.0.0.0",
                "--advertise-address": f"--advertise-address={NODE_IP}",
                "--endpoint-reconciler-type": "--endpoint-reconciler-type=lease",
            }.get(flag, arg)
            out.append(replaced)
        return out + [
            f"--tls-cert-file={cluster_pki / 'apiserver.crt'}",
            f"--tls-private-key-file={cluster_pki / 'apiserver.key'}",
            f"--kubelet-client-certificate={self.pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={self.pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={self.pki / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP",
        ]

    # the processes
    def processes(self) -> list[Process]:
        d, b = self.dir, self.bin_dir
        return [
            Process("containerd", [_which("containerd") or "containerd", f"--config={d / 'containerd' / 'config.toml'}"], self._containerd_ready),
            Process("coredns", [str(b / "coredns"), "-conf", str(d / "coredns" / "Corefile")], self._http_ok(f"http://127.0.0.1:{self.dns_ready}/ready")),
            Process(
                "kubelet",
                [
                    str(b / "kubelet"),
                    f"--config={d / 'kubelet' / 'config.yaml'}",
                    f"--kubeconfig={self.kubeconfig}",
                    f"--root-dir={d / 'kubelet' / 'root'}",
                    f"--hostname-override={NAME}",
                    f"--node-ip={NODE_IP}",
                    f"--node-labels={LABEL}=true",
                    "--v=2",
                ],
                self._http_ok(f"http://127.0.0.1:{self.kubelet_healthz}/healthz"),
            ),
            Process(
                "kube-proxy",
                [str(b / "kube-proxy"), f"--config={d / 'kube-proxy' / 'config.yaml'}", "--v=2"],
                self._http_ok(f"http://127.0.0.1:{self.proxy_healthz}/healthz"),
            ),
        ]

    def _http_ok(self, url: str) -> Callable[[], bool]:
        return lambda: self._http.get(url, timeout=2).ok

    def _containerd_ready(self) -> bool:
        if not self.socket.exists():
            return False
        done = self._ctr("version", check=False)
        return done.returncode == 0

    def phases(self, start: Callable[[str], None], node_ready: Callable[[], None]) -> list[tuple[str, Callable[[], None]]]:
        """What the cluster runs after its KWOK nodes, in order: each a (name, run) phase."""
        return [
            ("real-node-host", self.prepare),
            ("containerd", lambda: start("containerd")),
            ("images", self.load_images),
            ("coredns", lambda: start("coredns")),
            ("kubelet", lambda: start("kubelet")),
            ("kube-proxy", lambda: start("kube-proxy")),
            ("real-node-ready", node_ready),
        ]

    # the host
    def prepare(self) -> None:
        """Take the machine's lock (tearing down a real node its holder left behind), then the
        directories, cgroups, bridge, sysctls, the API server's port guard and every configuration
        file."""
        self._lock()
        for sub in ("containerd", "cni/net.d", "cni/ipam", "kubelet", "kube-proxy", "coredns", "pod-logs"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        record: dict[str, Any] = {
            "kube_proxy": str(self.bin_dir / "kube-proxy"),
            "socket": str(self.socket),
            "created": [str(p) for p in (*OUTSIDE_DIRS, *(d.parent for d in OUTSIDE_DIRS)) if not p.exists()],
            "sysctls": {},
            # Chains that portmap and kube-proxy create and leave (shared with any other user of them):
            # removed by teardown only when they were not there before.
            "chains_before": {" ".join(c): _chain_exists(*c) for c in SHARED_CHAINS},
        }
        _write_json(self.dir / RECORD, record)  # before changing anything: teardown reads it
        self.snapshotter = "overlayfs" if _overlay_works(self.dir) else "native"
        if self.snapshotter == "native":
            log.warning("overlay mounts fail under %s: containerd uses the native snapshotter (copies every layer)", self.dir)
        _make_cgroups()
        _run(["ip", "link", "add", BRIDGE, "type", "bridge"])
        _run(["ip", "addr", "add", f"{NODE_IP}/{ipaddress.ip_network(POD_CIDR).prefixlen}", "dev", BRIDGE])
        _run(["ip", "link", "set", BRIDGE, "up"])
        for key, value in SYSCTLS.items():
            path = Path("/proc/sys") / key
            before = path.read_text().strip()
            if before != value:
                record["sysctls"][key] = before
                _write_json(self.dir / RECORD, record)
                path.write_text(value)
        if self.api_port:
            # Only the host (lo) and the pods may reach the API server, which listens on 0.0.0.0.
            for command in _api_guard(self.api_port):
                _run(command)
        self._write_configs()

    def _lock(self) -> None:
        fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(f"another real node runs on this machine ({_owner_text()}); one per machine") from None
        self._lock_fd = fd
        try:
            stale = Path(json.loads(OWNER_FILE.read_text())["node_dir"])
        except (OSError, ValueError, KeyError):
            stale = None
        if stale is not None and stale != self.dir:
            log.warning("tearing down the real node that %s left behind", stale)
            teardown(stale)
        if _link_exists(BRIDGE):
            teardown(self.dir)  # its record is gone, not what it left on the host
        _write_json(OWNER_FILE, {"node_dir": str(self.dir), "pid": os.getpid()})

    def _write_configs(self) -> None:
        d = self.dir
        runc = _which("runc") or "runc"
        (d / "containerd" / "config.toml").write_text(containerd_config(d, self.socket, self.sandbox_image, self.snapshotter, runc, cni_bin_dir() or CNI_BIN_DIRS[0]))
        (d / "cni" / "net.d" / "10-rbg.conflist").write_text(json.dumps(cni_config(d / "cni" / "ipam"), indent=2))
        kubelet = kubelet_config(d, self.socket, self.pki, self.kubelet_port, self.kubelet_healthz)
        (d / "kubelet" / "config.yaml").write_text(yaml.safe_dump(kubelet, sort_keys=False))
        proxy = kube_proxy_config(self.kubeconfig, self.proxy_healthz, self.proxy_metrics)
        (d / "kube-proxy" / "config.yaml").write_text(yaml.safe_dump(proxy, sort_keys=False))
        (d / "coredns" / "Corefile").write_text(corefile(self.kubeconfig, self.dns_health, self.dns_ready, _has_nameserver(Path("/etc/resolv.conf"))))

    def _ctr(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [_which("ctr") or "ctr", f"--address={self.socket}", "--timeout=5s", "--namespace=k8s.io", *args]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed (exit {done.returncode}): {done.stderr.strip()}")
        return done

    def load_images(self) -> None:
        """Import every image tar of the images directory; the sandbox image must be among them."""
        if self.images is None:
            raise RuntimeError(f"no images directory (tools/images.sh's output, or {IMAGES_ENV})")
        tars = sorted(self.images.glob("*.tar"))
        if not tars:
            raise RuntimeError(f"no image tars (*.tar) in {self.images}")
        for tar in tars:
            started = time.monotonic()
            self._ctr("images", "import", f"--snapshotter={self.snapshotter}", str(tar))
            log.info("imported %s in %.1fs", tar.name, time.monotonic() - started)
        names = self._ctr("images", "list", "--quiet").stdout.split()
        if self.sandbox_image not in names:
            raise RuntimeError(f"the sandbox image {self.sandbox_image} is in none of {', '.join(t.name for t in tars)}; imported: {', '.join(names)}")

    def teardown(self) -> None:
        """Undo everything (see teardown()), then let go of the machine's lock."""
        if self._lock_fd is None:
            return  # never prepared: nothing of ours on the host
        try:
            teardown(self.dir)
        finally:
            os.close(self._lock_fd)
            self._lock_fd = None
            self._http.close()


# --- configuration files -------------------------------------------------------------------------
def containerd_config(node_dir: Path, socket_path: Path, sandbox_image: str, snapshotter: str, runc: str, cni_bin: Path) -> str:
    """containerd 1.6 (config version 2): everything under node_dir/containerd, the CRI plugin with
    runc under cgroupfs, our CNI configuration, and oom_score_adj never set below containerd's own
    (restrict_oom_score_adj: without CAP_SYS_RESOURCE, as in some VMs, runc can not lower it and
    every sandbox, which asks for -998, fails to start)."""
    c = node_dir / "containerd"
    return f"""version = 2
root = "{c / 'root'}"
state = "{c / 'state'}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp",
]
[grpc]
  address = "{socket_path}"
[ttrpc]
  address = "{socket_path}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "{snapshotter}"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{runc}"
        Root = "{c / 'runc'}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{node_dir / 'cni' / 'net.d'}"
    max_conf_num = 1
"""


def cni_config(ipam_dir: Path) -> dict[str, Any]:
    """The bridge (hairpin: a pod reaches itself through a Service) with host-local addresses kept
    in the state dir, and portmap for hostPort. No masquerading: pods talk to the host and each other."""
    return {
        "cniVersion": "1.0.0",
        "name": NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(ipam_dir),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(node_dir: Path, socket_path: Path, pki: Path, port: int, healthz_port: int) -> dict[str, Any]:
    """cgroupfs under the cgroup NAME, swap allowed, the cluster's DNS, client certificates from the
    node's CA and authorization by the API server, no iptables chains of its own, eviction only
    when the disk is all but full (the machine is shared)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{NAME}",
        "failSwapOn": False,
        "clusterDNS": [NODE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "address": NODE_IP,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": str(pki / "kubelet.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet.key"),
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True}, "x509": {"clientCAFile": str(pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{socket_path}",
        "imageServiceEndpoint": f"unix://{socket_path}",
        "registerWithTaints": [{"key": LABEL, "value": "true", "effect": "NoSchedule"}],
        "podLogsDir": str(node_dir / "pod-logs"),
        "makeIPTablesUtilChains": False,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "resolvConf": "/etc/resolv.conf",
    }


def kube_proxy_config(kubeconfig: Path, healthz_port: int, metrics_port: int) -> dict[str, Any]:
    """iptables mode; NodePorts on the node's address only, never on localhost (no route_localnet);
    conntrack limits left as the machine has them."""
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "mode": "iptables",
        "clusterCIDR": POD_CIDR,
        "hostnameOverride": NAME,
        "bindAddress": NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "nodePortAddresses": ["primary"],
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False},
    }


def corefile(kubeconfig: Path, health_port: int, ready_port: int, forward: bool) -> str:
    """Cluster names from the API server (Services, headless Services' pods, pod IPs), anything
    else to the host's resolvers (when it has any); no cache, so a new pod resolves at once."""
    upstream = "    forward . /etc/resolv.conf\n" if forward else ""
    return f""".:53 {{
    bind {NODE_IP}
    errors
    health 127.0.0.1:{health_port}
    ready 127.0.0.1:{ready_port}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
{upstream}    loadbalance
}}
"""


def _has_nameserver(resolv_conf: Path) -> bool:
    try:
        return any(line.split()[:1] == ["nameserver"] for line in resolv_conf.read_text().splitlines())
    except OSError:
        return False


def _api_guard(api_port: int) -> list[list[str]]:
    """Commands inserting INPUT rules that drop TCP to the API server's port (it listens on every
    IPv4 and IPv6 address) unless it comes from the host itself (lo) or, over IPv4, from a pod."""
    match = ["-p", "tcp", "--dport", str(api_port), "!", "-i", "lo"]
    tail = ["-m", "comment", "--comment", NAME, "-j", "DROP"]
    return [
        ["iptables", "-w", "-I", "INPUT", *match, "!", "-s", POD_CIDR, *tail],
        ["ip6tables", "-w", "-I", "INPUT", *match, *tail],
    ]


# --- teardown ------------------------------------------------------------------------------------
def teardown(node_dir: str | Path) -> None:
    """Remove from the host everything of the real node whose state is `node_dir`, whatever state
    it was left in (components already stopped or killed): its containers (every process in its
    cgroups) and shims, mounts under node_dir, the pods' network namespaces, kube-proxy's iptables
    rules, ours and the CNI plugins', the bridge, the CNI cache entries, shim sockets, log links and
    kubelet's device-plugin socket outside the state dir, its cgroups, and the sysctls it changed.
    Raises if anything is still mounted under node_dir (so that no one deletes through a mount)."""
    node_dir = Path(node_dir)
    record = _read_json(node_dir / RECORD)
    socket_path = Path(record.get("socket") or node_dir / "containerd" / "containerd.sock")
    bundles = sorted((node_dir / "containerd" / "state" / "io.containerd.runtime.v2.task").glob("*/*/config.json"))
    ids = {b.parent.name: b.parent.parent.name for b in bundles}  # container id -> namespace
    _kill_cgroups()
    _kill_shims(socket_path)
    for netns in _netns_paths(bundles):
        _umount(netns)
        netns.unlink(missing_ok=True)
    _umount_under(node_dir)
    kube_proxy = record.get("kube_proxy")
    if kube_proxy and Path(kube_proxy).is_file():
        done = subprocess.run([kube_proxy, "--cleanup"], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log.warning("kube-proxy --cleanup failed (exit %d): %s", done.returncode, done.stderr[-2000:])
    _delete_iptables_rules()
    before = record.get("chains_before") or {}
    for tool, table, chain in SHARED_CHAINS:
        if before.get(f"{tool} {table} {chain}") is False:
            _delete_chain(tool, table, chain)
    if _link_exists(BRIDGE):
        _run(["ip", "link", "del", BRIDGE], check=False)
    for cached in CNI_CACHE.glob(f"{NAME}-*") if CNI_CACHE.is_dir() else []:
        ids.setdefault(cached.name[len(NAME) + 1 :].rsplit("-", 1)[0], "k8s.io")
        cached.unlink(missing_ok=True)
    for cid, namespace in ids.items():
        (CNI_CACHE / f"cni-loopback-{cid}-lo").unlink(missing_ok=True)
        (SHIM_SOCKETS / shim_socket_name(socket_path, namespace, cid)).unlink(missing_ok=True)
    pod_logs = node_dir / "pod-logs"
    for link in CONTAINER_LOGS.glob("*.log") if CONTAINER_LOGS.is_dir() else []:
        if link.is_symlink() and Path(os.readlink(link)).is_relative_to(pod_logs):
            link.unlink(missing_ok=True)
    created = [Path(p) for p in record.get("created", [])]
    if DEVICE_PLUGINS in created:
        (DEVICE_PLUGINS / "kubelet.sock").unlink(missing_ok=True)
    for path in sorted(created, key=lambda p: len(p.parts), reverse=True):
        try:
            path.rmdir()  # only if empty: someone else may use it by now
        except OSError:
            pass
    _remove_cgroups()
    for key, value in (record.get("sysctls") or {}).items():
        try:
            (Path("/proc/sys") / key).write_text(value)
        except OSError as e:
            log.warning("could not restore %s=%s: %s", key, value, e)
    if _read_json(OWNER_FILE).get("node_dir") == str(node_dir):
        OWNER_FILE.unlink(missing_ok=True)
    remaining = mounts_under(node_dir)
    if remaining:
        raise RuntimeError(f"still mounted under {node_dir} after the real node's teardown: {', '.join(map(str, remaining))}")


def shim_socket_name(containerd_socket: Path, namespace: str, container_id: str) -> str:
    """The file name of a shim's socket in /run/containerd/s (containerd 1.6's shim.SocketAddress)."""
    return hashlib.sha256(os.path.join(str(containerd_socket), namespace, container_id).encode()).hexdigest()


def _netns_paths(bundles: list[Path]) -> list[Path]:
    """The network namespaces (under /run/netns) of the sandboxes whose OCI bundles are given."""
    out = []
    for bundle in bundles:
        spec = _read_json(bundle)
        for ns in (spec.get("linux") or {}).get("namespaces") or []:
            path = Path(ns.get("path") or "")
            if ns.get("type") == "network" and any(path.parent == d for d in NETNS_DIRS) and path.name.startswith("cni-"):
                out.append(path)
    return out


def _cgroup_dirs() -> list[Path]:
    return [mount / NAME for _, mount, _ in cgroup_mounts() if (mount / NAME).is_dir()]


def _make_cgroups() -> None:
    """NAME under every cgroup v1 hierarchy (kubelet's cgroupRoot must exist in each), or under the
    unified one with the controllers kubelet needs delegated."""
    mounts = cgroup_mounts()
    unified = any(kind == "cgroup2" and mount == Path("/sys/fs/cgroup") for kind, mount, _ in mounts)
    for kind, mount, _ in mounts:
        if kind == "cgroup2" and not unified:
            continue  # hybrid: kubelet and runc work in the v1 hierarchies
        (mount / NAME).mkdir(exist_ok=True)
        if kind == "cgroup2":
            for controller in ("cpu", "cpuset", "memory", "pids", "io", "hugetlb"):
                try:
                    (mount / NAME / "cgroup.subtree_control").write_text(f"+{controller}")
                except OSError:
                    pass


def _kill_cgroups() -> None:
    """SIGKILL every process in the node's cgroups until none is left (containers, pause processes)."""
    deadline = time.monotonic() + STOP_SECONDS
    while True:
        pids = {pid for d in _cgroup_dirs() for pid in _cgroup_pids(d)}
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            log.warning("processes still in the real node's cgroups after %ds: %s", STOP_SECONDS, sorted(pids))
            return
        time.sleep(0.2)


def _cgroup_pids(root: Path) -> set[int]:
    pids = set()
    for dirpath, _, files in os.walk(root):
        if "cgroup.procs" in files:
            try:
                pids |= {int(p) for p in (Path(dirpath) / "cgroup.procs").read_text().split()}
            except OSError:
                pass
    return pids


def _remove_cgroups() -> None:
    for root in _cgroup_dirs():
        for dirpath, _, _ in sorted(os.walk(root), key=lambda w: len(w[0]), reverse=True):
            try:
                os.rmdir(dirpath)
            except OSError as e:
                log.warning("could not remove cgroup %s: %s", dirpath, e)


def _kill_shims(socket_path: Path) -> None:
    """SIGKILL the shims of this containerd (their command line names its socket)."""
    marker = f"-address\0{socket_path}\0".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline and marker in cmdline + b"\0":
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def _delete_iptables_rules() -> None:
    """Every IPv4 and IPv6 rule whose comment names NAME (our API server guard; portmap's
    `dnat name: "rbg-real-node" ...` rules), then the CNI per-container chains they jumped to."""
    for tool in ("iptables", "ip6tables"):
        if _which(tool) is None:
            continue
        for table in ("filter", "nat", "mangle"):
            listed = subprocess.run([tool, "-w", "-t", table, "-S"], capture_output=True, text=True, check=False)
            if listed.returncode != 0:
                continue
            targets = set()
            for rule in iptables_rules_to_delete(listed.stdout):
                subprocess.run([tool, "-w", "-t", table, "-D", *rule], capture_output=True, check=False)
                if "-j" in rule:
                    targets.add(rule[rule.index("-j") + 1])
            for chain in sorted(t for t in targets if t.startswith("CNI-") and not t.startswith("CNI-HOSTPORT-")):
                subprocess.run([tool, "-w", "-t", table, "-F", chain], capture_output=True, check=False)
                subprocess.run([tool, "-w", "-t", table, "-X", chain], capture_output=True, check=False)


def _chain_exists(tool: str, table: str, chain: str) -> bool:
    return _which(tool) is not None and subprocess.run([tool, "-w", "-t", table, "-S", chain], capture_output=True, check=False).returncode == 0


def _delete_chain(tool: str, table: str, chain: str) -> None:
    """`chain` and the rules jumping to it, unless it still holds rules another user added
    (portmap's CNI-HOSTPORT-DNAT: another CNI network's hostPorts). portmap's two helper chains go
    with its DNAT chain."""
    listed = subprocess.run([tool, "-w", "-t", table, "-S"], capture_output=True, text=True, check=False)
    if listed.returncode != 0 or (chain == HOSTPORT_DNAT and f"-A {chain} " in listed.stdout):
        return
    chains = HOSTPORT_CHAINS if chain == HOSTPORT_DNAT else (chain,)
    for line in listed.stdout.splitlines():
        args = shlex.split(line)
        if line.startswith("-A ") and args[1] not in chains and args[-2:-1] == ["-j"] and args[-1] in chains:
            subprocess.run([tool, "-w", "-t", table, "-D", *args[1:]], capture_output=True, check=False)
    for flag in ("-F", "-X"):
        for name in chains:
            subprocess.run([tool, "-w", "-t", table, flag, name], capture_output=True, check=False)


def iptables_rules_to_delete(listing: str) -> list[list[str]]:
    """The rules (arguments after -D) of an `iptables -S` listing whose comment names NAME."""
    out = []
    for line in listing.splitlines():
        if not line.startswith("-A ") or "--comment" not in line:
            continue
        args = shlex.split(line)[1:]
        comment = args[args.index("--comment") + 1]
        if comment == NAME or re.search(rf'\bname: "{re.escape(NAME)}"', comment):
            out.append(args)
    return out


# --- mounts --------------------------------------------------------------------------------------
def _mountinfo() -> Iterator[dict[str, str]]:
    """/proc/self/mountinfo's entries: mount_point (unescaped), fstype, super_options."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return
    for line in lines:
        fields = line.split()
        sep = fields.index("-")
        yield {
            "mount_point": _unescape(fields[4]),
            "fstype": fields[sep + 1],
            "super_options": fields[sep + 3] if len(fields) > sep + 3 else "",
        }


def _unescape(field_: str) -> str:
    """mountinfo's octal escapes (\\040 for a space, ...)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_)


def mounts_under(root: Path) -> list[Path]:
    """Mount points at or below `root`, deepest first."""
    root = Path(os.path.realpath(root))
    found = {Path(e["mount_point"]) for e in _mountinfo()}
    return sorted((p for p in found if p == root or p.is_relative_to(root)), key=lambda p: len(p.parts), reverse=True)


def _umount(path: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    while libc.umount2(str(path).encode(), MNT_DETACH) == 0:
        pass  # a path can be mounted over more than once


def _umount_under(root: Path) -> None:
    for _ in range(5):
        found = mounts_under(root)
        if not found:
            return
        for path in found:
            _umount(path)


# --- helpers -------------------------------------------------------------------------------------
def _overlay_works(directory: Path) -> bool:
    """Whether an overlay filesystem mounts with its layers in `directory` (not, for instance, on
    an overlay root, or in some VMs): containerd's overlayfs snapshotter needs it."""
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        t = Path(tmp)
        for sub in ("lower", "upper", "work", "merged"):
            (t / sub).mkdir()
        options = f"lowerdir={t / 'lower'},upperdir={t / 'upper'},workdir={t / 'work'}"
        done = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(t / "merged")], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log.info("overlay mount test failed: %s", done.stderr.strip())
            return False
        _umount(t / "merged")
        return True


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed (exit {done.returncode}): {done.stderr.strip()}")
    return done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_json(path: Path, value: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2))
    tmp.replace(path)


_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args: str) -> None:
    if shutil.which("openssl") is None:
        raise FileNotFoundError("openssl is needed to make the real node's certificates")
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed making the real node's certificates: {done.stderr.strip()}")
