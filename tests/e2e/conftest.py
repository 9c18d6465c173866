"""Real local control planes for the e2e suite, a namespace per test, component logs on failure.

The binaries come from tools/build.sh (built from the Go module proxy on first use, then cached).
If they can not be built or a cluster does not start, every test that needs it errors.

Three clusters, each started on first use and kept for the session:
- `cluster`: the control plane and the hook server, no controller. Tests drive the hooks and
  apply what they return, so nothing else writes to the objects they check.
- `mc_cluster`: the same plus Metacontroller with our CompositeController, for the tier marked
  `metacontroller`. Metacontroller is served by no module proxy here: give a binary with
  RBG_METACONTROLLER=/path/to/metacontroller. Without one, every test of the tier is reported
  skipped with that reason (and `make test` says so in its last line); a path that is not an
  executable file is an error.
- With RBG_LWS_CONTROLLER=/path/to/lws-controller as well (no registry serves it either; built by
  hand from kubernetes-sigs/lws), `mc_cluster` also runs the LeaderWorkerSet controller with its
  CRDs (RBG_LWS_CRDS: the other CRDs it watches) and webhooks, and registers the rolebasedgroup
  controller as overlays/leaderworkerset does. The tests marked `lws` (Metacontroller-tier tests
  too) need it; without it they are reported skipped with that reason.
- `real_node_cluster`: a control plane with one KWOK node and a real node (localcluster/realnode.py:
  containerd, kubelet, kube-proxy, CoreDNS), running the images of $RBG_IMAGES or of
  `tools/images.sh pause busybox`. Where the machine can not run it (not root, containerd or runc
  not installed, another real node running, ...) its tests are reported skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, ServiceAccount

from rbgcli.main import BUILDABLE, REAL_NODE_IMAGES
from localcluster import realnode
from localcluster.cluster import (
    LWS_CONTROLLER_ENV,
    LWS_CRDS_ENV,
    METACONTROLLER_ENV,
    LocalCluster,
    lws_controller_binary,
    metacontroller_binary,
)
from rbgclient.kube import wait_for
from tests.e2e.watch import Recorder

ROOT = Path(__file__).resolve().parents[2]
SKIP_METACONTROLLER = (
    f"Metacontroller tier not run: {METACONTROLLER_ENV} is not set "
    "(no registry serves Metacontroller; build it by hand and set "
    f"{METACONTROLLER_ENV}=/path/to/metacontroller, see README.md)"
)
SKIP_LWS = (
    f"LWS tests not run: {LWS_CONTROLLER_ENV} is not set "
    "(no registry serves the LeaderWorkerSet controller; build it by hand from kubernetes-sigs/lws and set "
    f"{LWS_CONTROLLER_ENV}=/path/to/lws-controller and {LWS_CRDS_ENV}=<lws checkout>/config/crd/bases, "
    "with the Metacontroller tier, see README.md)"
)
_CLUSTERS: list[LocalCluster] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"lws: needs a LeaderWorkerSet controller ({LWS_CONTROLLER_ENV}); skipped without one")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """One skip reason per test: the LWS controller's if an `lws` test lacks it, else Metacontroller's."""
    for item in items:
        if "lws" in item.keywords and not os.environ.get(LWS_CONTROLLER_ENV):
            item.add_marker(pytest.mark.skip(reason=SKIP_LWS))
        elif "metacontroller" in item.keywords and not os.environ.get(METACONTROLLER_ENV):
            item.add_marker(pytest.mark.skip(reason=SKIP_METACONTROLLER))


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    build = subprocess.run(
        ["bash", str(ROOT / "tools" / "build.sh"), *BUILDABLE], stdout=subprocess.PIPE, text=True, check=False
    )
    assert build.returncode == 0, f"tools/build.sh failed with exit {build.returncode}; its log is above"
    return Path(build.stdout.strip().splitlines()[-1])


def _start(bin_dir: Path, state_dir: Path, metacontroller: Path | None, lws_controller: Path | None = None, **options: Any) -> LocalCluster:
    c = LocalCluster(bin_dir, state_dir, nodes=4, rbg=True, metacontroller=metacontroller, lws_controller=lws_controller, **options)
    _CLUSTERS.append(c)
    c.start()
    return c


@pytest.fixture(scope="session")
def cluster(bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    c = _start(bin_dir, tmp_path_factory.mktemp("cluster"), metacontroller=None)
    yield c
    c.stop()


@pytest.fixture(scope="session")
def mc_cluster(bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    binary = metacontroller_binary(bin_dir)
    assert binary is not None, SKIP_METACONTROLLER
    c = _start(bin_dir, tmp_path_factory.mktemp("mc-cluster"), metacontroller=binary, lws_controller=lws_controller_binary())
    yield c
    c.stop()


@pytest.fixture(scope="session")
def real_node_cluster(bin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    reason = realnode.host_unavailable()
    if reason is not None:
        pytest.skip(f"real node not run: {reason}")
    build = subprocess.run(
        ["bash", str(ROOT / "tools" / "build.sh"), *realnode.BINARIES], stdout=subprocess.PIPE, text=True, check=False
    )
    assert build.returncode == 0, f"tools/build.sh {' '.join(realnode.BINARIES)} failed with exit {build.returncode}; its log is above"
    images = real_node_images()
    reason = realnode.unavailable(bin_dir, images)
    if reason is not None:
        pytest.skip(f"real node not run: {reason}")
    c = LocalCluster(bin_dir, tmp_path_factory.mktemp("real-node"), nodes=1, rbg=False, real_node=True, images=images)
    _CLUSTERS.append(c)
    c.start()
    yield c
    c.stop()


def real_node_images() -> Path:
    """$RBG_IMAGES, else the directory tools/images.sh prints last (building what is missing): the
    node's, the hook server's (the in-cluster install) and, with RBG_METACONTROLLER, Metacontroller's."""
    given = os.environ.get(realnode.IMAGES_ENV)
    if given:
        return Path(given)
    wanted = [*REAL_NODE_IMAGES, "hooks", *(["metacontroller"] if os.environ.get(METACONTROLLER_ENV) else [])]
    build = subprocess.run(["bash", str(ROOT / "tools" / "images.sh"), *wanted], stdout=subprocess.PIPE, text=True, check=False)
    assert build.returncode == 0, f"tools/images.sh failed with exit {build.returncode}; its log is above"
    return Path(build.stdout.strip().splitlines()[-1])


