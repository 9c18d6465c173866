"""The in-cluster install on the real node, as a user installs it: `kubectl apply --server-side -k`
of an overlay that only names our image over metacontroller/, the conversion webhook's
certificate made with the commands of docs/installation.md, and (with RBG_METACONTROLLER)
Metacontroller in a pod, from an image of the given binary, under its own ServiceAccount bound to
our ClusterRole only.

For the install to run unchanged, the real node is the only schedulable node while this module
runs (KWOK nodes cordoned, the real node's taint lifted; both put back afterwards).

- The hook server's pods run as the manifests say (checked on the running processes: uid,
  capabilities, seccomp, no new privileges, read-only root), their probes pass.
- The conversion webhook answers in-cluster: a v1alpha1 group is stored and read as v1alpha2.
- With Metacontroller: examples/real-node/discovery.yaml becomes Ready, which needs every
  discovery address to resolve and accept TCP from every pod; a scaled role reaches every pod's
  mounted file without a restart; the hook server's pods deleted in the middle of a rollout, the
  rollout finishes with each pod replaced once; Metacontroller's pod restarted writes nothing; no
  RBAC denial in Metacontroller's log.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import ConfigMap, Namespace, Node, Pod, Service

from hooks import constants as c
from localcluster import realnode
from localcluster.cluster import METACONTROLLER_CRDS_FILE, METACONTROLLER_ENV, LocalCluster, third_party_crds
from rbgclient.kube import RoleBasedGroup, apply_manifests, as_dict, has_condition, wait_for
from tests.e2e.conftest import namespace
from tests.e2e.watch import Recorder, group_ready

ROOT = Path(__file__).resolve().parents[2]
DISCOVERY = ROOT / "examples" / "real-node" / "discovery.yaml"
RoleInstance = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_ROLE_INSTANCE, "roleinstances")
RoleInstanceSet = create_namespaced_resource(c.GROUP, c.VERSION, c.KIND_ROLE_INSTANCE_SET, "roleinstancesets")
KINDS = (RoleBasedGroup, RoleInstanceSet, RoleInstance, StatefulSet, Service, ConfigMap, Pod)
TIMEOUT = 180
Obj = dict[str, Any]


def run(cluster: LocalCluster, *args: str, input: str | None = None) -> str:
    done = cluster.kubectl(*args, input=input)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def image(cluster: LocalCluster, name: str) -> str:
    assert cluster.real_node is not None and cluster.real_node.images is not None
    tags = [t for t in realnode.image_tags(cluster.real_node.images) if t.startswith(f"localhost/rbg/{name}:")]
    assert tags, f"no localhost/rbg/{name} image in {cluster.real_node.images}/images.txt (tools/images.sh)"
    return tags[0]


def metacontroller_manifests(tag: str) -> list[Obj]:
    """Metacontroller in its namespace, under ServiceAccount metacontroller/metacontroller, which
    metacontroller/rbac.yaml binds to our ClusterRole (and nothing else binds)."""
    labels = {"app.kubernetes.io/name": "metacontroller"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "metacontroller"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "metacontroller", "namespace": "metacontroller"}},
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "metacontroller", "namespace": "metacontroller"},
            "spec": {
                "replicas": 1, "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "metacontroller",
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [{
                            "name": "metacontroller", "image": tag,
                            "args": ["--discovery-interval=5s", "--health-probe-bind-address=:8081", "--metrics-address=:9999", "--zap-log-level=info"],
                            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8081}},
                            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
                        }],
                    },
                },
            },
        },
    ]


@dataclass
class Install:
    cluster: LocalCluster
    metacontroller: bool
    mc_logs: list[str]  # Metacontroller's logs, of every pod of it that ran (read before it goes)


def _schedulable_on_the_real_node_only(cluster: LocalCluster, yes: bool) -> None:
    for node in cluster.kube.list(Node):
        name = node.metadata.name
        if name == realnode.NAME:
            run(cluster, "taint", "nodes", name, f"{realnode.LABEL}-" if yes else f"{realnode.LABEL}=true:NoSchedule", "--overwrite")
        else:
            run(cluster, "cordon" if yes else "uncordon", name)


def _deployment_available(cluster: LocalCluster, ns: str, name: str) -> None:
    run(cluster, "rollout", "status", f"deployment/{name}", "-n", ns, f"--timeout={TIMEOUT}s")


def _service_answers(cluster: LocalCluster, ns: str, name: str, port: int) -> None:
    """A TCP connection to the Service's cluster IP from the host, where the API server runs: kube-proxy
    programs a newly ready endpoint a moment after the Deployment reports it available."""
    ip = cluster.kube.get(Service, name, namespace=ns).spec.clusterIP

    def connects() -> bool:
        try:
            socket.create_connection((ip, port), timeout=1).close()
        except OSError:
            return False
        return True

    wait_for(lambda ok: ok, TIMEOUT, f"Service {ns}/{name} accepting connections on {ip}:{port}", connects)


@pytest.fixture(scope="module")
def install(real_node_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    cluster = real_node_cluster
    tmp = tmp_path_factory.mktemp("in-cluster")
    _schedulable_on_the_real_node_only(cluster, True)
    try:
        # Metacontroller's CRDs (the registrations' kinds), the real unmodified copy.
        run(cluster, "apply", "--server-side", "-f", str(third_party_crds() / METACONTROLLER_CRDS_FILE))
        overlay = tmp / "overlay"
        overlay.mkdir()
        hooks = image(cluster, "hooks")
        name, tag = hooks.rsplit(":", 1)
        (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [os.path.relpath(ROOT / "metacontroller", overlay)],
            "images": [{"name": "rbg-hooks", "newName": name, "newTag": tag}],
        }))
        run(cluster, "apply", "--server-side", "-k", str(overlay))
        _certificate(cluster, tmp / "rbg-hooks-tls")
        _deployment_available(cluster, "rbg-system", "rbg-hooks")
        _deployment_available(cluster, "rbg-system", "rbg-convert")
        _service_answers(cluster, "rbg-system", "rbg-convert", 443)
        mc = bool(os.environ.get(METACONTROLLER_ENV))
        if mc:
            apply_manifests(cluster.kube, metacontroller_manifests(image(cluster, "metacontroller")))
            _deployment_available(cluster, "metacontroller", "metacontroller")
        yield Install(cluster, mc, [])
    finally:
        _schedulable_on_the_real_node_only(cluster, False)


def _certificate(cluster: LocalCluster, tls: Path) -> None:
    """docs/installation.md "Without cert-manager", its commands as written there (from `tls`'s parent)."""
    doc = (ROOT / "docs" / "installation.md").read_text()
    section = doc[doc.index("### Without cert-manager"):doc.index("## Metacontroller")]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    make_cert = blocks[0].replace("../rbg-hooks-tls", str(tls))
    subprocess.run(["bash", "-euo", "pipefail", "-c", make_cert], cwd=tls.parent, check=True, capture_output=True)
    kubectl = f"{cluster.bin_dir / 'kubectl'} --kubeconfig={cluster.kubeconfig}"
    install = blocks[1].replace("../rbg-hooks-tls", str(tls)).replace("kubectl apply --server-side -k metacontroller/\n", "")
    install = re.sub(r"\bkubectl ", kubectl + " ", install)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", install], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _container_pid(cluster: LocalCluster, pod: Obj) -> int:
    """The host pid of the pod's first container (its containerd task)."""
    assert cluster.real_node is not None
    container = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("containerd://")
    tasks = cluster.real_node._ctr("task", "ls").stdout.splitlines()[1:]
    return int(next(line.split()[1] for line in tasks if line.split()[0] == container))


def _status(pid: int) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)


