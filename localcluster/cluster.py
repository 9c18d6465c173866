"""A local control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
kwok with fake GPU nodes, Metacontroller and the RoleBasedGroup hook server, each a subprocess in its
own session with its own log (state_dir/logs/<name>.log).

    with LocalCluster(bin_dir, tmp_path, metacontroller=metacontroller_binary(bin_dir)) as cluster:
        apply_manifests(cluster.kube, ["examples/minimal.yaml"], namespace="default")

Metacontroller is served by no module proxy here: give a binary built by hand with
RBG_METACONTROLLER=/path/to/metacontroller (see README.md). Its CRDs come from
`tools/build.sh metacontroller-crds` when that built them, else from the real, unmodified copy in
../shared/crds/third-party/.

The LeaderWorkerSet controller (kubernetes-sigs/lws) is served by no registry either: with
`lws_controller` (RBG_LWS_CONTROLLER=/path/to/lws-controller, built by hand) the cluster installs the
LWS CRD (the shared copy) and the other CRDs the binary watches (RBG_LWS_CRDS), runs the controller
with its webhooks served on 127.0.0.1 under a self-signed certificate (state_dir/lws/), registers
those webhooks with the API server, and registers the rolebasedgroup controller as
overlays/leaderworkerset does (LeaderWorkerSets as a child type).

The API server converts between our CRDs' versions by calling the hook server's `/convert` over
HTTPS. With `rbg`, a second hook server (`hooks-tls`) serves it on 127.0.0.1 under a certificate
signed by a CA of its own (state_dir/conversion/), and every CRD of ours whose conversion webhook
calls the Service rbg-system/rbg-convert is installed calling that server by URL, trusting that CA
(with_conversion_url).
"""

from __future__ import annotations

import base64
import copy
import ctypes
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Self

import requests
import yaml
from lightkube import Client, codecs
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Node, ServiceAccount
from lightkube.types import PatchType

from rbgclient.kube import Obj, apply_manifests, as_dict, connect, has_condition, load_documents, wait_for

from . import realnode

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
NODE_ANNOTATION = "kwok.x-k8s.io/node"
NODE_LABEL_TYPE = "kwok"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_RACK = "example.com/rack"
NODE_RESOURCES = {
    "cpu": "64",
    "memory": "512Gi",
    "pods": "110",
    "ephemeral-storage": "1Ti",
    "nvidia.com/gpu": "8",
    # Upstream's mooncake examples ask for an RDMA NIC per pod (the rdma device plugin's resource).
    "rdma/hca": "8",
}
# With `audit=True`: one line per write to the kinds the hooks own (and per read of a group, a
# RoleInstanceSet or a RoleInstance: Metacontroller reads its parent before each status write, and
# per list or watch of pods), so a benchmark can count who wrote what (bench/cluster.py counts
# Metacontroller's child writes) and a test who watches pods.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {
            "level": "Metadata",
            "verbs": ["create", "update", "patch", "delete", "get"],
            "resources": [{"group": "workloads.x-k8s.io", "resources": ["rolebasedgroups", "rolebasedgroups/status"]}],
        },
        {
            "level": "Metadata",
            "verbs": ["create", "update", "patch", "delete"],
            "resources": [
                {"group": "", "resources": ["configmaps", "services"]},
                {"group": "apps", "resources": ["statefulsets", "deployments"]},
            ],
        },
        {
            "level": "Metadata",
            "verbs": ["create", "update", "patch", "delete", "get"],
            "resources": [
                {
                    "group": "workloads.x-k8s.io",
                    "resources": ["roleinstancesets", "roleinstancesets/status", "roleinstances", "roleinstances/status"],
                }
            ],
        },
        # Pods themselves (not binding or status): RoleInstances' pods are Metacontroller's children.
        {"level": "Metadata", "verbs": ["create", "update", "patch", "delete"], "resources": [{"group": "", "resources": ["pods"]}]},
        # Who lists and watches pods (an install without the pod controllers has Metacontroller do neither).
        {"level": "Metadata", "verbs": ["list", "watch"], "resources": [{"group": "", "resources": ["pods"]}]},
        {"level": "None"},
    ],
}
KWOK_STAGES = (
    "node-initialize.yaml",
    "node-heartbeat-with-lease.yaml",
    "pod-ready.yaml",
    "pod-complete.yaml",
    "pod-delete.yaml",
)
# The origin's Stage for gang-ready pod labels (README "Gang-ready pod labels"): a pod labelled
# ready completes; no other pod matches it. A --config file: `--enable-crds=Stage` would refuse
# every Stage given in --config, the five above included.
GANG_READY_STAGE = Path("examples") / "gang-ready" / "pod-complete-on-ready.yaml"
# What is registered with Metacontroller, in this order.
REGISTRATIONS = ("compositecontroller.yaml", "decoratorcontroller.yaml")
METACONTROLLER_ENV = "RBG_METACONTROLLER"
METACONTROLLER_CRDS_FILE = "metacontroller.k8s.io_crds-v1.yaml"
# Third-party CRDs (real, unmodified) live beside the repo, never in it: ../shared/crds/third-party.
THIRD_PARTY_CRDS_ENV = "RBG_THIRD_PARTY_CRDS"
# The LeaderWorkerSet controller, built by hand from github.com/kubernetes-sigs/lws (README.md).
LWS_CONTROLLER_ENV = "RBG_LWS_CONTROLLER"
# A directory of the CRDs the LWS binary watches besides LeaderWorkerSet (its checkout's
# config/crd/bases): from v0.10 it also runs a DisaggregatedSet controller, and without those two
# CRDs the whole manager exits after its two-minute cache-sync timeout.
LWS_CRDS_ENV = "RBG_LWS_CRDS"
LWS_CRD_FILE = "leaderworkerset.x-k8s.io_leaderworkersets.yaml"
LWS_OVERLAY = Path("overlays") / "leaderworkerset"
PR_SET_PDEATHSIG = 1  # prctl(2)
# Go's garbage collector target for the control-plane processes (unless GOGC is set already).
# At the default (100) the API server spent about a quarter of its CPU in GC while a thousand pods
# started (bench/cluster.py, pprof); on two cores that CPU is what every request waits for. 400
# trades memory (the API server peaks below 1 GiB at 1,008 pods) for about a fifth less CPU.
GO_GC = "400"
# StatefulSet rollingUpdate.maxUnavailable (alpha in Kubernetes 1.34): without the gate the API
# server drops the field and a StatefulSet updates one pod at a time.
FEATURE_GATES = "--feature-gates=MaxUnavailableStatefulSet=true"
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
# The Service our CRDs' conversion webhooks call in a cluster (metacontroller/convert.yaml); the
# local cluster calls its hooks-tls server by URL instead.
CONVERSION_SERVICE = {"namespace": "rbg-system", "name": "rbg-convert"}
STOP_GRACE_SECONDS = 10