@pytest.fixture
def kube(cluster: LocalCluster) -> Client:
    return cluster.kube


def namespace(kube: Client) -> Iterator[str]:
    """A fresh namespace whose default ServiceAccount exists (pods are rejected until it does)."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    kube.create(Namespace(metadata=ObjectMeta(name=name)))
    wait_for(bool, 30, f"ServiceAccount {name}/default", lambda: kube.get(ServiceAccount, "default", namespace=name))
    yield name
    try:
        kube.delete(Namespace, name)
    except ApiError:
        pass


@pytest.fixture
def ns(kube: Client) -> Iterator[str]:
    yield from namespace(kube)


@pytest.fixture
def mc_kube(mc_cluster: LocalCluster) -> Client:
    return mc_cluster.kube


@pytest.fixture
def mc_ns(mc_kube: Client) -> Iterator[str]:
    yield from namespace(mc_kube)


@pytest.fixture
def rec(mc_cluster: LocalCluster, mc_kube: Client, mc_ns: str, request: pytest.FixtureRequest) -> Iterator[Recorder]:
    """Every watch event of the test's namespace, of the kinds its module names in KINDS, from the
    namespace's creation on: nothing the test does can be missed."""
    since = mc_kube.get(Namespace, mc_ns).metadata.resourceVersion
    with Recorder(mc_cluster.kubeconfig, mc_ns, request.module.KINDS, since) as r:
        yield r


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for c in _CLUSTERS:
            for name in c.components:
                report.sections.append((f"log of {name} ({c.state_dir.name})", c.log_tail(name, lines=30)))
