"""Peers reach each other by the names upstream's manifests use (hooks.core.services).

Upstream (sgl-project/rbg since v0.5) names a StatefulSet role's headless Service
`s-<group>-<role>`, and its own examples hard-code that DNS name: a router is started with
`--prefill http://<group>-prefill-0.s-<group>-prefill:8000`. A group created before keeps its
`<group>-<role>` Service (a StatefulSet's serviceName cannot change, and its pods keep their names).

The checks resolve names with ClusterDNS, which answers as a cluster's DNS would, from nothing
but the Services and StatefulSets the hooks return.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from hooks import constants as c
from tests.support import UPSTREAM_EXAMPLES, V1ALPHA1, by_kind, example_group, observe, parent, request, sync

Obj = dict[str, Any]
NAMESPACE = "default"
UPSTREAM = UPSTREAM_EXAMPLES.parent.parent  # ../shared/upstream
SGLANG_PD = UPSTREAM_EXAMPLES / "pd-disagg" / "sglang" / "sglang-pd.yaml"
MINIMAL = V1ALPHA1 / "minimal.yaml"


def _hard_coded() -> list[Path]:
    """Upstream's v1alpha1 examples (v0.6.0's, and v0.7.0's deprecated/v1alpha1 copies) that
    hard-code a peer's address `<pod>.s-<group>-<role>`; the others are v1alpha2 only."""
    out = []
    for path in sorted(UPSTREAM.rglob("*.yaml")):
        text = path.read_text()
        groups = [d for d in yaml.safe_load_all(text) if d and d.get("kind") == c.KIND_RBG]
        if re.search(r"\.s-[a-z0-9-]+", text) and any(d.get("apiVersion") == c.API_VERSION_V1ALPHA1 for d in groups):
            out.append(path)
    return out


HARD_CODED = _hard_coded()


# --- a cluster's DNS, from the hooks' answer ------------------------------------------------------


class ClusterDNS:
    """Names as a cluster DNS (CoreDNS's kubernetes plugin) answers them in `namespace`, from the
    children of a sync answer only.

    A headless Service (clusterIP None) `svc` names the pods of a StatefulSet `sts` whose
    spec.serviceName is `svc` and whose pod template carries every label of the Service's
    selector (the StatefulSet controller sets hostname `<sts>-<i>` and subdomain `svc` on its pods
    `<sts>-<i>`, i < replicas): `<sts>-<i>.<svc>` from within the namespace, and
    `<sts>-<i>.<svc>.<namespace>.svc.cluster.local` from anywhere. The Service's own name
    (`<svc>`, `<svc>.<namespace>.svc.cluster.local`) answers with every pod it selects. The
    Services publish not-ready addresses (the hooks ask for it), so readiness is not modelled.
    Nothing else resolves.
    """

    def __init__(self, children: Iterable[Obj], namespace: str = NAMESPACE) -> None:
        self.namespace = namespace
        self.records: dict[str, set[str]] = {}
        children = list(children)
        services = [ch for ch in children if ch["kind"] == "Service" and (ch.get("spec") or {}).get("clusterIP") == "None"]
        sets = [ch for ch in children if ch["kind"] == c.KIND_STATEFULSET]
        for svc in services:
            name = svc["metadata"]["name"]
            selector = svc["spec"].get("selector") or {}
            for sts in sets:
                spec = sts["spec"]
                labels = (spec["template"].get("metadata") or {}).get("labels") or {}
                if not selector or any(labels.get(k) != v for k, v in selector.items()):
                    continue  # no endpoints of this Service
                pods = {f"{sts['metadata']['name']}-{i}" for i in range(spec.get("replicas", 1))}
                for short in (name, f"{name}.{namespace}.svc.cluster.local"):
                    self.records.setdefault(short, set()).update(pods)
                if spec.get("serviceName") != name:
                    continue  # selected, but the pods' subdomain is another Service: no hostname records here
                for pod_name in pods:
                    for host in (f"{pod_name}.{name}", f"{pod_name}.{name}.{namespace}.svc.cluster.local"):
                        self.records.setdefault(host, set()).add(pod_name)

    def resolve(self, host: str) -> set[str]:
        """The pods `host` answers with; empty: NXDOMAIN."""
        return set(self.records.get(host.rstrip(".").lower(), ()))


def _workload(name: str, service: str, replicas: int, labels: dict[str, str]) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": c.KIND_STATEFULSET,
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "serviceName": service, "template": {"metadata": {"labels": labels}, "spec": {}}},
    }


