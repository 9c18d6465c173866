"""Specs the hooks reject, with the field path and reason they report."""

import pytest

from hooks import constants as c
from hooks.validation import Invalid, parse_spec


def _role(name, **extra):
    return {"name": name, "standalonePattern": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}, **extra}


SP = "standalonePattern"
TEMPLATE = {"spec": {"containers": [{"name": "c", "image": "i"}]}}
CASES = [
    ("duplicate", [_role("a"), _role("a")], c.REASON_INVALID_ROLES, "spec.roles[1].name: duplicate role name 'a'"),
    ("unknown-dependency", [_role("a", dependencies=["b"])], c.REASON_INVALID_ROLES, "spec.roles[0].dependencies[0]: unknown role 'b'"),
    ("self-dependency", [_role("a", dependencies=["a"])], c.REASON_INVALID_ROLES, "depends on itself"),
    ("too-long", [_role("r" * 60)], c.REASON_INVALID_ROLES, "spec.roles[0].name: 'g-rrrr"),
    ("unsupported-kind", [_role("a", annotations={c.ANNOTATION_ROLE_WORKLOAD_TYPE: "batch/v1/Job"})], c.REASON_INVALID_ROLES, f"spec.roles[0].annotations[{c.ANNOTATION_ROLE_WORKLOAD_TYPE}]: 'batch/v1/Job' is not a workload type"),
    ("negative-replicas", [_role("a", replicas=-1)], c.REASON_INVALID_FIELDS, "spec.roles[0].replicas: Input should be greater than or equal to 0"),
    ("no-containers", [{"name": "a", SP: {"template": {"metadata": {}}}}], c.REASON_INVALID_ROLES, "spec.roles[0].standalonePattern.template.spec.containers: at least one container is required"),
    ("service-port-without-port", [_role("a", servicePorts=[{"name": "http"}])], c.REASON_INVALID_ROLES, "spec.roles[0].servicePorts[0].port: a port number between 1 and 65535 is required"),
    ("unnamed-ports", [_role("a", servicePorts=[{"port": 1}, {"port": 2}])], c.REASON_INVALID_ROLES, "spec.roles[0].servicePorts[0].name: every port needs a name when there is more than one"),
    ("duplicate-port-names", [_role("a", servicePorts=[{"name": "http", "port": 1}, {"name": "http", "port": 2}])], c.REASON_INVALID_ROLES, "spec.roles[0].servicePorts[1].name: duplicate port name 'http'"),
    ("bad-port-name", [_role("a", servicePorts=[{"name": "Bootstrap_Port", "port": 1}])], c.REASON_INVALID_ROLES, "must be a DNS-1123 label of at most 15 characters"),
    ("bad-label-key", [_role("a", labels={"-bad": "x"})], c.REASON_INVALID_ROLES, "spec.roles[0].labels: '-bad' is not a valid label key"),
    ("bad-label-value", [_role("a", labels={"team": "a b"})], c.REASON_INVALID_ROLES, "spec.roles[0].labels[team]: 'a b' is not a valid label value"),
    ("bad-annotation-key", [_role("a", annotations={"Example.com/x": "y"})], c.REASON_INVALID_ROLES, "'Example.com/x' is not a valid annotation key"),
    ("bad-pod-label", [{"name": "a", SP: {"template": {"metadata": {"labels": {"app": "x/y"}}, "spec": {"containers": [{"name": "c"}]}}}}], c.REASON_INVALID_ROLES, "spec.roles[0].standalonePattern.template.metadata.labels[app]: 'x/y' is not a valid label value"),
    ("replicas-beyond-int32", [_role("a", replicas=2**31)], c.REASON_INVALID_FIELDS, "spec.roles[0].replicas: Input should be less than or equal to 2147483647"),
    ("min-ready-seconds-beyond-int32", [_role("a", minReadySeconds=10**12)], c.REASON_INVALID_FIELDS, "spec.roles[0].minReadySeconds: Input should be less than or equal to 2147483647"),
    ("lws-size-beyond-int32", [{"name": "a", "leaderWorkerPattern": {"size": 2**31, "template": TEMPLATE}}], c.REASON_INVALID_FIELDS, "spec.roles[0].leaderWorkerPattern.size: Input should be less than or equal to 2147483647"),
    ("partition-beyond-int32", [_role("a", rolloutStrategy={"rollingUpdate": {"partition": 2**31}})], c.REASON_INVALID_FIELDS, "spec.roles[0].rolloutStrategy.rollingUpdate.partition: Value error, an integer must be from 0 to 2147483647"),
    ("max-surge-not-a-percentage", [_role("a", rolloutStrategy={"rollingUpdate": {"maxSurge": "1"}})], c.REASON_INVALID_FIELDS, 'spec.roles[0].rolloutStrategy.rollingUpdate.maxSurge: Value error, a string must be a percentage such as "25%"'),
    ("max-unavailable-junk", [_role("a", rolloutStrategy={"rollingUpdate": {"maxUnavailable": "lots"}})], c.REASON_INVALID_FIELDS, 'spec.roles[0].rolloutStrategy.rollingUpdate.maxUnavailable: Value error, a string must be a percentage such as "25%"'),
    ("max-surge-negative", [_role("a", rolloutStrategy={"rollingUpdate": {"maxSurge": -1}})], c.REASON_INVALID_FIELDS, "spec.roles[0].rolloutStrategy.rollingUpdate.maxSurge: Value error, an integer must be from 0 to 2147483647"),
    ("too-many-service-ports", [_role("a", servicePorts=[{"name": f"p{i}", "port": 1000 + i} for i in range(65)])], c.REASON_INVALID_FIELDS, "spec.roles[0].servicePorts: List should have at most 64 items"),
    ("no-pattern", [{"name": "a"}], c.REASON_INVALID_ROLES, "spec.roles[0]: exactly one of standalonePattern, leaderWorkerPattern, customComponentsPattern is required"),
    ("two-patterns", [{"name": "a", SP: {"template": TEMPLATE}, "leaderWorkerPattern": {"template": TEMPLATE}}], c.REASON_INVALID_ROLES, "not standalonePattern and leaderWorkerPattern"),
    ("missing-template", [{"name": "a", SP: {}}], c.REASON_INVALID_ROLES, "spec.roles[0].standalonePattern.template: template or templateRef is required"),
    ("template-and-template-ref", [{"name": "a", SP: {"template": TEMPLATE, "templateRef": {"name": "base"}}}], c.REASON_INVALID_ROLES, "spec.roles[0].standalonePattern.templateRef: template and templateRef are mutually exclusive"),
    ("unknown-role-template", [{"name": "a", SP: {"templateRef": {"name": "base"}}}], c.REASON_INVALID_ROLES, "spec.roles[0].standalonePattern.templateRef.name: no entry of spec.roleTemplates is named 'base'"),
    ("template-ref-not-a-name", [{"name": "a", SP: {"templateRef": {"name": "Base"}}}], c.REASON_INVALID_FIELDS, "spec.roles[0].standalonePattern.templateRef.name: String should match pattern"),
    ("template-patch-not-an-object", [{"name": "a", SP: {"templateRef": {"name": "base", "patch": []}}}], c.REASON_INVALID_FIELDS, "spec.roles[0].standalonePattern.templateRef.patch: Input should be a valid dictionary"),
    ("restart-policy-unknown", [{"name": "a", "leaderWorkerPattern": {"template": TEMPLATE, "restartPolicyConfig": {"type": "Always"}}}], c.REASON_INVALID_FIELDS, "spec.roles[0].leaderWorkerPattern.restartPolicyConfig.type: Input should be"),
    ("pod-management-unknown", [_role("a", podManagementPolicy="Ordered")], c.REASON_INVALID_FIELDS, "spec.roles[0].podManagementPolicy: Input should be 'OrderedReady' or 'Parallel'"),
    ("duplicate-components", [{"name": "a", "customComponentsPattern": {"components": [{"name": "x", "template": TEMPLATE}, {"name": "x", "template": TEMPLATE}]}}], c.REASON_INVALID_ROLES, "spec.roles[0].customComponentsPattern.components[1].name: duplicate component name 'x'"),
    ("components-on-a-statefulset", [{"name": "a", "annotations": {c.ANNOTATION_ROLE_WORKLOAD_TYPE: "apps/v1/StatefulSet"}, "customComponentsPattern": {"components": [{"name": "x", "template": TEMPLATE}]}}], c.REASON_INVALID_ROLES, f"spec.roles[0].annotations[{c.ANNOTATION_ROLE_WORKLOAD_TYPE}]: customComponentsPattern runs on RoleInstanceSets only"),
    ("surge-and-unavailable-both-zero", [_role("a", rolloutStrategy={"rollingUpdate": {"maxSurge": "0%", "maxUnavailable": 0}})], c.REASON_INVALID_ROLES, "spec.roles[0].rolloutStrategy.rollingUpdate: maxSurge and maxUnavailable may not both be 0"),
    ("v1alpha1-field", [_role("a", workload={"apiVersion": "apps/v1", "kind": "Deployment"})], c.REASON_INVALID_FIELDS, "spec.roles[0].workload: Extra inputs are not permitted"),
    ("unknown-field", [_role("a", replica=2)], c.REASON_INVALID_FIELDS, "spec.roles[0].replica: Extra inputs are not permitted"),
    ("cycle", [_role("a", dependencies=["c"]), _role("b", dependencies=["a"]), _role("c", dependencies=["b"])], c.REASON_DEPENDENCY_CYCLE, "spec.roles: dependency cycle between roles a, b, c: a -> c -> b -> a"),
]


