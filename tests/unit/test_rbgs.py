"""The RoleBasedGroupSet core: members to create, update, keep and delete; both forms; status."""

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import yaml

from hooks import constants as c
from hooks.api import RoleBasedGroupSetSpec
from hooks.core import rbgs
from tests.support import ROOT, UPSTREAM_EXAMPLES, condition, hub
from tests.support import observe_members as observed, sync_set as sync

UPSTREAM = UPSTREAM_EXAMPLES / "rbgs"
TEMPLATE = {
    "roles": [
        {"name": "prefill", "replicas": 2, "template": {"spec": {"containers": [{"name": "e", "image": "engine:1"}]}}},
        {"name": "decode", "replicas": 2, "dependencies": ["prefill"], "template": {"spec": {"containers": [{"name": "e", "image": "engine:1"}]}}},
    ]
}


def parent(replicas=3, template=None, generation=1, **spec):
    return {
        "apiVersion": c.API_VERSION_V1ALPHA1,  # converted (tests.support.sync_set), as hooks.app converts it
        "kind": c.KIND_RBGS,
        "metadata": {
            "name": "s",
            "namespace": "default",
            "generation": generation,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"team": "a"},
            "annotations": {
                c.ANNOTATION_LAST_APPLIED.replace("metacontroller.k8s.io", "kubectl.kubernetes.io"): "{}",
                "rolebasedgroup.workloads.x-k8s.io/exclusive-topology": "kubernetes.io/hostname",
            },
        },
        "spec": {"replicas": replicas, "template": template or TEMPLATE, **spec},
    }


def names(result):
    return [ch["metadata"]["name"] for ch in result.children]


def images(result):
    return {ch["metadata"]["name"]: ch["spec"]["roles"][0]["standalonePattern"]["template"]["spec"]["containers"][0]["image"] for ch in result.children}


def with_image(image):
    template = copy.deepcopy(TEMPLATE)
    for role in template["roles"]:
        role["template"]["spec"]["containers"][0]["image"] = image
    return template


def test_members_carry_the_set_labels_annotations_and_template():
    result = sync(parent())
    assert names(result) == ["s-0", "s-1", "s-2"]
    m = result.children[1]
    assert m["apiVersion"] == c.API_VERSION and m["kind"] == c.KIND_RBG
    assert m["metadata"]["labels"] == {"team": "a", c.LABEL_SET_NAME: "s", c.LABEL_SET_INDEX: "1"}
    assert m["metadata"]["annotations"]["rolebasedgroup.workloads.x-k8s.io/exclusive-topology"] == "kubernetes.io/hostname"
    assert not any(k.startswith("kubectl.kubernetes.io") for k in m["metadata"]["annotations"])
    for role in m["spec"]["roles"]:  # pods carry the set's labels: status.selector selects them
        assert role["standalonePattern"]["template"]["metadata"]["labels"] == {c.LABEL_SET_NAME: "s", c.LABEL_SET_INDEX: "1"}
    assert result.status["selector"] == f"{c.LABEL_SET_NAME}=s"


@pytest.mark.parametrize(
    "startup, ready, want",
    [
        pytest.param("Parallel", set(), ["s-0", "s-1", "s-2", "s-3"], id="parallel-creates-all"),
        pytest.param("Ordered", set(), ["s-0", "s-1"], id="ordered-waits-for-s-1"),
        pytest.param("Ordered", {1}, ["s-0", "s-1", "s-2"], id="ordered-next-once-previous-ready"),
        pytest.param("Ordered", {0, 1}, ["s-0", "s-1", "s-2"], id="ordered-one-at-a-time"),
    ],
)
def test_startup_policy(startup, ready, want):
    """Observed: s-0 and s-1 exist; which else is created depends on the policy and who is Ready."""
    existing = sync(parent(2)).children
    result = sync(parent(4, startupPolicy=startup), observed(existing, ready=ready))
    assert names(result) == want


