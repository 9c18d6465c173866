"""`rbg status` and `rbg rollout`: the pure parts (rbgcli.history, the plans of rbgcli.cluster)
on objects as the API server returns them, made by the hooks themselves; and kubeconfig loading."""

import copy
import io

import pytest
import yaml
from lightkube.core.exceptions import ConfigError
from lightkube.core.internal_models import meta_v1
from lightkube import ApiError

from hooks import constants as c
from rbgcli import history as rollout
from hooks.children.revision import template_hash
from hooks.conversion.v1alpha1 import to_hub
from rbgcli.main import parser
from rbgcli.cluster import Failed, _patched, colour, pause_plan, undo_plan
from rbgclient.kube import user_config
from tests.support import V1ALPHA1, container_status, example_group, observe, pod, request, sync

PD = V1ALPHA1 / "pd-disagg.yaml"
UID = "5b1f1d2e-0000-4000-8000-000000000001"
NEW_IMAGE = "lmsysorg/sglang:v0.5.4"


def _stored(group):
    """The group as the API server returns it (v1alpha2: written as v1alpha1, converted)."""
    out = to_hub(copy.deepcopy(group))
    out["metadata"].update(uid=UID, resourceVersion="42")
    return out


def _as_listed(child, created):
    """A child as a list of the API server returns it: owned by the group, stamped."""
    out = copy.deepcopy(child)
    meta = out["metadata"]
    meta.update(namespace="default", creationTimestamp=created)
    meta["ownerReferences"] = [{"apiVersion": c.API_VERSION, "kind": c.KIND_RBG, "name": "sglang-pd", "uid": UID, "controller": True}]
    return out


def _with_image(group, role, image):
    out = copy.deepcopy(group)
    next(r for r in out["spec"]["roles"] if r["name"] == role)["template"]["spec"]["containers"][0]["image"] = image
    return out


@pytest.fixture
def rolled():
    """sglang-pd after prefill went from v0.5.3.post3 (revision 1) to v0.5.4 (revision 2):
    the group (status of its last sync) and its ControllerRevisions."""
    group = example_group(PD)
    first = sync(request(group))
    started = sync(request(group, observe(first.children)))
    changed = _with_image(group, "prefill", NEW_IMAGE)
    result = sync(request(changed, observe(started.children)))
    created = {1: "2026-01-01T00:01:00Z", 2: "2026-01-02T09:30:00Z"}
    revs = [_as_listed(ch, created[ch["revision"]]) for ch in result.children if ch["kind"] == c.KIND_CONTROLLER_REVISION]
    stored = _stored(changed)
    stored["status"] = result.status
    return stored, revs


def _template(role):
    """A stored (v1alpha2) role's own template."""
    return role["standalonePattern"]["template"]


def _hash(group, role):
    return template_hash(_template(next(r for r in group["spec"]["roles"] if r["name"] == role)))


def test_revisions_are_read_per_role_and_only_the_groups_own(rolled):
    group, revs = rolled
    sts_own = {  # the StatefulSet controller's revision of the same pods: same selector labels, another owner
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": "sglang-pd-prefill-7d4b9c8f5",
            "labels": {c.LABEL_GROUP_NAME: "sglang-pd", c.LABEL_ROLE_NAME: "prefill", "controller-revision-hash": "7d4b9c8f5"},
            "ownerReferences": [{"kind": "StatefulSet", "name": "sglang-pd-prefill", "uid": "other", "controller": True}],
        },
        "data": {"spec": {"template": {}}},
        "revision": 1,
    }
    by_role = rollout.revisions(group, [*revs, sts_own])
    assert {role: [r.number for r in rs] for role, rs in by_role.items()} == {"prefill": [1, 2], "decode": [1], "router": [1]}
    assert [r.template["spec"]["containers"][0]["image"] for r in by_role["prefill"]] == ["lmsysorg/sglang:v0.5.3.post3", NEW_IMAGE]


def test_history_table(rolled):
    group, revs = rolled
    table = rollout.history_table(group, rollout.revisions(group, revs), rollout.check_role(group, None))
    old = template_hash(example_group(PD)["spec"]["roles"][1]["template"])
    assert table.splitlines() == [
        "ROLE     REVISION  CURRENT  HASH        CREATED               IMAGES",
        f"router   1         *        {_hash(group, 'router')}  2026-01-01T00:01:00Z  lmsysorg/sglang-router:v0.2.2",
        f"prefill  1                  {old}  2026-01-01T00:01:00Z  lmsysorg/sglang:v0.5.3.post3",
        f"prefill  2         *        {_hash(group, 'prefill')}  2026-01-02T09:30:00Z  {NEW_IMAGE}",
        f"decode   1         *        {_hash(group, 'decode')}  2026-01-01T00:01:00Z  lmsysorg/sglang:v0.5.3.post3",
    ]
    only = rollout.history_table(group, rollout.revisions(group, revs), rollout.check_role(group, "decode"))
    assert [line.split()[0] for line in only.splitlines()] == ["ROLE", "decode"]


