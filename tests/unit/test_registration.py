"""metacontroller/: the registration matches what the hooks emit, and the CRDs in crds/."""

import re

import yaml

from hooks import constants as c
from hooks.app import create_app
from localcluster.cluster import REGISTRATIONS, controller_manifests
from tests.support import EXAMPLES, ROOT, example_group, startup_stages, sync

MC = ROOT / "metacontroller"
API = f"{c.GROUP}/{c.VERSION}"
SEED_API = c.SEED_API_VERSION
CONTROLLERS = (
    "rolebasedgroup",
    "rolebasedgroupset",
    "openpatio-rolebasedgroupset",
    "rolebasedgroupscalingadapter",
    "coordinatedpolicy",
    "roleinstanceset",
    "roleinstance",
)
SERVICE = {"name": "rbg-hooks", "namespace": "rbg-system", "port": 80, "protocol": "http"}
CHILD_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}
# The group controller's child types: those its hooks know (c.CHILD_TYPES) and its roles'
# RoleInstanceSets (registered whether or not the hooks emit them yet).
GROUP_CHILD_TYPES = {*c.CHILD_TYPES, c.CHILD_ROLE_INSTANCE_SET}


def _controllers():
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all((MC / "compositecontroller.yaml").read_text()) if d}


def _controller(name="rolebasedgroup"):
    return _controllers()[name]


def _hooks(spec):
    return {name: (h["version"], h["webhook"]["path"]) for name, h in spec["hooks"].items()}


def _children(spec):
    return [(r["apiVersion"], r["resource"], r["updateStrategy"]["method"]) for r in spec.get("childResources", [])]


def test_one_composite_controller_per_parent_kind():
    controllers = _controllers()
    assert tuple(controllers) == CONTROLLERS
    assert {(d["apiVersion"], d["kind"]) for d in controllers.values()} == {("metacontroller.k8s.io/v1alpha1", "CompositeController")}
    for spec in (d["spec"] for d in controllers.values()):
        assert spec["generateSelector"] is True
        # Metacontroller's own status writes queue no sync: the hooks would answer the same.
        assert spec["parentResource"]["ignoreStatusChanges"] is True
        for hook in spec["hooks"].values():
            assert hook["version"] == "v2"  # children keyed "namespace/name"; strict response decoding
            assert hook["webhook"]["service"] == SERVICE and hook["webhook"]["timeout"] == "10s"
        assert {method for _, _, method in _children(spec)} <= {"InPlace"}


def test_every_parent_and_child_of_ours_is_a_crd_of_crds():
    installed = yaml.safe_load((ROOT / "crds" / "kustomization.yaml").read_text())["resources"]
    crds = {
        (f"{d['spec']['group']}/{v['name']}", d["spec"]["names"]["plural"])
        for name in installed
        for d in [yaml.safe_load((ROOT / "crds" / name).read_text())]
        for v in d["spec"]["versions"]
    }
    parents = {(s["parentResource"]["apiVersion"], s["parentResource"]["resource"]) for s in (d["spec"] for d in _controllers().values())}
    related = {(API, c.ENGINE_RUNTIME_PROFILES)}  # read by the groups' customize hook, controlled by nobody
    served = {(api, res) for api, res in crds if not api.endswith("/" + c.VERSION_V1ALPHA1) or api.startswith(c.SEED_GROUP)}
    assert parents == served - related  # a controller for every other kind at the version the hooks read, each installed first
    ours = {(api, res) for d in _controllers().values() for api, res, _ in _children(d["spec"]) if api in (API, SEED_API)}
    assert ours <= crds


def test_every_child_kind_the_hooks_emit_is_registered_in_place():
    registered = {(api, res): method for api, res, method in _children(_controller()["spec"])}
    plural = {
        "ConfigMap": "configmaps",
        "Service": "services",
        "StatefulSet": "statefulsets",
        "Deployment": "deployments",
        c.KIND_RBGSA: "rolebasedgroupscalingadapters",
        c.KIND_CONTROLLER_REVISION: "controllerrevisions",
        c.KIND_JOB: "jobs",
        c.KIND_ROLE_INSTANCE_SET: "roleinstancesets",
    }
    emitted = {
        (ch["apiVersion"], plural[ch["kind"]])
        for example in EXAMPLES
        for req in startup_stages(example_group(example))
        for ch in sync(req).children
    }
    assert emitted <= set(registered)  # same apiVersion as registered, or Metacontroller recreates them
    assert set(registered.values()) == {"InPlace"}
    # Metacontroller sends every registered child type, keyed "Kind.apiVersion": the hooks know each.
    kind = {res: k for k, res in plural.items()}
    assert {f"{kind[res]}.{api}" for api, res in registered} == GROUP_CHILD_TYPES