def test_ordered_says_what_it_waits_for():
    existing = sync(parent(1)).children
    result = sync(parent(3, startupPolicy="Ordered"), observed(existing, ready=set()))
    progressing = condition(result.status, c.COND_PROGRESSING)
    assert (progressing["reason"], progressing["message"]) == (
        c.REASON_WAITING_FOR_MEMBERS,
        "s-1 waits for s-0 to be Ready (startupPolicy Ordered)",
    )


def test_scale_down_removes_the_highest_indices():
    existing = sync(parent(4)).children
    assert names(sync(parent(2), observed(existing))) == ["s-0", "s-1"]


@pytest.mark.parametrize(
    "replicas, max_unavailable, ready, updated",
    [
        pytest.param(4, None, {0, 1, 2, 3}, ["s-0"], id="default-one-at-a-time"),
        pytest.param(4, 2, {0, 1, 2, 3}, ["s-0", "s-1"], id="two-at-a-time"),
        pytest.param(4, "50%", {0, 1, 2, 3}, ["s-0", "s-1"], id="percentage"),
        pytest.param(4, "10%", {0, 1, 2, 3}, ["s-0"], id="percentage-rounds-down-to-at-least-one"),
        pytest.param(4, 1, {0, 2, 3}, ["s-1"], id="a-member-not-ready-takes-the-budget-and-is-updated"),
        pytest.param(4, 1, {2, 3}, ["s-0", "s-1"], id="members-not-ready-never-stall"),
        pytest.param(1, None, {0}, ["s-0"], id="single-member"),
    ],
)
def test_a_template_change_rolls_within_max_unavailable(replicas, max_unavailable, ready, updated):
    old = sync(parent(replicas)).children
    strategy = {} if max_unavailable is None else {"rolloutStrategy": {"rollingUpdate": {"maxUnavailable": max_unavailable}}}
    result = sync(parent(replicas, with_image("engine:2"), generation=2, **strategy), observed(old, ready=ready))
    assert sorted(n for n, image in images(result).items() if image == "engine:2") == updated
    assert names(result) == [f"s-{i}" for i in range(replicas)]  # nothing deleted meanwhile


def test_a_member_waiting_to_roll_is_returned_exactly_as_applied():
    old = sync(parent(2)).children
    result = sync(parent(2, with_image("engine:2"), generation=2), observed(old))
    assert result.children[1] == old[1]
    assert "1 wait for members to be Ready" in condition(result.status, c.COND_PROGRESSING)["message"]


def test_a_member_whose_new_spec_is_not_yet_observed_counts_as_unavailable():
    old = sync(parent(3)).children
    first = sync(parent(3, with_image("engine:2"), generation=2), observed(old))
    # s-0 got the new template; its status is of the older generation.
    children = observed(first.children)
    children[c.CHILD_RBG]["default/s-0"]["metadata"]["generation"] = 2
    second = sync(parent(3, with_image("engine:2"), generation=2), children)
    assert images(second) == {"s-0": "engine:2", "s-1": "engine:1", "s-2": "engine:1"}


def test_status_counts_members():
    old = sync(parent(3)).children
    result = sync(parent(3, with_image("engine:2"), generation=2), observed(old, ready={0, 2}))
    assert {k: result.status[k] for k in ("replicas", "readyReplicas", "updatedReplicas")} == {
        "replicas": 3, "readyReplicas": 2, "updatedReplicas": 0,
    }
    ready = condition(result.status, c.COND_READY)
    assert (ready["status"], ready["message"]) == ("False", "members not ready: s-1")


def test_the_seed_form_gives_the_same_members_as_upstreams():
    seed = parent()
    seed["apiVersion"] = c.SEED_API_VERSION
    roles = [{"role": r["name"], **{k: v for k, v in r.items() if k != "name"}} for r in TEMPLATE["roles"]]
    seed["spec"] = {"replicas": 3, "groupTemplate": {"roles": roles}}
    assert sync(seed).children == sync(parent()).children