def test_the_hook_server_runs_non_root_read_only_without_capabilities(install: Install) -> None:
    cluster = install.cluster
    pods = [as_dict(p) for p in cluster.kube.list(Pod, namespace="rbg-system", labels={"app.kubernetes.io/name": "rbg-hooks"})]
    assert len(pods) == 2 and all(p["spec"]["nodeName"] == realnode.NAME and has_condition(p, "Ready") for p in pods)
    for pod in pods:
        state = pod["status"]["containerStatuses"][0]
        assert state["ready"] and state["restartCount"] == 0, state  # readiness and liveness probes pass
        status = _status(_container_pid(cluster, pod))
        assert status["Uid"].split()[:2] == ["65532", "65532"] and status["Gid"].split()[:2] == ["65532", "65532"]
        assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0 and int(status["CapBnd"], 16) == 0
        assert status["NoNewPrivs"].strip() == "1" and status["Seccomp"].strip() == "2"  # RuntimeDefault: a filter
        root = next(line.split() for line in Path(f"/proc/{_container_pid(cluster, pod)}/mountinfo").read_text().splitlines() if line.split()[4] == "/")
        assert "ro" in root[5].split(","), f"root filesystem mounted {root[5]}"


def test_the_conversion_webhook_serves_in_cluster(install: Install) -> None:
    cluster = install.cluster
    v1 = yaml.safe_load((ROOT / "examples" / "v1alpha1" / "pd-disagg.yaml").read_text().split("\n---")[0])
    v1["metadata"] = {"name": "converted", "namespace": "default"}
    run(cluster, "apply", "--server-side", "-f", "-", input=json.dumps(v1))
    try:
        read = json.loads(run(cluster, "get", "rolebasedgroups.v1alpha2.workloads.x-k8s.io", "converted", "-n", "default", "-o", "json"))
        assert read["apiVersion"] == c.API_VERSION and [r["name"] for r in read["spec"]["roles"]] == [r["name"] for r in v1["spec"]["roles"]]
    finally:
        cluster.kubectl("delete", "rolebasedgroups.v1alpha2.workloads.x-k8s.io", "converted", "-n", "default", "--wait=false")