def test_hooks_and_parent():
    spec = _controller()["spec"]
    assert spec["parentResource"] == {"apiVersion": API, "resource": "rolebasedgroups", "ignoreStatusChanges": True}
    assert _children(spec)[-2:] == [("batch/v1", "jobs", "InPlace"), (API, "roleinstancesets", "InPlace")]
    assert _hooks(spec) == {
        "customize": ("v2", "/customize"),
        "sync": ("v2", "/sync"),
        "finalize": ("v2", "/finalize"),
    }


def test_sets_of_both_spellings_have_their_groups_as_children_and_no_finalize_hook():
    for name, api, plural in (("rolebasedgroupset", API, "rolebasedgroupsets"), ("openpatio-rolebasedgroupset", SEED_API, c.SEED_PLURAL)):
        spec = _controller(name)["spec"]
        assert spec["parentResource"] == {"apiVersion": api, "resource": plural, "ignoreStatusChanges": True}
        assert _children(spec) == [(API, "rolebasedgroups", "InPlace")]
        # Members go by garbage collection; each member's own finalize orders its teardown.
        assert _hooks(spec) == {"sync": ("v2", "/rbgs/sync")}


def test_scaling_adapter_has_no_children_and_reads_its_target_as_related():
    spec = _controller("rolebasedgroupscalingadapter")["spec"]
    assert spec["parentResource"] == {"apiVersion": API, "resource": "rolebasedgroupscalingadapters", "ignoreStatusChanges": True}
    assert _children(spec) == []
    assert _hooks(spec) == {"customize": ("v2", "/rbgsa/customize"), "sync": ("v2", "/rbgsa/sync")}


def test_role_instance_sets_have_their_instances_and_instances_their_pods_as_children():
    routes = {rule.rule for rule in create_app().url_map.iter_rules()}
    for name, plural, children, path in (
        # and the ControllerRevisions of its instance template
        ("roleinstanceset", "roleinstancesets", [(API, "roleinstances", "InPlace"), ("apps/v1", "controllerrevisions", "InPlace")], "/ris/sync"),
        # and the backoff timer Job between recreations of an instance
        ("roleinstance", "roleinstances", [("v1", "pods", "InPlace"), ("batch/v1", "jobs", "InPlace")], "/rins/sync"),
    ):
        spec = _controller(name)["spec"]
        assert spec["parentResource"] == {"apiVersion": API, "resource": plural, "ignoreStatusChanges": True}
        assert _children(spec) == children
        # Instances and pods go by garbage collection: no finalize hook.
        assert _hooks(spec) == {"sync": ("v2", path)}
        assert path in routes
    # The hooks read each child type under the key Metacontroller gives it.
    assert (c.CHILD_ROLE_INSTANCE, c.CHILD_POD, c.CHILD_JOB) == (f"RoleInstance.{API}", "Pod.v1", "Job.batch/v1")


def test_local_cluster_registers_every_controller_with_urls():
    docs = controller_manifests(MC / "compositecontroller.yaml", "http://127.0.0.1:1234")
    assert [d["metadata"]["name"] for d in docs] == list(CONTROLLERS)
    for doc, original in zip(docs, _controllers().values()):
        for name, hook in doc["spec"]["hooks"].items():
            path = original["spec"]["hooks"][name]["webhook"]["path"]
            assert hook["webhook"] == {"url": "http://127.0.0.1:1234" + path, "timeout": "10s"}


def _decorator():
    (doc,) = [d for d in yaml.safe_load_all((MC / "decoratorcontroller.yaml").read_text()) if d]
    return doc


