"""Strategic merge of pod template patches (hooks.strategicmerge), table by table.

Every case was run through Kubernetes' own strategicpatch.StrategicMergePatch
(k8s.io/apimachinery v0.34.10, with corev1.PodTemplateSpec). Ours gives the same documents except,
on purpose: order (Kubernetes puts the patch's items before the base's: new-container-appended,
base-order-kept-new-in-patch-order, image-pull-secrets-by-name, env-by-name, scalar-set-union,
item-delete, delete-from-primitive-list), a `$patch: replace` map the base lacks (Kubernetes drops
it: map-replace-of-nothing), a null in a replaced list (kept as null there, which decodes as
absent), and the ERRORS, which Kubernetes lets through when the base lacks the field (it drops or
keeps the directive).
"""

import copy
import json

import pytest

from hooks.schemas.k8s import pod_template_patch_keys
from hooks.strategicmerge import PatchError, merge, merge_pod_template


def _pod(**spec):
    return {"spec": spec}


def _c(name, **fields):
    return {"name": name, **fields}


MERGES = [
    # maps
    pytest.param({"metadata": {"labels": {"a": "1"}}}, {"metadata": {"labels": {"b": "2"}}}, {"metadata": {"labels": {"a": "1", "b": "2"}}}, id="maps-merge"),
    pytest.param({"metadata": {"labels": {"a": "1", "b": "2"}}}, {"metadata": {"labels": {"a": None}}}, {"metadata": {"labels": {"b": "2"}}}, id="null-deletes"),
    pytest.param({"metadata": {"labels": {"a": "1"}}}, {"metadata": {"labels": {"x": None}}}, {"metadata": {"labels": {"a": "1"}}}, id="null-of-nothing"),
    pytest.param({"spec": {"nodeSelector": {"a": "1"}}}, {"spec": {"nodeSelector": None}}, {"spec": {}}, id="null-deletes-a-map"),
    pytest.param(_pod(hostNetwork=False), _pod(hostNetwork=True), _pod(hostNetwork=True), id="scalar-replaced"),
    pytest.param({}, {"spec": {"securityContext": {"runAsUser": 1, "fsGroup": None}}}, {"spec": {"securityContext": {"runAsUser": 1}}}, id="new-map-without-its-nulls"),
    # containers, initContainers, ephemeralContainers, imagePullSecrets, volumes: by name
    pytest.param(
        _pod(containers=[_c("a", image="x:1", args=["--a"])]),
        _pod(containers=[_c("a", image="x:2")]),
        _pod(containers=[_c("a", image="x:2", args=["--a"])]),
        id="containers-by-name",
    ),
    pytest.param(
        _pod(containers=[_c("a"), _c("c")]),
        _pod(containers=[_c("b")]),
        _pod(containers=[_c("a"), _c("c"), _c("b")]),  # Kubernetes: b, a, c
        id="new-container-appended",
    ),
    pytest.param(
        _pod(containers=[_c("a"), _c("c")]),
        _pod(containers=[_c("d", image="1"), _c("c", image="y"), _c("b", image="2")]),
        _pod(containers=[_c("a"), _c("c", image="y"), _c("d", image="1"), _c("b", image="2")]),
        id="base-order-kept-new-in-patch-order",
    ),
    pytest.param(_pod(initContainers=[_c("i", image="1")]), _pod(initContainers=[_c("i", image="2"), _c("j")]), _pod(initContainers=[_c("i", image="2"), _c("j")]), id="init-containers-by-name"),
    pytest.param(_pod(ephemeralContainers=[_c("e")]), _pod(ephemeralContainers=[_c("e", image="d")]), _pod(ephemeralContainers=[_c("e", image="d")]), id="ephemeral-containers-by-name"),
    pytest.param(_pod(imagePullSecrets=[{"name": "a"}]), _pod(imagePullSecrets=[{"name": "b"}]), _pod(imagePullSecrets=[{"name": "a"}, {"name": "b"}]), id="image-pull-secrets-by-name"),
    pytest.param(
        _pod(volumes=[{"name": "m", "emptyDir": {}}, {"name": "s", "secret": {"secretName": "x"}}]),
        _pod(volumes=[{"name": "s", "secret": {"defaultMode": 256}}]),
        _pod(volumes=[{"name": "m", "emptyDir": {}}, {"name": "s", "secret": {"secretName": "x", "defaultMode": 256}}]),
        id="volumes-by-name",
    ),
    # inside a container: env by name, ports by containerPort, volumeMounts by mountPath, volumeDevices by devicePath
    pytest.param(
        _pod(containers=[_c("a", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])]),
        _pod(containers=[_c("a", env=[{"name": "C", "value": "$(A)"}, {"name": "A", "value": "9"}])]),
        _pod(containers=[_c("a", env=[{"name": "A", "value": "9"}, {"name": "B", "value": "2"}, {"name": "C", "value": "$(A)"}])]),  # Kubernetes: C, A, B
        id="env-by-name",
    ),
    pytest.param(
        _pod(containers=[_c("a", ports=[{"containerPort": 80, "name": "http"}])]),
        _pod(containers=[_c("a", ports=[{"containerPort": 80, "name": "web"}, {"containerPort": 9090}])]),
        _pod(containers=[_c("a", ports=[{"containerPort": 80, "name": "web"}, {"containerPort": 9090}])]),
        id="ports-by-container-port",
    ),
    pytest.param(
        _pod(containers=[_c("a", volumeMounts=[{"name": "m", "mountPath": "/m"}])]),
        _pod(containers=[_c("a", volumeMounts=[{"name": "m", "mountPath": "/m", "readOnly": True}, {"name": "n", "mountPath": "/n"}])]),
        _pod(containers=[_c("a", volumeMounts=[{"name": "m", "mountPath": "/m", "readOnly": True}, {"name": "n", "mountPath": "/n"}])]),
        id="volume-mounts-by-mount-path",
    ),
    pytest.param(
        _pod(containers=[_c("a", volumeDevices=[{"name": "d", "devicePath": "/dev/x"}])]),
        _pod(containers=[_c("a", volumeDevices=[{"name": "e", "devicePath": "/dev/x"}])]),
        _pod(containers=[_c("a", volumeDevices=[{"name": "e", "devicePath": "/dev/x"}])]),
        id="volume-devices-by-device-path",
    ),
    pytest.param(_pod(hostAliases=[{"ip": "1.1.1.1", "hostnames": ["a"]}]), _pod(hostAliases=[{"ip": "1.1.1.1", "hostnames": ["b"]}]), _pod(hostAliases=[{"ip": "1.1.1.1", "hostnames": ["b"]}]), id="host-aliases-by-ip"),
    pytest.param(
        _pod(topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": 1}]),
        _pod(topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": 2}]),
        _pod(topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": 2}]),
        id="topology-spread-by-topology-key",
    ),
    # lists without a merge key are replaced
    pytest.param(_pod(containers=[_c("a", args=["--x", "--y"])]), _pod(containers=[_c("a", args=["--z"])]), _pod(containers=[_c("a", args=["--z"])]), id="args-replaced"),
    pytest.param(_pod(tolerations=[{"key": "a"}]), _pod(tolerations=[{"key": "b", "value": None}]), _pod(tolerations=[{"key": "b"}]), id="tolerations-replaced"),
    pytest.param(_pod(containers=[_c("a", command=["sh"])]), _pod(containers=[_c("a", command=[])]), _pod(containers=[_c("a", command=[])]), id="emptied-list"),
    # a list of scalars with patchStrategy merge: a set
    pytest.param({"metadata": {"finalizers": ["a", "b"]}}, {"metadata": {"finalizers": ["c", "a"]}}, {"metadata": {"finalizers": ["a", "b", "c"]}}, id="scalar-set-union"),
    # directives
    pytest.param(
        _pod(securityContext={"runAsUser": 1, "fsGroup": 2}),
        _pod(securityContext={"$patch": "replace", "runAsUser": 3}),
        _pod(securityContext={"runAsUser": 3}),
        id="map-replace",
    ),
    pytest.param(_pod(), _pod(securityContext={"$patch": "replace", "runAsUser": 3}), _pod(securityContext={"runAsUser": 3}), id="map-replace-of-nothing"),  # Kubernetes drops it
    pytest.param(_pod(containers=[_c("a", securityContext={"runAsUser": 1})]), _pod(containers=[_c("a", securityContext={"$patch": "delete"})]), _pod(containers=[_c("a", securityContext={})]), id="map-delete-empties"),
    pytest.param(_pod(containers=[_c("a")]), _pod(containers=[_c("a", securityContext={"$patch": "delete"})]), _pod(containers=[_c("a")]), id="map-delete-of-nothing"),
    pytest.param({"spec": {"containers": [_c("a")]}}, {"$patch": "replace", "spec": {"containers": [_c("b")]}}, {"spec": {"containers": [_c("b")]}}, id="root-replace"),
    pytest.param(
        _pod(containers=[_c("a"), _c("b"), _c("c")]),
        _pod(containers=[{"name": "b", "$patch": "delete"}, _c("d")]),
        _pod(containers=[_c("a"), _c("c"), _c("d")]),
        id="item-delete",
    ),
    pytest.param(
        _pod(containers=[_c("a", env=[{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])]),
        _pod(containers=[_c("a", env=[{"$patch": "replace"}, {"name": "Z", "value": "3"}])]),
        _pod(containers=[_c("a", env=[{"name": "Z", "value": "3"}])]),
        id="list-replace",
    ),
    pytest.param(_pod(containers=[_c("a"), _c("b")]), _pod(containers=[{"$patch": "replace"}]), _pod(containers=[]), id="list-replace-with-nothing"),
    pytest.param(
        _pod(volumes=[{"name": "v", "emptyDir": {"medium": "Memory"}}]),
        _pod(volumes=[{"name": "v", "$retainKeys": ["name", "configMap"], "configMap": {"name": "cm"}}]),
        _pod(volumes=[{"name": "v", "configMap": {"name": "cm"}}]),
        id="retain-keys",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"], "finalizers": ["c"]}},
        {"metadata": {"finalizers": ["a", "c"]}},
        id="delete-from-primitive-list",
    ),
    # another type in the patch replaces
    pytest.param(_pod(containers=[_c("a", resources={"limits": {"cpu": "1"}})]), _pod(containers=[_c("a", resources=[])]), _pod(containers=[_c("a", resources=[])]), id="type-change-replaces"),
    pytest.param({"spec": {}}, {}, {"spec": {}}, id="empty-patch"),
]


@pytest.mark.parametrize("base,patch,expected", MERGES)
def test_merge(base, patch, expected):
    before = (copy.deepcopy(base), copy.deepcopy(patch))
    merged = merge_pod_template(base, patch)
    assert merged == expected
    assert json.dumps(merged) == json.dumps(expected)  # key order too
    assert (base, patch) == before  # inputs unchanged


ERRORS = [
    pytest.param(_pod(containers=[_c("a")]), _pod(containers=[{"image": "x"}]), "spec.containers[0]: the merge key 'name' is missing", id="item-without-merge-key"),
    pytest.param(_pod(containers=[_c("a")]), _pod(containers=["a"]), "spec.containers[0]: items of this list are objects merged by 'name'", id="scalar-item-in-keyed-list"),
    pytest.param(_pod(containers=[_c("a")]), _pod(containers=[{"$patch": "delete"}]), "spec.containers[0]: $patch: delete needs the merge key 'name'", id="item-delete-without-key"),
    pytest.param(_pod(containers=[_c("a")]), _pod(containers=[{"name": "a", "$patch": "merge"}]), "spec.containers[0].$patch: 'merge' is not a list item directive", id="item-merge-directive"),
    pytest.param(_pod(), _pod(securityContext={"$patch": "remove"}), "spec.securityContext.$patch: 'remove' is not a directive", id="unknown-map-directive"),
    pytest.param(_pod(), _pod(**{"$setElementOrder/containers": [{"name": "a"}]}), "spec.$setElementOrder/containers: $setElementOrder is not supported", id="set-element-order"),
    pytest.param(_pod(), _pod(**{"$foo": 1}), "spec.$foo: not a strategic merge directive", id="unknown-directive"),
    pytest.param(_pod(), _pod(tolerations=[{"$patch": "delete", "key": "a"}]), "spec.tolerations[0].$patch: spec.tolerations has no patch merge key", id="directive-in-replaced-list"),
    pytest.param(_pod(volumes=[{"name": "v", "emptyDir": {}}]), _pod(volumes=[{"name": "v", "$retainKeys": ["name"], "secret": {}}]), "spec.volumes[0].$retainKeys: must list 'secret', which the patch sets", id="retain-keys-incomplete"),
    pytest.param({"metadata": {}}, {"metadata": {"finalizers": [{"a": 1}]}}, "metadata.finalizers[0]: this list holds scalars", id="object-in-scalar-set"),
]


@pytest.mark.parametrize("base,patch,message", ERRORS)
def test_merge_errors(base, patch, message):
    with pytest.raises(PatchError) as err:
        merge_pod_template(base, patch)
    assert str(err.value).startswith(message)


def test_result_shares_nothing_with_its_inputs():
    base = _pod(containers=[_c("a", env=[{"name": "A", "value": "1"}])], volumes=[{"name": "v", "emptyDir": {}}])
    patch = _pod(containers=[_c("b", args=["x"])], tolerations=[{"key": "t"}])
    merged = merge_pod_template(base, patch)
    merged["spec"]["containers"][0]["env"][0]["value"] = "changed"
    merged["spec"]["containers"][1]["args"].append("y")
    merged["spec"]["tolerations"][0]["key"] = "changed"
    merged["spec"]["volumes"][0]["emptyDir"]["medium"] = "Memory"
    assert base == _pod(containers=[_c("a", env=[{"name": "A", "value": "1"}])], volumes=[{"name": "v", "emptyDir": {}}])
    assert patch == _pod(containers=[_c("b", args=["x"])], tolerations=[{"key": "t"}])


def test_deterministic():
    base = _pod(containers=[_c("a", env=[{"name": f"E{i}", "value": str(i)} for i in range(20)])])
    patch = _pod(containers=[_c("a", env=[{"name": f"E{i}", "value": "x"} for i in range(30, 0, -3)]), _c("z")])
    first = json.dumps(merge_pod_template(base, patch))
    assert all(json.dumps(merge_pod_template(copy.deepcopy(base), copy.deepcopy(patch))) == first for _ in range(5))


def test_merge_keys_compare_as_json_numbers():
    base = _pod(containers=[_c("a", ports=[{"containerPort": 80}])])
    assert merge_pod_template(base, _pod(containers=[_c("a", ports=[{"containerPort": 80.0, "name": "h"}])])) == _pod(
        containers=[_c("a", ports=[{"containerPort": 80, "name": "h"}])]
    )


def test_merge_takes_any_table():
    keys = {"items": {"patchStrategy": "merge", "patchMergeKey": "id"}, "items[].tags": {"patchStrategy": "merge"}}
    base = {"items": [{"id": 1, "tags": ["a"]}], "plain": [1, 2]}
    patch = {"items": [{"id": 1, "tags": ["b"]}, {"id": 2}], "plain": [3]}
    assert merge(base, patch, keys) == {"items": [{"id": 1, "tags": ["a", "b"]}, {"id": 2}], "plain": [3]}


def test_the_table_is_kubernetes_patch_metadata():
    keys = pod_template_patch_keys()
    assert keys["spec.containers"] == {"patchStrategy": "merge", "patchMergeKey": "name"}
    assert keys["spec.volumes"] == {"patchStrategy": "merge,retainKeys", "patchMergeKey": "name"}
    assert keys["spec.initContainers[].ports"] == {"patchStrategy": "merge", "patchMergeKey": "containerPort"}
    assert keys["spec.containers[].volumeMounts"]["patchMergeKey"] == "mountPath"
    assert keys["metadata.finalizers"] == {"patchStrategy": "merge"}
    assert "spec.tolerations" not in keys and "spec.containers[].args" not in keys