def test_history_of_a_role_not_recorded_yet():
    group = _stored(example_group(PD))
    assert rollout.history_table(group, {}, ["router"]).splitlines()[1].split() == ["router", "-", "(no", "revision", "recorded", "yet)"]


def test_an_unknown_role_is_named_with_the_roles_there_are(rolled):
    group, _ = rolled
    with pytest.raises(rollout.NotFound, match=r"RoleBasedGroup default/sglang-pd has no role 'prefil' \(its roles: router, prefill, decode\)"):
        rollout.check_role(group, "prefil")


def test_diff_of_a_revision_against_the_current_template(rolled):
    group, revs = rolled
    prefill = rollout.revisions(group, revs)["prefill"]
    current = rollout.current_templates(group)["prefill"]
    text = rollout.diff("prefill", prefill[0], current, rollout.current_revision(prefill, current))
    assert text.splitlines()[:2] == ["--- prefill revision 1", "+++ prefill current (revision 2)"]
    changes = [line for line in text.splitlines()[2:] if line[:1] in "+-"]
    assert changes == ["-    image: lmsysorg/sglang:v0.5.3.post3", f"+    image: {NEW_IMAGE}"]
    assert rollout.diff("prefill", prefill[1], current, prefill[1]) == ""


def test_missing_revision_is_named_with_the_revisions_there_are(rolled):
    group, revs = rolled
    prefill = rollout.revisions(group, revs)["prefill"]
    with pytest.raises(rollout.NotFound, match=r"role 'prefill' of RoleBasedGroup default/sglang-pd has no revision 7 \(its revisions: 1, 2\)"):
        rollout.find_revision(group, "prefill", prefill, 7)


def _applied(group, patch):
    """The group after a JSON merge patch of spec.roles (a list: replaced whole)."""
    out = copy.deepcopy(group)
    out["spec"]["roles"] = patch["spec"]["roles"]
    return out


def test_undo_goes_back_to_the_previous_revision(rolled):
    group, revs = rolled
    patch, said = undo_plan(group, "prefill", None, revs)
    assert patch["metadata"] == {"resourceVersion": "42"}  # the API server refuses it (409) if the group changed since
    after = _applied(group, patch)
    assert _template(after["spec"]["roles"][1]) == example_group(PD)["spec"]["roles"][1]["template"]
    assert [r for i, r in enumerate(after["spec"]["roles"]) if i != 1] == [r for i, r in enumerate(group["spec"]["roles"]) if i != 1]
    assert said == [f"role prefill: template set to revision 1 ({template_hash(_template(after['spec']['roles'][1]))})"]


def test_undo_of_every_role_changes_only_those_with_a_previous_revision(rolled):
    group, revs = rolled
    patch, said = undo_plan(group, None, None, revs)
    assert _template(_applied(group, patch)["spec"]["roles"][1])["spec"]["containers"][0]["image"] == "lmsysorg/sglang:v0.5.3.post3"
    assert said[:2] == ["role router: no previous revision, left as it is", "role decode: no previous revision, left as it is"]


def test_undo_to_a_revision(rolled):
    group, revs = rolled
    patch, _ = undo_plan(group, "prefill", 1, revs)
    assert _template(_applied(group, patch)["spec"]["roles"][1])["spec"]["containers"][0]["image"] == "lmsysorg/sglang:v0.5.3.post3"
    assert undo_plan(group, "prefill", 2, revs) == (None, ["role prefill: already at the template of revision 2, left as it is"])


@pytest.mark.parametrize(
    "role,to,error,message",
    [
        pytest.param("prefill", 9, rollout.NotFound, "has no revision 9 (its revisions: 1, 2)", id="no-such-revision"),
        pytest.param("nope", None, rollout.NotFound, "has no role 'nope'", id="no-such-role"),
        pytest.param("decode", None, rollout.NotFound, "role 'decode' of RoleBasedGroup default/sglang-pd has no previous revision (its revisions: 1)", id="nothing-to-go-back-to"),
        pytest.param(None, 1, Failed, "give --role with --to-revision", id="revision-without-role"),
    ],
)
def test_undo_errors(rolled, role, to, error, message):
    group, revs = rolled
    with pytest.raises(error) as err:
        undo_plan(group, role, to, revs)
    assert message in str(err.value)