def test_gang_ready_decorator_targets_pods_of_a_group_and_sets_labels_only():
    doc = _decorator()
    assert (doc["apiVersion"], doc["kind"], doc["metadata"]["name"]) == ("metacontroller.k8s.io/v1alpha1", "DecoratorController", "gang-ready")
    spec = doc["spec"]
    selector = {"matchExpressions": [{"key": c.LABEL_PODGROUP_NAME, "operator": "Exists"}]}
    assert spec["resources"] == [{"apiVersion": "v1", "resource": "pods", "labelSelector": selector}]
    assert "attachments" not in spec  # the sync answer returns none
    assert _hooks(spec) == {"customize": ("v2", "/gangready/customize"), "sync": ("v2", "/gangready/sync")}
    assert all(h["webhook"]["service"] == SERVICE and h["webhook"]["timeout"] == "10s" for h in spec["hooks"].values())
    routes = {rule.rule for rule in create_app().url_map.iter_rules()}
    assert {path for _, path in _hooks(spec).values()} <= routes
    assert "decoratorcontroller.yaml" in yaml.safe_load((MC / "kustomization.yaml").read_text())["resources"]


def test_local_cluster_registers_the_decorator_too_with_urls():
    assert REGISTRATIONS == ("compositecontroller.yaml", "decoratorcontroller.yaml")
    (doc,) = controller_manifests(MC / "decoratorcontroller.yaml", "http://127.0.0.1:1234")
    for name, hook in doc["spec"]["hooks"].items():
        path = _decorator()["spec"]["hooks"][name]["webhook"]["path"]
        assert hook["webhook"] == {"url": "http://127.0.0.1:1234" + path, "timeout": "10s"}


def _rules(name):
    role = next(d for d in yaml.safe_load_all((MC / "rbac.yaml").read_text()) if d["kind"] == "ClusterRole" and d["metadata"]["name"] == name)
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for g in rule["apiGroups"]:
            for r in rule["resources"]:
                granted.setdefault((g, r), set()).update(rule["verbs"])
    return role, granted


def test_metacontroller_may_do_what_the_controllers_need_and_no_more():
    _, granted = _rules("rbg-metacontroller")
    status = {"get", "update", "patch"}
    W, O = c.GROUP, c.SEED_GROUP
    assert granted == {
        # children (groups and adapters are parents too)
        ("", "configmaps"): CHILD_VERBS,
        ("", "services"): CHILD_VERBS,
        ("apps", "statefulsets"): CHILD_VERBS,
        ("apps", "deployments"): CHILD_VERBS,
        ("apps", "controllerrevisions"): CHILD_VERBS,  # rollout history
        ("batch", "jobs"): CHILD_VERBS,  # failure recovery's backoff timer
        (W, "rolebasedgroups"): CHILD_VERBS,
        (W, "rolebasedgroupscalingadapters"): CHILD_VERBS,
        (W, "roleinstancesets"): CHILD_VERBS,  # a group's children, parents of RoleInstances
        (W, "roleinstances"): CHILD_VERBS,  # a RoleInstanceSet's children, parents of pods
        # parents only: never created or deleted by Metacontroller
        (W, "rolebasedgroupsets"): {"get", "list", "watch", "update", "patch"},
        (O, "seedrolebasedgroupsets"): {"get", "list", "watch", "update", "patch"},
        (W, "rolebasedgroups/status"): status,
        (W, "rolebasedgroups/finalizers"): status,
        (W, "rolebasedgroupsets/status"): status,
        (W, "rolebasedgroupsets/finalizers"): status,
        (O, "seedrolebasedgroupsets/status"): status,
        (O, "seedrolebasedgroupsets/finalizers"): status,
        (W, "rolebasedgroupscalingadapters/status"): status,
        (W, "coordinatedpolicies"): {"get", "list", "watch", "update", "patch"},  # parents, and the groups' related objects
        (W, "coordinatedpolicies/status"): status,
        (W, "roleinstancesets/status"): status,
        (W, "roleinstancesets/finalizers"): status,
        (W, "roleinstances/status"): status,
        (W, "roleinstances/finalizers"): status,
        ("", "pods"): CHILD_VERBS,  # a RoleInstance's children; related objects; the gang-ready label
        (W, "clusterengineruntimeprofiles"): {"list", "watch"},  # related objects only
        # Metacontroller itself (each found missing by running it under this role alone: tests/e2e/test_in_cluster.py)
        ("metacontroller.k8s.io", "compositecontrollers"): {"get", "list", "watch"},
        ("metacontroller.k8s.io", "decoratorcontrollers"): {"get", "list", "watch"},
        ("metacontroller.k8s.io", "controllerrevisions"): {"get", "list", "watch"},
        ("apiextensions.k8s.io", "customresourcedefinitions"): {"get", "list", "watch"},
        ("", "namespaces"): {"get", "list", "watch"},
        ("", "events"): {"create", "patch", "update"},
        ("events.k8s.io", "events"): {"create", "patch", "update"},
    }


