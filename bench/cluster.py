"""Apply-to-Ready at scale: RoleBasedGroups under Metacontroller (roles on StatefulSets or on
RoleInstanceSets) against the same pods as plain StatefulSets, each run on a fresh local control
plane (localcluster).

    BIN=$(bash tools/build.sh kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwok-stages | tail -1)
    RBG_METACONTROLLER=/path/to/metacontroller .venv/bin/python bench/cluster.py --bin-dir "$BIN"
        [--groups 84] [--pods-per-role 4] [--runs 1] [--only rbg|gate|ris|plain|upstream] [--kinds rbg,upstream,plain]
        [--pods-per-node 110]

rbg    `--groups` RoleBasedGroups of three roles (router depends on prefill and decode; every role
       `--pods-per-role` pods), created at once; done when every group is Ready.
gate   the same groups annotated `rbg.workloads.x-k8s.io/startup-gate: Pods`: each observes its
       pods (Metacontroller related objects), and the router starts on its dependencies' pods
       Ready instead of their StatefulSets' status (kinds run on request only: --kinds, --only).
ris    the same groups with every role annotated `rbg.workloads.x-k8s.io/role-workload-type:
       workloads.x-k8s.io/v1alpha2/RoleInstanceSet`: each role a RoleInstanceSet of one-pod
       RoleInstances (Metacontroller's `roleinstanceset` and `roleinstance` controllers and the
       hooks' /ris/sync and /rins/sync create the instances and their pods); done when every group
       is Ready.
upstream  the same groups (v1alpha1, without startupPolicy, which upstream v0.6.0's CRD lacks;
       ordered startup is the default of both) under upstream's own controller: sgl-project/rbg
       v0.6.0's cmd/rbgs, given by RBG_UPSTREAM_CONTROLLER (built by hand outside the repository,
       like Metacontroller), run against the cluster's kubeconfig with upstream's v0.6.0 CRDs
       (../shared/upstream/rbg-v0.6.0/crds) and no CompositeController or hook server. Its Ready
       is taken without observedGeneration (that controller never sets it). Without the variable
       it says so and runs the others.
plain  the StatefulSets those groups render to (`rbg render`, startupPolicy Parallel: the same pod
       templates, labels and names), created at once; done when every pod is Ready. The floor.

All run on the same kind of cluster (the same flags, Metacontroller and the hook server running,
the API server's audit log on) with enough KWOK nodes for the pods, started fresh for every run;
the start is not timed. Times are arrival times of watch events at this process (time.monotonic)
since the first create request was sent. Watches, not polling: pods with the field selector
status.phase=Running (about one event per pod), StatefulSets (ris: RoleInstanceSets and
RoleInstances) and groups decoded by msgspec into the few fields used. Without --only or
--kinds, runs alternate rbg, (upstream,) ris, plain. What is printed:

  milestones       first / p50 / last of: create requests answered, workloads created, pods Ready,
                   groups Ready (ris: also RoleInstances created)
  edge             per group, the last Ready event of a prefill or decode pod to the ADDED event of
                   the router's StatefulSet (ris: RoleInstanceSet); split at the event where both
                   dependency StatefulSets report all replicas ready (the StatefulSet controller's
                   share; the rest is Metacontroller's and the hooks'; ris: both RoleInstanceSets,
                   whose status is the /ris/sync hook's, written by Metacontroller)
  hook calls       `"hook":"sync"` lines of the hook server's log per group, and their `ms`
                   (ris: also `ris-sync` and `rins-sync` lines, counted to the group they belong to)
  child writes     the API server's audit log (localcluster AUDIT_POLICY: writes to ConfigMaps,
                   Services, StatefulSets, Deployments, pods, RoleInstanceSets, RoleInstances and
                   groups, reads of groups, RoleInstanceSets and RoleInstances), requests whose
                   user agent is Metacontroller's, by verb and resource: exact, one line per request
  problems         (ris) failed or rejected requests in the hook server's log, and Metacontroller's
                   log lines at error or warning level or whose message says error or failed
  CPU              CPU seconds each component (with its child processes) and this process used
                   between the first create request and the end of the run
  metacontroller   its workqueue and client-go figures from its /metrics, over the run (ris: per
                   CompositeController: the groups', the RoleInstanceSets', the RoleInstances')
  summary          each kind's times and medians; rbg / plain, and with ris: ris / rbg, ris / plain,
                   syncs per group and Metacontroller's and the hooks' CPU seconds per run
  --api-detail     also the API server's requests and watch events by resource, the controller-
                   manager's busiest workqueues, and each component's peak RSS

The plain floor is set by kube-scheduler's default client rate limit (50 bindings/s after a burst
of 100: (1,008 - 100) / 50 = 18.2 s), which the launcher leaves at Kubernetes' default.
To try settings without editing the launcher: `--flag COMPONENT=--name=value` (repeatable; applied
to every kind of run), `GOGC=...` in the environment, `--registration FILE` (other
CompositeControllers: every one in FILE), `--overlay DIR` (the controllers of a kustomize overlay,
e.g. overlays/without-pod-controllers). `--keep` keeps each run's state dir (component logs,
audit log).

A benchmark, not a test: it asserts nothing about time. Figures move with the machine's load;
the CPU line says how busy the machine was and how much of it was other processes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import requests
import urllib3
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hooks import constants as c  # noqa: E402
from hooks.api import SyncRequest  # noqa: E402
from hooks.core import rbg  # noqa: E402
from localcluster.cluster import LocalCluster, controller_manifests, free_port, metacontroller_binary, third_party_crds  # noqa: E402
from rbgclient.kube import apply_manifests  # noqa: E402

NAMESPACE = "bench"
ROLES = ("prefill", "decode", "router")
DEPENDENCIES = {"router": ["prefill", "decode"]}
RBG_PATH = f"/apis/{c.API_VERSION}/namespaces/{NAMESPACE}/rolebasedgroups"
STS_PATH = f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets"
RIS_PATH = f"/apis/{c.API_VERSION}/namespaces/{NAMESPACE}/roleinstancesets"
RINS_PATH = f"/apis/{c.API_VERSION}/namespaces/{NAMESPACE}/roleinstances"
RIS_WORKLOAD = f"{c.API_VERSION}/{c.KIND_ROLE_INSTANCE_SET}"  # the role-workload-type annotation's value
GROUP_KINDS = ("rbg", "gate", "ris", "upstream")  # runs of RoleBasedGroups (done when every group is Ready)
STATEFULSET_GROUPS = ("rbg", "gate")  # ours, roles on StatefulSets
WRITE_VERBS = ("create", "update", "patch", "delete")  # of the audit log's verbs (it also records who lists and watches pods)
OUR_PROCESSES = ("metacontroller", "hooks", "hooks-tls")  # the controller of ours: Metacontroller, the hooks, the conversion webhook
# The peer: upstream's own controller (sgl-project/rbg v0.6.0 cmd/rbgs, built by hand outside the
# repository), with upstream's v0.6.0 CRDs and no CompositeController registered.
UPSTREAM_ENV = "RBG_UPSTREAM_CONTROLLER"
UPSTREAM_API = "workloads.x-k8s.io/v1alpha1"
UPSTREAM_RBG_PATH = f"/apis/{UPSTREAM_API}/namespaces/{NAMESPACE}/rolebasedgroups"
UPSTREAM_CRDS = third_party_crds().parents[1] / "upstream" / "rbg-v0.6.0" / "crds"  # ../shared/upstream
POD_PATH = f"/api/v1/namespaces/{NAMESPACE}/pods"


# --- the workloads ---------------------------------------------------------------------------------
def group(
    name: str, pods_per_role: int, startup: str = c.STARTUP_ORDERED, workload: str | None = None, gate: str | None = None
) -> dict[str, Any]:
    """The benchmark's group; `workload`: every role annotated with that role-workload-type; `gate`:
    the group annotated with that startup gate."""

    def role(name: str, image: str) -> dict[str, Any]:
        container = {
            "name": name,
            "image": image,
            "ports": [{"containerPort": 8000}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        }
        out: dict[str, Any] = {
            "name": name,
            "replicas": pods_per_role,
            "servicePorts": [{"name": "http", "port": 8000}],
            "standalonePattern": {"template": {"spec": {"containers": [container]}}},
        }
        if name in DEPENDENCIES:
            out["dependencies"] = DEPENDENCIES[name]
        if workload is not None:
            out["annotations"] = {c.ANNOTATION_ROLE_WORKLOAD_TYPE: workload}
        return out

    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND_RBG,
        "metadata": {"name": name, "namespace": NAMESPACE, **({"annotations": {c.ANNOTATION_STARTUP_GATE: gate}} if gate else {})},
        "spec": {
            "startupPolicy": startup,
            "roles": [
                role("router", "lmsysorg/sglang-router:v0.2.2"),
                role("prefill", "lmsysorg/sglang:v0.5.3.post3"),
                role("decode", "lmsysorg/sglang:v0.5.3.post3"),
            ],
        },
    }


def upstream_group(name: str, pods_per_role: int) -> dict[str, Any]:
    """The same group as upstream v0.6.0 takes it: v1alpha1, no startupPolicy (its CRD has none;
    ordered startup is the default of both)."""
    ours = group(name, pods_per_role)
    roles = [
        {**{k: v for k, v in r.items() if k != "standalonePattern"}, "template": r["standalonePattern"]["template"]}
        for r in ours["spec"]["roles"]
    ]
    return {"apiVersion": UPSTREAM_API, "kind": c.KIND_RBG, "metadata": ours["metadata"], "spec": {"roles": roles}}


def plain_statefulsets(name: str, pods_per_role: int) -> list[dict[str, Any]]:
    """The StatefulSets the hooks render for the group, every role at once (dependencies first)."""
    parent = group(name, pods_per_role, c.STARTUP_PARALLEL)
    children: dict[str, dict[str, Any]] = {key: {} for key in c.CHILD_TYPES}
    result = rbg.sync(SyncRequest.model_validate({"controller": {}, "parent": parent, "children": children}))
    sts = {o["metadata"]["labels"][c.LABEL_ROLE_NAME]: o for o in result.children if o["kind"] == c.KIND_STATEFULSET}
    assert sorted(sts) == sorted(ROLES), sorted(sts)
    return [sts[r] for r in ROLES]


# --- API access ---------------------------------------------------------------------------------------
class Api:
    """Raw HTTP to the API server with the cluster's token (no client-side models: cheap)."""

    def __init__(self, kubeconfig: Path) -> None:
        cfg = yaml.safe_load(kubeconfig.read_text())
        self.server = cfg["clusters"][0]["cluster"]["server"]
        self.ca = cfg["clusters"][0]["cluster"]["certificate-authority"]
        self.token = cfg["users"][0]["user"]["token"]

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = self.ca
        s.headers["Authorization"] = f"Bearer {self.token}"
        return s


