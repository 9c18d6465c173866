"""Builders for the tests: examples as the API server sends them (examples), hook requests and
observed children as Metacontroller sends them (requests), pods (pods), and condition lookup
(conditions), posting to the Flask app (http). Everything is re-exported here: `from tests.support import pod, request, observe`.
"""

from .conditions import condition, conditions_of, find_condition
from .examples import EXAMPLES, ROOT, UPSTREAM_EXAMPLES, example_group, group_doc, parent
from .http import post
from .pods import (
    DELETED_AT,
    FINISHED_AT,
    container_status,
    gang_pod,
    pod,
    pods_of,
    related_pods,
    terminated,
    uids,
    workload_pods,
    workload_revision,
)
from .requests import (
    KEYS,
    adapter_request,
    by_kind,
    child_key,
    controller,
    customize_request,
    gang_request,
    go_json,
    observe,
    observe_members,
    request,
    set_request,
    startup_stages,
    sync,
    sync_gang,
    sync_set,
)

__all__ = [
    "DELETED_AT",
    "EXAMPLES",
    "FINISHED_AT",
    "KEYS",
    "ROOT",
    "UPSTREAM_EXAMPLES",
    "adapter_request",
    "by_kind",
    "child_key",
    "condition",
    "conditions_of",
    "container_status",
    "controller",
    "customize_request",
    "example_group",
    "find_condition",
    "gang_pod",
    "gang_request",
    "go_json",
    "group_doc",
    "observe",
    "observe_members",
    "parent",
    "pod",
    "pods_of",
    "post",
    "related_pods",
    "request",
    "set_request",
    "startup_stages",
    "sync",
    "sync_gang",
    "sync_set",
    "terminated",
    "uids",
    "workload_pods",
    "workload_revision",
]