def test_users_roles_cover_every_kind_and_aggregate():
    edit, granted = _rules("rbg-edit")
    assert edit["metadata"]["labels"] == {
        "rbac.authorization.k8s.io/aggregate-to-edit": "true",
        "rbac.authorization.k8s.io/aggregate-to-admin": "true",
    }
    W, O = c.GROUP, c.SEED_GROUP
    kinds = [
        (W, "rolebasedgroups"),
        (W, "rolebasedgroupsets"),
        (W, "rolebasedgroupscalingadapters"),
        (O, "seedrolebasedgroupsets"),
        (W, "coordinatedpolicies"),
        (W, "roleinstancesets"),
        (W, "roleinstances"),
    ]
    scalable = [(g, r + "/scale") for g, r in kinds if r not in ("rolebasedgroups", "coordinatedpolicies", "roleinstances")]
    assert granted == {
        **{k: CHILD_VERBS | {"deletecollection"} for k in kinds},
        **{k: {"get", "update", "patch"} for k in scalable},  # kubectl scale
    }
    view, granted = _rules("rbg-view")
    assert view["metadata"]["labels"] == {"rbac.authorization.k8s.io/aggregate-to-view": "true"}
    assert granted == {(g, r): {"get", "list", "watch"} for g, r0 in kinds for r in (r0, r0 + "/status")} | {
        k: {"get", "list", "watch"} for k in scalable
    }


def test_engine_runtime_profiles_are_read_by_users_and_edited_by_those_granted_it():
    view, granted = _rules("rbg-engine-runtime-profile-view")
    assert view["metadata"]["labels"] == {
        f"rbac.authorization.k8s.io/aggregate-to-{r}": "true" for r in ("view", "edit", "admin")
    }
    assert granted == {(c.GROUP, c.ENGINE_RUNTIME_PROFILES): {"get", "list", "watch"}}
    edit, granted = _rules("rbg-engine-runtime-profile-edit")
    assert "labels" not in edit["metadata"]  # cluster-scoped: never aggregated into namespace editors' roles
    assert granted == {(c.GROUP, c.ENGINE_RUNTIME_PROFILES): CHILD_VERBS | {"deletecollection"}}


def _hook_server():
    """The hook server's objects as metacontroller/ installs them: (kind, name) -> document."""
    files = [f for f in yaml.safe_load((MC / "kustomization.yaml").read_text())["resources"] if f in ("hooks.yaml", "convert.yaml")]
    assert files == ["hooks.yaml", "convert.yaml"]
    return {(d["kind"], d["metadata"]["name"]): d for f in files for d in yaml.safe_load_all((MC / f).read_text())}


def _pod(docs, name):
    return docs[("Deployment", name)]["spec"]["template"]


def test_hook_server_runs_unprivileged_without_api_access():
    docs = _hook_server()
    assert docs[("ServiceAccount", "rbg-hooks")]["automountServiceAccountToken"] is False
    for name, containers in (("rbg-hooks", ["hooks"]), ("rbg-convert", ["convert"])):
        pod = _pod(docs, name)["spec"]
        assert pod["serviceAccountName"] == "rbg-hooks" and pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert [container["name"] for container in pod["containers"]] == containers
        for container in pod["containers"]:
            assert container["image"] == "rbg-hooks:latest"
            assert container["securityContext"] == {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            }
            assert container["readinessProbe"]["httpGet"]["path"] == container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert "command" not in container  # the image's entry point, python3 -m hooks.server
    assert docs[("Deployment", "rbg-convert")]["spec"]["replicas"] == docs[("Deployment", "rbg-hooks")]["spec"]["replicas"]


