"""Coordinated rollouts and scaling: the step planner (tables, properties) and the workloads it holds."""

import copy
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooks import constants as c
from hooks.core.coordination import Progress, allowed
from tests.support import ROOT, UPSTREAM_EXAMPLES, V1ALPHA1, by_kind, condition, example_group, example_policies, observe, request, sync

UPSTREAM = UPSTREAM_EXAMPLES


@pytest.mark.parametrize(
    "progress, skew, steps, want",
    [
        pytest.param([("a", 10, 0), ("b", 10, 0)], "20%", {}, {"a": 2, "b": 2}, id="both-start-within-skew"),
        pytest.param([("a", 10, 4), ("b", 10, 2)], "20%", {}, {"a": 4, "b": 4}, id="leader-waits-laggard-catches-up"),
        pytest.param([("a", 7, 0), ("b", 3, 0)], "1%", {}, {"a": 1, "b": 1}, id="step-of-zero-becomes-one-pod"),
        pytest.param([("a", 1, 0), ("b", 4, 0)], "10%", {}, {"a": 1, "b": 1}, id="one-replica-role"),
        pytest.param([("a", 1, 1), ("b", 4, 1)], "10%", {}, {"a": 1, "b": 2}, id="only-the-laggard-moves"),
        pytest.param([("a", 10, 0), ("b", 10, 0)], "100%", {"a": 3, "b": 1}, {"a": 3, "b": 1}, id="max-unavailable-bounds-the-step"),
        pytest.param([("a", 10, 10), ("b", 10, 3)], "0%", {}, {"a": 10, "b": 4}, id="done-role-never-goes-back"),
    ],
)
def test_allowed(progress, skew, steps, want):
    got = allowed([Progress(r, n, d, n) for r, n, d in progress], skew, steps)
    assert got == want