class Cond(msgspec.Struct):
    type: str = ""
    status: str = ""


class Meta(msgspec.Struct):
    name: str = ""
    resourceVersion: str = ""
    generation: int = 0
    labels: dict[str, str] = {}


class Status(msgspec.Struct):
    conditions: list[Cond] = []
    observedGeneration: int = 0
    replicas: int = 0
    readyReplicas: int = 0
    updatedReplicas: int = 0


class Spec(msgspec.Struct):
    replicas: int = 0


class Obj(msgspec.Struct):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: Spec = msgspec.field(default_factory=Spec)
    status: Status = msgspec.field(default_factory=Status)


class Event(msgspec.Struct):
    type: str
    object: Obj


class Watch(threading.Thread):
    """One watch from a resourceVersion, resumed where it ended; calls `on_event(arrival, event)`."""

    def __init__(
        self, api: Api, path: str, rv: str, on_event: Callable[[float, Any], None], params: dict[str, str] | None = None,
        event_type: type = Event,
    ) -> None:
        super().__init__(daemon=True, name=f"watch {path}")
        self.api, self.path, self.rv, self.on_event = api, path, rv, on_event
        self.params = params or {}
        self.decoder = msgspec.json.Decoder(event_type)
        # msgspec builds a type's decoder lazily; two threads doing it at once can crash the
        # interpreter (tests/e2e/watch.py). Build it here, in the thread that makes the watches.
        self.decoder.decode(b'{"type":"ADDED","object":{"metadata":{"name":"warm-up","labels":{}},"status":{"conditions":[]}}}')
        self.session = api.session()
        self.error: BaseException | None = None
        self._halt = threading.Event()
        self._response: requests.Response | None = None

    def stop(self) -> None:
        self._halt.set()
        if self._response is not None:
            self._response.close()
        self.session.close()

    def run(self) -> None:
        try:
            while not self._halt.is_set():
                params = {
                    **self.params, "watch": "1", "resourceVersion": self.rv, "allowWatchBookmarks": "true",
                    "timeoutSeconds": "3600",
                }
                with self.session.get(self.api.server + self.path, params=params, stream=True, timeout=(10, None)) as resp:
                    self._response = resp
                    if resp.status_code == 429 or resp.status_code >= 500:  # e.g. a watch cache not ready yet
                        time.sleep(float(resp.headers.get("Retry-After", "0.2")))
                        continue
                    resp.raise_for_status()
                    for line in resp.iter_lines(chunk_size=1 << 16):
                        if not line:
                            continue
                        arrived = time.monotonic()
                        try:
                            event = self.decoder.decode(line)
                        except msgspec.ValidationError:
                            raise RuntimeError(f"watch {self.path}: {line[:500]!r}") from None
                        if event.type == "ERROR":
                            raise RuntimeError(f"watch {self.path}: {line[:500]!r}")
                        self.rv = event.object.metadata.resourceVersion or self.rv
                        if event.type != "BOOKMARK":
                            self.on_event(arrived, event)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            if not self._halt.is_set():
                self.error = e