def test_undo_of_a_role_made_from_a_role_template_gives_it_its_own_template(rolled):
    group, revs = rolled
    shared = copy.deepcopy(group)
    prefill = shared["spec"]["roles"][1]["standalonePattern"]
    shared["spec"]["roleTemplates"] = [{"name": "sglang", "template": prefill.pop("template")}]
    prefill["templateRef"] = {"name": "sglang", "patch": {"metadata": {"labels": {"tier": "prefill"}}}}
    patch, said = undo_plan(shared, "prefill", 1, revs)
    role = _applied(shared, patch)["spec"]["roles"][1]
    assert "templateRef" not in role["standalonePattern"]
    assert _template(role) == example_group(PD)["spec"]["roles"][1]["template"]
    assert said[0] == "role 'prefill' used templateRef 'sglang' with a patch: it now has its own template (revision 1); roleTemplates are unchanged"


def test_pause_and_resume(rolled):
    group, _ = rolled
    patch, said = pause_plan(group, "decode", True)
    paused = _applied(group, patch)
    assert paused["spec"]["roles"][2]["rolloutStrategy"] == {"rollingUpdate": {"paused": True}}
    assert [r.get("rolloutStrategy") for r in paused["spec"]["roles"][:2]] == [None, None]
    assert said == ["role decode: paused"]
    assert pause_plan(paused, "decode", True) == (None, ["role decode: already paused"])
    patch, said = pause_plan(paused, None, False)
    assert _applied(paused, patch)["spec"]["roles"][2]["rolloutStrategy"] == {"rollingUpdate": {}}
    assert said == ["role decode: resumed", "role router: already not paused", "role prefill: already not paused"]
    patch, said = pause_plan(group, None, True)
    assert all(r["rolloutStrategy"]["rollingUpdate"]["paused"] is True for r in _applied(group, patch)["spec"]["roles"])


class _Api:
    """The seam's one write, answering 409 Conflict `conflicts` times first."""

    def __init__(self, group, conflicts):
        self.stored, self.conflicts, self.patches = group, conflicts, []

    def group(self, namespace, name):
        return self.stored

    def patch_group(self, namespace, name, patch):
        self.patches.append(patch)
        if len(self.patches) <= self.conflicts:
            raise ApiError(status=meta_v1.Status(code=409, message="the object has been modified"))
        return _applied(self.stored, patch)


@pytest.mark.parametrize("conflicts,sent", [(0, 1), (2, 3)])
def test_a_conflict_makes_it_read_and_try_again(rolled, conflicts, sent):
    group, _ = rolled
    api = _Api(group, conflicts)
    assert _patched(api, "default", "sglang-pd", lambda g: pause_plan(g, "decode", True)) == ["role decode: paused"]
    assert len(api.patches) == sent


def test_it_gives_up_after_three_conflicts(rolled):
    group, _ = rolled
    with pytest.raises(Failed, match="kept changing"):
        _patched(_Api(group, 3), "default", "sglang-pd", lambda g: pause_plan(g, "decode", True))


def _pod(name, role, ready, waiting=None, revision="r2"):
    """A pod of sglang-pd as `rbg status` lists it: Running and Ready, or Pending (and `waiting`)."""
    containers = [container_status(role, waiting=waiting)] if waiting else None
    phase = "Running" if ready else "Pending"
    return pod(name, namespace=None, api=False, group="sglang-pd", role=role, revision=revision, phase=phase, ready=ready, containers=containers)


@pytest.fixture
def starting():
    """sglang-pd while the router waits: prefill and decode created, one prefill pod still starting."""
    group = example_group(PD)
    first = sync(request(group))
    stored = _stored(group)
    stored["status"] = first.status
    workloads = [copy.deepcopy(ch) for ch in first.children if ch["kind"] == c.KIND_STATEFULSET]
    for w in workloads:
        ready = 1 if w["metadata"]["name"].endswith("prefill") else 2
        w["status"] = {"replicas": 2, "readyReplicas": ready, "updatedReplicas": 2, "updateRevision": "r2"}
    pods = [
        _pod("sglang-pd-prefill-1", "prefill", False, "ContainerCreating"),
        _pod("sglang-pd-prefill-0", "prefill", True),
        _pod("sglang-pd-decode-0", "decode", True, revision="r1"),
        _pod("sglang-pd-decode-1", "decode", True),
    ]
    revs = [_as_listed(ch, "2026-01-01T00:00:00Z") for ch in first.children if ch["kind"] == c.KIND_CONTROLLER_REVISION]
    return stored, workloads, pods, rollout.revisions(stored, revs)


