"""The group's pods as related objects: the customize hook, and readiness read from pods."""

import copy
from functools import partial

import pytest

from hooks import constants as c
from hooks.app import create_app
from hooks.naming import group_unique_key
from tests.support import V1ALPHA1, condition, example_group, observe, related_pods, request, sync
from tests.support import pod as _pod

MINIMAL = V1ALPHA1 / "minimal.yaml"
CUSTOMIZE = {"webhook": {"url": "http://hooks/customize"}}
REVISION = "minimal-db-5d4f8"


# db's first pod, Ready, at REVISION; keywords change it (tests.support.pod).
pod = partial(_pod, name="minimal-db-0", role="db", ready=True, revision=REVISION, managed_time="2026-01-01T00:05:00Z")


def db_created(sts_status=None):
    """The group after its first sync: db's StatefulSet observed, its status not yet showing ready pods."""
    group = example_group(MINIMAL)
    children = observe(sync(request(group)).children, ready=False)
    sts = children[c.CHILD_STATEFULSET]["default/minimal-db"]
    sts["status"] = {"observedGeneration": 1, "replicas": 1, "readyReplicas": 0, "updateRevision": REVISION, **(sts_status or {})}
    return group, children


def with_pods(group, children, pods, customize=True):
    """A request whose related objects hold `pods`, as when the customize hook asked for them."""
    req = request(group, children)
    req["controller"] = {"metadata": {"name": "rolebasedgroup"}, "spec": {"hooks": {"customize": CUSTOMIZE}}}
    if customize:
        req["related"] = related_pods(pods)
    return req


def app_created(req):
    return any(ch["metadata"]["name"] == "minimal-app" for ch in sync(req).children)


def test_a_ready_pod_opens_the_gate_before_the_statefulset_status_shows_it():
    group, children = db_created()
    assert not app_created(request(group, children))
    assert app_created(with_pods(group, children, [pod()]))


@pytest.mark.parametrize(
    "pods, sts_status",
    [
        pytest.param([], None, id="no-pod-yet"),
        pytest.param([pod(ready=False)], None, id="pod-not-ready"),
        pytest.param([pod(revision="minimal-db-old")], None, id="pod-of-another-revision"),
        pytest.param([pod()], {"observedGeneration": 0}, id="status-of-an-older-generation"),
        pytest.param([pod()], {"updateRevision": None}, id="revision-not-known-yet"),
        pytest.param([pod(deleting=True)], None, id="pod-being-deleted"),
        pytest.param([pod(namespace="elsewhere")], None, id="pod-of-another-namespace"),
        pytest.param([pod(name="minimal-db-1")], None, id="ordinal-beyond-replicas"),
        pytest.param([pod(role="app", name="minimal-app-0")], None, id="pod-of-another-role"),
    ],
)
def test_the_gate_stays_shut_until_every_desired_pod_is_ready_at_the_current_revision(pods, sts_status):
    group, children = db_created(sts_status)
    assert not app_created(with_pods(group, children, pods))


def test_pods_are_read_only_where_the_customize_hook_asked_for_them():
    """Without it, `related` is not a complete list of the group's pods."""
    group, children = db_created()
    assert not app_created(with_pods(group, children, [pod()], customize=False))


def test_role_counts_and_ready_condition_come_from_pods():
    group, children = db_created()
    req = with_pods(group, children, [pod()])
    result = sync(req)
    db = next(s for s in result.status["roleStatuses"] if s["name"] == "db")
    assert db == {"name": "db", "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1}
    # The pod's write is the newest in the request: the condition changed no earlier.
    assert condition(result.status, c.COND_PROGRESSING)["lastTransitionTime"] == "2026-01-01T00:05:00Z"


def test_malformed_related_objects_are_ignored():
    group, children = db_created()
    junk = {"a": 1, "b": {"metadata": "x"}, "c": {"metadata": {"labels": ["x"]}}}
    req = with_pods(group, children, [])
    req["related"] = {c.RELATED_POD: junk, "Secret.v1": {"x": {}}}
    assert not app_created(req)


def test_same_pods_in_any_order_give_the_same_bytes():
    group, children = db_created()
    pods = [pod(), pod(name="minimal-app-0", role="app"), pod(name="minimal-app-1", role="app", ready=False)]
    one = with_pods(group, children, pods)
    other = copy.deepcopy(one)
    other["related"][c.RELATED_POD] = dict(reversed(list(one["related"][c.RELATED_POD].items())))
    assert sync(one).response() == sync(other).response()


@pytest.mark.parametrize("policy", [c.RESTART_RECREATE_GROUP, c.RESTART_RECREATE_ROLE])
def test_customize_asks_for_the_pods_of_a_group_with_a_recovery_policy_by_unique_key(policy):
    client = create_app().test_client()
    group = example_group(MINIMAL)
    coordinated = {"apiVersion": c.API_VERSION, "resource": c.COORDINATED_POLICIES, "namespace": "default", "names": ["minimal"]}
    assert client.post("/customize", json={"controller": {}, "parent": group}).get_json() == {"relatedResources": [coordinated]}
    for none in ("None", None):
        group["spec"]["roles"][0]["restartPolicy"] = none
        assert client.post("/customize", json={"controller": {}, "parent": group}).get_json() == {"relatedResources": [coordinated]}
    group["spec"]["roles"][1]["restartPolicy"] = policy
    got = client.post("/customize", json={"controller": {}, "parent": group})
    assert got.status_code == 200
    assert got.get_json() == {
        "relatedResources": [
            {
                "apiVersion": "v1",
                "resource": "pods",
                "labelSelector": {"matchLabels": {c.LABEL_GROUP_UNIQUE_KEY: group_unique_key("default", "minimal")}},
            },
            coordinated,
        ]
    }
    assert client.post("/customize", json={"parent": group}).status_code == 422
    assert client.post("/customize", data="[]", content_type="application/json").status_code == 400