# --- one run ---------------------------------------------------------------------------------------------
class Record:
    """What the watches saw, first arrival per object."""

    def __init__(self, kind: str, groups: int, pods_per_role: int) -> None:
        self.kind = kind
        self.want_groups = groups
        self.want_pods = groups * len(ROLES) * pods_per_role
        self.pods_per_role = pods_per_role
        self.pod_ready: dict[str, tuple[float, str, str]] = {}  # pod -> (t, group, role)
        self.sts_added: dict[str, float] = {}  # the workloads: StatefulSets, or RoleInstanceSets (ris)
        self.sts_ready: dict[str, float] = {}  # first event with all replicas ready at its generation
        self.workload_events = "roleinstanceset" if kind == "ris" else "statefulset"
        self.instance_added: dict[str, float] = {}  # RoleInstances (ris)
        self.group_ready: dict[str, float] = {}
        self.events = Counter[str]()
        self.done = threading.Event()
        self._lock = threading.Lock()

    def finished(self) -> bool:
        if self.kind in GROUP_KINDS:
            return len(self.group_ready) >= self.want_groups
        return len(self.pod_ready) >= self.want_pods

    def on_pod(self, t: float, e: Event) -> None:
        self.events["pod"] += 1
        meta = e.object.metadata
        if meta.name in self.pod_ready or e.type == "DELETED":
            return
        if any(x.type == "Ready" and x.status == "True" for x in e.object.status.conditions):
            with self._lock:
                self.pod_ready[meta.name] = (t, meta.labels.get(c.LABEL_GROUP_NAME, ""), meta.labels.get(c.LABEL_ROLE_NAME, ""))
                if self.finished():
                    self.done.set()

    def on_sts(self, t: float, e: Event) -> None:
        self.events[self.workload_events] += 1
        obj = e.object
        name = obj.metadata.name
        self.sts_added.setdefault(name, t)
        s = obj.status
        if (
            name not in self.sts_ready and obj.spec.replicas > 0 and s.observedGeneration == obj.metadata.generation
            and s.readyReplicas == obj.spec.replicas and s.updatedReplicas == obj.spec.replicas
        ):
            self.sts_ready[name] = t

    def on_instance(self, t: float, e: Event) -> None:
        self.events["roleinstance"] += 1
        self.instance_added.setdefault(e.object.metadata.name, t)

    def on_group(self, t: float, e: Event) -> None:
        self.events["rolebasedgroup"] += 1
        obj = e.object
        if obj.metadata.name in self.group_ready:
            return
        ready = any(x.type == c.COND_READY and x.status == "True" for x in obj.status.conditions)
        # Upstream's controller never sets status.observedGeneration: its Ready is taken as it is.
        if ready and (self.kind == "upstream" or obj.status.observedGeneration == obj.metadata.generation):
            with self._lock:
                self.group_ready[obj.metadata.name] = t
                if self.finished():
                    self.done.set()


def start_revision(api: Api, s: requests.Session, paths: list[str]) -> str:
    """The newest list revision of `paths`: a watch from it misses nothing created afterwards, and is
    not older than a watch cache that was only just filled (the groups' cache starts with the CRD)."""
    revisions = []
    deadline = time.monotonic() + 60
    for path in paths:
        while (r := s.get(api.server + path, params={"limit": "1"})).status_code == 429 and time.monotonic() < deadline:
            time.sleep(0.2)
        r.raise_for_status()
        revisions.append(int(r.json()["metadata"]["resourceVersion"]))
    return str(max(revisions))


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """utime+stime of each named process and its live descendants (plus reaped children's)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        ppid = int(fields[1])
        cpu = sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
        stats[int(entry)] = (ppid, cpu)
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (ppid, _) in stats.items():
        children[ppid].append(pid)

    def tree(pid: int) -> float:
        return stats.get(pid, (0, 0.0))[1] + sum(tree(k) for k in children.get(pid, []))

    out = {name: tree(pid) for name, pid in pids.items()}
    own = resource.getrusage(resource.RUSAGE_SELF)
    out["bench (this process)"] = own.ru_utime + own.ru_stime
    return out


def peak_rss_mib(pids: dict[str, int]) -> dict[str, float]:
    """Peak resident memory (VmHWM) of each named process, in MiB."""
    out = {}
    for name, pid in pids.items():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        if m:
            out[name] = int(m[1]) / 1024
    return out


def machine_busy() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy (every process, ours and others'), and stolen by the
    hypervisor, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def scrape(url: str | None, session: requests.Session | None = None) -> dict[str, float]:
    """Prometheus text exposition -> {series: value} (lines without a value are skipped)."""
    if url is None:
        return {}
    try:
        if session is not None:
            text = session.get(url, timeout=10).text
        else:
            with requests.Session() as s:
                s.trust_env = False
                # Uncompressed: gzip of a scrape is CPU of the scraped component, charged to it.
                text = s.get(url, timeout=5, headers={"Accept-Encoding": "identity"}).text
    except requests.RequestException:
        return {}
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            try:
                out[series] = float(value)
            except ValueError:
                pass
    return out


QUEUE = 'name="CompositeController-rolebasedgroup"'
# ris: the three CompositeControllers' queues, (label, series filter)
RIS_QUEUES = (
    ("rolebasedgroup", QUEUE),
    ("roleinstanceset", 'name="CompositeController-roleinstanceset"'),
    ("roleinstance", 'name="CompositeController-roleinstance"'),
)


def metric(series: dict[str, float], name: str, having: str = "") -> float:
    """Sum of the series of metric `name` whose labels contain `having`."""
    return sum(v for k, v in series.items() if k.startswith(name + "{") and having in k)


def rest_requests(series: dict[str, float]) -> dict[str, float]:
    out: defaultdict[str, float] = defaultdict(float)
    for k, v in series.items():
        if k.startswith("rest_client_requests_total{"):
            code, method = re.search(r'code="([^"]*)"', k), re.search(r'method="([^"]*)"', k)
            out[f"{method[1] if method else '?'} {code[1] if code else '?'}"] += v
    return {k: v for k, v in out.items() if v}


class Sampler(threading.Thread):
    """Metacontroller's workqueue depth and in-flight sync hook requests, every `period` s (a scrape
    is Metacontroller's CPU too, counted in its figure: not more often than needed)."""

    def __init__(self, url: str | None, period: float = 1.0, queues: tuple[str, ...] = (QUEUE,)) -> None:
        super().__init__(daemon=True, name="sampler")
        self.url, self.period, self.queues = url, period, queues
        self.samples: dict[str, list[float]] = {"depth": [], "inflight": []}
        self._halt = threading.Event()

    def run(self) -> None:
        while self.url and not self._halt.wait(self.period):
            m = scrape(self.url)
            if m:
                self.samples["depth"].append(sum(metric(m, "workqueue_depth", q) for q in self.queues))
                self.samples["inflight"].append(metric(m, "metacontroller_sync_in_flight_requests"))

    def stop(self) -> dict[str, list[float]]:
        self._halt.set()
        self.join(2)
        return self.samples


