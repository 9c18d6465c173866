"""The discovery budget on the real API server.

Metacontroller's dynamic apply stores every child whole, as JSON, in its last-applied annotation,
and the API server limits all annotations of an object to 256 KiB together. A discovery file
listing every instance of examples/pd-disagg.yaml at 9,000 + 9,000 replicas is refused; the
file the hooks write (cut to DISCOVERY_MAX_BYTES) is stored at any size, on create and update.
"""

from __future__ import annotations

import copy

import pytest
from lightkube import ApiError, Client, codecs
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import ConfigMap

from hooks import constants as c
from hooks.children.discovery import discovery_document, to_yaml
from tests.support.plans import services_of
from rbgclient.kube import as_dict
from hooks.validation import parse_spec
from tests.support import ROOT, example_group, go_json, request, sync

PD = ROOT / "examples" / "pd-disagg.yaml"
PARENT_UID = "00000000-0000-0000-0000-000000000001"


def _children(ns: str, replicas: int) -> list[dict]:
    """What the hooks return for the example with `replicas` prefill and decode pods, nothing observed yet."""
    group = example_group(PD)
    group["metadata"]["namespace"] = ns
    for role in group["spec"]["roles"]:
        if role["name"] in ("prefill", "decode"):
            role["replicas"] = replicas
    return sync(request(group)).children


def _discovery(ns: str, replicas: int) -> dict:
    return next(ch for ch in _children(ns, replicas) if ch["kind"] == "ConfigMap")


def _untruncated(ns: str, replicas: int) -> dict:
    """The discovery ConfigMap as it would be without the budget: every instance listed."""
    spec = parse_spec("sglang-pd", example_group(PD)["spec"] | {"roles": [
        {**role, "replicas": replicas} if role["name"] in ("prefill", "decode") else role
        for role in example_group(PD)["spec"]["roles"]
    ]})
    doc, _ = discovery_document("sglang-pd", spec, {"prefill", "decode"}, services_of("sglang-pd", spec), budget=10**9)
    return {**_discovery(ns, replicas), "data": {c.DISCOVERY_FILE: to_yaml(doc)}}


def _applied(child: dict, ns: str) -> dict:
    """The child as Metacontroller's dynamic apply sends it: in the parent's namespace, with the
    controller-uid label of generateSelector, and all of that as JSON in the last-applied annotation
    (pkg/dynamic/apply SetLastApplied: Go's json.Marshal of the object)."""
    obj = copy.deepcopy(child)
    obj["metadata"]["namespace"] = ns
    obj["metadata"]["labels"]["controller-uid"] = PARENT_UID
    obj["metadata"]["annotations"] = {c.ANNOTATION_LAST_APPLIED: go_json(obj)}
    return obj


def _refusal(create, code: int = 422) -> str:
    with pytest.raises(ApiError) as refused:
        create()
    assert refused.value.status.code == code, refused.value.status
    return refused.value.status.message


def test_the_discovery_configmap_is_stored_at_any_size_on_create_and_update(kube: Client, ns: str):
    for step, replicas in enumerate([9000, c.INT32_MAX, 2, 9000]):
        obj = _applied(_discovery(ns, replicas), ns)
        if step == 0:
            kube.create(codecs.from_dict(obj))
        else:
            obj["metadata"]["resourceVersion"] = as_dict(kube.get(ConfigMap, obj["metadata"]["name"], namespace=ns))["metadata"]["resourceVersion"]
            kube.replace(codecs.from_dict(obj))
        stored = as_dict(kube.get(ConfigMap, obj["metadata"]["name"], namespace=ns))
        assert stored["data"] == obj["data"] and stored["metadata"]["annotations"] == obj["metadata"]["annotations"]
        assert ("truncated: true" in stored["data"][c.DISCOVERY_FILE]) == (replicas != 2)


def test_without_the_budget_the_api_server_refuses_the_discovery_configmap(kube: Client, ns: str):
    full = _untruncated(ns, 9000)
    assert len(full["data"][c.DISCOVERY_FILE]) > 1024 * 1024
    message = _refusal(lambda: kube.create(codecs.from_dict(full), namespace=ns, dry_run=True))
    assert "may not be more than 1048576 bytes" in message
    # With the annotation, the request is past the API server's 3 MiB limit on a request body.
    message = _refusal(lambda: kube.create(codecs.from_dict(_applied(full, ns)), dry_run=True), code=413)
    assert "Request entity too large" in message

    # The binding limit is the annotation's, far below the 1 MiB of data: 1,500 + 1,500 instances
    # (a 330 kB file) are stored without the annotation, and refused with it.
    bare = _untruncated(ns, 1500)
    assert len(bare["data"][c.DISCOVERY_FILE]) < 1024 * 1024 // 3
    kube.create(codecs.from_dict(bare), namespace=ns, dry_run=True)
    message = _refusal(lambda: kube.create(codecs.from_dict(_applied(bare, ns)), dry_run=True))
    assert "metadata.annotations: Too long: may not be more than 262144 bytes" in message
    kube.create(codecs.from_dict(_applied(_discovery(ns, 1500), ns)), dry_run=True)


def test_a_statefulset_of_int32_max_replicas_is_accepted_and_no_larger_one(kube: Client, ns: str):
    """Where the CRD caps replicas: the StatefulSet (server-side dry run: nothing is created)."""
    sts = _applied(next(ch for ch in _children(ns, c.INT32_MAX) if ch["kind"] == "StatefulSet"), ns)
    stored = as_dict(kube.create(codecs.from_dict(sts), dry_run=True))
    assert stored["spec"]["replicas"] == c.INT32_MAX
    sts["spec"]["replicas"] = c.INT32_MAX + 1
    with pytest.raises(ApiError) as refused:
        kube.create(codecs.from_dict(sts), dry_run=True)
    assert refused.value.status.code in (400, 422), refused.value.status
