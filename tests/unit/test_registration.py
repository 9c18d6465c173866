"""metacontroller/: the registration matches what the hooks emit."""

import yaml

from tests.support import EXAMPLES, ROOT, example_group, startup_stages, sync

MC = ROOT / "metacontroller"


def _controller():
    return yaml.safe_load((MC / "compositecontroller.yaml").read_text())


def test_every_child_kind_the_hooks_emit_is_registered_in_place():
    registered = {
        (r["apiVersion"], r["resource"]): r["updateStrategy"]["method"] for r in _controller()["spec"]["childResources"]
    }
    plural = {"ConfigMap": "configmaps", "Service": "services", "StatefulSet": "statefulsets", "Deployment": "deployments"}
    emitted = {
        (ch["apiVersion"], plural[ch["kind"]])
        for example in EXAMPLES
        for req in startup_stages(example_group(example))
        for ch in sync(req).children
    }
    assert emitted <= set(registered)  # same apiVersion as registered, or Metacontroller recreates them
    assert set(registered.values()) == {"InPlace"}


def test_hooks_and_parent():
    spec = _controller()["spec"]
    assert spec["generateSelector"] is True
    # Metacontroller's own status writes queue no sync: the hooks would answer the same.
    assert spec["parentResource"] == {
        "apiVersion": "workloads.x-k8s.io/v1alpha1", "resource": "rolebasedgroups", "ignoreStatusChanges": True,
    }
    assert {name: (h["version"], h["webhook"]["path"]) for name, h in spec["hooks"].items()} == {
        "customize": ("v2", "/customize"),
        "sync": ("v2", "/sync"),
        "finalize": ("v2", "/finalize"),
    }


def test_metacontroller_may_do_what_the_controller_needs_and_no_more():
    role = next(d for d in yaml.safe_load_all((MC / "rbac.yaml").read_text()) if d["metadata"]["name"] == "rbg-metacontroller")
    granted = {(g, r): set(rule["verbs"]) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    children = {("", "configmaps"), ("", "services"), ("apps", "statefulsets"), ("apps", "deployments")}
    for key in children:
        assert granted[key] == {"get", "list", "watch", "create", "update", "patch", "delete"}
    assert granted[("workloads.x-k8s.io", "rolebasedgroups")] == {"get", "list", "watch", "update", "patch"}
    assert granted[("", "pods")] == {"list", "watch"}  # related objects: read, never written
    assert set(granted) == children | {
        ("", "pods"),
        ("workloads.x-k8s.io", "rolebasedgroups"),
        ("workloads.x-k8s.io", "rolebasedgroups/status"),
        ("workloads.x-k8s.io", "rolebasedgroups/finalizers"),
    }
    assert all("*" not in verbs for verbs in granted.values())


def test_hook_server_runs_unprivileged_without_api_access():
    docs = {d["kind"]: d for d in yaml.safe_load_all((MC / "hooks.yaml").read_text())}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert docs["ServiceAccount"]["automountServiceAccountToken"] is False and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"


def test_image_is_multi_stage_and_runs_gunicorn_as_non_root():
    """Static checks only: no Docker engine runs on the machines this is tested on."""
    lines = [ln.split() for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln and not ln.startswith("#")]
    stages = [ln for ln in lines if ln[0] == "FROM"]
    assert len(stages) == 2 and stages[-1][1].startswith("gcr.io/distroless/python3")
    assert ["USER", "65532:65532"] in lines
    assert " ".join(next(ln for ln in lines if ln[0] == "ENTRYPOINT")[1:]) == '["python3", "-m", "hooks.cli"]'
    assert " ".join(next(ln for ln in lines if ln[0] == "CMD")[1:]).startswith('["serve", "--bind", "0.0.0.0:8080"')


def _hook_pod():
    return next(d for d in yaml.safe_load_all((MC / "hooks.yaml").read_text()) if d["kind"] == "Deployment")["spec"]["template"]


def test_metrics_files_go_to_the_writable_emptydir_and_annotations_name_the_metrics_port():
    pod = _hook_pod()
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    empty = {v["name"] for v in pod["spec"]["volumes"] if "emptyDir" in v}
    mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty]
    assert any(env["PROMETHEUS_MULTIPROC_DIR"].startswith(m + "/") for m in mounts)  # the root filesystem is read-only
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) in {p["containerPort"] for p in container["ports"]}


def test_monitoring_scrapes_the_hook_pods_and_metacontroller_and_is_installed_on_its_own():
    monitoring = MC / "monitoring"
    files = yaml.safe_load((monitoring / "kustomization.yaml").read_text())["resources"]
    docs = {(d["kind"], d["metadata"]["name"]): d for f in files for d in yaml.safe_load_all((monitoring / f).read_text())}
    installed = yaml.safe_load((MC / "kustomization.yaml").read_text())["resources"]
    assert not any("monitoring" in r for r in installed)  # it needs the prometheus-operator CRDs

    hooks, pod = docs[("PodMonitor", "rbg-hooks")], _hook_pod()
    assert hooks["metadata"]["namespace"] == "rbg-system"
    assert hooks["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    (endpoint,) = hooks["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] in {p["name"] for p in pod["spec"]["containers"][0]["ports"]} and endpoint["path"] == "/metrics"
    assert endpoint["honorLabels"] is True  # rbg_group_condition's `namespace` is the group's

    service, monitor = docs[("Service", "metacontroller-metrics")], docs[("ServiceMonitor", "metacontroller")]
    assert service["metadata"]["namespace"] == monitor["metadata"]["namespace"] == "metacontroller"
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "metacontroller"}  # its upstream StatefulSet's pods
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == 9999  # Metacontroller's default --metrics-address
    assert monitor["spec"]["endpoints"] == [{"port": port["name"], "path": "/metrics"}]