@pytest.mark.parametrize("roles,reason,message", [p[1:] for p in CASES], ids=[p[0] for p in CASES])
def test_invalid(roles, reason, message):
    result = parse_spec("g", {"roles": roles})
    assert isinstance(result, Invalid)
    assert result.reason == reason
    assert message in result.message


def test_group_name_must_start_with_a_letter():
    result = parse_spec("1g", {"roles": [_role("a")]})
    assert isinstance(result, Invalid) and "DNS-1035" in result.message


def test_valid_spec_gets_upstream_defaults():
    spec = parse_spec("g", {"roles": [_role("a"), _role("b", dependencies=["a"])]})
    assert not isinstance(spec, Invalid)
    assert (spec.roles[0].replicas, spec.roles[0].workload.kind, spec.startup_policy) == (1, "StatefulSet", "Ordered")


def test_upstream_fields_are_accepted():
    upstream = _role("a", engineRuntimes=[{"profileName": "p"}], scalingAdapter={"enable": True, "labels": {"team": "a"}},
                     podManagementPolicy="OrderedReady", minReadySeconds=5, labels={"x": "y", "example.com/team": ""},
                     annotations={"k": "v", "prometheus.io/scrape": "true"},
                     servicePorts=[{"port": 8000}],
                     rolloutStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%", "partition": 1}})
    lwp = {"name": "b", "leaderWorkerPattern": {"size": 2, "template": TEMPLATE, "sharedServiceSelection": "All", "restartPolicy": "None",
                                                "restartPolicyConfig": {"type": "RecreateRoleInstanceOnPodRestart", "baseDelaySeconds": 5, "maxDelaySeconds": 60}}}
    assert not isinstance(parse_spec("g", {"roles": [upstream, lwp]}), Invalid)


def test_the_largest_counts_kubernetes_takes_are_valid():
    top = _role("a", replicas=c.INT32_MAX, minReadySeconds=c.INT32_MAX, servicePorts=[{"name": f"p{i}", "port": 1000 + i} for i in range(64)],
                rolloutStrategy={"rollingUpdate": {"partition": c.INT32_MAX, "maxSurge": c.INT32_MAX}})
    assert not isinstance(parse_spec("g", {"roles": [top]}), Invalid)


BASE = {"name": "base", "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}


@pytest.mark.parametrize(
    "templates,message",
    [
        pytest.param([BASE, BASE], "spec.roleTemplates[1].name: duplicate template name 'base'", id="duplicate"),
        pytest.param([{"name": "base", "template": {"metadata": {}}}], "spec.roleTemplates[0].template.spec.containers: at least one container is required", id="no-containers"),
        pytest.param(
            [{"name": "base", "template": {"metadata": {"labels": {"app": "a b"}}, "spec": {"containers": [{"name": "c"}]}}}],
            "spec.roleTemplates[0].template.metadata.labels[app]: 'a b' is not a valid label value",
            id="bad-label",
        ),
    ],
)
def test_invalid_role_templates(templates, message):
    result = parse_spec("g", {"roleTemplates": templates, "roles": [{"name": "a", SP: {"templateRef": {"name": "base"}}}]})
    assert isinstance(result, Invalid) and result.reason == c.REASON_INVALID_ROLES
    assert message in result.message


def test_role_templates_are_accepted():
    spec = parse_spec("g", {"roleTemplates": [BASE], "roles": [{"name": "a", SP: {"templateRef": {"name": "base", "patch": {}}}}, _role("b")]})
    assert not isinstance(spec, Invalid)
    assert (spec.roles[0].template, spec.roles[0].template_ref.name, spec.roles[1].template_ref) == (None, "base", None)


def test_too_many_role_templates():
    templates = [{**BASE, "name": f"t{i}"} for i in range(33)]
    result = parse_spec("g", {"roleTemplates": templates, "roles": [_role("a")]})
    assert isinstance(result, Invalid) and "spec.roleTemplates: List should have at most 32 items" in result.message
