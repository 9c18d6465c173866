"""One real local control plane per test session, a namespace per test, component logs on failure.

The binaries come from tools/build.sh (built from the Go module proxy on first use, then cached).
If they can not be built or the cluster does not start, every test here errors: nothing skips.
Metacontroller is not part of it: it can not be built from the proxy (tools/README.md).
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from hooks.cli import BUILDABLE
from hooks.localcluster.cluster import LocalCluster
from hooks.localcluster.kube import ApiError, Kube, wait_for

ROOT = Path(__file__).resolve().parents[2]
_CLUSTER: list[LocalCluster] = []


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    build = subprocess.run(
        ["bash", str(ROOT / "tools" / "build.sh"), *BUILDABLE], stdout=subprocess.PIPE, text=True, check=False
    )
    assert build.returncode == 0, f"tools/build.sh failed with exit {build.returncode}; its log is above"
    return Path(build.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def cluster(bin_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    c = LocalCluster(bin_dir, tmp_path_factory.mktemp("cluster"), nodes=4, rbg=True, metacontroller=False)
    _CLUSTER.append(c)
    c.start()
    yield c
    c.stop()
    _CLUSTER.clear()


@pytest.fixture
def kube(cluster: LocalCluster) -> Kube:
    return cluster.kube


@pytest.fixture
def ns(kube: Kube):
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    # The ServiceAccount admission plugin rejects pods until the namespace's default SA exists.
    wait_for(bool, 30, f"ServiceAccount {name}/default", lambda: kube.get("v1", "ServiceAccount", "default", name))
    yield name
    try:
        kube.request("DELETE", kube.path("v1", "Namespace", name, None))
    except ApiError:
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _CLUSTER:
        for name in _CLUSTER[0].components:
            report.sections.append((f"log of {name}", _CLUSTER[0].log_tail(name, lines=30)))