def test_the_metacontroller_hooks_mount_no_secret_and_serve_http_alone():
    """Without Secret rbg-hooks-tls (metacontroller/ applied before the certificate is made) only
    the conversion webhook waits: the pods Metacontroller calls start without it."""
    docs = _hook_server()
    pod = _pod(docs, "rbg-hooks")["spec"]
    assert [set(v) for v in pod["volumes"]] == [{"name", "emptyDir"}]  # /tmp alone: no Secret, projected or not
    (hooks,) = pod["containers"]
    assert not [e for e in hooks.get("env", []) + hooks.get("envFrom", []) if "secretRef" in e or "secretKeyRef" in e.get("valueFrom", {})]
    assert hooks["ports"] == [{"name": "http", "containerPort": 8080}] and "--certfile" not in hooks["args"]
    # Metacontroller calls this Service's port 80 (SERVICE: the registration's `service:` webhooks).
    service = docs[("Service", SERVICE["name"])]
    assert service["spec"]["ports"] == [{"name": "http", "port": SERVICE["port"], "targetPort": "http"}]


def test_each_service_selects_its_own_deployments_pods_alone():
    """Service rbg-hooks never sends Metacontroller to a conversion pod (no plain HTTP there), nor
    rbg-convert the API server to a hook pod (no TLS there): their selectors match disjoint pods."""
    docs = _hook_server()
    pods = {name: _pod(docs, name)["metadata"]["labels"] for name in ("rbg-hooks", "rbg-convert")}
    for name in pods:
        deployment = docs[("Deployment", name)]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pods[name].items()
        selector = docs[("Service", name)]["spec"]["selector"]
        assert [pod for pod, labels in pods.items() if selector.items() <= labels.items()] == [name]
    # The Deployments' own selectors are disjoint too: neither adopts the other's pods.
    for name, other in (("rbg-hooks", "rbg-convert"), ("rbg-convert", "rbg-hooks")):
        assert not docs[("Deployment", name)]["spec"]["selector"]["matchLabels"].items() <= pods[other].items()


def test_rbg_convert_serves_https_under_the_tls_secret_behind_service_port_443():
    """The API server calls the CRDs' conversion webhook at Service rbg-convert, port 443, /convert."""
    docs = _hook_server()
    pod = _pod(docs, "rbg-convert")["spec"]
    (convert,) = pod["containers"]
    assert convert["args"] == [
        "--bind", "0.0.0.0:9443", "--workers", "2", "--certfile", "/etc/rbg/tls/tls.crt", "--keyfile", "/etc/rbg/tls/tls.key",
    ]
    assert convert["ports"] == [{"name": "https", "containerPort": 9443}]
    for probe in (convert["readinessProbe"], convert["livenessProbe"]):
        assert probe["httpGet"] == {"path": "/healthz", "port": "https", "scheme": "HTTPS"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in convert["volumeMounts"]}
    tls = mounts["/etc/rbg/tls"]
    assert tls["readOnly"] is True and volumes[tls["name"]]["secret"]["secretName"] == "rbg-hooks-tls"
    assert volumes[tls["name"]]["secret"]["defaultMode"] == 0o440 and pod["securityContext"]["fsGroup"] == 65532
    # Its metrics files in a writable emptyDir (the root filesystem is read-only).
    env = {e["name"]: e["value"] for e in convert["env"]}
    (own,) = [m for path, m in mounts.items() if env["PROMETHEUS_MULTIPROC_DIR"].startswith(path + "/")]
    assert "emptyDir" in volumes[own["name"]]

    service = docs[("Service", "rbg-convert")]
    assert service["metadata"] == {"name": "rbg-convert", "namespace": "rbg-system"}
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": "https"}]
    # Every CRD that converts calls this Service's port 443 (rbgcli/crdgen writes the stanza).
    for name in yaml.safe_load((ROOT / "crds" / "kustomization.yaml").read_text())["resources"]:
        webhook = (yaml.safe_load((ROOT / "crds" / name).read_text())["spec"].get("conversion") or {}).get("webhook")
        if webhook:
            assert webhook["clientConfig"]["service"] == {"namespace": "rbg-system", "name": "rbg-convert", "path": "/convert", "port": 443}


