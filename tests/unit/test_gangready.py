"""Gang-ready pod labels (hooks.core.gangready): tables of pods -> the label answer, properties,
the HTTP contract (422 for what is not a decorator request), and the examples."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from hooks import constants as c
from hooks.app import create_app
from hooks.core import gangready
from localcluster.cluster import GANG_READY_STAGE
from tests.support import ROOT, V1ALPHA1, by_kind, example_group, request, sync
from tests.support import gang_pod as pod, gang_request as req, post as _post, sync_gang as answer

NAME, READY = c.LABEL_PODGROUP_NAME, c.LABEL_PODGROUP_READY
MARKED = {READY: "true"}
GANG_READY = ROOT / "examples" / "gang-ready"
Obj = dict[str, Any]


# --- the label answer -------------------------------------------------------------------------------
TABLE = [
    pytest.param(req(pod("a")), MARKED, id="a-gang-of-one-running"),
    pytest.param(req(pod("a"), pod("b"), pod("c")), MARKED, id="all-running"),
    pytest.param(req(pod("a"), pod("b"), pod("c", "Pending")), {}, id="one-pending"),
    pytest.param(req(pod("a", "Pending"), pod("b"), pod("c")), {}, id="the-target-pending"),
    pytest.param(req(pod("a"), pod("b", None)), {}, id="one-without-status"),
    pytest.param(req(pod("a"), pod("b", "Failed")), {}, id="one-failed"),
    pytest.param(req(pod("a"), pod("b", "Unknown")), {}, id="one-unknown"),
    pytest.param(req(pod("a"), pod("b", "Succeeded")), {}, id="one-succeeded-unmarked"),
    # A marked pod that finished ran in a complete gang (KWOK completed it before this pod was asked about).
    pytest.param(req(pod("a"), pod("b", "Succeeded", ready="true"), pod("c")), MARKED, id="a-marked-one-finished"),
    pytest.param(req(pod("a"), pod("b", "Failed", ready="true")), {}, id="a-marked-one-failed"),
    pytest.param(req(pod("a"), pod("b", "Pending", ready="true")), {}, id="a-marked-one-pending"),
    pytest.param(req(pod("a"), pod("b", "Succeeded", ready="false")), {}, id="a-finished-one-marked-false"),
    # Never removed: a marked pod keeps its label, whatever its gang does now.
    pytest.param(req(pod("a", ready="true"), pod("b", "Pending")), MARKED, id="marked-stays-marked"),
    pytest.param(req(pod("a", "Failed", ready="true")), MARKED, id="marked-and-failed-stays-marked"),
    pytest.param(req(pod("a", ready="false"), pod("b")), MARKED, id="marked-false-overwritten-when-complete"),
    pytest.param(req(pod("a", ready="false"), pod("b", "Pending")), {}, id="marked-false-left-alone"),
    # Only the target's group and namespace count.
    pytest.param(req(pod("a"), pod("b", "Pending", group="other")), MARKED, id="another-group-ignored"),
    pytest.param(req(pod("a"), pod("b", "Pending", ns="other")), MARKED, id="another-namespace-ignored"),
    pytest.param(req(pod("a"), pod("b", "Pending", group=None)), MARKED, id="a-pod-of-no-group-ignored"),
    pytest.param(req(pod("a", group="")), MARKED, id="the-empty-group-name-is-a-group"),
    pytest.param(req(pod("a", group=None)), {}, id="the-target-in-no-group"),
]


@pytest.mark.parametrize("body,labels", TABLE)
def test_label_answer(body, labels):
    assert answer(body) == {"labels": labels}


def test_a_stale_customize_answer_is_not_complete_and_asks_again():
    """Related pods that do not list the target came from a customize answer for its previous
    group (cached per pod for 20 minutes): its gang is unknown, so not complete."""
    moved = pod("a", group="new")
    body = req(moved, pod("a", group="old"), pod("b", group="old"), related_self=False)
    assert answer(body) == {"labels": {}, "resyncAfterSeconds": c.GANG_STALE_RESYNC_SECONDS}
    assert answer(req(moved, related_self=False)) == {"labels": {}, "resyncAfterSeconds": c.GANG_STALE_RESYNC_SECONDS}


def test_the_target_is_judged_by_its_own_object_not_its_related_copy():
    body = req(pod("a"), pod("b"))
    body["related"][c.RELATED_POD]["ns/a"] = pod("a", "Pending")
    assert answer(body) == {"labels": MARKED}
    body["object"] = pod("a", "Pending")
    body["related"][c.RELATED_POD]["ns/a"] = pod("a")
    assert answer(body) == {"labels": {}}


def test_hook_v1_keys_by_name_alone():
    body = req(pod("a"), pod("b", "Pending"))
    body["related"][c.RELATED_POD] = {p["metadata"]["name"]: p for p in body["related"][c.RELATED_POD].values()}
    assert answer(body) == {"labels": {}}


def test_every_pod_of_a_gang_is_marked_exactly_when_the_last_one_runs():
    """Replay a gang starting pod by pod: no pod is marked before the last runs, then all are,
    even those asked about after others were marked and completed."""
    names = ["w0", "w1", "w2", "w3"]
    pods = {n: pod(n, "Pending") for n in names}
    for n in names[:-1]:
        pods[n] = pod(n)
        for target in names:
            assert answer(req(pods[target], *(p for k, p in pods.items() if k != target))) == {"labels": {}}
    pods["w3"] = pod("w3")
    for target in names:  # each marked, then completed by the Stage before the next is asked about
        got = answer(req(pods[target], *(p for k, p in pods.items() if k != target)))
        assert got == {"labels": MARKED}
        pods[target] = pod(target, "Succeeded", ready="true")


# --- properties ---------------------------------------------------------------------------------------
PHASES = st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown", None])
MEMBERS = st.lists(st.tuples(PHASES, st.sampled_from([None, "true", "false"])), max_size=8)


def _gang(phase, mark, members):
    target = pod("t", phase, ready=mark)
    return target, [pod(f"m{i}", p, ready=m) for i, (p, m) in enumerate(members)]


@given(phase=PHASES, mark=st.sampled_from([None, "true", "false"]), members=MEMBERS)
def test_marked_exactly_when_every_member_counts_or_already_marked(phase, mark, members):
    target, others = _gang(phase, mark, members)
    complete = all(gangready.counts(p) for p in [target, *others])
    got = answer(req(target, *others))
    assert got == {"labels": MARKED if complete or mark == "true" else {}}
    assert None not in got["labels"].values()  # nothing is ever removed


@given(phase=PHASES, mark=st.sampled_from([None, "true"]), members=MEMBERS, data=st.data())
def test_the_answer_does_not_depend_on_the_order_of_related_pods(phase, mark, members, data):
    target, others = _gang(phase, mark, members)
    shuffled = data.draw(st.permutations(others))
    assert answer(req(target, *others)) == answer(req(target, *shuffled))


# --- customize ----------------------------------------------------------------------------------------
def test_customize_asks_for_the_pods_of_the_group_in_the_namespace():
    assert gangready.customize(pod("a", group="job-1")) == {
        "relatedResources": [
            {"apiVersion": "v1", "resource": "pods", "namespace": "ns", "labelSelector": {"matchLabels": {NAME: "job-1"}}}
        ]
    }


def test_customize_answers_a_pod_of_no_group_with_nothing():
    """Metacontroller asks about every pod of the cluster while it looks for the parents of a changed
    related pod; a 200 is cached, an error would make it ask again on every pod event."""
    assert gangready.customize(pod("a", group=None)) == {"relatedResources": []}


# --- HTTP contract ------------------------------------------------------------------------------------
@pytest.fixture
def client():
    return create_app().test_client()


def test_200_carries_labels_only_and_is_byte_for_byte_deterministic(client):
    body = req(pod("a"), pod("b"))
    first, second = _post(client, "/gangready/sync", body), _post(client, "/gangready/sync", copy.deepcopy(body))
    assert first.status_code == 200 and first.data == second.data
    assert json.loads(first.data) == {"labels": MARKED}  # no status: null leaves the pod's status alone


def test_customize_route(client):
    got = _post(client, "/gangready/customize", {"controller": {}, "parent": pod("a")})
    assert got.status_code == 200 and got.get_json() == gangready.customize(pod("a"))


SYNC_422 = [
    pytest.param(lambda r: r.pop("object"), "object", id="no-object"),
    pytest.param(lambda r: r.pop("controller"), "controller", id="no-controller"),
    pytest.param(lambda r: r.pop("related"), "related", id="no-related"),
    pytest.param(lambda r: r.pop("attachments"), "attachments", id="no-attachments"),
    pytest.param(lambda r: r.update(related={}), f"related.{c.RELATED_POD}", id="related-without-pods"),
    pytest.param(lambda r: r["object"].update(kind="Deployment"), "object.kind", id="object-not-a-pod"),
    pytest.param(lambda r: r["object"].update(apiVersion="v2"), "object.apiVersion", id="object-of-another-version"),
    pytest.param(lambda r: r["object"]["metadata"].pop("name"), "object.metadata.name", id="object-without-name"),
    pytest.param(lambda r: r["object"]["metadata"].pop("namespace"), "object.metadata.namespace", id="object-without-namespace"),
    pytest.param(lambda r: r["object"]["metadata"]["labels"].update({NAME: 5}), f"object.metadata.labels.{NAME}", id="label-not-a-string"),
    pytest.param(lambda r: r["object"].update(status={"phase": 1}), "object.status.phase", id="phase-not-a-string"),
    pytest.param(
        lambda r: r["related"][c.RELATED_POD]["ns/b"]["metadata"].pop("namespace"),
        f"related.{c.RELATED_POD}.ns/b.metadata.namespace",
        id="related-pod-without-namespace",
    ),
    pytest.param(lambda r: r["related"][c.RELATED_POD]["ns/b"].update(kind="Service"), f"related.{c.RELATED_POD}.ns/b.kind", id="related-not-a-pod"),
    # A 200 deletes every attachment it omits, and the answer returns none.
    pytest.param(lambda r: r["attachments"].update({"Service.v1": {"ns/x": {}}}), "attachments.Service.v1", id="an-observed-attachment"),
    pytest.param(lambda r: r.update(finalizing=True), "finalizing", id="finalizing"),
]


@pytest.mark.parametrize("mutate,path", SYNC_422)
def test_422_for_a_sync_request_that_is_not_a_gang_ready_decorator_request(client, mutate, path):
    body = req(pod("a"), pod("b"))
    mutate(body)
    got = _post(client, "/gangready/sync", body)
    assert got.status_code == 422
    assert any(p["path"] == path for p in got.get_json()["problems"]), got.get_json()


@pytest.mark.parametrize(
    "body,path",
    [
        pytest.param({"parent": pod("a")}, "controller", id="no-controller"),
        pytest.param({"controller": {}}, "parent", id="no-parent"),
        pytest.param({"controller": {}, "object": pod("a")}, "parent", id="a-sync-request"),
        pytest.param({"controller": {}, "parent": {**pod("a"), "kind": "RoleBasedGroup"}}, "parent.kind", id="parent-not-a-pod"),
    ],
)
def test_422_for_a_customize_request_that_is_not_about_a_pod(client, body, path):
    got = _post(client, "/gangready/customize", body)
    assert got.status_code == 422
    assert any(p["path"] == path for p in got.get_json()["problems"]), got.get_json()


def test_400_for_a_body_that_is_not_a_json_object(client):
    assert client.post("/gangready/sync", data=b"[]", content_type="application/json").status_code == 400


def test_an_internal_error_is_a_500_not_an_answer(client, monkeypatch):
    def fail(_):
        raise RuntimeError("boom")

    monkeypatch.setattr(gangready, "gang", fail)
    got = _post(client, "/gangready/sync", req(pod("a"), pod("b")))
    assert got.status_code == 500 and "labels" not in got.get_json()


# --- examples -----------------------------------------------------------------------------------------
def _docs(name: str) -> list[Obj]:
    return [d for d in yaml.safe_load_all((GANG_READY / name).read_text()) if d]


def test_the_stage_is_the_origins_unchanged_and_the_local_cluster_loads_it():
    """jhwagner/podgroup-controller README, "Usage with KWOK"."""
    origin = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": "pod-complete-on-ready"},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {"matchLabels": {READY: "true"}},
            "next": {
                "statusTemplate": '{{ $now := Now }}\nconditions:\n- lastTransitionTime: {{ $now }}\n  status: "True"\n'
                "  type: Ready\nphase: Succeeded\n"
            },
        },
    }
    assert _docs("pod-complete-on-ready.yaml") == [origin]
    assert ROOT / GANG_READY_STAGE == GANG_READY / "pod-complete-on-ready.yaml"


def assert_pods_wait_for_their_nodes(docs: list[Obj]) -> None:
    """Every pod comes before the KWOK nodes it alone runs on: the whole gang exists, Pending,
    before any pod can run (a gang is the pods that exist; a pod running alone would be marked)."""
    kinds = [d["kind"] for d in docs]
    assert set(kinds) == {"Pod", "Node"} and kinds == ["Pod"] * kinds.count("Pod") + ["Node"] * kinds.count("Node")
    nodes = [d for d in docs if d["kind"] == "Node"]
    for node in nodes:
        assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
        assert "type" not in node["metadata"]["labels"]  # not one of the local cluster's own nodes
    for p in (d for d in docs if d["kind"] == "Pod"):
        assert not set(p["metadata"]["labels"]) - {NAME}  # a group, no ready label
        for node in nodes:
            assert p["spec"]["nodeSelector"].items() <= node["metadata"]["labels"].items()
            tolerated = {(t["key"], t["value"], t["effect"]) for t in p["spec"]["tolerations"]}
            assert {(t["key"], t["value"], t["effect"]) for t in node["spec"]["taints"]} <= tolerated


def test_the_training_job_is_one_gang_of_bare_pods():
    docs = _docs("training-job.yaml")
    assert_pods_wait_for_their_nodes(docs)
    pods = [d for d in docs if d["kind"] == "Pod"]
    assert len(pods) == 4 and {p["metadata"]["labels"][NAME] for p in pods} == {"training-job-1"}
    assert not any(p["metadata"].get("ownerReferences") for p in pods)


def _gpus(obj: Obj) -> int:
    if obj["kind"] == "Node":
        return int(obj["status"]["allocatable"]["nvidia.com/gpu"])
    return sum(int(ct["resources"]["limits"]["nvidia.com/gpu"]) for ct in obj["spec"]["containers"])


def test_the_deadlock_gangs_each_fit_alone_not_together_and_are_interleaved():
    docs = _docs("deadlock.yaml")
    assert_pods_wait_for_their_nodes(docs)
    nodes = [d for d in docs if d["kind"] == "Node"]
    pods = [d for d in docs if d["kind"] == "Pod"]
    gangs: dict[str, list[Obj]] = {}
    for p in pods:
        gangs.setdefault(p["metadata"]["labels"][NAME], []).append(p)
    capacity, need = sum(map(_gpus, nodes)), {g: sum(map(_gpus, ps)) for g, ps in gangs.items()}
    assert len(gangs) == 2 and all(n <= capacity < n + m for n in need.values() for m in need.values())
    # Created interleaved: the scheduler, in creation order, gives each gang half the GPUs.
    order = [p["metadata"]["labels"][NAME] for p in pods]
    assert order == [g for _ in range(len(pods) // 2) for g in sorted(gangs)]
    assert all(_gpus(n) % _gpus(p) == 0 for n in nodes for p in pods)  # no GPU left over on a node


def test_a_roles_template_labels_reach_its_pods_unchanged():
    """How RoleBasedGroup pods join a gang: the podgroup label in each role's template."""
    group = example_group(V1ALPHA1 / "minimal.yaml")
    for role in group["spec"]["roles"]:
        role["template"].setdefault("metadata", {}).setdefault("labels", {})[NAME] = "my-gang"
    workloads = [ch for (kind, _), ch in by_kind(sync(request(group)).children).items() if kind in (c.KIND_STATEFULSET, c.KIND_DEPLOYMENT)]
    assert workloads and all(w["spec"]["template"]["metadata"]["labels"][NAME] == "my-gang" for w in workloads)