class ComponentError(RuntimeError):
    """A component exited or did not become ready; the message ends with the tail of its log."""


@dataclass
class Component:
    name: str
    argv: list[str]
    ready: Callable[[], bool]  # polled until True; API/connection errors count as "not yet"
    timeout: float = 60
    proc: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)  # on top of the cluster's environment

    def live(self) -> subprocess.Popen[bytes] | None:
        """The process, if it is running."""
        return self.proc if self.proc is not None and self.proc.poll() is None else None


def python_env() -> dict[str, str]:
    """This environment, with this package importable by child Python processes."""
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": pythonpath}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metacontroller_binary(bin_dir: str | Path) -> Path | None:
    """$RBG_METACONTROLLER (which must be an executable file), else the `metacontroller` that
    tools/build.sh built into `bin_dir`, else None."""
    given = os.environ.get(METACONTROLLER_ENV)
    if given:
        path = Path(given).expanduser().resolve()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise FileNotFoundError(f"{METACONTROLLER_ENV}={given} is not an executable file")
        return path
    built = Path(bin_dir) / "metacontroller"
    return built if built.is_file() else None


def third_party_crds() -> Path:
    """The directory of third-party CRDs: $RBG_THIRD_PARTY_CRDS, else ../shared/crds/third-party
    beside the repo (or beside the workspace the repo was cloned into)."""
    given = os.environ.get(THIRD_PARTY_CRDS_ENV)
    candidates = [Path(given)] if given else [REPO.parent / "shared" / "crds" / "third-party"]
    candidates.append(Path("/work/shared/crds/third-party"))  # this workspace, for a clone made elsewhere
    for path in candidates:
        if (path / METACONTROLLER_CRDS_FILE).is_file():
            return path
    raise FileNotFoundError(
        f"no {METACONTROLLER_CRDS_FILE} in {', '.join(map(str, candidates))}: set {THIRD_PARTY_CRDS_ENV}"
    )


def lws_controller_binary() -> Path | None:
    """$RBG_LWS_CONTROLLER (which must be an executable file), else None: no registry serves it."""
    given = os.environ.get(LWS_CONTROLLER_ENV)
    if not given:
        return None
    path = Path(given).expanduser().resolve()
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise FileNotFoundError(f"{LWS_CONTROLLER_ENV}={given} is not an executable file")
    return path


def lws_crds() -> list[Path]:
    """The LeaderWorkerSet CRD (the real, unmodified shared copy CI checks the hooks' output
    against), then every other CRD file in $RBG_LWS_CRDS (the LWS checkout's config/crd/bases)."""
    files = [third_party_crds() / LWS_CRD_FILE]
    given = os.environ.get(LWS_CRDS_ENV)
    if given:
        extra = Path(given).expanduser()
        if not extra.is_dir():
            raise FileNotFoundError(f"{LWS_CRDS_ENV}={given} is not a directory")
        files += sorted(p for p in extra.glob("*.yaml") if p.name != LWS_CRD_FILE)
    return files


def lws_webhook_configurations(base_url: str, ca_pem: bytes) -> list[Obj]:
    """The LWS controller's admission webhooks (its config/webhook: manifests.yaml with the pod
    webhooks' objectSelector from its patches), called at `base_url` and trusted with `ca_pem`.
    They are needed: the pod webhook labels every LWS pod with its group index, and the LWS
    defaulting webhook fills in fields the controller dereferences."""
    ca = base64.b64encode(ca_pem).decode()
    lws = {"apiGroups": ["leaderworkerset.x-k8s.io"], "apiVersions": ["v1"], "resources": ["leaderworkersets"]}
    pods = {"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}
    lws_pods = {"matchExpressions": [{"key": "leaderworkerset.sigs.k8s.io/name", "operator": "Exists"}]}

    def hook(name: str, path: str, rule: Obj, operations: list[str], selector: Obj | None = None) -> Obj:
        return {
            "name": name,
            "admissionReviewVersions": ["v1"],
            "clientConfig": {"url": base_url + path, "caBundle": ca},
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "rules": [{**rule, "operations": operations}],
            **({"objectSelector": selector} if selector else {}),
        }

    def config(kind: str, hooks: list[Obj]) -> Obj:
        name = f"lws-{kind.removesuffix('WebhookConfiguration').lower()}-webhook-configuration"
        return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name}, "webhooks": hooks}

    create_update = ["CREATE", "UPDATE"]
    return [
        config("MutatingWebhookConfiguration", [
            hook("mleaderworkerset.kb.io", "/mutate-leaderworkerset-x-k8s-io-v1-leaderworkerset", lws, create_update),
            hook("mpod.kb.io", "/mutate--v1-pod", pods, ["CREATE"], lws_pods),
        ]),
        config("ValidatingWebhookConfiguration", [
            hook("vleaderworkerset.kb.io", "/validate-leaderworkerset-x-k8s-io-v1-leaderworkerset", lws, create_update),
            hook("vpod.kb.io", "/validate--v1-pod", pods, create_update, lws_pods),
        ]),
    ]