def test_image_is_multi_stage_and_runs_gunicorn_as_non_root():
    """Static checks only: no Docker engine runs on the machines this is tested on."""
    lines = [ln.split() for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln and not ln.startswith("#")]
    stages = [ln for ln in lines if ln[0] == "FROM"]
    assert len(stages) == 2 and stages[-1][1] == "${RUNTIME_BASE}"  # distroless by default (tests/unit/test_dockerfile.py)
    assert ["USER", "65532:65532"] in lines
    # The hook server alone: not the rbg command, the cluster client or the local cluster.
    assert [ln[1:-1] for ln in lines if ln[0] == "COPY" and not ln[1].startswith("--from")] == [["pyproject.toml"], ["hooks"]]
    assert (ROOT / ".dockerignore").read_text().split() == ["*", "!pyproject.toml", "!hooks/", "hooks/**/__pycache__"]
    assert " ".join(next(ln for ln in lines if ln[0] == "ENTRYPOINT")[1:]) == '["python3", "-m", "hooks.server"]'
    assert " ".join(next(ln for ln in lines if ln[0] == "CMD")[1:]).startswith('["--bind", "0.0.0.0:8080"')


def _hook_pod():
    return _pod(_hook_server(), "rbg-hooks")


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


# --- gang scheduling: the overlays that register the optional PodGroup child types -------------

OVERLAYS = ROOT / "overlays"
POD_GROUPS = {"scheduler-plugins": (c.CHILD_KUBE_POD_GROUP,), "volcano": (c.CHILD_VOLCANO_POD_GROUP,)}
POD_GROUPS["scheduler-plugins-and-volcano"] = POD_GROUPS["scheduler-plugins"] + POD_GROUPS["volcano"]
# Every overlay: the optional child types it registers.
REGISTERED = {**POD_GROUPS, c.LWS_OVERLAY: (c.CHILD_LWS,)}
RESOURCES = {c.KIND_POD_GROUP: "podgroups", c.KIND_LWS: "leaderworkersets"}
# The overlay that has cert-manager make the conversion webhook's certificate: it registers nothing.
CERT_MANAGER = "cert-manager"


def _kustomization(path):
    return yaml.safe_load((path / "kustomization.yaml").read_text())


def _json_patch(doc, ops):
    """`doc` with JSON6902 operations applied in place, as kustomize applies them: the ones these
    components use (`add` at the end of a list, `test`, `remove`)."""
    for op in ops:
        *path, last = op["path"].strip("/").split("/")
        node = doc
        for key in path:
            node = node[int(key) if isinstance(node, list) else key]
        if op["op"] == "add":
            assert last == "-", op
            node.append(op["value"])
            continue
        key = int(last) if isinstance(node, list) else last
        if op["op"] == "test":
            assert node[key] == op["value"], op
        else:
            assert op["op"] == "remove", op
            del node[key]


def _patched(overlay, target_kind, name, base):
    """`base` with the JSON6902 patches of the overlay's components that target it."""
    doc = yaml.safe_load(yaml.safe_dump(base))
    for component in _kustomization(OVERLAYS / overlay)["components"]:
        for patch in _kustomization((OVERLAYS / overlay / component).resolve())["patches"]:
            if (patch["target"]["kind"], patch["target"]["name"]) == (target_kind, name):
                _json_patch(doc, yaml.safe_load(patch["patch"]))
    return doc


def test_the_base_registration_has_no_optional_child_type():
    """Metacontroller does not sync a controller whose child type has no CRD: PodGroups only in the overlays."""
    assert not {"podgroups", "leaderworkersets"} & {res for _, res, _ in _children(_controller()["spec"])}


