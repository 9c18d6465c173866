"""Generate the RoleBasedGroup CRD from the pydantic models in hooks.api.

The models are the single source of truth: this turns their JSON Schema into a Kubernetes
structural schema (inlined refs, int-or-string, no nullables), embeds the Kubernetes
PodTemplateSpec and ServicePort schemas, and adds the CEL rules the API server can check.

    python -m hooks.crd.generate > crds/rolebasedgroups.workloads.x-k8s.io.yaml
"""

from __future__ import annotations

import sys
from typing import Any

import yaml
from pydantic import BaseModel

from .. import constants as c
from ..api import RoleBasedGroupSpec, RoleBasedGroupStatus
from .k8s_schemas import pod_template_spec_schema, service_port_schema

K8S = {"PodTemplateSpec": pod_template_spec_schema, "ServicePort": service_port_schema}
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


def crd() -> dict[str, Any]:
    spec = _schema(RoleBasedGroupSpec)
    status = _schema(RoleBasedGroupStatus)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"rolebasedgroups.{c.GROUP}"},
        "spec": {
            "group": c.GROUP,
            "names": {
                "kind": c.KIND_RBG,
                "listKind": f"{c.KIND_RBG}List",
                "plural": "rolebasedgroups",
                "singular": "rolebasedgroup",
                "shortNames": ["rbg"],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": c.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Ready')].status"},
                        {"name": "Roles", "type": "string", "description": "roles ready / all roles", "jsonPath": ".status.readyRoles"},
                        {"name": "Progress", "type": "string", "priority": 1, "jsonPath": ".status.conditions[?(@.type=='Progressing')].reason"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "RoleBasedGroup runs a group of cooperating roles, each a StatefulSet or "
                            "Deployment, started in dependency order and discoverable at /etc/rbg/config.yaml.",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec,
                                "status": status,
                            },
                            "x-kubernetes-validations": NAME_RULES,
                        }
                    },
                }
            ],
        },
    }


def render() -> str:
    header = "# Generated by `python -m hooks.crd.generate` from hooks/api.py. Do not edit.\n"
    return header + yaml.safe_dump(crd(), sort_keys=False, width=120)


if __name__ == "__main__":
    sys.stdout.write(render())