def rbg_crds(repo: Path = REPO) -> list[Path]:
    """Our CRD files, as crds/kustomization.yaml lists them (generated by `make crd`)."""
    kustomization = load_documents([repo / "crds" / "kustomization.yaml"])[0]
    return [repo / "crds" / name for name in kustomization["resources"]]


def metacontroller_crds(bin_dir: str | Path) -> list[Path]:
    """Metacontroller's CRDs: from tools/build.sh metacontroller-crds, else the shared copy."""
    built = sorted((Path(bin_dir) / "metacontroller-crds").glob("*.yaml"))
    return built or [third_party_crds() / METACONTROLLER_CRDS_FILE]


def with_conversion_url(crd: Obj, url: str, ca_pem: bytes) -> Obj:
    """`crd` with its conversion webhook called at `url` and trusted with the CA `ca_pem` (in place of
    its `service`); a CRD without a conversion webhook as it is. `crd` itself is not changed."""
    webhook = ((crd.get("spec") or {}).get("conversion") or {}).get("webhook")
    if not webhook:
        return crd
    out = copy.deepcopy(crd)
    out["spec"]["conversion"]["webhook"]["clientConfig"] = {"url": url, "caBundle": base64.b64encode(ca_pem).decode()}
    return out


def _conversion_service(crd: Obj) -> Obj | None:
    """The Service a CRD's conversion webhook calls, if it calls one."""
    webhook = ((crd.get("spec") or {}).get("conversion") or {}).get("webhook") or {}
    service = (webhook.get("clientConfig") or {}).get("service")
    return service if isinstance(service, dict) else None


def controller_manifests(path: str | Path | list[Obj], hook_base_url: str) -> list[Obj]:
    """Every CompositeController and DecoratorController in `path` (a file, or documents), each
    `service:` webhook rewritten to `url: <hook_base_url><path>` (the hooks run outside the cluster)."""
    source = [path] if isinstance(path, (str, Path)) else path
    docs = [doc for doc in load_documents(source) if doc.get("kind") in ("CompositeController", "DecoratorController")]
    if not docs:
        raise ValueError(f"no CompositeController or DecoratorController in {'the documents' if source is path else path}")
    for doc in docs:
        for hook in (doc["spec"].get("hooks") or {}).values():
            webhook = hook["webhook"]
            if webhook.pop("service", None) is not None:
                webhook["url"] = hook_base_url + webhook.pop("path", "")
    return docs