# --- with Metacontroller in a pod ----------------------------------------------------------------


@pytest.fixture
def mc(install: Install) -> Install:
    if not install.metacontroller:
        pytest.skip(f"Metacontroller in a pod not run: {METACONTROLLER_ENV} is not set (its image is made from that binary)")
    return install


@pytest.fixture
def ns(mc: Install) -> Iterator[str]:
    yield from namespace(mc.cluster.kube)


@pytest.fixture
def rec(mc: Install, ns: str) -> Iterator[Recorder]:
    since = mc.cluster.kube.get(Namespace, ns).metadata.resourceVersion
    with Recorder(mc.cluster.kubeconfig, ns, KINDS, since) as r:
        yield r


def discovery_group() -> Obj:
    return next(d for d in yaml.safe_load_all(DISCOVERY.read_text()) if d and d.get("kind") == c.KIND_RBG)


def pods_of(rec: Recorder) -> dict[str, Obj]:
    return {n: p for n, p in rec.live("Pod").items() if (p["metadata"].get("labels") or {}).get(c.LABEL_GROUP_NAME) == "discovery" and not p["metadata"].get("deletionTimestamp")}


def ready_with(pods: int, generation: int = 1):
    return lambda r: group_ready("discovery", generation)(r) and len(pods_of(r)) == pods and all(has_condition(p, "Ready") for p in pods_of(r).values())


def logs(cluster: LocalCluster, ns: str, pod: str) -> str:
    return run(cluster, "logs", "-n", ns, pod)


def last_report(log: str) -> str:
    """The last of the lines a discovery pod logs each time what it reaches changes."""
    return log.rsplit("--- ", 1)[-1]