def pct(values: Iterable[float], p: float) -> float:
    xs = sorted(values)
    if not xs:
        return math.nan
    return xs[min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))]


def fmt_spread(values: list[float], unit: float = 1.0, digits: int = 2) -> str:
    if not values:
        return "-"
    return "  ".join(f"{pct(values, p) * unit:7.{digits}f}" for p in (0, 50, 100))


def run_once(kind: str, args: argparse.Namespace, bin_dir: Path, mc: Path, index: int) -> dict[str, Any]:
    pods = args.groups * len(ROLES) * args.pods_per_role
    nodes = args.nodes or math.ceil(pods * 1.1 / args.pods_per_node)
    names = [f"g-{i:04d}" for i in range(args.groups)]
    if kind == "rbg":
        bodies = [(RBG_PATH, group(n, args.pods_per_role)) for n in names]
    elif kind == "gate":
        bodies = [(RBG_PATH, group(n, args.pods_per_role, gate=c.STARTUP_GATE_PODS)) for n in names]
    elif kind == "ris":
        bodies = [(RBG_PATH, group(n, args.pods_per_role, workload=RIS_WORKLOAD)) for n in names]
    elif kind == "upstream":
        bodies = [(UPSTREAM_RBG_PATH, upstream_group(n, args.pods_per_role)) for n in names]
    else:
        bodies = [(STS_PATH, sts) for n in names for sts in plain_statefulsets(n, args.pods_per_role)]
    header = (
        f"== {kind}: {args.groups} groups x {len(ROLES)} roles x {args.pods_per_role} pods = {pods} pods "
        f"({len(bodies)} {'RoleBasedGroups' if kind in GROUP_KINDS else 'StatefulSets'}), "
        f"{nodes} nodes x {args.pods_per_node} pods; run {index}"
    )
    print(header, flush=True)

    state = Path(tempfile.mkdtemp(prefix=f"rbg-bench-{kind}-"))
    peer = kind == "upstream"
    cluster = LocalCluster(
        bin_dir, state, nodes=nodes, pods_per_node=args.pods_per_node, metacontroller=None if peer else mc, rbg=not peer, audit=True,
        overlay=None if peer else args.overlay,
    )
    for name, flag in args.flag:
        if name in cluster.components:  # upstream's runs have no Metacontroller and no hook server
            override(cluster, name, flag)
        else:
            print(f"  {name}={flag}: not in this run ({kind})")
    if args.registration is not None:  # another CompositeController than metacontroller/, to compare
        registration: Path = args.registration

        def register() -> None:
            apply_manifests(cluster.kube, controller_manifests(registration, cluster.hook_url))

        cluster._register_controller = register  # type: ignore[method-assign]
    started = time.monotonic()
    cluster.start()
    print(f"cluster started in {time.monotonic() - started:.1f} s (not timed); state {state}", flush=True)
    api = Api(cluster.kubeconfig)
    s = api.session()
    watches: list[Watch] = []
    upstream: subprocess.Popen[bytes] | None = None
    try:
        if peer:
            upstream = start_upstream(cluster, Path(os.environ[UPSTREAM_ENV]), state)
        r = s.post(f"{api.server}/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        r.raise_for_status()
        deadline = time.monotonic() + 60
        while s.get(f"{api.server}/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default").status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError("no default ServiceAccount in the bench namespace")
            time.sleep(0.2)
        groups_path = UPSTREAM_RBG_PATH if peer else RBG_PATH
        rv = start_revision(api, s, [POD_PATH, STS_PATH, groups_path, *([RIS_PATH, RINS_PATH] if kind == "ris" else [])])

        rec = Record(kind, args.groups, args.pods_per_role)
        watches = [
            Watch(api, POD_PATH, rv, rec.on_pod, params={"fieldSelector": "status.phase=Running"}),
            Watch(api, RIS_PATH if kind == "ris" else STS_PATH, rv, rec.on_sts),
        ]
        if kind == "ris":
            watches.append(Watch(api, RINS_PATH, rv, rec.on_instance))
        if kind in GROUP_KINDS:
            watches.append(Watch(api, groups_path, rv, rec.on_group))
        for w in watches:
            w.start()
        time.sleep(1)  # the watches are connected (they start from `rv` anyway)

        pids = {name: comp.proc.pid for name, comp in cluster.components.items() if comp.proc is not None}
        if upstream is not None:
            pids["upstream"] = upstream.pid
        cpu_before = cpu_seconds(pids)
        busy_before = machine_busy()
        mc_before = scrape(cluster.metacontroller_metrics_url)
        api_before = scrape(f"{api.server}/metrics", s)
        kcm_url = "https://127.0.0.1:{}/metrics".format(
            next(a.split("=")[1] for a in cluster.components["kube-controller-manager"].argv if a.startswith("--secure-port="))
        )
        kcm_session = api.session()
        kcm_session.verify = False  # its self-signed serving certificate
        urllib3.disable_warnings()
        kcm_before = scrape(kcm_url, kcm_session)
        hook_lines_before = len(hook_log(cluster))
        log_offsets = (log_size(cluster, "hooks.log"), log_size(cluster, "metacontroller.log"))
        sampler = Sampler(
            cluster.metacontroller_metrics_url if kind in GROUP_KINDS else None,
            queues=tuple(q for _, q in RIS_QUEUES) if kind == "ris" else (QUEUE,),
        )
        sampler.start()

        # --- apply: every object at once -----------------------------------------------------------------
        sessions = threading.local()
        answered: list[float] = []
        t0 = time.monotonic()

        def create(item: tuple[str, dict[str, Any]]) -> None:
            if not hasattr(sessions, "s"):
                sessions.s = api.session()
            path, body = item
            resp = sessions.s.post(api.server + path, data=json.dumps(body), headers={"Content-Type": "application/json"})
            answered.append(time.monotonic())
            if resp.status_code != 201:
                raise RuntimeError(f"create {path}: {resp.status_code} {resp.text[:300]}")

        with ThreadPoolExecutor(args.apply_threads) as pool:
            list(pool.map(create, bodies))

        # --- wait ---------------------------------------------------------------------------------------
        while not rec.done.wait(1):
            failed = [w for w in watches if w.error is not None]
            if failed:
                raise RuntimeError(f"watch failed: {failed[0].error!r}")
            if time.monotonic() - t0 > args.timeout:
                for source, lines in problems(cluster, *log_offsets).items():
                    print(f"  {source}: {len(lines)} failure or error lines" + "".join(f"\n    {x[:400]}" for x in lines[:10]), flush=True)
                raise TimeoutError(
                    f"{kind}: not done after {args.timeout} s: {len(rec.pod_ready)}/{rec.want_pods} pods Ready, "
                    f"{len(rec.group_ready)}/{rec.want_groups} groups Ready, {len(rec.sts_added)} "
                    + ("RoleInstanceSets" if kind == "ris" else "StatefulSets")
                )
        t_end = time.monotonic()
        cpu_after = cpu_seconds(pids)
        busy, steal = (a - b for a, b in zip(machine_busy(), busy_before))
        rss = peak_rss_mib(pids)
        samples = sampler.stop()
        mc_after = scrape(cluster.metacontroller_metrics_url)
        api_after = scrape(f"{api.server}/metrics", s)
        kcm_after = scrape(kcm_url, kcm_session)
        hooks_at_end = hook_log(cluster)[hook_lines_before:]
        time.sleep(args.settle)
        hooks_settled = hook_log(cluster)[hook_lines_before:]
        audit = read_audit(cluster.audit_log)
        found = problems(cluster, *log_offsets)
    finally:
        for w in watches:
            w.stop()
        s.close()
        if upstream is not None:
            upstream.terminate()
            upstream.wait(10)
        cluster.stop(keep=args.keep)

    result = {
        "kind": kind, "pods": pods, "objects": len(bodies), "seconds": t_end - t0, "t0": t0,
        "applied": [t - t0 for t in answered],
        "rec": rec, "busy": busy, "steal": steal, "rss": rss, "cpu": {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after},
        "mc": {k: v - mc_before.get(k, 0.0) for k, v in mc_after.items()},
        "api": {k: v - api_before.get(k, 0.0) for k, v in api_after.items()},
        "kcm": {k: v - kcm_before.get(k, 0.0) for k, v in kcm_after.items()},
        "samples": samples, "hooks_at_end": hooks_at_end, "hooks_settled": hooks_settled, "audit": audit, "names": names,
        "problems": found,
    }
    report(result, args)
    return result


def start_upstream(cluster: LocalCluster, binary: Path, state: Path) -> subprocess.Popen[bytes]:
    """Upstream v0.6.0's CRDs (the shared copy), then its controller against the cluster's kubeconfig,
    logging to state/logs/upstream.log; returns once it reports ready."""
    crds = UPSTREAM_CRDS
    done = cluster.kubectl("apply", "--server-side", "-f", str(crds))
    if done.returncode != 0:
        raise RuntimeError(f"upstream's CRDs from {crds}: {done.stderr}")
    cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    metrics, probe = free_port(), free_port()
    log = open(cluster.logs / "upstream.log", "wb")  # noqa: SIM115 (the process writes it until it stops)
    proc = subprocess.Popen(
        [str(binary), f"--kubeconfig={cluster.kubeconfig}", f"--metrics-bind-address=127.0.0.1:{metrics}", "--metrics-secure=false",
         f"--health-probe-bind-address=127.0.0.1:{probe}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{probe}/readyz", timeout=2).ok:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"upstream's controller did not get ready; {cluster.logs / 'upstream.log'}:\n"
                               + (cluster.logs / "upstream.log").read_text(errors="replace")[-2000:])
        time.sleep(0.2)


def override(cluster: LocalCluster, name: str, flag: str) -> None:
    """Set `--name=value` on a component's command line, replacing a flag of the same name."""
    argv = cluster.components[name].argv
    key = flag.split("=", 1)[0]
    kept = [a for a in argv if a.split("=", 1)[0] != key]
    argv[:] = [*kept, flag]


def component_flag(text: str) -> tuple[str, str]:
    name, sep, flag = text.partition("=")
    if not sep or not flag.startswith("--"):
        raise argparse.ArgumentTypeError(f"expected COMPONENT=--flag=value, got {text!r}")
    return name, flag


HOOK_LINE = re.compile(r'"hook":"(sync|finalize|ris-sync|rins-sync)","parent":"' + NAMESPACE + r'/([^"]+)".*?"ms":([0-9.]+)')
# A RoleInstanceSet `<group>-<role>` or a RoleInstance `<group>-<role>-<i>`: its group.
OWNED = re.compile(r"^(.+)-(?:" + "|".join(ROLES) + r")(?:-\d+)?$")


def hook_log(cluster: LocalCluster) -> list[tuple[str, str, float]]:
    path = cluster.logs / "hooks.log"
    if not path.exists():
        return []
    return [(m[1], m[2], float(m[3])) for m in HOOK_LINE.finditer(path.read_text(errors="replace"))]


def read_audit(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        e = json.loads(line)
        ref = e.get("objectRef") or {}
        if ref.get("namespace") != NAMESPACE:
            continue
        res = ref.get("resource", "") + ("/" + ref["subresource"] if ref.get("subresource") else "")
        agent = (e.get("userAgent") or "").split("/")[0]
        out.append({"verb": e["verb"], "resource": res, "agent": agent, "code": (e.get("responseStatus") or {}).get("code")})
    return out


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    rec: Record = r["rec"]
    secs = r["seconds"]
    ris = r["kind"] == "ris"
    print(f"apply -> {'every group' if r['kind'] in GROUP_KINDS else 'every pod'} Ready: {secs:.2f} s   "
          f"{r['pods'] / secs:.1f} pods/s", flush=True)
    t0 = r["t0"]
    print(f"  milestones, s since the first create       first      p50     last")
    print(f"    create requests answered ({r['objects']:>5})   {fmt_spread(r['applied'])}")
    print(f"    workloads created        ({len(rec.sts_added):>5})   {fmt_spread([t - t0 for t in rec.sts_added.values()])}")
    if ris:
        print(f"    RoleInstances created    ({len(rec.instance_added):>5})   {fmt_spread([t - t0 for t in rec.instance_added.values()])}")
    print(f"    pods Ready               ({len(rec.pod_ready):>5})   {fmt_spread([v[0] - t0 for v in rec.pod_ready.values()])}")
    if r["kind"] in GROUP_KINDS:
        print(f"    groups Ready             ({len(rec.group_ready):>5})   {fmt_spread([t - t0 for t in rec.group_ready.values()])}")
        edges, sts_part, mc_part = edge_overhead(rec, r["names"])
        print(f"  dependency edge, ms (n={len(edges)})             p50      p99      max")
        if ris:
            print(f"    last dependency pod Ready -> router RIS created  {edge_line(edges)}")
            print(f"      -> dependency RoleInstanceSets ready          {edge_line(sts_part)}")
            print(f"      RoleInstanceSets ready -> router RIS created   {edge_line(mc_part)}")
        else:
            print(f"    last dependency pod Ready -> router created  {edge_line(edges)}")
            print(f"      -> dependency StatefulSets ready          {edge_line(sts_part)}")
            print(f"      StatefulSets ready -> router created       {edge_line(mc_part)}")
        if r["kind"] == "upstream":
            print(f"    (upstream's controller: no hooks, no Metacontroller; its CPU is `upstream` below)")
            cpu = r["cpu"]
            print("  CPU s during the run: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]))
                  + f"; total {sum(cpu.values()):.1f}; the machine was busy {r['busy']:.1f} of {secs * (os.cpu_count() or 1):.1f}")
            print(f"  watch events here: {dict(rec.events)}")
            sys.stdout.flush()
            return
        per_group = Counter(p for h, p, _ in r["hooks_at_end"] if h == "sync")
        settled = Counter(p for h, p, _ in r["hooks_settled"] if h == "sync")
        ms = [m for h, _, m in r["hooks_at_end"] if h == "sync"]
        calls = [per_group.get(n, 0) for n in r["names"]]
        print(f"  hook calls per group (sync, hook server log): mean {statistics.mean(calls):.1f}  "
              f"p50 {pct(calls, 50):.0f}  max {max(calls)}; {sum(settled.values()) - sum(per_group.values())} more "
              f"in the {args.settle:g} s after; hook ms p50 {pct(ms, 50):.1f} p99 {pct(ms, 99):.1f}")
        if ris:
            for hook in ("ris-sync", "rins-sync"):
                per = Counter(owner(p) for h, p, _ in r["hooks_at_end"] if h == hook)
                late = sum(1 for h, _, _ in r["hooks_settled"] if h == hook) - sum(per.values())
                hms = [m for h, _, m in r["hooks_at_end"] if h == hook]
                n = [per.get(g, 0) for g in r["names"]]
                print(f"  {hook} calls per group: mean {statistics.mean(n):.1f}  p50 {pct(n, 50):.0f}  max {max(n)}; "
                      f"{late} more in the {args.settle:g} s after; hook ms p50 {pct(hms, 50):.1f} p99 {pct(hms, 99):.1f}")
            problems = r.get("problems") or {}
            print(f"  hook log: {len(problems.get('hooks', []))} failed or rejected requests; Metacontroller log: "
                  f"{len(problems.get('metacontroller', []))} error or failure lines")
            for source, lines in problems.items():
                for line in lines[:5]:
                    print(f"    {source}: {line[:400]}")
    writes = Counter(
        (a["verb"], a["resource"]) for a in r["audit"] if a["agent"] == "metacontroller" and a["verb"] in WRITE_VERBS
    )
    child = {k: v for k, v in writes.items() if not k[1].startswith("rolebasedgroups")}
    parent = {k: v for k, v in writes.items() if k[1].startswith("rolebasedgroups")}
    gets = sum(1 for a in r["audit"] if a["agent"] == "metacontroller" and a["verb"] == "get")
    conflicts = sum(1 for a in r["audit"] if a["agent"] == "metacontroller" and a["code"] == 409)
    g = max(1, args.groups)
    if ris:
        statuses = {k: v for k, v in child.items() if k[1].endswith("/status")}
        workloads = {k: v for k, v in child.items() if not k[1].endswith("/status")}
        print(f"  child writes per group (Metacontroller, audit log): {sum(workloads.values()) / g:.2f}  "
              + ", ".join(f"{verb} {res} {n / g:.2f}" for (verb, res), n in sorted(workloads.items())))
        print(f"  RoleInstanceSet and RoleInstance status writes per group: {sum(statuses.values()) / g:.2f}  "
              + ", ".join(f"{verb} {res} {n / g:.2f}" for (verb, res), n in sorted(statuses.items())))
        by_res = Counter(a["resource"] for a in r["audit"] if a["agent"] == "metacontroller" and a["verb"] == "get")
        print(f"  group requests per group (Metacontroller): get {by_res.get('rolebasedgroups', 0) / g:.2f}, "
              + ", ".join(f"{verb} {res} {n / g:.2f}" for (verb, res), n in sorted(parent.items()))
              + f"; gets of RoleInstanceSets {by_res.get('roleinstancesets', 0) / g:.2f}, of RoleInstances "
              + f"{by_res.get('roleinstances', 0) / g:.2f}; 409 conflicts {conflicts}")
    if r["kind"] in STATEFULSET_GROUPS:
        print(f"  child writes per group (Metacontroller, audit log): {sum(child.values()) / g:.2f}  "
              + ", ".join(f"{verb} {res} {n / g:.2f}" for (verb, res), n in sorted(child.items())))
        print(f"  group requests per group (Metacontroller): get {gets / g:.2f}, "
              + ", ".join(f"{verb} {res} {n / g:.2f}" for (verb, res), n in sorted(parent.items()))
              + f"; 409 conflicts {conflicts}")
    cpu = r["cpu"]
    print("  CPU s during the run: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]))
          + f"; total {sum(cpu.values()):.1f}; the machine was busy {r['busy']:.1f} of {secs * (os.cpu_count() or 1):.1f}"
          + f" (other processes {max(0.0, r['busy'] - sum(cpu.values())):.1f}; stolen {r['steal']:.1f})")
    if args.api_detail:
        print("  peak RSS MiB: " + ", ".join(f"{k} {v:.0f}" for k, v in sorted(r["rss"].items(), key=lambda kv: -kv[1])))
    mc = r["mc"]
    if mc and ris:
        parts = []
        for label, q in RIS_QUEUES:
            n = metric(mc, "workqueue_work_duration_seconds_count", q)
            qd = metric(mc, "workqueue_queue_duration_seconds_sum", q) / max(1, metric(mc, "workqueue_queue_duration_seconds_count", q))
            wd = metric(mc, "workqueue_work_duration_seconds_sum", q) / max(1, n)
            parts.append(f"{label} {metric(mc, 'workqueue_adds_total', q):.0f} adds, {n:.0f} syncs ({n / g:.1f} per group), "
                         f"mean wait {qd * 1000:.0f} ms, mean sync {wd * 1000:.0f} ms, retries {metric(mc, 'workqueue_retries_total', q):.0f}")
        depth, inflight = r["samples"]["depth"], r["samples"]["inflight"]
        print("  metacontroller queues: " + "; ".join(parts))
        print(f"  metacontroller: {metacontroller_syncs(mc, ris=True) / g:.1f} syncs per group; depth (all three) mean "
              f"{statistics.mean(depth or [0]):.1f} max {max(depth or [0]):.0f}; hook requests in flight "
              f"mean {statistics.mean(inflight or [0]):.1f} max {max(inflight or [0]):.0f}; API requests "
              + ", ".join(f"{k} {v:.0f}" for k, v in sorted(rest_requests(mc).items())))
    if mc and r["kind"] in STATEFULSET_GROUPS:
        adds = metric(mc, "workqueue_adds_total", QUEUE)
        syncs = metric(mc, "workqueue_work_duration_seconds_count", QUEUE)
        qd = metric(mc, "workqueue_queue_duration_seconds_sum", QUEUE) / max(1, metric(mc, "workqueue_queue_duration_seconds_count", QUEUE))
        wd = metric(mc, "workqueue_work_duration_seconds_sum", QUEUE) / max(1, syncs)
        depth, inflight = r["samples"]["depth"], r["samples"]["inflight"]
        print(f"  metacontroller queue: {adds:.0f} adds, {syncs:.0f} syncs, mean wait {qd * 1000:.0f} ms, "
              f"mean sync {wd * 1000:.0f} ms, retries {metric(mc, 'workqueue_retries_total', QUEUE):.0f}; "
              f"depth mean {statistics.mean(depth or [0]):.1f} max {max(depth or [0]):.0f}; hook requests in flight "
              f"mean {statistics.mean(inflight or [0]):.1f} max {max(inflight or [0]):.0f}; API requests "
              + ", ".join(f"{k} {v:.0f}" for k, v in sorted(rest_requests(mc).items())))
    print(f"  watch events here: {dict(rec.events)}")
    if args.api_detail:
        api_breakdown(r["api"])
        queues(r["kcm"])
    sys.stdout.flush()


def owner(name: str) -> str:
    """The group of a RoleInstanceSet or RoleInstance name."""
    m = OWNED.match(name)
    return m[1] if m else name


def metacontroller_syncs(mc: dict[str, float], ris: bool) -> float:
    """Syncs of the groups' CompositeController (ris: and of the RoleInstanceSets' and RoleInstances')."""
    return sum(metric(mc, "workqueue_work_duration_seconds_count", q) for _, q in (RIS_QUEUES if ris else RIS_QUEUES[:1]))


FAILED_HOOK = re.compile(r'.*"msg":"(?:hook failed|rejected[^"]*|conversion failed)".*')
# Metacontroller logs JSON lines (zap); klog's own lines start with E for an error.
MC_ERROR = re.compile(r'^(?:.*"level":"(?:error|warn|dpanic|panic|fatal)".*|.*"msg":"[^"]*(?:[Ee]rror|[Ff]ailed)[^"]*".*|E\d{4} .*)$', re.M)


def problems(cluster: LocalCluster, hook_offset: int, mc_offset: int) -> dict[str, list[str]]:
    """Failed or rejected hook requests, and Metacontroller's error lines, logged since the offsets."""
    out = {}
    for source, name, offset, pattern in (("hooks", "hooks.log", hook_offset, FAILED_HOOK), ("metacontroller", "metacontroller.log", mc_offset, MC_ERROR)):
        path = cluster.logs / name
        text = path.read_bytes()[offset:].decode(errors="replace") if path.exists() else ""
        out[source] = [m[0] for m in pattern.finditer(text)]
    return out


def log_size(cluster: LocalCluster, name: str) -> int:
    path = cluster.logs / name
    return path.stat().st_size if path.exists() else 0


def api_breakdown(api: dict[str, float], top: int = 14) -> None:
    """The API server's requests and watch events during the run, from its /metrics."""
    requests_by: defaultdict[str, float] = defaultdict(float)
    watch_events: defaultdict[str, float] = defaultdict(float)
    for k, v in api.items():
        if k.startswith("apiserver_request_total{") and v:
            lab = dict(re.findall(r'(\w+)="([^"]*)"', k))
            if lab.get("verb") in ("WATCH", "CONNECT"):
                continue
            res = lab.get("resource", "") + ("/" + lab["subresource"] if lab.get("subresource") else "")
            requests_by[f"{lab.get('verb')} {res}"] += v
        elif k.startswith("apiserver_watch_events_total{") and v:
            lab = dict(re.findall(r'(\w+)="([^"]*)"', k))
            watch_events[lab.get("resource") or lab.get("kind", "?")] += v
    total = sum(requests_by.values())
    print(f"  API server requests {total:.0f}: " + ", ".join(f"{k} {v:.0f}" for k, v in most(requests_by, top)))
    print(f"  API server watch events sent {sum(watch_events.values()):.0f}: "
          + ", ".join(f"{k} {v:.0f}" for k, v in most(watch_events, 8)))


def most(counts: dict[str, float], n: int) -> list[tuple[str, float]]:
    return sorted(counts.items(), key=lambda kv: -kv[1])[:n]


def queues(series: dict[str, float], top: int = 6) -> None:
    """kube-controller-manager's busiest workqueues during the run: syncs, mean wait, mean sync."""
    rows = []
    for k, v in series.items():
        if k.startswith("workqueue_queue_duration_seconds_sum{"):
            name = re.search(r'name="([^"]*)"', k)[1]  # type: ignore[index]
            q = f'name="{name}"'
            n = metric(series, "workqueue_work_duration_seconds_count", q)
            waited = metric(series, "workqueue_queue_duration_seconds_count", q)
            if n:
                rows.append((v, name, n, v / max(1, waited), metric(series, "workqueue_work_duration_seconds_sum", q) / n))
    rows.sort(reverse=True)
    print("  controller-manager queues (syncs, mean wait, mean sync): " + ", ".join(
        f"{name} {n:.0f} {w * 1000:.0f}/{d * 1000:.0f} ms" for _, name, n, w, d in rows[:top]))


def edge_overhead(rec: Record, names: list[str]) -> tuple[list[float], list[float], list[float]]:
    last_dep: dict[str, float] = {}
    count: Counter[str] = Counter()
    for t, grp, role in rec.pod_ready.values():
        if role in DEPENDENCIES["router"]:
            last_dep[grp] = max(last_dep.get(grp, 0.0), t)
            count[grp] += 1
    edges, sts_part, mc_part = [], [], []
    need = len(DEPENDENCIES["router"]) * rec.pods_per_role
    for n in names:
        router = rec.sts_added.get(f"{n}-router")
        if router is None or count[n] != need:
            continue
        edges.append(router - last_dep[n])
        deps_ready = [rec.sts_ready[f"{n}-{d}"] for d in DEPENDENCIES["router"] if f"{n}-{d}" in rec.sts_ready]
        if len(deps_ready) == len(DEPENDENCIES["router"]):
            ready = max(deps_ready)
            sts_part.append(ready - last_dep[n])
            mc_part.append(router - ready)
    return edges, sts_part, mc_part


def edge_line(values: list[float]) -> str:
    if not values:
        return "-"
    return "  ".join(f"{pct(values, p) * 1000:7.0f}" for p in (50, 99, 100))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", type=int, default=84, help="RoleBasedGroups (3 roles each); default 84 = 1,008 pods")
    ap.add_argument("--pods-per-role", type=int, default=4)
    ap.add_argument("--runs", type=int, default=1, help="runs of each kind, alternating rbg, ris and plain")
    ap.add_argument("--only", choices=("rbg", "gate", "ris", "plain", "upstream"))
    ap.add_argument("--kinds", help="comma-separated kinds to run, in this order each round (default: rbg,ris,plain, and upstream "
                    f"with {UPSTREAM_ENV})")
    ap.add_argument("--pods-per-node", type=int, default=110, help="allocatable pods of each KWOK node")
    ap.add_argument("--nodes", type=int, help="KWOK nodes (default: pods x 1.1 / --pods-per-node)")
    ap.add_argument("--apply-threads", type=int, default=4, help="concurrent create requests")
    ap.add_argument("--timeout", type=float, default=900, help="give up a run after this many seconds")
    ap.add_argument("--settle", type=float, default=3, help="seconds after Ready to count late hook calls")
    ap.add_argument("--bin-dir", type=Path, help="control-plane binaries (default: tools/build.sh's cache)")
    ap.add_argument(
        "--flag", type=component_flag, action="append", default=[], metavar="COMPONENT=--NAME=VALUE",
        help="try a component flag in both runs (repeatable), e.g. kube-scheduler=--kube-api-qps=200",
    )
    ap.add_argument("--overlay", help="register the controllers of this kustomize overlay (e.g. overlays/without-pod-controllers) instead of metacontroller/'s")
    ap.add_argument("--registration", type=Path, help="CompositeControllers (every one in the file) to register instead of metacontroller/'s")
    ap.add_argument("--api-detail", action="store_true", help="print the API server's requests and watch events by kind")
    ap.add_argument("--keep", action="store_true", help="keep each run's state dir (logs, audit log)")
    args = ap.parse_args()

    bin_dir = args.bin_dir or build_dir()
    mc = metacontroller_binary(bin_dir)
    if mc is None:
        print("no Metacontroller: set RBG_METACONTROLLER=/path/to/metacontroller (README.md)", file=sys.stderr)
        return 2
    if args.only:
        kinds = [args.only]
    elif args.kinds:
        kinds = args.kinds.split(",")
    else:
        kinds = ["rbg", "upstream", "ris", "plain"] if os.environ.get(UPSTREAM_ENV) else ["rbg", "ris", "plain"]
    if "upstream" in kinds and not os.environ.get(UPSTREAM_ENV):
        print(f"upstream's controller: not run ({UPSTREAM_ENV} is not set: build sgl-project/rbg v0.6.0's cmd/rbgs by hand, "
              "outside this repository)", flush=True)
        kinds = [k for k in kinds if k != "upstream"]
    elif not os.environ.get(UPSTREAM_ENV):
        print(f"upstream's controller: not run ({UPSTREAM_ENV} is not set)", flush=True)
    print(f"{os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"Metacontroller {mc}", flush=True)
    if args.flag or "GOGC" in os.environ:
        gogc = [f"GOGC={os.environ['GOGC']}"] if "GOGC" in os.environ else []
        print("overrides: " + " ".join(gogc + [f"{n}={f}" for n, f in args.flag]))
    if args.registration:
        print(f"registration: {args.registration}")
    if args.overlay:
        print(f"registrations of {args.overlay}")
    results: dict[str, list[float]] = defaultdict(list)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in range(1, args.runs + 1):
        for kind in kinds:
            r = run_once(kind, args, bin_dir, mc, i)
            results[kind].append(r["seconds"])
            runs[kind].append(r)
            print(flush=True)
    print("== summary ==")
    pods = args.groups * len(ROLES) * args.pods_per_role
    for kind in kinds:
        xs = results[kind]
        print(f"  {kind:<5} {pods} pods: " + ", ".join(f"{x:.2f} s" for x in xs)
              + f"  (median {statistics.median(xs):.2f} s, {pods / statistics.median(xs):.1f} pods/s)")
    pairs = [("rbg", "plain"), ("upstream", "plain"), ("rbg", "upstream"), ("gate", "rbg"), ("gate", "upstream"), ("ris", "rbg"), ("ris", "plain")]
    for a, b in pairs:
        if a in results and b in results:
            ratio = statistics.median(results[a]) / statistics.median(results[b])
            print(f"  {a} / {b}: {ratio:.2f}x (medians); per run: "
                  + ", ".join(f"{x / y:.2f}x" for x, y in zip(results[a], results[b])))
    controllers = [k for k in (*STATEFULSET_GROUPS, "upstream") if k in runs]
    if len(controllers) > 1:
        cpu = {k: [sum(v for n, v in r["cpu"].items() if n in OUR_PROCESSES or n == "upstream") for r in runs[k]] for k in controllers}
        edge = {k: [pct(edge_overhead(r["rec"], r["names"])[0], 99) * 1000 for r in runs[k]] for k in controllers}
        print("  controller CPU s (ours: Metacontroller, hooks and the conversion webhook; upstream: its controller): "
              + "; ".join(f"{k} " + ", ".join(f"{x:.1f}" for x in v) + f" (median {statistics.median(v):.1f})" for k, v in cpu.items()))
        print("  dependency edge p99 ms: " + "; ".join(f"{k} " + ", ".join(f"{x:.0f}" for x in v) + f" (median {statistics.median(v):.0f})"
                                                       for k, v in edge.items()))
    if "ris" in results:
        g = max(1, args.groups)
        for label, value in (
            ("Metacontroller CPU s", lambda r: f"{r['cpu'].get('metacontroller', 0.0):.1f}"),
            ("hooks CPU s", lambda r: f"{r['cpu'].get('hooks', 0.0):.1f}"),
            ("CPU s total (components and this process)", lambda r: f"{sum(r['cpu'].values()):.1f}"),
            ("Metacontroller syncs per group", lambda r: f"{metacontroller_syncs(r['mc'], r['kind'] == 'ris') / g:.1f}"),
        ):
            print(f"  {label}: " + "; ".join(f"{k} " + ", ".join(value(r) for r in runs[k]) for k in kinds
                                             if k in runs and (k in GROUP_KINDS or "syncs" not in label)))
    print(f"  load average now {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def build_dir() -> Path:
    import subprocess

    out = subprocess.run(
        ["bash", str(ROOT / "tools" / "build.sh"), "kube-apiserver", "kube-controller-manager", "kube-scheduler",
         "kubectl", "etcd", "kwok", "kwok-stages"],
        stdout=subprocess.PIPE, text=True, check=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