class LocalCluster:
    """Start with `start()` (or `with`), stop with `stop()`.

    `rbg` installs the RoleBasedGroup CRD and runs the hook server; `metacontroller`, the path of
    a Metacontroller binary (needs `rbg`), runs it and registers the CompositeController;
    `lws_controller`, the path of a LeaderWorkerSet controller binary, runs it with its CRDs and
    webhooks (and with Metacontroller, registers overlays/leaderworkerset's controllers instead);
    `overlay` (a kustomize directory of the repo) registers that overlay's controllers instead.
    `None` and `rbg=False`: a bare kwok cluster. `nodes` fake nodes take `pods_per_node` pods each;
    `audit` writes the API server's audit log of AUDIT_POLICY to `audit_log`. `real_node` adds a
    real node (localcluster/realnode.py: containerd, kubelet, kube-proxy, CoreDNS) running the
    images of the directory `images` (tools/images.sh's output); check realnode.unavailable() first.
    """

    def __init__(
        self,
        bin_dir: str | Path,
        state_dir: str | Path,
        hook_port: int | None = None,
        nodes: int = 4,
        rbg: bool = True,
        metacontroller: str | Path | None = None,
        repo: Path = REPO,
        pods_per_node: int = 110,
        audit: bool = False,
        lws_controller: str | Path | None = None,
        real_node: bool = False,
        images: str | Path | None = None,
        overlay: str | None = None,
    ) -> None:
        if metacontroller is not None and not rbg:
            raise ValueError("metacontroller needs rbg=True: the CompositeController calls our hooks")
        self.bin_dir = Path(bin_dir).resolve()
        self.state_dir = Path(state_dir).resolve()
        self.hook_port = hook_port or free_port()
        self.nodes = nodes
        self.pods_per_node = pods_per_node
        self.audit_log = self.state_dir / "logs" / "audit.log" if audit else None
        self.rbg = rbg
        self.metacontroller = None if metacontroller is None else Path(metacontroller).resolve()
        self.lws_controller = None if lws_controller is None else Path(lws_controller).resolve()
        # The kustomize overlay (a path under the repo) whose registrations Metacontroller runs:
        # metacontroller/'s when None, or overlays/leaderworkerset's with an LWS controller.
        self.overlay = Path(overlay) if overlay is not None else LWS_OVERLAY if lws_controller is not None else None
        self.lws_dir = self.state_dir / "lws"  # its config, serving certificate and key
        self.lws_webhook_url = ""  # https://127.0.0.1:<port>, set by _components when it runs
        self.conversion_dir = self.state_dir / "conversion"  # hooks-tls's CA, serving certificate and key
        self.conversion_url = ""  # https://127.0.0.1:<port> of hooks-tls, set by _components with `rbg`
        self.repo = repo
        self.kubeconfig = self.state_dir / "kubeconfig"
        self.logs = self.state_dir / "logs"
        self.pki = self.state_dir / "pki"
        self.api_port = free_port()
        self.server = f"https://127.0.0.1:{self.api_port}"
        self.hook_url = f"http://127.0.0.1:{self.hook_port}"
        self.metacontroller_metrics_url: str | None = None  # set by _components when Metacontroller runs
        self.timings: dict[str, float] = {}
        self.ready = False
        self._http = requests.Session()  # health probes; no proxies or CA bundles from the environment
        self._http.trust_env = False
        self.real_node = realnode.RealNode(self.bin_dir, self.state_dir, self.kubeconfig, images) if real_node else None
        self.components: dict[str, Component] = {c.name: c for c in self._components()}
        self._kube: Client | None = None

    @property
    def kube(self) -> Client:
        """A lightkube client (valid once the API server has written its serving certificate)."""
        if self._kube is None:
            self._kube = connect(self.kubeconfig)
        return self._kube

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Self:
        phases: list[tuple[str, Callable[[], None]]] = [("secrets", self._write_secrets)]
        phases += [(name, partial(self.start_component, name)) for name in CONTROL_PLANE]
        phases.append(("nodes", self._create_nodes))
        if self.real_node is not None:
            # Its certificates before the API server (which serves one of them), the node after the KWOK ones.
            phases.insert(1, ("real-node-pki", partial(self.real_node.write_pki, self.pki)))
            phases += self.real_node.phases(self.start_component, self._real_node_ready)
        if self.rbg:
            # The conversion webhook serves before the CRDs that call it are installed.
            phases.append(("hooks-tls", self._start_conversion_webhook))
            phases.append(("rbg-crds", lambda: self.install_crds(rbg_crds(self.repo))))
            phases.append(("hooks", partial(self.start_component, "hooks")))
        if self.lws_controller:
            phases.append(("lws-crds", lambda: self.install_crds(lws_crds())))
            phases.append(("lws-controller", self._start_lws_controller))
        if self.metacontroller:
            phases.append(("metacontroller-crds", partial(self.install_crds, metacontroller_crds(self.bin_dir))))
            phases.append(("metacontroller", partial(self.start_component, "metacontroller")))
            phases.append(("compositecontroller", self._register_controller))
        missing = [str(path) for path in self._required_files() if not path.exists()]
        if missing:
            raise FileNotFoundError("missing for the local cluster: " + ", ".join(missing))
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            for name, run in phases:
                self._phase(name, run)
        except BaseException:
            self.stop(keep=True)
            raise
        self.ready = True
        self._save()
        log.info("cluster ready in %.1fs: KUBECONFIG=%s", sum(self.timings.values()), self.kubeconfig)
        return self

    def stop(self, keep: bool = False) -> None:
        """SIGTERM each component by its pid in reverse start order (SIGKILL after a grace period),
        then remove the state dir unless `keep`."""
        for comp in reversed(self.components.values()):
            self._terminate(comp)
        failed: Exception | None = None
        if self.real_node is not None:
            try:
                self.real_node.teardown()
            except Exception as e:  # the state dir stays: something may still be mounted in it
                log.exception("the real node's teardown failed")
                failed = e
        if self._kube is not None:
            self._kube.close()
            self._kube = None
        self._http.close()
        self.ready = False
        if keep:
            self._save()
        elif failed is None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if failed is not None:
            raise failed

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start_component(self, name: str) -> None:
        """Start a component (again, on the same ports) and wait until it is ready."""
        comp = self.components[name]
        if (proc := comp.live()) is not None:
            raise ComponentError(f"{name} is already running (pid {proc.pid})")
        with open(self.logs / f"{name}.log", "ab") as out:
            comp.proc = subprocess.Popen(
                comp.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**self._env(), **comp.env},
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._save()
        try:
            wait_for(bool, comp.timeout, f"{name} to become ready", lambda: self._probe(comp))
        except TimeoutError as e:
            raise ComponentError(f"{e}\n{self.log_tail(name)}") from None

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send `sig` to a component and wait for it to exit (e2e tests: crash the hook server)."""
        if (proc := self.components[name].live()) is not None:
            proc.send_signal(sig)
            proc.wait(STOP_GRACE_SECONDS)
        self._save()

    def restart(self, name: str) -> None:
        self._terminate(self.components[name])
        self.start_component(name)

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the cluster's kubectl (built beside the other binaries) against it; never raises."""
        argv = [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args]
        return subprocess.run(argv, input=input, capture_output=True, text=True, check=False)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else ["<no log>"]
        return f"--- last {len(text)} lines of {path} ---\n" + "\n".join(text)

    # --- components -------------------------------------------------------------------------------
    def _components(self) -> list[Component]:
        b, s = self.bin_dir, self.state_dir
        kc = str(self.kubeconfig)
        etcd_port, peer_port, kcm_port, sched_port, kwok_port = (free_port() for _ in range(5))
        etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
        common = [f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}"]
        comps = [
            Component(
                "etcd",
                [
                    str(b / "etcd"),
                    "--name=rbg",
                    f"--data-dir={s / 'etcd'}",
                    f"--listen-client-urls={etcd_url}",
                    f"--advertise-client-urls={etcd_url}",
                    f"--listen-peer-urls={peer_url}",
                    f"--initial-advertise-peer-urls={peer_url}",
                    f"--initial-cluster=rbg={peer_url}",
                    "--unsafe-no-fsync",
                    "--auto-compaction-retention=1",
                    "--log-level=warn",
                ],
                lambda: self._http.get(f"{etcd_url}/health", timeout=2).json().get("health") == "true",
            ),
            Component(
                "kube-apiserver",
                [
                    str(b / "kube-apiserver"),
                    f"--etcd-servers={etcd_url}",
                    "--bind-address=127.0.0.1",
                    "--advertise-address=127.0.0.1",
                    f"--secure-port={self.api_port}",
                    f"--cert-dir={self.pki}",
                    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                    f"--service-account-key-file={s / 'sa.key'}",
                    f"--service-account-signing-key-file={s / 'sa.key'}",
                    "--service-cluster-ip-range=10.96.0.0/16",
                    f"--token-auth-file={s / 'tokens.csv'}",
                    "--authorization-mode=RBAC",
                    "--allow-privileged=true",
                    "--endpoint-reconciler-type=none",
                    "--enable-priority-and-fairness=false",
                    "--profiling=false",
                    "--v=1",
                    FEATURE_GATES,
                    *self._audit_flags(),
                ],
                lambda: (
                    (self.pki / "apiserver.crt").exists()
                    and self._http.get(f"{self.server}/readyz", verify=str(self.pki / "apiserver.crt"), timeout=5).text
                    == "ok"
                ),
                timeout=180,
            ),
            Component(
                "kube-controller-manager",
                [
                    str(b / "kube-controller-manager"),
                    *common,
                    "--bind-address=127.0.0.1",
                    f"--secure-port={kcm_port}",
                    "--leader-elect=false",
                    # Not the v1 Endpoints controllers: Endpoints is deprecated (1.33) and nothing
                    # here reads it (EndpointSlices serve DNS and proxies); with every role's
                    # headless Service they cost a tenth of the CPU of 1,000 pods starting.
                    "--controllers=*,-endpoints-controller,-endpointslice-mirroring-controller",
                    FEATURE_GATES,
                    f"--service-account-private-key-file={s / 'sa.key'}",
                    f"--root-ca-file={self.pki / 'apiserver.crt'}",
                    "--service-cluster-ip-range=10.96.0.0/16",
                    # Each controller has its own client. At 100/s the StatefulSet controller (a pod
                    # create and an event per pod, and status writes) was throttled at scale.
                    "--kube-api-qps=500",
                    "--kube-api-burst=1000",
                    # 8 StatefulSet workers instead of 5: at 5 the queue held every StatefulSet for
                    # seconds before its status showed a pod Ready (the dependency gate waits on that
                    # status); more workers coalesce fewer pod events and write more statuses.
                    "--concurrent-statefulset-syncs=8",
                    # One EndpointSlice write per Service per second at most, instead of one per
                    # pod change (every role has a headless Service).
                    "--endpointslice-updates-batch-period=1s",
                ],
                # Pods are rejected until their namespace's default ServiceAccount exists.
                lambda: bool(self.kube.get(ServiceAccount, "default", namespace="default")),
            ),
            Component(
                "kube-scheduler",
                [
                    str(b / "kube-scheduler"),
                    *common,
                    "--bind-address=127.0.0.1",
                    f"--secure-port={sched_port}",
                    "--leader-elect=false",
                ],
                lambda: self._insecure_get(f"https://127.0.0.1:{sched_port}/healthz") == "ok",
            ),
            Component(
                "kwok",
                [
                    str(b / "kwok"),
                    f"--kubeconfig={kc}",
                    *(f"--config={b / 'kwok-stages' / stage}" for stage in KWOK_STAGES),
                    f"--config={self.repo / GANG_READY_STAGE}",
                    "--manage-all-nodes=false",
                    f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION}=fake",
                    "--node-lease-duration-seconds=40",
                    "--cidr=10.244.0.0/16",
                    "--node-ip=10.0.0.1",
                    f"--server-address=127.0.0.1:{kwok_port}",
                ],
                lambda: self._http.get(f"http://127.0.0.1:{kwok_port}/healthz", timeout=2).text == "ok",
            ),
        ]
        if self.rbg:
            comps.append(
                Component(
                    "hooks",
                    [
                        sys.executable,
                        "-m",
                        "hooks.server",
                        f"--bind=127.0.0.1:{self.hook_port}",
                        "--workers=4",  # sync workers: one request each; Metacontroller runs 16 syncs at once
                    ],
                    lambda: self._http.get(f"{self.hook_url}/healthz", timeout=2).ok,
                )
            )
            conversion_port = free_port()
            self.conversion_url = f"https://127.0.0.1:{conversion_port}"
            comps.append(
                Component(
                    "hooks-tls",
                    [
                        sys.executable,
                        "-m",
                        "hooks.server",
                        f"--bind=127.0.0.1:{conversion_port}",
                        "--workers=2",  # the API server's conversion requests only
                        f"--certfile={self.conversion_dir / 'tls.crt'}",  # written by _start_conversion_webhook
                        f"--keyfile={self.conversion_dir / 'tls.key'}",
                    ],
                    # Served under the certificate our CA signed, as the API server will check it.
                    lambda: self._http.get(
                        f"{self.conversion_url}/healthz", verify=str(self.conversion_dir / "ca.crt"), timeout=2
                    ).ok,
                    # Its own metrics files: two servers emptying one directory would lose each other's.
                    env={"PROMETHEUS_MULTIPROC_DIR": str(self.conversion_dir / "metrics")},
                )
            )
        if self.lws_controller:
            lws_webhook, lws_health = free_port(), free_port()
            self.lws_webhook_url = f"https://127.0.0.1:{lws_webhook}"
            comps.append(
                Component(
                    "lws-controller",
                    [
                        str(self.lws_controller),
                        f"--kubeconfig={kc}",
                        f"--config={self.lws_dir / 'config.yaml'}",  # written by _start_lws_controller
                        "--leader-elect=false",
                        "--metrics-bind-address=0",  # no metrics server
                        f"--health-probe-bind-address=127.0.0.1:{lws_health}",
                        "--zap-log-level=info",
                    ],
                    lambda: self._lws_serving(lws_health),
                )
            )
        if self.metacontroller:
            mc_metrics, mc_health = free_port(), free_port()
            self.metacontroller_metrics_url = f"http://127.0.0.1:{mc_metrics}/metrics"
            comps.append(
                Component(
                    "metacontroller",
                    [
                        str(self.metacontroller),
                        "--discovery-interval=1s",
                        f"--metrics-address=127.0.0.1:{mc_metrics}",
                        f"--health-probe-bind-address=127.0.0.1:{mc_health}",
                        # Every sync makes an uncached GET of the group, and a status update and
                        # child writes when anything changed: at 50/s syncs waited on the client's
                        # rate limiter. 16 workers instead of 5: a sync mostly waits on the API
                        # server, and with 5 the queue held most groups while a thousand pods started.
                        "--client-go-qps=500",
                        "--client-go-burst=1000",
                        "--workers=16",
                    ],
                    lambda: self._http.get(f"http://127.0.0.1:{mc_health}/readyz", timeout=2).ok,
                )
            )
        if self.real_node is not None:
            api = next(c for c in comps if c.name == "kube-apiserver")
            api.argv = self.real_node.apiserver_argv(api.argv, self.pki)
            comps += [Component(p.name, p.argv, p.ready, p.timeout, env=p.env) for p in self.real_node.processes()]
        return comps

    def _audit_flags(self) -> list[str]:
        if self.audit_log is None:
            return []
        return [
            f"--audit-policy-file={self.state_dir / 'audit-policy.yaml'}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json",
            "--audit-log-maxsize=0",  # never rotate: a benchmark reads the whole file
        ]

    def _required_files(self) -> list[Path]:
        files = [Path(c.argv[0]) for c in self.components.values()]
        files += [self.bin_dir / "kwok-stages" / stage for stage in KWOK_STAGES] + [self.repo / GANG_READY_STAGE]
        if self.rbg:
            kustomization = self.repo / "crds" / "kustomization.yaml"
            files += rbg_crds(self.repo) if kustomization.is_file() else [kustomization]
        if self.metacontroller:
            files += [*metacontroller_crds(self.bin_dir), *(self.repo / "metacontroller" / name for name in REGISTRATIONS)]
        if self.lws_controller:
            files += lws_crds()
        if self.metacontroller and self.overlay is not None:
            files += [self.bin_dir / "kubectl", self.repo / self.overlay / "kustomization.yaml"]
        return files

    def _env(self) -> dict[str, str]:
        return {
            **python_env(),
            "GOGC": os.environ.get("GOGC", GO_GC),
            "KUBECONFIG": str(self.kubeconfig),
            "PYTHONUNBUFFERED": "1",
        }

    def _insecure_get(self, url: str) -> str:
        """GET against a component's self-signed serving certificate."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._http.get(url, verify=False, timeout=2).text

    def _probe(self, comp: Component) -> bool:
        if comp.proc is None or comp.proc.poll() is not None:
            code = None if comp.proc is None else comp.proc.returncode
            raise ComponentError(f"{comp.name} exited with code {code}\n{self.log_tail(comp.name)}")
        return comp.ready()

    def _terminate(self, comp: Component) -> None:
        if (proc := comp.live()) is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                log.warning("%s (pid %d) ignored SIGTERM for %ds: SIGKILL", comp.name, proc.pid, STOP_GRACE_SECONDS)
                proc.kill()
                proc.wait()
        comp.proc = None

    # --- phases -----------------------------------------------------------------------------------
    def _phase(self, name: str, run: Callable[[], None]) -> None:
        started = time.monotonic()
        run()
        self.timings[name] = time.monotonic() - started
        log.info("%-24s %6.1fs", name, self.timings[name])

    def _write_secrets(self) -> None:
        for stale in (self.state_dir / "etcd", self.pki):  # a fresh cluster every start
            shutil.rmtree(stale, ignore_errors=True)
        self.pki.mkdir(parents=True)
        (self.state_dir / "sa.key").write_bytes(_rsa_key_pem())
        token = secrets.token_hex(16)
        (self.state_dir / "tokens.csv").write_text(f"{token},admin,admin,system:masters\n")
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "rbg",
                    "cluster": {"server": self.server, "certificate-authority": str(self.pki / "apiserver.crt")},
                }
            ],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "rbg", "context": {"cluster": "rbg", "user": "admin"}}],
            "current-context": "rbg",
        }
        self.kubeconfig.write_text(yaml.safe_dump(kubeconfig, sort_keys=False))
        self.kubeconfig.chmod(0o600)
        if self.audit_log is not None:
            (self.state_dir / "audit-policy.yaml").write_text(yaml.safe_dump(AUDIT_POLICY, sort_keys=False))

    def _real_node_ready(self) -> None:
        get = partial(self.kube.get, Node, realnode.NAME)
        wait_for(lambda n: has_condition(n, "Ready"), 120, f"node {realnode.NAME} Ready", get)

    def _create_nodes(self) -> None:
        for i in range(self.nodes):
            node = self._node(i)
            self.kube.create(codecs.from_dict(node))
            self.kube.patch(Node.Status, node["metadata"]["name"], {"status": node["status"]}, patch_type=PatchType.MERGE)

        def observe() -> dict[str, str]:
            nodes = self.kube.list(Node, labels={"type": NODE_LABEL_TYPE})
            return {
                str(as_dict(n)["metadata"]["name"]): ("Ready" if has_condition(n, "Ready") else "NotReady")
                + "".join(f" taint:{t['key']}" for t in as_dict(n).get("spec", {}).get("taints") or [])
                for n in nodes
            }

        wait_for(
            lambda seen: len(seen) == self.nodes and all(v == "Ready" for v in seen.values()),
            120,
            f"{self.nodes} nodes Ready and untainted",
            observe,
        )

    def _node(self, i: int) -> Obj:
        name, rack = f"kwok-node-{i}", i // 2  # racks of two nodes, alternating between two zones
        resources = {**NODE_RESOURCES, "pods": str(self.pods_per_node)}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "type": NODE_LABEL_TYPE,
                    LABEL_ZONE: ("zone-a", "zone-b")[rack % 2],
                    LABEL_RACK: f"rack-{rack}",
                },
            },
            "spec": {},
            "status": {"capacity": resources, "allocatable": resources},
        }

    def install_crds(self, files: list[Path]) -> None:
        """Server-side apply (CRDs are too big for a last-applied annotation) every CRD in `files`.
        A CRD whose conversion webhook calls the hook Service (CONVERSION_SERVICE) calls the
        hooks-tls server by URL instead, trusting its CA (with `rbg`; other CRDs as they are)."""
        crds = [d for d in load_documents(files) if d["kind"] == "CustomResourceDefinition"]
        if not crds:
            raise FileNotFoundError(f"no CustomResourceDefinition in {', '.join(map(str, files))}")
        if self.conversion_url:
            ca_pem = (self.conversion_dir / "ca.crt").read_bytes() if (self.conversion_dir / "ca.crt").exists() else b""
            for i, crd in enumerate(crds):
                service = _conversion_service(crd)
                if service is None or {k: service.get(k) for k in CONVERSION_SERVICE} != CONVERSION_SERVICE:
                    continue
                if not ca_pem:
                    raise ComponentError(f"CRD {crd['metadata']['name']} converts with the hooks, but hooks-tls has no certificate yet")
                crds[i] = with_conversion_url(crd, self.conversion_url + service.get("path", ""), ca_pem)
        for crd in apply_manifests(self.kube, crds):
            name = crd.metadata.name
            get = partial(self.kube.get, CustomResourceDefinition, name)
            wait_for(lambda obj: has_condition(as_dict(obj), "Established"), 30, f"CRD {name} Established", get)

    def _register_controller(self) -> None:
        """Every controller of registrations() (their child types' CRDs are installed by then:
        ours in the rbg-crds phase, LeaderWorkerSet's in lws-crds)."""
        apply_manifests(self.kube, self.registrations())

    def registrations(self) -> list[Obj]:
        """The controllers registered with Metacontroller, webhooks pointed at the hook server:
        metacontroller/'s REGISTRATIONS, or the same as the overlay builds them (with an LWS
        controller, overlays/leaderworkerset: LeaderWorkerSets a child type of rolebasedgroup)."""
        if self.overlay is None:
            return [d for name in REGISTRATIONS for d in controller_manifests(self.repo / "metacontroller" / name, self.hook_url)]
        built = self.kubectl("kustomize", str(self.repo / self.overlay))
        if built.returncode != 0:
            raise ComponentError(f"kubectl kustomize {self.overlay} failed: {built.stderr}")
        docs = controller_manifests([d for d in yaml.safe_load_all(built.stdout) if d], self.hook_url)
        return sorted(docs, key=lambda d: d["kind"])  # CompositeController first, as REGISTRATIONS

    def _start_conversion_webhook(self) -> None:
        """A CA and the serving certificate it signs for 127.0.0.1, then the hooks-tls server."""
        shutil.rmtree(self.conversion_dir, ignore_errors=True)  # a new CA every start
        self.conversion_dir.mkdir(parents=True)
        _ca_signed_cert(self.conversion_dir, "127.0.0.1")
        self.start_component("hooks-tls")

    def _start_lws_controller(self) -> None:
        """Its configuration and serving certificate, the controller, then its webhooks (once it
        serves them: they fail closed)."""
        self.lws_dir.mkdir(parents=True, exist_ok=True)
        ca_pem = _self_signed_cert(self.lws_dir / "tls.crt", self.lws_dir / "tls.key", "127.0.0.1")
        port = int(self.lws_webhook_url.rsplit(":", 1)[1])
        config = {
            "apiVersion": "config.lws.x-k8s.io/v1alpha1",
            "kind": "Configuration",
            "leaderElection": {"leaderElect": False},
            # No Secret or Service to manage: the API server calls the webhooks by URL, trusting our CA.
            "internalCertManagement": {"enable": False},
            "webhook": {"host": "127.0.0.1", "port": port, "certDir": str(self.lws_dir)},
        }
        (self.lws_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        try:
            self.start_component("lws-controller")
        except ComponentError as e:
            log_text = (self.logs / "lws-controller.log").read_text(errors="replace")
            kinds = sorted(set(re.findall(r'no matches for kind \\"(\w+)\\" in version \\"([\w./-]+)\\"', log_text)))
            if not kinds:
                raise
            raise ComponentError(
                "the LWS controller watches kinds that have no CRD here ("
                + ", ".join(f"{kind}.{version}" for kind, version in kinds)
                + f"): set {LWS_CRDS_ENV}=<its lws checkout>/config/crd/bases\n{e}"
            ) from None
        apply_manifests(self.kube, lws_webhook_configurations(self.lws_webhook_url, ca_pem))

    def _lws_serving(self, health_port: int) -> bool:
        """Healthy, its webhook server answers over TLS with our certificate, and every controller
        it set up has started its workers (their caches synced: a CRD it watches is installed)."""
        if not self._http.get(f"http://127.0.0.1:{health_port}/readyz", timeout=2).ok:
            return False
        self._http.get(self.lws_webhook_url, verify=str(self.lws_dir / "tls.crt"), timeout=2)  # any status: it serves
        log_text = (self.logs / "lws-controller.log").read_text(errors="replace")
        watching = set(re.findall(r'Starting EventSource\s+\{"controller": "([^"]+)"', log_text))
        working = set(re.findall(r'Starting workers\s+\{"controller": "([^"]+)"', log_text))
        return bool(watching) and watching <= working

    def _save(self) -> None:
        """state_dir/cluster.json: what `rbg down` needs to stop the processes without us."""
        state = {
            "ready": self.ready,
            "kubeconfig": str(self.kubeconfig),
            "bin_dir": str(self.bin_dir),
            "metacontroller": None if self.metacontroller is None else str(self.metacontroller),
            "lws_controller": None if self.lws_controller is None else str(self.lws_controller),
            "hook_url": self.hook_url,
            "conversion_url": self.conversion_url or None,
            "real_node": None if self.real_node is None else realnode.NAME,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "components": {
                c.name: {"pid": proc.pid, "cmd": c.argv[0]} for c in self.components.values() if (proc := c.live())
            },
        }
        tmp = self.state_dir / "cluster.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_dir / "cluster.json")


def _die_with_parent() -> None:
    """Run in a component before exec: SIGKILL it when the thread that started it dies, so a
    test run or `rbg up` supervisor that crashes never leaves a control plane running (Linux)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args: str, purpose: str) -> None:
    if shutil.which("openssl") is None:
        raise FileNotFoundError(f"openssl is needed to make {purpose}")
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ComponentError(f"openssl {args[0]} failed making {purpose}: {done.stderr.strip()}")


def _self_signed_cert(cert: Path, key: Path, ip: str) -> bytes:
    """A self-signed serving certificate for `ip` (its own CA), written to `cert` and `key` (openssl);
    returns the certificate's PEM."""
    _openssl(
        "req", "-x509", *_EC_KEY, "-keyout", str(key), "-out", str(cert), "-days", "365",
        "-subj", f"/CN={ip}", "-addext", f"subjectAltName=IP:{ip}",
        purpose="the LWS controller's serving certificate",
    )
    return cert.read_bytes()


def _ca_signed_cert(directory: Path, ip: str) -> bytes:
    """A CA (ca.crt, ca.key) and a serving certificate for `ip` that it signed (tls.crt, tls.key), in
    `directory` (openssl), as the in-cluster install has them; returns the CA's PEM. The API server
    (Go) checks the CA's basicConstraints and the serving certificate's IP subjectAltName."""
    d, purpose = directory, "the conversion webhook's certificates"
    _openssl(
        "req", "-x509", *_EC_KEY, "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"), "-days", "365",
        "-subj", "/CN=rbg-hooks-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        purpose=purpose,
    )
    _openssl("req", "-new", *_EC_KEY, "-keyout", str(d / "tls.key"), "-out", str(d / "tls.csr"), "-subj", f"/CN={ip}", purpose=purpose)
    (d / "tls.ext").write_text(
        f"subjectAltName=IP:{ip}\nextendedKeyUsage=serverAuth\n"
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    )
    _openssl(
        "x509", "-req", "-in", str(d / "tls.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
        "-set_serial", str(secrets.randbits(63)), "-days", "365", "-extfile", str(d / "tls.ext"), "-out", str(d / "tls.crt"),
        purpose=purpose,
    )
    return (d / "ca.crt").read_bytes()


def _rsa_key_pem() -> bytes:
    """A service-account signing key: `cryptography` when importable, else openssl."""
    try:
        from cryptography.hazmat.primitives import serialization  # type: ignore[import-not-found]
        from cryptography.hazmat.primitives.asymmetric import rsa  # type: ignore[import-not-found]
    except ImportError:
        return subprocess.run(["openssl", "genrsa", "2048"], check=True, capture_output=True).stdout
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
