"""Generate the CRDs from the pydantic models in hooks.api.

The models are the single source of truth: this turns their JSON Schema into a Kubernetes
structural schema (inlined refs, int-or-string, no nullables), embeds the Kubernetes
PodTemplateSpec and ServicePort schemas, and adds the CEL rules the API server can check.
Eight CRDs, one file each in crds/, named `<plural>.<group>.yaml`:

- rolebasedgroups.workloads.x-k8s.io: RoleBasedGroupSpec / RoleBasedGroupStatus;
- rolebasedgroupsets.workloads.x-k8s.io: RoleBasedGroupSetSpec (its `template` is the whole
  group spec, the group spec's CEL rules included) / RoleBasedGroupSetStatus;
- seedrolebasedgroupsets.openpatio.io: the same set (kind RoleBasedGroupSet) in the seed
  documents' spelling, derived from the one above by `seed_set_schema` (`spec.groupTemplate`,
  roles named by `role`); a plural and singular of its own (see `seed_set_crd`);
- rolebasedgroupscalingadapters.workloads.x-k8s.io: RoleBasedGroupScalingAdapterSpec / Status;
- clusterengineruntimeprofiles.workloads.x-k8s.io: ClusterEngineRuntimeProfileSpec, cluster-scoped,
  no status fields (upstream's is empty);
- coordinatedpolicies.workloads.x-k8s.io: CoordinatedPolicySpec / CoordinatedPolicyStatus, v1alpha2 only;
- roleinstancesets.workloads.x-k8s.io: RoleInstanceSetSpec / RoleInstanceSetStatus, v1alpha2 only,
  with a /scale (its selector at .status.labelSelector, as upstream);
- roleinstances.workloads.x-k8s.io: RoleInstanceSpec / RoleInstanceStatus, v1alpha2 only.

    python -m rbgcli.crdgen --out crds/     # every CRD (make crd)
    python -m rbgcli.crdgen                 # the RoleBasedGroup CRD alone, on stdout
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from hooks import constants as c
from hooks.api import v1alpha1
from hooks.api import (
    ClusterEngineRuntimeProfileSpec,
    CoordinatedPolicySpec,
    CoordinatedPolicyStatus,
    RoleBasedGroupScalingAdapterSpec,
    RoleBasedGroupScalingAdapterStatus,
    RoleBasedGroupSetSpec,
    RoleBasedGroupSetStatus,
    RoleBasedGroupSpec,
    RoleBasedGroupStatus,
    RoleInstanceSetSpec,
    RoleInstanceSetStatus,
    RoleInstanceSpec,
    RoleInstanceStatus,
)
from hooks.schemas.k8s import container_schema, pod_template_spec_schema, service_port_schema, volume_schema

K8S = {"PodTemplateSpec": pod_template_spec_schema, "ServicePort": service_port_schema, "Container": container_schema, "Volume": volume_schema}
DROP = {"title", "additionalProperties", "$defs"}

# metadata.name is visible to CEL only at the root of the schema.
NAME_RULES = [
    {
        "rule": f"!has(self.spec) || self.spec.roles.all(r, size(self.metadata.name) + size(r.name) + 1 <= {c.MAX_WORKLOAD_NAME})",
        "message": f'"<group name>-<role name>" must be at most {c.MAX_WORKLOAD_NAME} characters '
        "(StatefulSet pods need room for a revision hash)",
    },
    {
        "rule": "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
        "message": "the group name must be a DNS-1035 label (lower case letters, digits and '-', "
        "starting with a letter): it prefixes Service names",
    },
]


def structural(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON Schema node as a Kubernetes structural schema node."""
    if "$ref" in schema:
        return structural({**defs[schema["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in schema.items() if k != "$ref"}}, defs)
    if "k8s" in schema:
        node = K8S[schema["k8s"]]()
        if schema.get("type") == "array":
            node = {"type": "array", "items": node}
        return {**node, **{k: schema[k] for k in ("description", "maxItems") if k in schema}}
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default") or (k == "default" and v is not None)}
        if sorted(o.get("type", "") for o in options) == ["integer", "string"]:
            return {**_clean(rest), "anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
        (only,) = options
        return structural({**only, **rest}, defs)
    out = _clean(schema)
    if schema.get("type") == "object":
        if "properties" in schema:
            out["properties"] = {k: structural(v, defs) for k, v in schema["properties"].items()}
        elif schema.get("additionalProperties") in (True, None, {}):
            out["x-kubernetes-preserve-unknown-fields"] = True
        else:
            out["additionalProperties"] = structural(schema["additionalProperties"], defs)
    if schema.get("type") == "array":
        out["items"] = structural(schema["items"], defs)
    return out


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in schema.items() if k not in DROP and k not in ("properties", "items", "const")}
    if "const" in schema:  # CRD schemas have no `const`
        out["enum"] = [schema["const"]]
    if out.get("default") is None:
        out.pop("default", None)
    return out


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True)
    return structural(raw, raw.get("$defs", {}))


# --- RoleBasedGroupSet ----------------------------------------------------------------------------
DNS_1035 = "'^[a-z]([-a-z0-9]*[a-z0-9])?$'"


def set_rules(template: str = "template", role_name: str = "name") -> list[dict[str, str]]:
    """The set's root rules (metadata.name is visible to CEL only at the root). Its members are
    groups `<set>-<index>`, whose workloads are `<set>-<index>-<role>`: with the highest index
    (replicas - 1, or 0 for an empty set, which may be scaled up) that must fit
    MAX_WORKLOAD_NAME. One pass over at most MAX_ROLES roles: cheap for the cost budget."""
    highest = "(self.spec.replicas > 0 ? self.spec.replicas - 1 : 0)"
    return [
        {
            "rule": f"self.metadata.name.matches({DNS_1035})",
            "message": "the set name must be a DNS-1035 label (lower case letters, digits and '-', "
            "starting with a letter): it prefixes its member groups' names",
        },
        {
            "rule": f"!has(self.spec) || self.spec.{template}.roles.all(r, size(self.metadata.name) + "
            f"size(string{highest}) + 1 + size(r.{role_name}) + 1 <= {c.MAX_WORKLOAD_NAME})",
            "message": f'"<set name>-<highest index>-<role name>" must be at most {c.MAX_WORKLOAD_NAME} characters '
            "(the workloads of its member groups; StatefulSet pods need room for a revision hash)",
        },
    ]


def _rename(node: dict[str, Any], old: str, new: str) -> None:
    """Rename property `old` of an object schema `node` to `new`, in place, keeping its position
    and whether it is required."""
    node["properties"] = {(new if k == old else k): v for k, v in node["properties"].items()}
    if "required" in node:
        node["required"] = [new if k == old else k for k in node["required"]]


def _role_variables_use_role(rule: str) -> str:
    """`r.name`, `o.name`, ... (a role, in the group spec's rules) as `r.role`, `o.role`, ...
    Variables of more than one letter range over something else (roleTemplates) and keep `name`."""
    return re.sub(r"\b([a-z])\.name\b", r"\1.role", rule)


# What keeps `.name` in the seed spelling: roleTemplates' names and templateRef.name.
_NOT_ROLE_NAMES = re.compile(r"\b(tpl|other)\.name\b|\.templateRef\.name\b")


def seed_set_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """The set spec schema in the seed documents' spelling (group openpatio.io): `template` is
    written `groupTemplate`, and each role of it is named by `role` instead of `name` (still
    required). The group spec's CEL rules on groupTemplate are rewritten to read `role`;
    everything else (startupPolicy at both levels included) is the set spec schema unchanged."""
    out = copy.deepcopy(spec)
    _rename(out, "template", "groupTemplate")
    group = out["properties"]["groupTemplate"]
    _rename(group["properties"]["roles"]["items"], "name", "role")
    for rule in group.get("x-kubernetes-validations", []):
        rule["rule"] = _role_variables_use_role(rule["rule"])
        if ".name" in _NOT_ROLE_NAMES.sub("", rule["rule"]):  # a rule on something else than roles: rewrite it here
            raise ValueError(f"seed_set_schema can not rewrite {rule['rule']!r}")
    return out


# --- the CRDs -------------------------------------------------------------------------------------
AGE: dict[str, Any] = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
SCALE: dict[str, str] = {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}


# The API server calls the conversion webhook through Service rbg-convert (metacontroller/convert.yaml); installs fill
# in its caBundle (the cert-manager overlay, or by hand: docs/installation.md), the local cluster
# points it at its own hook server.
CONVERSION: dict[str, Any] = {
    "strategy": "Webhook",
    "webhook": {
        "conversionReviewVersions": ["v1"],
        "clientConfig": {"service": {"namespace": "rbg-system", "name": "rbg-convert", "path": "/convert", "port": 443}},
    },
}


def _root(description: str, spec: dict[str, Any], status: dict[str, Any], rules: list[dict[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {
        "type": "object",
        "description": description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": status,
        },
    }
    if rules:
        root["x-kubernetes-validations"] = copy.deepcopy(rules)
    return root


def _crd(
    group: str,
    kind: str,
    plural: str,
    short_names: list[str],
    subresources: dict[str, Any],
    columns: list[dict[str, Any]],
    schemas: dict[str, dict[str, Any]],
    scope: str = "Namespaced",
    singular: str | None = None,
) -> dict[str, Any]:
    """`schemas`: each served version's root schema, the storage version first; a second version
    is v1alpha1, served with a deprecation warning and converted by the webhook."""
    names: dict[str, Any] = {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": singular or kind.lower()}
    if short_names:
        names["shortNames"] = short_names
    versions = []
    for i, (version, root) in enumerate(schemas.items()):
        entry: dict[str, Any] = {"name": version, "served": True, "storage": i == 0}
        if i:
            entry |= {"deprecated": True, "deprecationWarning": c.V1ALPHA1_DEPRECATION}
        # copies: a dict twice in one document would be dumped as a YAML alias
        entry |= {
            "subresources": copy.deepcopy(subresources),
            "additionalPrinterColumns": copy.deepcopy(columns),
            "schema": {"openAPIV3Schema": root},
        }
        versions.append(entry)
    spec: dict[str, Any] = {"group": group, "names": names, "scope": scope, "versions": versions}
    if len(versions) > 1:
        spec["conversion"] = copy.deepcopy(CONVERSION)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": spec,
    }


def crd() -> dict[str, Any]:
    """rolebasedgroups.workloads.x-k8s.io"""
    return _crd(
        c.GROUP,
        c.KIND_RBG,
        "rolebasedgroups",
        ["rbg"],
        {"status": {}},
        [
            {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Ready')].status"},
            {"name": "Roles", "type": "string", "description": "roles ready / all roles", "jsonPath": ".status.readyRoles"},
            {"name": "Progress", "type": "string", "priority": 1, "jsonPath": ".status.conditions[?(@.type=='Progressing')].reason"},
            AGE,
        ],
        {
            version: _root(RBG_DESCRIPTION, _schema(spec), _schema(RoleBasedGroupStatus), NAME_RULES)
            for version, spec in ((c.VERSION, RoleBasedGroupSpec), (c.VERSION_V1ALPHA1, v1alpha1.RoleBasedGroupSpec))
        },
    )


RBG_DESCRIPTION = (
    "RoleBasedGroup runs a group of cooperating roles, each a StatefulSet, Deployment or "
    "LeaderWorkerSet, started in dependency order and discoverable at /etc/rbg/config.yaml."
)


SET_COLUMNS: list[dict[str, Any]] = [
    {"name": "Desired", "type": "integer", "description": "member groups wanted", "jsonPath": ".spec.replicas"},
    {"name": "Ready", "type": "integer", "description": "member groups Ready", "jsonPath": ".status.readyReplicas"},
    {"name": "Updated", "type": "integer", "priority": 1, "description": "member groups at the current template", "jsonPath": ".status.updatedReplicas"},
    AGE,
]
SET_DESCRIPTION = (
    "RoleBasedGroupSet runs N identical RoleBasedGroups, <set>-0 to <set>-<replicas - 1>; "
    "scaling down removes the highest indices."
)


def set_crd() -> dict[str, Any]:
    """rolebasedgroupsets.workloads.x-k8s.io"""
    return _crd(
        c.GROUP,
        c.KIND_RBGS,
        "rolebasedgroupsets",
        ["rbgs"],
        {"status": {}, "scale": SCALE},
        SET_COLUMNS,
        {
            c.VERSION: _root(SET_DESCRIPTION, _schema(RoleBasedGroupSetSpec), _schema(RoleBasedGroupSetStatus), set_rules("groupTemplate.spec")),
            c.VERSION_V1ALPHA1: _root(SET_DESCRIPTION, _schema(v1alpha1.RoleBasedGroupSetSpec), _schema(RoleBasedGroupSetStatus), set_rules()),
        },
    )


def seed_set_crd() -> dict[str, Any]:
    """seedrolebasedgroupsets.openpatio.io: the seed documents' spelling of a set, kind
    RoleBasedGroupSet (seed manifests apply unchanged). Its plural, singular and short name are
    its own: kubectl resolves a name two groups serve to the first group in discovery order,
    openpatio.io, so with upstream's names `kubectl get rolebasedgroupsets` (or `rbgs`) would list
    these sets and never the workloads.x-k8s.io ones."""
    return _crd(
        c.SEED_GROUP,
        c.KIND_RBGS,
        c.SEED_PLURAL,
        [c.SEED_SHORT_NAME],
        {"status": {}, "scale": SCALE},
        SET_COLUMNS,
        {
            c.VERSION_V1ALPHA1: _root(
                SET_DESCRIPTION + " The seed documents' spelling: spec.groupTemplate, roles named by `role`.",
                seed_set_schema(_schema(v1alpha1.RoleBasedGroupSetSpec)),
                _schema(RoleBasedGroupSetStatus),
                set_rules("groupTemplate", "role"),
            )
        },
        singular=c.SEED_SINGULAR,
    )


def adapter_crd() -> dict[str, Any]:
    """rolebasedgroupscalingadapters.workloads.x-k8s.io"""
    return _crd(
        c.GROUP,
        c.KIND_RBGSA,
        "rolebasedgroupscalingadapters",
        ["rbgsa"],
        {"status": {}, "scale": SCALE},
        [
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
            {"name": "Replicas", "type": "integer", "description": "pods of the target role", "jsonPath": ".status.replicas"},
            {"name": "Target", "type": "string", "priority": 1, "description": "the RoleBasedGroup", "jsonPath": ".spec.scaleTargetRef.name"},
            {"name": "Role", "type": "string", "priority": 1, "description": "its role", "jsonPath": ".spec.scaleTargetRef.role"},
            AGE,
        ],
        {
            version: _root(
                "RoleBasedGroupScalingAdapter is a /scale target for one role of one RoleBasedGroup "
                "(HPA, KEDA, kubectl scale): once bound, its spec.replicas is the role's size.",
                _schema(RoleBasedGroupScalingAdapterSpec),
                _schema(RoleBasedGroupScalingAdapterStatus),
                [],
            )
            for version in (c.VERSION, c.VERSION_V1ALPHA1)
        },
    )


def profile_crd() -> dict[str, Any]:
    """clusterengineruntimeprofiles.workloads.x-k8s.io: cluster-scoped, and, as upstream's, without a required spec."""
    doc = _crd(
        c.GROUP,
        c.KIND_ENGINE_RUNTIME_PROFILE,
        c.ENGINE_RUNTIME_PROFILES,
        [],
        {"status": {}},
        [{"name": "Update", "type": "string", "jsonPath": ".spec.updateStrategy"}, AGE],
        {
            version: _root(
                "ClusterEngineRuntimeProfile holds init containers, containers and volumes injected into the pods of every "
                "role that names it in engineRuntimes.",
                _schema(ClusterEngineRuntimeProfileSpec),
                {"type": "object"},
                [],
            )
            for version in (c.VERSION, c.VERSION_V1ALPHA1)
        },
        scope="Cluster",
    )
    for version in doc["spec"]["versions"]:
        del version["schema"]["openAPIV3Schema"]["required"]
    return doc


def policy_crd() -> dict[str, Any]:
    """coordinatedpolicies.workloads.x-k8s.io: v1alpha2 only."""
    return _crd(
        c.GROUP,
        c.KIND_COORDINATED_POLICY,
        c.COORDINATED_POLICIES,
        ["cpolicy"],
        {"status": {}},
        [{"name": "Bound", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Bound')].status"}, AGE],
        {
            c.VERSION: _root(
                "CoordinatedPolicy keeps roles of the RoleBasedGroup of the same namespace and name rolling out and "
                "scaling in step.",
                _schema(CoordinatedPolicySpec),
                _schema(CoordinatedPolicyStatus),
                [],
            )
        },
    )


# RoleInstanceSet and RoleInstance: upstream's printer columns (upper-case names) and /scale path.
UPSTREAM_AGE: dict[str, Any] = {**AGE, "name": "AGE"}
INSTANCE_SET_SCALE: dict[str, str] = {**SCALE, "labelSelectorPath": ".status.labelSelector"}


def instance_set_crd() -> dict[str, Any]:
    """roleinstancesets.workloads.x-k8s.io: v1alpha2 only."""
    return _crd(
        c.GROUP,
        c.KIND_ROLE_INSTANCE_SET,
        "roleinstancesets",
        ["ris"],
        {"status": {}, "scale": INSTANCE_SET_SCALE},
        [
            {"name": "DESIRED", "type": "integer", "description": "instances wanted", "jsonPath": ".spec.replicas"},
            {"name": "UPDATED", "type": "integer", "description": "instances at the update revision", "jsonPath": ".status.updatedReplicas"},
            {"name": "UPDATED_READY", "type": "integer", "description": "instances at the update revision and Ready", "jsonPath": ".status.updatedReadyReplicas"},
            {"name": "READY", "type": "integer", "description": "instances Ready", "jsonPath": ".status.readyReplicas"},
            {"name": "TOTAL", "type": "integer", "description": "instances that exist", "jsonPath": ".status.replicas"},
            UPSTREAM_AGE,
            {"name": "SELECTOR", "type": "string", "priority": 1, "description": "selects the set's pods", "jsonPath": ".status.labelSelector"},
        ],
        {
            c.VERSION: _root(
                "RoleInstanceSet runs N RoleInstances of one template, <set>-0 to <set>-<replicas - 1>, and rolls "
                "template changes through them (a role of a RoleBasedGroup that runs on RoleInstanceSets has one).",
                _schema(RoleInstanceSetSpec),
                _schema(RoleInstanceSetStatus),
                [],
            )
        },
    )


def instance_crd() -> dict[str, Any]:
    """roleinstances.workloads.x-k8s.io: v1alpha2 only."""
    return _crd(
        c.GROUP,
        c.KIND_ROLE_INSTANCE,
        "roleinstances",
        ["rins"],
        {"status": {}},
        [
            {"name": "READY", "type": "string", "description": "whether the instance is Ready",
             "jsonPath": f".status.conditions[?(@.type=='{c.COND_ROLE_INSTANCE_READY}')].status"},
            UPSTREAM_AGE,
        ],
        {
            c.VERSION: _root(
                "RoleInstance is one instance of a role: the pods of its components, created, updated and "
                "recovered as one.",
                _schema(RoleInstanceSpec),
                _schema(RoleInstanceStatus),
                [],
            )
        },
    )


BUILDERS = (crd, set_crd, seed_set_crd, adapter_crd, profile_crd, policy_crd, instance_set_crd, instance_crd)


def render(doc: dict[str, Any] | None = None) -> str:
    """One CRD as its committed file holds it (the RoleBasedGroup CRD by default)."""
    return HEADER + yaml.safe_dump(crd() if doc is None else doc, sort_keys=False, width=120)


HEADER = "# Generated by `python -m rbgcli.crdgen` from hooks/api. Do not edit.\n"


def files() -> dict[str, str]:
    """Every CRD: its file name in crds/ ("<plural>.<group>.yaml") and its text."""
    docs = [build() for build in BUILDERS]
    return {f"{d['metadata']['name']}.yaml": render(d) for d in docs}


def kustomization(names: list[str]) -> str:
    """crds/kustomization.yaml: every CRD file, in BUILDERS order."""
    return (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "# Generated from hooks/api by `make crd` (python -m rbgcli.crdgen --out crds/).\nresources:\n"
        + "".join(f"- {name}\n" for name in names)
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m rbgcli.crdgen", description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="write every CRD into this directory (else the RoleBasedGroup CRD to stdout)")
    args = ap.parse_args(argv)
    if args.out is None:
        sys.stdout.write(render())
        return
    args.out.mkdir(parents=True, exist_ok=True)
    generated = files()
    for stale in sorted(args.out.glob("*.yaml")):  # a CRD renamed or dropped: its old file goes
        if stale.name not in generated and stale.read_text().startswith(HEADER):
            stale.unlink()
    for name, text in generated.items():
        (args.out / name).write_text(text)
    (args.out / "kustomization.yaml").write_text(kustomization(list(generated)))


if __name__ == "__main__":
    main()
