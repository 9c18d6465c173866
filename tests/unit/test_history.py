"""Rollout history: the group's ControllerRevisions, their numbers, and what is kept."""

import copy

import pytest

from hooks import constants as c
from hooks.children.revision import controller_revision, template_hash
from hooks.core.history import numbering
from hooks.validation import Invalid, parse_spec
from tests.support import hub
from tests.support import V1ALPHA1, by_kind, example_group, observe, request, sync

MINIMAL = V1ALPHA1 / "minimal.yaml"
PD = V1ALPHA1 / "pd-disagg.yaml"


@pytest.mark.parametrize(
    "current,observed,limit,want",
    [
        pytest.param("a", {}, 10, {"a": 1}, id="first-revision"),
        pytest.param("a", {"a": 1}, 10, {"a": 1}, id="unchanged"),
        pytest.param("b", {"a": 1}, 10, {"b": 2, "a": 1}, id="new-template"),
        pytest.param("b", {"a": 1, "b": 2}, 10, {"b": 2, "a": 1}, id="new-template-observed"),
        pytest.param("a", {"a": 1, "b": 2}, 10, {"a": 3, "b": 2}, id="undo-bumps-the-older-revision"),
        pytest.param("a", {"a": 3, "b": 2}, 10, {"a": 3, "b": 2}, id="undo-observed"),
        pytest.param("b", {"a": 3, "b": 2}, 10, {"b": 4, "a": 3}, id="undo-of-the-undo"),
        pytest.param("c", {"a": 1, "b": 5}, 10, {"c": 6, "b": 5, "a": 1}, id="gaps-are-kept"),
        pytest.param("e", {"a": 1, "b": 2, "c": 3, "d": 4}, 2, {"e": 5, "d": 4, "c": 3}, id="limit-drops-the-lowest"),
        pytest.param("a", {"a": 1, "b": 2, "c": 3}, 1, {"a": 4, "c": 3}, id="undo-beyond-the-limit-is-kept"),
        pytest.param("d", {"a": 1, "b": 2, "c": 3}, 0, {"d": 4}, id="limit-zero-keeps-the-current-only"),
        pytest.param("c", {"a": 2, "b": 2}, 1, {"c": 3, "a": 2}, id="equal-numbers-ordered-by-hash"),
    ],
)
def test_numbering(current, observed, limit, want):
    got = numbering(current, observed, limit)
    assert got == want and list(got) == list(want)  # current first, then newest first


def test_numbering_keeps_the_newest_older_revisions_within_the_budget():
    observed = {"a": 1, "b": 2, "c": 3}
    sizes = {"a": 10, "b": 60, "c": 50}
    assert numbering("d", observed, 10, sizes, budget=110) == {"d": 4, "c": 3, "b": 2}
    assert numbering("d", observed, 10, sizes, budget=109) == {"d": 4, "c": 3}  # never a gap: a is not kept either
    assert numbering("d", observed, 10, sizes, budget=0) == {"d": 4}


def _revisions(result, role=None):
    """{name: (revision, data)} of the response's ControllerRevisions."""
    return {
        ch["metadata"]["name"]: (ch["revision"], ch["data"])
        for ch in result.children
        if ch["kind"] == c.KIND_CONTROLLER_REVISION and role in (None, ch["metadata"]["labels"][c.LABEL_REVISION_ROLE])
    }


def _image(group, role, image):
    out = copy.deepcopy(group)
    spec = next(r for r in out["spec"]["roles"] if r["name"] == role)
    spec["template"]["spec"]["containers"][0]["image"] = image
    return out


class Cluster:
    """The group's children as Metacontroller keeps them: each sync observes what the last one returned."""

    def __init__(self, group):
        self.group, self.children = group, None

    def sync(self, group=None):
        self.group = group or self.group
        result = sync(request(self.group, self.children))
        if self.children is not None:
            _assert_data_never_changes(self.children, result)
        self.children = observe(result.children)
        return result


def _assert_data_never_changes(observed, result):
    """Kubernetes rejects any change of a ControllerRevision's data: a name keeps its data."""
    before = {o["metadata"]["name"]: o["data"] for o in observed[c.CHILD_CONTROLLER_REVISION].values()}
    for name, (_, data) in _revisions(result).items():
        assert before.get(name, data) == data, name


def test_every_started_role_records_its_template_as_written():
    group = example_group(MINIMAL)
    result = sync(request(group))
    db = group["spec"]["roles"][0]
    digest = template_hash(db["template"])
    (rev,) = [ch for ch in result.children if ch["kind"] == c.KIND_CONTROLLER_REVISION]  # app waits for db: no history yet
    assert rev == {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": f"minimal-db-{digest}",
            "labels": {c.LABEL_GROUP_NAME: "minimal", c.LABEL_REVISION_ROLE: "db", c.LABEL_REVISION_HASH: digest},
        },
        "data": {"template": db["template"]},  # without the labels, env and mount the workload gets
        "revision": 1,
    }
    assert rev == controller_revision("minimal", "db", db["template"], 1)


def test_revision_names_fit_63_characters():
    group, role = "g" * 40, "r" * 11  # "<group>-<role>" at its limit of 52
    rev = controller_revision(group, role, {"spec": {"containers": [{"name": "x", "image": "y"}]}}, 1)
    assert len(rev["metadata"]["name"]) == 63 and len(template_hash({})) == c.REVISION_HASH_LENGTH