def test_status_tree(starting):
    group, workloads, pods, revs = starting
    assert rollout.waits(group) == {"router": "decode, prefill"}
    assert rollout.status_tree(group, workloads, pods, revs).splitlines() == [
        "RoleBasedGroup default/sglang-pd  Ready: False  (roles ready 0/3)",
        "├─ router  waits for decode, prefill",
        "│  └─ StatefulSet sglang-pd-router  not created",
        "├─ prefill  revision 1",
        "│  └─ StatefulSet sglang-pd-prefill  1/2 ready, 2/2 updated",
        "│     ├─ sglang-pd-prefill-0  Ready",
        "│     └─ sglang-pd-prefill-1  NotReady (ContainerCreating)",
        "└─ decode  revision 1",
        "   └─ StatefulSet sglang-pd-decode  2/2 ready, 2/2 updated",
        "      ├─ sglang-pd-decode-0  Ready  (previous revision)",
        "      └─ sglang-pd-decode-1  Ready",
    ]


def test_status_tree_in_colour(starting):
    group, workloads, pods, revs = starting
    painted = rollout.status_tree(group, workloads, pods, revs, colour=True)
    assert f"{rollout.RED}NotReady (ContainerCreating){rollout.RESET}" in painted
    assert f"{rollout.YELLOW}waits for decode, prefill{rollout.RESET}" in painted
    assert f"{rollout.GREEN}Ready{rollout.RESET}" in painted


class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    "stream,env,want",
    [
        pytest.param(_Tty(), {}, True, id="terminal"),
        pytest.param(io.StringIO(), {}, False, id="piped"),
        pytest.param(_Tty(), {"NO_COLOR": "1"}, False, id="NO_COLOR"),
        pytest.param(_Tty(), {"TERM": "dumb"}, False, id="dumb-terminal"),
    ],
)
def test_colour_only_on_a_terminal(monkeypatch, stream, env, want):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert colour(stream) is want


def _kubeconfig(path, cluster, context, namespace=None, current=None, ca=None):
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": f"https://{cluster}:6443", **({"certificate-authority": ca} if ca else {})}}],
        "users": [{"name": "me", "user": {"token": cluster}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": "me", **({"namespace": namespace} if namespace else {})}}],
    }
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return path


def test_kubeconfig_is_read_as_kubectl_reads_it(tmp_path, monkeypatch):
    a = _kubeconfig(tmp_path / "a", "one", "first", namespace="team", current="first", ca="ca.crt")
    b = _kubeconfig(tmp_path / "b", "two", "second", current="second")
    monkeypatch.setenv("KUBECONFIG", f"{a}:{tmp_path / 'missing'}:{b}")
    single = user_config()
    assert (single.context_name, single.cluster.server, single.namespace) == ("first", "https://one:6443", "team")
    assert single.cluster.certificate_auth == str(tmp_path / "ca.crt")  # relative to its own file
    assert single.user.token == "one"  # the first file to name user "me" wins
    other = user_config(context="second")
    assert (other.cluster.server, other.namespace) == ("https://two:6443", "default")
    assert user_config(kubeconfig=str(b)).context_name == "second"
    with pytest.raises(ConfigError, match="Context 'third' not found"):
        user_config(context="third")
    with pytest.raises(ConfigError, match="not found"):
        user_config(kubeconfig=str(tmp_path / "nowhere"))


def test_the_commands_take_kubectls_options():
    args = parser().parse_args(["rollout", "undo", "g", "-n", "ns", "--context", "ctx", "--kubeconfig", "k", "--role", "r", "--to-revision", "3"])
    assert (args.group, args.namespace, args.context, args.kubeconfig, args.role, args.to_revision) == ("g", "ns", "ctx", "k", "r", 3)
    for argv in (["status", "g"], ["rollout", "history", "g"], ["rollout", "pause", "g"], ["rollout", "resume", "g", "--role", "r"]):
        assert parser().parse_args(argv).func
    with pytest.raises(SystemExit):
        parser().parse_args(["rollout", "diff", "g", "--role", "r"])  # --revision is required