def _service(name: str, selector: dict[str, str], headless: bool = True) -> Obj:
    spec: Obj = {"selector": selector}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def test_the_resolver_answers_only_for_pods_of_a_headless_service_that_selects_them() -> None:
    app = {"app": "x"}
    dns = ClusterDNS(
        [
            _service("svc", app),
            _workload("web", "svc", 2, {**app, "more": "y"}),
            _workload("other", "svc", 1, {"app": "z"}),  # not selected
            _workload("stray", "missing", 1, app),  # selected, named in a Service that does not exist
            _service("plain", app, headless=False),
            _workload("behind", "plain", 1, app),  # a ClusterIP Service gives pods no names
        ]
    )
    assert dns.resolve("web-0.svc") == {"web-0"}
    assert dns.resolve("web-1.svc.default.svc.cluster.local") == {"web-1"}
    assert dns.resolve("svc") == {"web-0", "web-1", "stray-0", "behind-0"}
    for host in ["web-2.svc", "web-0.svc.other.svc.cluster.local", "other-0.svc", "stray-0.svc", "stray-0.missing", "behind-0.plain", "plain", "web-0", "svc.default"]:
        assert dns.resolve(host) == set(), host


# --- driving a group ------------------------------------------------------------------------------


def _profiles(path: Path) -> dict[str, Obj]:
    """The engine runtime profiles of the example's folder, by name."""
    out = {}
    for f in sorted(path.parent.glob("*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if doc and doc.get("kind") == c.KIND_ENGINE_RUNTIME_PROFILE:
                out[doc["metadata"]["name"]] = doc
    return out


def _request(group: Obj, children: dict[str, dict[str, Any]] | None, profiles: dict[str, Obj]) -> Obj:
    req = request(group, children)
    req["related"] = {c.RELATED_ENGINE_RUNTIME_PROFILE: {f"/{n}": p for n, p in profiles.items()}}
    return req


def start(group: Obj, profiles: dict[str, Obj] | None = None, children: dict[str, dict[str, Any]] | None = None) -> tuple[list[Obj], Obj]:
    """The children and status a group's answers settle on, each step observing the previous
    answer applied, every workload ready (as Metacontroller would show them)."""
    profiles = profiles or {}
    result = sync(_request(group, children, profiles))
    for step in range(1, 10):
        with_status = copy.deepcopy(group)
        with_status["status"] = result.status
        previous, result = result, sync(_request(with_status, observe(result.children, time=f"2026-01-01T00:{step:02d}:00Z"), profiles))
        if result.children == previous.children:
            return result.children, result.status
    raise AssertionError("startup did not converge")


def _config(children: list[Obj], group: str) -> Obj:
    cm = by_kind(children)[("ConfigMap", f"{group}-discovery")]
    return yaml.safe_load(cm["data"]["config.yaml"])


def _addresses(config: Obj) -> dict[str, list[str]]:
    """config.yaml's instance (and worker) addresses, by role."""
    out: dict[str, list[str]] = {}
    for role, entry in config["roles"].items():
        for instance in entry.get("instances") or []:
            out.setdefault(role, []).append(instance["address"])
            out[role] += instance.get("workers") or []
    return out


def _ready(status: Obj) -> bool:
    return any(cond["type"] == "Ready" and cond["status"] == "True" for cond in status.get("conditions") or [])


def _pods_of_group(children: list[Obj], group: str) -> set[str]:
    """The pods the group's StatefulSets run."""
    return {
        f"{ch['metadata']['name']}-{i}"
        for ch in children
        if ch["kind"] == c.KIND_STATEFULSET and ch["metadata"]["name"].startswith(f"{group}-")
        for i in range(ch["spec"].get("replicas", 1))
    }


def _containers(workload: Obj) -> list[Obj]:
    spec = workload["spec"]["template"]["spec"]
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


_URL = re.compile(r"https?://([A-Za-z0-9.-]+):(\d+)")
_HOST_PORT = re.compile(r"([a-z0-9][a-z0-9.-]*):(\d+)")


def _urls(container: Obj) -> list[str]:
    """Hosts of the `http://<host>:<port>` in a container's command, args and env values."""
    text = [*(container.get("command") or []), *(container.get("args") or []), *(e.get("value") or "" for e in container.get("env") or [])]
    return [m[1] for m in _URL.finditer("\n".join(text))]


def _supported(group: Obj) -> Obj:
    """The group with each role whose workload the hooks do not run (upstream's InstanceSet) run
    as the default StatefulSet: no other role's address depends on it."""
    out = copy.deepcopy(group)
    for role in out["spec"]["roles"]:
        workload = role.get("workload") or {}
        if workload and (workload.get("apiVersion"), workload.get("kind")) not in c.SUPPORTED_WORKLOADS:
            del role["workload"]
    return out


# --- upstream's manifests reach their peers -------------------------------------------------------


@pytest.mark.parametrize("path", HARD_CODED, ids=lambda p: p.relative_to(UPSTREAM).as_posix())
def test_upstreams_hard_coded_peer_addresses_resolve_to_pods_of_the_group(path: Path) -> None:
    assert SGLANG_PD in HARD_CODED and len(HARD_CODED) >= 2
    group = _supported(example_group(path))
    name = group["metadata"]["name"]
    children, status = start(group, _profiles(path))
    assert _ready(status), status["conditions"]
    dns = ClusterDNS(children)
    pods = _pods_of_group(children, name)

    # The router, with its peers written into its command line.
    router = by_kind(children)[(c.KIND_STATEFULSET, f"{name}-router")]
    hosts = [h for ctr in _containers(router) for h in _urls(ctr)]
    assert hosts, "the router names no peer"
    for host in hosts:
        assert dns.resolve(host), f"the router's peer {host} does not resolve; headless Services: {sorted(ch['metadata']['name'] for ch in children if ch['kind'] == 'Service')}"
        assert dns.resolve(host) <= pods

    # Every address any workload is given: URLs, and `host:port` values (MOONCAKE_MASTER).
    for workload in (ch for ch in children if ch["kind"] in c.WORKLOAD_KINDS):
        for ctr in _containers(workload):
            given = _urls(ctr) + [m[1] for e in ctr.get("env") or [] if (m := _HOST_PORT.fullmatch(e.get("value") or ""))]
            for host in given:
                assert dns.resolve(host) and dns.resolve(host) <= pods, f"{workload['metadata']['name']}/{ctr['name']}: {host} does not resolve"

    # And every address /etc/rbg/config.yaml gives.
    addresses = [a for role in _addresses(_config(children, name)).values() for a in role]
    assert addresses
    for address in addresses:
        assert len(dns.resolve(address)) == 1 and dns.resolve(address) <= pods, f"config.yaml's {address} does not resolve"


# --- a new group --------------------------------------------------------------------------------


def test_a_new_group_gets_upstreams_service_names() -> None:
    children, status = start(example_group(MINIMAL))
    assert _ready(status)
    got = by_kind(children)
    for role, replicas in [("db", 1), ("app", 2)]:
        assert ("Service", f"s-minimal-{role}") in got
        assert ("Service", f"minimal-{role}") not in got
        assert got[("Service", f"s-minimal-{role}")]["spec"]["clusterIP"] == "None"
        assert got[(c.KIND_STATEFULSET, f"minimal-{role}")]["spec"]["serviceName"] == f"s-minimal-{role}"
        assert _addresses(_config(children, "minimal"))[role] == [f"minimal-{role}-{i}.s-minimal-{role}" for i in range(replicas)]
    dns = ClusterDNS(children)
    assert dns.resolve("minimal-app-1.s-minimal-app") == {"minimal-app-1"}
    assert dns.resolve("minimal-app-1.minimal-app") == set()


# --- a running group keeps what it has ------------------------------------------------------------


def _as_created_before(children: list[Obj], group: str, roles: Iterable[str]) -> list[Obj]:
    """`children` as the previous version applied them: every `s-<group>-<role>` (Service name,
    serviceName, config.yaml addresses) spelled `<group>-<role>`."""
    text = json.dumps(children)
    for role in roles:
        text = text.replace(f"s-{group}-{role}", f"{group}-{role}")
    return json.loads(text)


def _two_roles(name: str = "grp", roles: tuple[str, ...] = ("a", "b")) -> Obj:
    def role(r: str) -> Obj:
        return {
            "name": r,
            "replicas": 2,
            "servicePorts": [{"name": "http", "port": 8000}],
            "template": {"spec": {"containers": [{"name": r, "image": "busybox:1.36", "ports": [{"containerPort": 8000}]}]}},
        }

    return parent({"apiVersion": c.API_VERSION_V1ALPHA1, "kind": c.KIND_RBG, "metadata": {"name": name}, "spec": {"roles": [role(r) for r in roles]}})


def test_a_running_group_keeps_its_service_names_and_its_pods() -> None:
    """A group the previous version created and started keeps its Services, its StatefulSets as
    last applied (no pod is replaced) and its addresses; a role added now gets upstream's name."""
    group = example_group(MINIMAL)
    new, _ = start(group)
    before = _as_created_before(new, "minimal", ["db", "app"])
    assert ("Service", "minimal-db") in by_kind(before) and ("Service", "s-minimal-db") not in by_kind(before)
    observed = observe(before)

    # The first answer after the upgrade changes nothing.
    first = by_kind(sync(request(group, observed)).children)
    assert sorted(n for k, n in first if k == "Service") == ["minimal-app", "minimal-db"]
    for key in [(c.KIND_STATEFULSET, "minimal-db"), (c.KIND_STATEFULSET, "minimal-app"), ("Service", "minimal-db"), ("Service", "minimal-app")]:
        assert first[key]["spec"] == by_kind(before)[key]["spec"], key

    grown = copy.deepcopy(group)
    grown["spec"]["roles"].append({"name": "cache", "replicas": 1, "template": {"spec": {"containers": [{"name": "cache", "image": "redis:7"}]}}})
    children, status = start(grown, children=observed)
    assert _ready(status)
    got = by_kind(children)
    services = sorted(n for k, n in got if k == "Service")
    assert services == ["minimal-app", "minimal-db", "s-minimal-cache"]
    for role in ["db", "app"]:
        sts = got[(c.KIND_STATEFULSET, f"minimal-{role}")]
        applied = json.loads(observed[c.CHILD_STATEFULSET][f"default/minimal-{role}"]["metadata"]["annotations"][c.ANNOTATION_LAST_APPLIED])
        assert sts["spec"]["serviceName"] == f"minimal-{role}"
        assert sts["spec"] == applied["spec"], f"minimal-{role}'s pods would be replaced"
    assert got[(c.KIND_STATEFULSET, "minimal-cache")]["spec"]["serviceName"] == "s-minimal-cache"
    addresses = _addresses(_config(children, "minimal"))
    assert addresses == {
        "db": ["minimal-db-0.minimal-db"],
        "app": ["minimal-app-0.minimal-app", "minimal-app-1.minimal-app"],
        "cache": ["minimal-cache-0.s-minimal-cache"],
    }
    dns = ClusterDNS(children)
    for address in [a for role in addresses.values() for a in role]:
        assert len(dns.resolve(address)) == 1, address


def test_a_role_with_only_the_old_service_keeps_its_name() -> None:
    """The previous version created role a's Service but not yet its StatefulSet: a's pods are
    named in that Service; role b, with nothing created, gets upstream's name."""
    fresh = sync(request(_two_roles())).children
    service_a = next(ch for ch in fresh if ch["kind"] == "Service" and ch["spec"]["selector"].get(c.LABEL_ROLE_NAME) == "a")
    old_service = [copy.deepcopy(service_a)]
    old_service[0]["metadata"]["name"] = "grp-a"  # as the previous version named it
    answer = sync(request(_two_roles(), observe(old_service)))
    got = by_kind(answer.children)
    assert ("Service", "grp-a") in got and ("Service", "s-grp-a") not in got
    assert got[(c.KIND_STATEFULSET, "grp-a")]["spec"]["serviceName"] == "grp-a"
    assert ("Service", "s-grp-b") in got and ("Service", "grp-b") not in got
    assert got[(c.KIND_STATEFULSET, "grp-b")]["spec"]["serviceName"] == "s-grp-b"

    children, status = start(_two_roles(), children=observe(old_service))
    assert _ready(status)
    assert _addresses(_config(children, "grp")) == {"a": ["grp-a-0.grp-a", "grp-a-1.grp-a"], "b": ["grp-b-0.s-grp-b", "grp-b-1.s-grp-b"]}
    dns = ClusterDNS(children)
    assert all(dns.resolve(a) for role in _addresses(_config(children, "grp")).values() for a in role)


# --- names at the length limits -----------------------------------------------------------------


def test_the_longest_valid_names_get_upstreams_service_name() -> None:
    """`<group>-<role>` may take MAX_WORKLOAD_NAME (52) characters, so `s-<group>-<role>` (54)
    is always a DNS label for a valid group: the fallback below is never needed by one."""
    role = "prefill"
    group = "g" * (c.MAX_WORKLOAD_NAME - len(role) - 1)
    workload = f"{group}-{role}"
    assert len(workload) == c.MAX_WORKLOAD_NAME
    children, status = start(_two_roles(group, (role,)))
    assert _ready(status), status["conditions"]
    got = by_kind(children)
    service = f"s-{workload}"
    assert len(service) == 54 and ("Service", service) in got
    assert got[(c.KIND_STATEFULSET, workload)]["spec"]["serviceName"] == service
    assert _addresses(_config(children, group))[role] == [f"{workload}-0.{service}", f"{workload}-1.{service}"]
    assert ClusterDNS(children).resolve(f"{workload}-1.{service}") == {f"{workload}-1"}

    # One character more is not a valid group at all.
    invalid = sync(request(_two_roles(group + "g", (role,))))
    assert invalid.children == [] or not any(ch["kind"] == c.KIND_STATEFULSET for ch in invalid.children)
    assert any(cond["type"] == "InvalidSpec" and cond["status"] == "True" for cond in invalid.status["conditions"])
