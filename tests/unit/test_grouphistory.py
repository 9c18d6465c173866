"""The group's rollout history in upstream's form (hooks.core.grouphistory): what upstream's
`kubectl rbg rollout history|undo` lists and applies."""

from __future__ import annotations

import copy
import json

from hooks import constants as c
from hooks.core import grouphistory
from hooks.core.observed import Observed
from tests.support import by_kind, observe, request, sync

TEMPLATE = {"spec": {"containers": [{"name": "c", "image": "engine:1"}]}}


def _group(image: str = "engine:1", replicas: int = 2, annotations: dict | None = None) -> dict:
    template = copy.deepcopy(TEMPLATE)
    template["spec"]["containers"][0]["image"] = image
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND_RBG,
        "metadata": {"name": "g", "namespace": "default", "uid": "u", "generation": 1, "annotations": annotations or {}},
        "spec": {"roles": [{"name": "a", "replicas": replicas, "standalonePattern": {"template": template}}]},
    }


def _revisions(result) -> list[dict]:
    return [ch for ch in result.children if ch["kind"] == c.KIND_CONTROLLER_REVISION and c.LABEL_GROUP_REVISION in ch["metadata"]["labels"]]


def test_the_spec_is_recorded_as_upstreams_patch_labelled_with_the_group():
    (rev,) = _revisions(sync(request(_group())))
    digest = rev["metadata"]["labels"][c.LABEL_GROUP_REVISION]
    assert rev["metadata"] == {"name": f"g-{digest}-1", "labels": {c.LABEL_GROUP_NAME_V2: "g", c.LABEL_GROUP_REVISION: digest}}
    assert rev["revision"] == 1
    assert rev["data"] == {"spec": {"roles": [{"$patch": "replace"}, {"name": "a", "standalonePattern": {"template": TEMPLATE}}],
                                    "roleTemplates": [{"$patch": "replace"}]}}
    workload = by_kind(sync(request(_group())).children)[(c.KIND_STATEFULSET, "g-a")]
    assert workload["metadata"]["labels"][c.LABEL_ROLE_REVISION_PREFIX + "a"] == grouphistory.role_hashes(_group()["spec"])["a"]


def test_a_change_adds_a_revision_scaling_does_not_and_an_undo_renumbers_the_old_one():
    first = sync(request(_group()))
    scaled = sync(request(_group(replicas=5), observe(first.children)))
    assert _revisions(scaled) == _revisions(first)  # replicas are not recorded: scaling is no rollout
    changed = sync(request(_group("engine:2"), observe(first.children)))
    assert [r["revision"] for r in _revisions(changed)] == [2, 1]
    undone = sync(request(_group(), observe(changed.children)))
    back, newer = _revisions(undone)
    assert (back["metadata"]["name"], back["revision"], newer["revision"]) == (_revisions(first)[0]["metadata"]["name"], 3, 2)


def test_older_revisions_are_kept_up_to_the_history_limit():
    group = _group()
    group["spec"]["revisionHistoryLimit"] = 1
    result = sync(request(group))
    for image in ("engine:2", "engine:3", "engine:4"):
        group = _group(image)
        group["spec"]["revisionHistoryLimit"] = 1
        result = sync(request(group, observe(result.children)))
    assert [r["revision"] for r in _revisions(result)] == [4, 3]


def test_a_group_converted_from_v1alpha1_gets_no_upstream_history_and_no_workload_label():
    converted = _group(annotations={c.ANNOTATION_API_ORIGIN: c.VERSION_V1ALPHA1})
    result = sync(request(converted))
    assert _revisions(result) == []
    assert not any(k.startswith(c.LABEL_ROLE_REVISION_PREFIX) for k in by_kind(result.children)[(c.KIND_STATEFULSET, "g-a")]["metadata"]["labels"])
    assert grouphistory.group_revisions("g", converted["metadata"]["annotations"], converted["spec"], None, Observed({})) == []  # type: ignore[arg-type]


def test_a_role_name_too_long_for_the_label_key_gets_no_label():
    assert grouphistory.workload_labels({}, {"roles": [{"name": "r" * 50}, {"name": "r" * 49}]}) == {
        "r" * 49: ((c.LABEL_ROLE_REVISION_PREFIX + "r" * 49, grouphistory.role_hashes({"roles": [{"name": "r" * 49}]})["r" * 49]),)
    }


def test_short_hash_is_upstreams_alphabet_and_length():
    digest = grouphistory.short_hash({"x": 1})
    assert set(digest) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(digest) <= 10 and digest == grouphistory.short_hash({"x": 1})


def test_short_hash_is_fnv1a_of_the_sorted_json_remembered_within_a_bound(monkeypatch):
    def fnv1a(data: bytes) -> int:
        h = 0x811C9DC5
        for b in data:
            h = ((h ^ b) * 0x01000193) % 2**32
        return h

    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    values = [{"y": [i, "é"], "x": i} for i in range(10)]
    want = ["".join(alphabet[ord(d) % 27] for d in str(fnv1a(json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())))
            for v in values]
    monkeypatch.setattr(grouphistory, "_FNV_SEEN_MAX", 3)
    monkeypatch.setattr(grouphistory, "_FNV_SEEN", {})
    assert [grouphistory.short_hash(v) for v in values] == want  # computed
    assert [grouphistory.short_hash(v) for v in values[-3:]] == want[-3:]  # remembered
    assert len(grouphistory._FNV_SEEN) <= 3