def test_discovery_is_proven_by_the_pods_themselves(mc: Install, ns: str, rec: Recorder) -> None:
    """Ready needs every pod's probe: every address it is told resolves and accepts TCP. A scaled
    role's new pod reaches every pod's mounted file, no pod restarted."""
    cluster = mc.cluster
    group = discovery_group()
    apply_manifests(cluster.kube, [group], namespace=ns)
    rec.wait(ready_with(5), TIMEOUT, "discovery Ready with its 5 pods")
    peers = [f"reached {p}" for p in ("discovery-prefill-0.s-discovery-prefill:8000", "discovery-prefill-1.s-discovery-prefill:34000",
                                      "discovery-decode-0-1.s-discovery-decode:8000", "discovery-router-0.s-discovery-router:8000")]
    wait_for(lambda text: all(p in last_report(text) for p in peers), 30, "the router's log: every peer reached", lambda: logs(cluster, ns, "discovery-router-0"))
    leader = f"reached discovery-decode-0-0.s-discovery-decode.{ns}:8000"  # RBG_LWP_LEADER_ADDRESS
    wait_for(lambda text: leader in last_report(text), 30, "a decode worker's log: its leader reached", lambda: logs(cluster, ns, "discovery-decode-0-1"))

    before = {n: p["metadata"]["uid"] for n, p in pods_of(rec).items()}
    scaled = copy.deepcopy(group)
    next(r for r in scaled["spec"]["roles"] if r["name"] == "prefill")["replicas"] = 3
    apply_manifests(cluster.kube, [scaled], namespace=ns)
    rec.wait(ready_with(6, 2), TIMEOUT, "prefill scaled to 3, every pod Ready")
    wait_for(lambda text: "reached discovery-prefill-2.s-discovery-prefill:8000" in last_report(text), TIMEOUT, "the router reaching the new prefill pod",
             lambda: logs(cluster, ns, "discovery-router-0"))
    after = pods_of(rec)
    assert all(after[n]["metadata"]["uid"] == uid for n, uid in before.items()), "no pod replaced"
    assert all(s.get("restartCount", 0) == 0 for p in after.values() for s in p["status"]["containerStatuses"]), "no container restarted"


def test_the_hook_server_deleted_mid_rollout_loses_nothing(mc: Install, ns: str, rec: Recorder) -> None:
    cluster = mc.cluster
    group = discovery_group()
    apply_manifests(cluster.kube, [group], namespace=ns)
    rec.wait(ready_with(5), TIMEOUT, "discovery Ready")
    start = len(rec.events)
    changed = copy.deepcopy(group)
    changed["spec"]["roleTemplates"][0]["template"]["metadata"] = {"annotations": {"example.com/rollout": "2"}}
    apply_manifests(cluster.kube, [changed], namespace=ns)
    run(cluster, "delete", "pods", "-n", "rbg-system", "-l", "app.kubernetes.io/name=rbg-hooks", "--wait=false")
    _deployment_available(cluster, "rbg-system", "rbg-hooks")
    rec.wait(lambda r: ready_with(5, 2)(r) and all(p["metadata"].get("annotations", {}).get("example.com/rollout") == "2" for p in pods_of(r).values()),
             TIMEOUT, "the rollout done with the hook server back")
    created: dict[str, int] = {}
    for e in rec.events[start:]:
        if e.kind == "Pod" and e.type == "ADDED":
            created[e.name] = created.get(e.name, 0) + 1
    # StatefulSet pods are replaced, RoleInstance pods (decode) updated in place: none made twice.
    rolled = {n for n in pods_of(rec) if not n.startswith("discovery-decode-")}
    assert rolled <= set(created) and set(created.values()) == {1}, f"each pod replaced once: {created}"


def test_metacontroller_restarted_writes_nothing_and_is_never_denied(mc: Install, ns: str, rec: Recorder) -> None:
    cluster = mc.cluster
    apply_manifests(cluster.kube, [discovery_group()], namespace=ns)
    rec.wait(ready_with(5), TIMEOUT, "discovery Ready")
    rec.quiet(5)
    (old,) = [p.metadata.name for p in cluster.kube.list(Pod, namespace="metacontroller")]
    mc.mc_logs.append(run(cluster, "logs", "-n", "metacontroller", old))
    settled = len(rec.events)
    run(cluster, "delete", "pod", "-n", "metacontroller", old)
    _deployment_available(cluster, "metacontroller", "metacontroller")
    rec.quiet(15)  # a full resync of every parent by the new pod
    writes = [(e.type, e.kind, e.name) for e in rec.events[settled:]]
    assert writes == [], f"writes after Metacontroller's restart: {writes}"
    (new,) = [p.metadata.name for p in cluster.kube.list(Pod, namespace="metacontroller") if p.metadata.name != old]
    mc.mc_logs.append(run(cluster, "logs", "-n", "metacontroller", new))
    # RBAC's wording, its quotes escaped in the JSON log lines
    denied = [line for text in mc.mc_logs for line in text.splitlines() if re.search(r'is forbidden: User \\?"', line)]
    assert denied == [], "RBAC denials in Metacontroller's log:\n" + "\n".join(denied[:20])
