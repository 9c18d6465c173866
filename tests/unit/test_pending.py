"""PodsScheduled: the scheduler's reason for the group's waiting pods, where pods are observed."""

from hooks import constants as c
from hooks.api import RoleBasedGroupSpec
from hooks.core.observed import Observed, wants_pods
from hooks.core.pending import scheduling_condition
from tests.support import pod as _pod, related_pods
from tests.support import hub

SPEC = hub.spec(
    {"roles": [{"name": r, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}} for r in ("a", "b")]}
)
WAIT = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/4 nodes are available: 4 node(s) didn't match pod affinity rules."}


def pod(name, role, *conditions):
    """A pod of `role` in namespace ns with these conditions (its positional form here)."""
    return _pod(name, namespace="ns", api=False, role=role, conditions=conditions)


def observed(*pods):
    return Observed.from_request({key: {} for key in c.CHILD_TYPES}, related_pods(pods), "ns")


def test_no_condition_without_observed_pods():
    assert scheduling_condition(SPEC, Observed.from_request({key: {} for key in c.CHILD_TYPES})) is None


def test_all_scheduled():
    got = scheduling_condition(SPEC, observed(pod("g-a-0", "a", {"type": "PodScheduled", "status": "True"})))
    assert (got["status"], got["reason"]) == ("True", c.REASON_ALL_PODS_SCHEDULED)


def test_the_first_waiting_pod_by_role_order_is_quoted():
    got = scheduling_condition(SPEC, observed(pod("g-b-0", "b", WAIT), pod("g-a-1", "a", WAIT), pod("g-a-0", "a")))
    assert (got["status"], got["reason"]) == ("False", "Unschedulable")
    assert got["message"] == f"2 pod(s) wait for the scheduler; g-a-1 (a): {WAIT['message']}"


def test_which_groups_ask_for_their_pods():
    roles = {"roles": [{"name": "a", "standalonePattern": {}}]}
    assert not wants_pods({}, roles)
    assert not wants_pods({}, {"roles": [{"name": "a", "standalonePattern": {"restartPolicyConfig": {"type": "None"}}}]})
    assert wants_pods({}, {"roles": [{"name": "a", "standalonePattern": {"restartPolicyConfig": {"type": c.RESTART_RECREATE_ROLE}}}]})
    assert wants_pods({c.ANNOTATIONS_EXCLUSIVE_TOPOLOGY[1]: "zone"}, roles)
    assert wants_pods({c.ANNOTATION_COLOCATED_TOPOLOGY: "zone"}, roles)
    assert wants_pods({c.ANNOTATION_GANG: "true"}, roles)
    # A LeaderWorkerSet recreates its own groups, by default too: its pods are not needed for that.
    assert not wants_pods({}, {"roles": [{"name": "a", "leaderWorkerPattern": {}}]})