def test_an_invalid_set_keeps_its_members_and_says_why():
    existing = sync(parent(2)).children
    cyclic = copy.deepcopy(TEMPLATE)
    cyclic["roles"][0]["dependencies"] = ["decode"]
    result = sync(parent(1, cyclic, generation=2), observed(existing))
    assert result.children == existing  # not even scaled down
    invalid = condition(result.status, c.COND_INVALID_SPEC)
    assert invalid["status"] == "True" and invalid["message"].startswith("spec.groupTemplate.spec.roles")


def test_a_seed_form_problem_is_reported_in_its_own_spelling():
    seed = parent()
    seed["apiVersion"] = c.SEED_API_VERSION
    seed["spec"] = {"replicas": 1, "groupTemplate": {"roles": [{"role": "A", "template": {}}]}}
    message = condition(sync(seed).status, c.COND_INVALID_SPEC)["message"]
    assert "spec.groupTemplate.roles[0].role" in message


def test_member_names_must_leave_room_for_the_index():
    long = copy.deepcopy(TEMPLATE)
    long["roles"][1]["name"] = "d" * 45  # "s-9-<45>" is 49 characters, "s-10-<45>" 50: both fit 52
    assert condition(sync(parent(10, long)).status, c.COND_INVALID_SPEC)["status"] == "False"
    long["roles"][1]["name"] = "d" * 48  # "s-10-<48>" is 53
    assert condition(sync(parent(11, long)).status, c.COND_INVALID_SPEC)["status"] == "True"


def test_same_request_same_bytes():
    old = sync(parent(3)).children
    req = parent(3, with_image("engine:2"), generation=2)
    one, two = sync(req, observed(old, ready={0})), sync(copy.deepcopy(req), observed(old, ready={0}))
    assert json.dumps(one.response()) == json.dumps(two.response())


@pytest.mark.parametrize("path", sorted(UPSTREAM.glob("*.yaml")), ids=lambda p: p.stem)
def test_upstream_set_examples_are_valid(path):
    doc = yaml.safe_load(path.read_text())
    doc["metadata"] |= {"namespace": "default", "generation": 1}
    result = sync(doc)
    assert condition(result.status, c.COND_INVALID_SPEC)["status"] == "False"
    assert names(result) == ["rbgs-test-0", "rbgs-test-1"]


@pytest.mark.parametrize("path", sorted((ROOT / "examples" / "sets").glob("*.yaml")), ids=lambda p: p.stem)
def test_set_examples_are_valid(path):
    doc = yaml.safe_load(path.read_text())
    doc["metadata"] |= {"namespace": "default", "generation": 1}
    result = sync(doc)
    assert condition(result.status, c.COND_INVALID_SPEC)["status"] == "False"
    assert len(result.children) == doc["spec"]["replicas"]


def test_scale_down_during_a_rollout_removes_the_highest_indices_and_keeps_the_progress():
    """Upstream #270: a scale-down during a rollout removed the wrong pods."""
    old = sync(parent(4)).children
    first = sync(parent(4, with_image("engine:2"), generation=2), observed(old))
    assert images(first)["s-0"] == "engine:2"
    result = sync(parent(2, with_image("engine:2"), generation=3), observed(first.children))
    assert names(result) == ["s-0", "s-1"]
    assert images(result) == {"s-0": "engine:2", "s-1": "engine:2"}  # s-0 Ready again: s-1 goes next