def test_each_overlay_is_the_base_install_plus_its_optional_types_and_their_rights():
    assert {p.name for p in OVERLAYS.iterdir() if p.name not in ("components", CERT_MANAGER, c.NO_POD_CONTROLLERS_OVERLAY)} == set(REGISTERED)
    kind = {"configmaps": "ConfigMap", "services": "Service", "statefulsets": "StatefulSet", "deployments": "Deployment",
            "controllerrevisions": c.KIND_CONTROLLER_REVISION, "rolebasedgroupscalingadapters": c.KIND_RBGSA,
            "jobs": c.KIND_JOB, "podgroups": c.KIND_POD_GROUP, "leaderworkersets": c.KIND_LWS,
            "roleinstancesets": c.KIND_ROLE_INSTANCE_SET}
    base_role, _ = _rules("rbg-metacontroller")
    for overlay, types in REGISTERED.items():
        k = _kustomization(OVERLAYS / overlay)
        assert k["resources"] == ["../../metacontroller"]  # the whole install, nothing else
        controller = _patched(overlay, "CompositeController", "rolebasedgroup", _controller())
        children = _children(controller["spec"])
        assert children[: len(_children(_controller()["spec"]))] == _children(_controller()["spec"])
        assert {f"{kind[res]}.{api}" for api, res, _ in children} == {*GROUP_CHILD_TYPES, *types}
        assert {m for _, _, m in children} == {"InPlace"}
        role = _patched(overlay, "ClusterRole", "rbg-metacontroller", base_role)
        added = [(r["apiGroups"], r["resources"], set(r["verbs"])) for r in role["rules"][len(base_role["rules"]):]]
        assert added == [([t.split(".", 1)[1].split("/")[0]], [RESOURCES[t.split(".", 1)[0]]], CHILD_VERBS) for t in types]
    # The overlay that the GangScheduling condition names registers that type.
    assert all(POD_GROUPS[overlay] == (t,) for t, overlay in c.GANG_OVERLAYS.items())


# --- the install without the pod controllers --------------------------------------------------


def _without_pod_controllers(docs):
    """`docs` as the component overlays/components/without-pod-controllers leaves them, as kustomize
    applies its patches: `$patch: delete` documents, and JSON6902 `test` and `remove` operations."""
    docs = yaml.safe_load(yaml.safe_dump(docs))
    component = OVERLAYS / "components" / c.NO_POD_CONTROLLERS_OVERLAY
    assert _kustomization(OVERLAYS / c.NO_POD_CONTROLLERS_OVERLAY) == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": ["../../metacontroller"], "components": [f"../components/{c.NO_POD_CONTROLLERS_OVERLAY}"],
    }
    for patch in _kustomization(component)["patches"]:
        if "target" not in patch:
            gone = yaml.safe_load(patch["patch"])
            assert gone.pop("$patch") == "delete"
            before = len(docs)
            docs = [d for d in docs if (d["kind"], d["metadata"]["name"]) != (gone["kind"], gone["metadata"]["name"])]
            assert len(docs) == before - 1, gone
            continue
        (doc,) = [d for d in docs if (d["kind"], d["metadata"]["name"]) == (patch["target"]["kind"], patch["target"]["name"])]
        _json_patch(doc, yaml.safe_load(patch["patch"]))
    return docs


def test_without_the_pod_controllers_nothing_acts_on_pods_and_the_rest_is_the_base_install():
    base = [d for name in (*REGISTRATIONS, "rbac.yaml") for d in yaml.safe_load_all((MC / name).read_text()) if d]
    lean = _without_pod_controllers(base)
    controllers = {d["metadata"]["name"]: d for d in lean if d["kind"] == "CompositeController"}
    assert set(controllers) == set(CONTROLLERS) - {"roleinstanceset", "roleinstance"}
    assert not [d for d in lean if d["kind"] == "DecoratorController"]
    # No child of pods or RoleInstanceSets left; every other controller as in the base.
    assert [ch for ch in _children(controllers["rolebasedgroup"]["spec"]) if ch[1] in ("pods", "roleinstancesets")] == []
    assert _children(controllers["rolebasedgroup"]["spec"]) == [ch for ch in _children(_controller()["spec"]) if ch[1] != "roleinstancesets"]
    assert all(spec == _controller(name) for name, spec in controllers.items() if name != "rolebasedgroup")
    # Metacontroller may still read pods (groups and adapters ask for theirs as related objects), never write them.
    (role,) = [d for d in lean if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "rbg-metacontroller"]
    base_role, _ = _rules("rbg-metacontroller")
    assert {tuple(r["verbs"]) for r in role["rules"] if "pods" in r["resources"]} == {("list", "watch")}
    assert [r for r in role["rules"] if "pods" not in r["resources"]] == [r for r in base_role["rules"] if "pods" not in r["resources"]]
    # Everything else of the install is untouched.
    changed = ("CompositeController", "DecoratorController", ("ClusterRole", "rbg-metacontroller"))
    assert [d for d in lean if d["kind"] not in changed and (d["kind"], d["metadata"]["name"]) not in changed] == [
        d for d in base if d["kind"] not in changed and (d["kind"], d["metadata"]["name"]) not in changed
    ]