@given(
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=4),
    skew=st.integers(0, 100),
    canary=st.integers(0, 100),
    seed=st.randoms(use_true_random=False),
)
@settings(max_examples=300, deadline=None)
def test_a_coordinated_rollout_always_finishes_within_the_skew(sizes, skew, canary, seed):
    """Simulated: the planner allows, each role's controller updates any number of the allowed pods.
    At every state the skew is within maxSkew or one pod of a role; the rollout reaches its limits."""
    roles = {f"r{i}": n for i, n in enumerate(sizes)}
    limits = {r: n - n * canary // 100 for r, n in roles.items()}
    done = dict.fromkeys(roles, 0)
    bound = max([Fraction(skew, 100)] + [Fraction(1, n) for n in roles.values() if n])
    for _ in range(sum(limits.values()) + 1):
        if done == limits:
            return
        progress = [Progress(r, n, done[r], limits[r]) for r, n in roles.items()]
        now = allowed(progress, f"{skew}%", {})
        assert all(done[r] <= now[r] <= limits[r] for r in roles)
        assert now != done  # progress: something may move
        before = dict(done)
        for r in roles:  # each controller moves some of what it may
            done[r] = seed.randint(done[r], now[r])
        if done == before:  # ... and at least one moves
            r = next(r for r in roles if now[r] > done[r])
            done[r] = now[r]
        fractions = [Fraction(done[r], n) for r, n in roles.items() if n]
        assert not fractions or max(fractions) - min(fractions) <= bound
    assert done == limits, f"not finished: {done} of {limits}"


# --- on the workloads --------------------------------------------------------------------------

def coordinated_group(skew="10%", **rolling_update):
    g = example_group(V1ALPHA1 / "pd-disagg.yaml")
    for role in g["spec"]["roles"]:
        role["replicas"] = {"router": 1, "prefill": 10, "decode": 5}[role["name"]]
    g["spec"]["coordination"] = [
        {"name": "pd", "roles": ["prefill", "decode"], "strategy": {"rollingUpdate": {"maxSkew": skew, **rolling_update}}}
    ]
    return g


def running(g):
    children = observe(sync(request(g)).children)
    return observe(sync(request(g, children)).children)


def with_image(g, image):
    g = copy.deepcopy(g)
    for role in g["spec"]["roles"]:
        if role["name"] in ("prefill", "decode"):
            role["template"]["spec"]["containers"][0]["image"] = image
    return g


def partitions(result):
    return {
        name.split("-")[-1]: ch["spec"]["updateStrategy"].get("rollingUpdate", {}).get("partition", 0)
        for (kind, name), ch in by_kind(result.children).items()
        if kind == c.KIND_STATEFULSET
    }


def test_a_new_template_is_handed_over_with_the_first_step_only():
    g = coordinated_group()
    result = sync(request(with_image(g, "engine:2"), running(g)))
    # prefill may update 1 of 10 (10%); one of decode's 5 would be 20%: it waits for prefill
    assert partitions(result) == {"router": 0, "prefill": 9, "decode": 5}
    cond = condition(result.status, c.COND_COORDINATING)
    assert cond["status"] == "True" and cond["message"].startswith("pd: prefill 0/10 updated, may reach 1")


def test_the_leader_waits_for_the_laggard():
    g = with_image(coordinated_group(), "engine:2")
    children = running(coordinated_group())
    first = sync(request(g, children))
    seen = observe(first.children)
    seen[c.CHILD_STATEFULSET]["default/sglang-pd-prefill"]["status"]["updatedReplicas"] = 5  # 50%
    seen[c.CHILD_STATEFULSET]["default/sglang-pd-decode"]["status"]["updatedReplicas"] = 1  # 20%
    result = sync(request(g, seen))
    assert partitions(result)["prefill"] == 5  # held: 50% > 20% + 10%
    assert partitions(result)["decode"] == 3  # may reach 30%: 1 more pod of 5
    assert "prefill 5/10 updated, waits (maxSkew 10%)" in condition(result.status, c.COND_COORDINATING)["message"]


def test_a_status_older_than_the_new_template_holds_the_first_step():
    """Metacontroller syncs again on its own write, before the StatefulSet controller has seen the
    new template: that status (observedGeneration behind) still counts every old pod as updated."""
    g = with_image(coordinated_group(), "engine:2")
    seen = observe(sync(request(g, running(coordinated_group()))).children)
    for sts in seen[c.CHILD_STATEFULSET].values():
        sts["metadata"]["generation"] = 2  # status: observedGeneration 1, updatedReplicas = replicas
    result = sync(request(g, seen))
    assert partitions(result) == {"router": 0, "prefill": 9, "decode": 5}
    assert condition(result.status, c.COND_COORDINATING)["status"] == "True"


def test_a_finished_rollout_releases_the_partition():
    g = with_image(coordinated_group(), "engine:2")
    seen = observe(sync(request(g, running(coordinated_group()))).children)
    result = sync(request(g, seen))  # observe() reports every pod updated
    assert partitions(result) == {"router": 0, "prefill": 0, "decode": 0}
    assert condition(result.status, c.COND_COORDINATING)["status"] == "False"


def test_a_coordinated_canary_stops_at_the_partition():
    g = with_image(coordinated_group(skew="100%", partition="50%"), "engine:2")
    seen = observe(sync(request(g, running(coordinated_group()))).children)
    for name, n in (("prefill", 10), ("decode", 5)):
        seen[c.CHILD_STATEFULSET][f"default/sglang-pd-{name}"]["status"]["updatedReplicas"] = n - n * 50 // 100
    assert partitions(sync(request(g, seen))) == {"router": 0, "prefill": 5, "decode": 2}


def test_no_coordination_no_condition():
    g = example_group(V1ALPHA1 / "pd-disagg.yaml")
    assert all(cond["type"] != c.COND_COORDINATING for cond in sync(request(g)).status["conditions"])


def test_coordinated_scaling_grows_roles_in_step():
    g = example_group(UPSTREAM / "coordination" / "scaling" / "coordination-scaling-simple.yaml")  # 10 and 10, 10%
    first = sync(request(g))
    sizes = {name: ch["spec"]["replicas"] for (kind, name), ch in by_kind(first.children).items() if kind == c.KIND_STATEFULSET}
    assert sizes == {"simple-inference-prefill": 1, "simple-inference-decode": 1}
    seen = observe(first.children)  # every created pod is up
    second = sync(request(g, seen))
    sizes = {name: ch["spec"]["replicas"] for (kind, name), ch in by_kind(second.children).items() if kind == c.KIND_STATEFULSET}
    assert sizes == {"simple-inference-prefill": 2, "simple-inference-decode": 2}


@pytest.mark.parametrize(
    "path",
    [
        UPSTREAM / "basics" / "coordination.yaml",
        *sorted((UPSTREAM / "coordination" / "scaling").glob("*.yaml")),
        *sorted((ROOT / "examples" / "rollouts").glob("*.yaml")),
    ],
    ids=lambda p: p.stem,
)
def test_coordination_and_rollout_examples_converge(path):
    g = example_group(path)
    policies = example_policies(path)  # our v1alpha2 examples' CoordinatedPolicy, named as the group
    req = request(g, related=policies)
    coordinated = False
    for _ in range(200):
        result = sync(req)
        coordinated |= any(cond["type"] == c.COND_COORDINATING for cond in result.status["conditions"])
        if all(cond["status"] == "True" for cond in result.status["conditions"] if cond["type"] == c.COND_READY):
            break
        with_status = copy.deepcopy(g)
        with_status["status"] = result.status
        req = request(with_status, observe(result.children), related=policies)
    assert condition(result.status, c.COND_READY)["status"] == "True"
    assert condition(result.status, c.COND_INVALID_SPEC)["status"] == "False"
    assert coordinated or not policies, "the example's CoordinatedPolicy was not read"


def test_a_new_template_mid_rollout_starts_over_from_what_is_observed():
    """Pods at the previous new template count as old: the first step again, never all at once."""
    v2 = with_image(coordinated_group(), "engine:2")
    seen = observe(sync(request(v2, running(coordinated_group()))).children)
    seen[c.CHILD_STATEFULSET]["default/sglang-pd-prefill"]["status"]["updatedReplicas"] = 3
    seen[c.CHILD_STATEFULSET]["default/sglang-pd-decode"]["status"]["updatedReplicas"] = 1
    result = sync(request(with_image(coordinated_group(), "engine:3"), seen))
    assert partitions(result) == {"router": 0, "prefill": 9, "decode": 5}


def test_a_scale_change_mid_rollout_keeps_the_progress_made():
    """prefill 5 of 10 updated, decode 2 of 5; prefill scaled to 20: its 5 updated pods still count."""
    v2 = with_image(coordinated_group(), "engine:2")
    seen = observe(sync(request(v2, running(coordinated_group()))).children)
    seen[c.CHILD_STATEFULSET]["default/sglang-pd-prefill"]["status"]["updatedReplicas"] = 5
    seen[c.CHILD_STATEFULSET]["default/sglang-pd-decode"]["status"]["updatedReplicas"] = 2
    bigger = copy.deepcopy(v2)
    next(r for r in bigger["spec"]["roles"] if r["name"] == "prefill")["replicas"] = 20
    got = partitions(sync(request(bigger, seen)))
    # prefill 5/20 = 25% and decode 2/5 = 40%: prefill may reach 35% (7 of 20), decode waits
    assert got == {"router": 0, "prefill": 13, "decode": 3}


def test_what_was_let_through_is_never_taken_back():
    """A StatefulSet's updated count can drop for a moment (a new pod replaced again); raising the
    partition then would have a pod being replaced come back at the old template."""
    g = with_image(coordinated_group(), "engine:2")
    seen = observe(sync(request(g, running(coordinated_group()))).children)
    seen[c.CHILD_STATEFULSET]["default/sglang-pd-prefill"]["status"]["updatedReplicas"] = 5
    seen[c.CHILD_STATEFULSET]["default/sglang-pd-decode"]["status"]["updatedReplicas"] = 1
    step = sync(request(g, seen))
    assert partitions(step) == {"router": 0, "prefill": 5, "decode": 3}
    later = observe(step.children)
    later[c.CHILD_STATEFULSET]["default/sglang-pd-prefill"]["status"]["updatedReplicas"] = 0
    later[c.CHILD_STATEFULSET]["default/sglang-pd-decode"]["status"]["updatedReplicas"] = 1
    assert partitions(sync(request(g, later))) == {"router": 0, "prefill": 5, "decode": 3}