@given(
    replicas=st.integers(0, 12),
    existing=st.integers(0, 12),
    ready=st.sets(st.integers(0, 11)),
    outdated=st.sets(st.integers(0, 11)),
    max_unavailable=st.one_of(st.integers(0, 5), st.sampled_from(["0%", "10%", "50%", "100%"])),
    ordered=st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_plan_properties(replicas, existing, ready, outdated, max_unavailable, ordered):
    """Whatever the state: members below `replicas` are never dropped; Ready members are taken
    down for an update only within maxUnavailable (at least 1); a rollout always progresses;
    Ordered creates only after a Ready predecessor."""
    spec = RoleBasedGroupSetSpec.model_validate(
        {"replicas": replicas, "groupTemplate": {"spec": hub.group(TEMPLATE)["spec"]}, "startupPolicy": "Ordered" if ordered else "Parallel",
         "rolloutStrategy": {"rollingUpdate": {"maxUnavailable": max_unavailable}}}
    )
    members = {}
    for i in range(existing):
        members[i] = {
            "metadata": {"name": f"s-{i}", "generation": 1,
                         "annotations": {c.ANNOTATION_SET_TEMPLATE_HASH: "old" if i in outdated else "new"}},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True" if i in ready else "False"}]},
        }
    p = rbgs.plan(spec, members, "new")
    wanted = set(range(replicas))
    assert set(p.create) <= wanted - set(members)
    assert set(p.update) | set(p.hold) == {i for i in wanted & set(members) if i in outdated}
    unavailable = sum(1 for i in wanted & set(members) if i not in ready)
    taken_down = [i for i in p.update if i in ready]
    assert len(taken_down) <= max(rbgs.max_unavailable(spec) - unavailable, 0)
    if p.hold:  # waiting only while the budget is used up
        assert unavailable + len(taken_down) >= rbgs.max_unavailable(spec)
    if set(p.update) | set(p.hold):
        assert p.update or unavailable >= 1  # progress, or members are already down
    if ordered:
        assert all(i == 0 or (i - 1 in members and i - 1 in ready) for i in p.create)
    else:
        assert set(p.create) == wanted - set(members)


def test_members_of_a_template_with_role_templates_label_pods_through_the_patch():
    template = {
        "roleTemplates": [{"name": "engine", "template": {"spec": {"containers": [{"name": "e", "image": "engine:1"}]}}}],
        "roles": [{"name": "prefill", "templateRef": {"name": "engine"}}, {"name": "decode", "templateRef": {"name": "engine"}, "templatePatch": {"metadata": {"labels": {"x": "y"}}}}],
    }
    result = sync(parent(1, template))
    assert condition(result.status, c.COND_INVALID_SPEC)["status"] == "False"
    roles = result.children[0]["spec"]["roles"]
    assert all("template" not in r["standalonePattern"] for r in roles)
    assert roles[1]["standalonePattern"]["templateRef"]["patch"]["metadata"]["labels"] == {"x": "y", c.LABEL_SET_NAME: "s", c.LABEL_SET_INDEX: "0"}


def test_seed_paths_rename_only_role_names():
    assert rbgs._seed_path("spec.groupTemplate.spec.roles[2].name") == "spec.groupTemplate.roles[2].role"
    assert rbgs._seed_path("spec.groupTemplate.spec.roleTemplates[0].name") == "spec.groupTemplate.roleTemplates[0].name"


def test_members_of_a_v1alpha2_set_carry_upstreams_groupset_labels():
    """`kubectl get rbg -l rbg.workloads.x-k8s.io/groupset-name=<set>` lists a v1alpha2 set's members,
    as upstream's; a set written as v1alpha1 keeps exactly the labels its members had."""
    v2 = parent(2)
    v2["apiVersion"] = c.API_VERSION
    v2["spec"] = {"replicas": 2, "groupTemplate": {"spec": hub.group(TEMPLATE)["spec"]}}
    m = sync(v2).children[1]
    assert m["metadata"]["labels"] == {
        "team": "a", c.LABEL_SET_NAME: "s", c.LABEL_SET_INDEX: "1", c.LABEL_GROUPSET_NAME: "s", c.LABEL_GROUPSET_INDEX: "1"
    }
    old = sync(parent(2)).children[1]
    assert c.LABEL_GROUPSET_NAME not in old["metadata"]["labels"]