# --- the conversion webhook's certificate by cert-manager ----------------------------------------

CONVERTING = {f"{plural}.{c.GROUP}" for plural in ("rolebasedgroups", "rolebasedgroupsets", "rolebasedgroupscalingadapters", "clusterengineruntimeprofiles")}


def test_the_cert_manager_overlay_makes_the_tls_secret_and_has_the_ca_injected_into_every_crd_that_converts():
    """overlays/cert-manager: the base install plus its component (rendered by kubectl kustomize in
    tests/e2e/test_conversion_webhook.py)."""
    overlay = _kustomization(OVERLAYS / CERT_MANAGER)
    assert overlay["resources"] == ["../../metacontroller"] and overlay["components"] == ["../components/cert-manager"]
    component_dir = (OVERLAYS / CERT_MANAGER / overlay["components"][0]).resolve()
    component = _kustomization(component_dir)
    assert component["kind"] == "Component" and component["resources"] == ["certificates.yaml"]
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all((component_dir / "certificates.yaml").read_text())}
    assert set(docs) == {("Issuer", "rbg-selfsigned"), ("Certificate", "rbg-hooks-ca"), ("Issuer", "rbg-hooks-ca"), ("Certificate", "rbg-hooks-serving")}
    assert {d["apiVersion"] for d in docs.values()} == {"cert-manager.io/v1"}
    assert {d["metadata"]["namespace"] for d in docs.values()} == {"rbg-system"}

    def issuer(cert):
        ref = cert["spec"]["issuerRef"]
        assert (ref["group"], ref["kind"]) == ("cert-manager.io", "Issuer")
        return docs[("Issuer", ref["name"])]["spec"]

    ca = docs[("Certificate", "rbg-hooks-ca")]["spec"]
    assert ca["isCA"] is True and issuer(docs[("Certificate", "rbg-hooks-ca")]) == {"selfSigned": {}}
    serving = docs[("Certificate", "rbg-hooks-serving")]["spec"]
    assert issuer(docs[("Certificate", "rbg-hooks-serving")]) == {"ca": {"secretName": ca["secretName"]}}
    assert not serving.get("isCA") and "server auth" in serving["usages"]
    # The Secret rbg-convert's pods mount, for the names the API server calls: Service rbg-convert.
    pod = _pod(_hook_server(), "rbg-convert")["spec"]
    assert serving["secretName"] == next(v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v) == "rbg-hooks-tls"
    assert serving["dnsNames"] == ["rbg-convert.rbg-system.svc", "rbg-convert.rbg-system.svc.cluster.local"]

    (patch,) = component["patches"]
    target = patch["target"]
    assert (target["group"], target["kind"]) == ("apiextensions.k8s.io", "CustomResourceDefinition")
    names = yaml.safe_load((ROOT / "crds" / "kustomization.yaml").read_text())["resources"]
    crds = {d["metadata"]["name"]: d for d in (yaml.safe_load((ROOT / "crds" / name).read_text()) for name in names)}
    annotated = {name for name in crds if re.fullmatch(target["name"], name)}
    assert annotated == CONVERTING
    # Every CRD that converts is annotated (today's crds/ may not convert yet).
    assert {name for name, d in crds.items() if (d["spec"].get("conversion") or {}).get("webhook")} <= annotated
    annotations = yaml.safe_load(patch["patch"])["metadata"]["annotations"]
    assert annotations == {"cert-manager.io/inject-ca-from": "rbg-system/rbg-hooks-serving"}