def test_hash_is_canonical():
    assert template_hash({"a": 1, "b": [1.0, {"c": 2}]}) == template_hash({"b": [1, {"c": 2}], "a": 1})
    assert template_hash({"a": 1}) != template_hash({"a": 2})


def test_rollout_then_undo_numbers_revisions_as_deployments_do():
    group = example_group(MINIMAL)
    cluster = Cluster(group)
    cluster.sync()
    cluster.sync()  # app starts
    v1 = template_hash(group["spec"]["roles"][1]["template"])
    assert {n: r for n, (r, _) in _revisions(cluster.sync(), "app").items()} == {f"minimal-app-{v1}": 1}

    changed = _image(group, "app", "busybox:2")
    v2 = template_hash(changed["spec"]["roles"][1]["template"])
    assert {n: r for n, (r, _) in _revisions(cluster.sync(changed), "app").items()} == {f"minimal-app-{v2}": 2, f"minimal-app-{v1}": 1}
    again = cluster.sync()
    assert {n: r for n, (r, _) in _revisions(again, "app").items()} == {f"minimal-app-{v2}": 2, f"minimal-app-{v1}": 1}

    undone = cluster.sync(group)  # the first template again
    assert {n: r for n, (r, _) in _revisions(undone, "app").items()} == {f"minimal-app-{v1}": 3, f"minimal-app-{v2}": 2}
    assert _revisions(cluster.sync(), "app") == _revisions(undone, "app")  # steady: the same answer
    # db never changed: one revision, never renumbered
    assert [r for r, _ in _revisions(undone, "db").values()] == [1]


def test_history_is_limited_per_role():
    group = example_group(MINIMAL)
    group["spec"]["revisionHistoryLimit"] = 2
    cluster = Cluster(group)
    for i in range(6):
        result = cluster.sync(_image(group, "db", f"postgres:{i}"))
    numbers = sorted(r for r, _ in _revisions(result, "db").values())
    assert numbers == [4, 5, 6]  # the current one and the 2 newest older ones


def test_default_limit_is_ten():
    group = example_group(MINIMAL)
    cluster = Cluster(group)
    for i in range(15):
        result = cluster.sync(_image(group, "db", f"postgres:{i}"))
    assert sorted(r for r, _ in _revisions(result, "db").values()) == list(range(5, 16))


def test_a_revision_keeps_the_data_it_was_created_with():
    """Observed data is returned as observed, even when today's template would hash to the name."""
    group = example_group(MINIMAL)
    cluster = Cluster(group)
    cluster.sync()
    (key, rev), = cluster.children[c.CHILD_CONTROLLER_REVISION].items()
    rev["data"]["template"]["metadata"] = {"labels": {"as": "stored"}}  # what the API server holds for that name
    got = by_kind(cluster.sync().children)[(c.KIND_CONTROLLER_REVISION, rev["metadata"]["name"])]
    assert got["data"] == rev["data"]


def test_only_roles_whose_workload_is_returned_have_history():
    result = sync(request(example_group(PD)))
    started = {ch["metadata"]["labels"][c.LABEL_ROLE_NAME] for ch in result.children if ch["kind"] == c.KIND_STATEFULSET}
    recorded = {ch["metadata"]["labels"][c.LABEL_REVISION_ROLE] for ch in result.children if ch["kind"] == c.KIND_CONTROLLER_REVISION}
    assert recorded == started == {"prefill", "decode"}  # the router waits for them


def test_a_removed_role_loses_its_history():
    group = example_group(MINIMAL)
    cluster = Cluster(group)
    cluster.sync()
    cluster.sync()
    alone = copy.deepcopy(group)
    alone["spec"]["roles"] = [r for r in alone["spec"]["roles"] if r["name"] == "db"]
    for r in alone["spec"]["roles"]:
        r.pop("dependencies", None)
    assert set(_revisions(cluster.sync(alone), "app")) == set()


def test_foreign_revisions_are_not_history():
    """A ControllerRevision that is not in the shape these hooks give (made by hand) is not kept."""
    group = example_group(MINIMAL)
    cluster = Cluster(group)
    cluster.sync()
    revs = cluster.children[c.CHILD_CONTROLLER_REVISION]
    (rev,) = revs.values()
    odd = copy.deepcopy(rev)
    odd["metadata"]["name"] = "minimal-db-byhand"
    revs["default/minimal-db-byhand"] = odd
    assert set(_revisions(cluster.sync(), "db")) == {rev["metadata"]["name"]}


def test_frozen_group_keeps_its_history_as_applied():
    group = example_group(MINIMAL)
    cluster = Cluster(group)
    cluster.sync()
    before = _revisions(cluster.sync())
    cycle = copy.deepcopy(group)
    cycle["spec"]["roles"][0]["dependencies"] = ["app"]
    assert _revisions(cluster.sync(cycle)) == before


@pytest.mark.parametrize("limit", [-1, 1001])
def test_revision_history_limit_is_checked(limit):
    spec = copy.deepcopy(example_group(MINIMAL)["spec"])
    spec["revisionHistoryLimit"] = limit
    got = parse_spec("minimal", hub.group(spec)["spec"])
    assert isinstance(got, Invalid) and got.problems[0].path == "spec.revisionHistoryLimit"
