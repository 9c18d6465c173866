"""Generate hooks/schemas/k8s_schemas.json (structural CRD schemas for core/v1 types) and
hooks/schemas/k8s_patch_keys.json (the strategic-merge patch metadata of a PodTemplateSpec).

Input is the official OpenAPI v3 spec of Kubernetes v1.34.10, shipped in the Go
module zip of k8s.io/kubernetes as api/openapi-spec/v3/api__v1_openapi.json:

    go mod download -json k8s.io/kubernetes@v1.34.10   # prints "Dir"
    python tools/gen_pod_schema.py <Dir>/api/openapi-spec/v3/api__v1_openapi.json

The conversion mirrors what controller-gen (crd:maxDescLen=0,
generateEmbeddedObjectMeta=true) emits for the same Go types: every $ref is
inlined, descriptions and defaults are dropped (except defaults of list-map keys
that are not required, which the API server demands), and the apimachinery
special types get their well-known CRD shapes.

The patch table maps the path of every field of a PodTemplateSpec that has a patch strategy
("spec.containers", "spec.containers[].env"; `[]` steps into list items) to its
`x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key` (the Go types' patchStrategy
and patchMergeKey tags, which Kubernetes' strategic merge patch reads). hooks/strategicmerge.py
merges role template patches with it; a list without an entry is replaced, not merged.
"""

import copy
import json
import sys
from pathlib import Path

REF_PREFIX = "#/components/schemas/"
OUTPUT = Path(__file__).resolve().parent.parent / "hooks" / "schemas" / "k8s_schemas.json"
PATCH_OUTPUT = OUTPUT.with_name("k8s_patch_keys.json")
PATCH_ROOTS = {"PodTemplateSpec": "io.k8s.api.core.v1.PodTemplateSpec"}
PATCH_EXTENSIONS = {"x-kubernetes-patch-strategy": "patchStrategy", "x-kubernetes-patch-merge-key": "patchMergeKey"}
ROOTS = {
    "PodTemplateSpec": "io.k8s.api.core.v1.PodTemplateSpec",
    "ServicePort": "io.k8s.api.core.v1.ServicePort",
}

_INT_OR_STRING = {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": _INT_OR_STRING,
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        **_INT_OR_STRING,
        "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]"
        r"|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
        "type": "object",
        "properties": {
            "annotations": _STRING_MAP,
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "labels": _STRING_MAP,
            "name": {"type": "string"},
            "namespace": {"type": "string"},
        },
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": {"type": "string", "format": "date-time"},
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": {"type": "string", "format": "date-time"},
    "io.k8s.apimachinery.pkg.runtime.RawExtension": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
}

COPIED = {"type", "required", "enum", "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type"}
VALID_FORMATS = {"int32", "int64", "byte", "date-time"}
DROPPED = {
    "description", "default", "format", "x-kubernetes-group-version-kind", "x-kubernetes-unions",
    "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key",
}


class Converter:
    def __init__(self, schemas: dict):
        self.schemas = schemas
        self.stack: list[str] = []

    def ref_name(self, node: dict) -> str | None:
        """Name of the schema a node points at via $ref or a single-entry allOf wrapper."""
        if "$ref" in node:
            return node["$ref"].removeprefix(REF_PREFIX)
        if "allOf" in node:
            (inner,) = node["allOf"]
            return inner["$ref"].removeprefix(REF_PREFIX)
        return None

    def resolve(self, node: dict) -> dict:
        name = self.ref_name(node)
        return self.schemas[name] if name else node

    def named(self, name: str) -> dict:
        if name in SPECIAL:
            return copy.deepcopy(SPECIAL[name])
        if name in self.stack:
            raise ValueError("cycle: " + " -> ".join(self.stack + [name]))
        self.stack.append(name)
        out = self.convert(self.schemas[name])
        self.stack.pop()
        return out

    def convert(self, node: dict) -> dict:
        name = self.ref_name(node)
        out = self.named(name) if name else {}
        for key, value in node.items():
            if key in COPIED:
                out[key] = value
            elif key == "format" and value in VALID_FORMATS:
                out[key] = value
            elif key == "properties":
                out[key] = {prop: self.convert(sub) for prop, sub in value.items()}
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                out[key] = self.convert(value)
            elif key == "additionalProperties":
                out[key] = value
            elif key not in DROPPED | {"$ref", "allOf"}:
                raise ValueError(f"unsupported key {key!r} in {self.stack}")
        if not out or (out.get("type") == "object" and not out.keys() & {"properties", "additionalProperties"}):
            out.update(type="object", **{"x-kubernetes-preserve-unknown-fields": True})
        if out.get("x-kubernetes-list-type") == "map":
            self.default_list_map_keys(out, self.resolve(node["items"]))
        return out

    def default_list_map_keys(self, out: dict, item_source: dict) -> None:
        """List-map keys must be required or defaulted: keep upstream defaults for the optional ones."""
        item = out["items"]
        for key in out["x-kubernetes-list-map-keys"]:
            if key not in item.get("required", []):
                item["properties"][key]["default"] = item_source["properties"][key]["default"]


def build(openapi: dict) -> dict:
    converter = Converter(openapi["components"]["schemas"])
    return {name: converter.named(ref) for name, ref in ROOTS.items()}


def patch_keys(openapi: dict) -> dict:
    """{root: {field path: {"patchStrategy": ..., "patchMergeKey": ...}}} for every field with patch metadata."""
    converter = Converter(openapi["components"]["schemas"])
    out: dict = {}

    def walk(node: dict, path: str, table: dict, stack: list[str]) -> None:
        name = converter.ref_name(node)
        if name is not None:
            if name in stack:
                raise ValueError("cycle: " + " -> ".join(stack + [name]))
            node, stack = {**converter.schemas[name], **node}, stack + [name]
        meta = {short: node[ext] for ext, short in PATCH_EXTENSIONS.items() if ext in node}
        if meta:
            if "{}" in path:  # the merge walks properties and list items only
                raise ValueError(f"patch metadata inside a map's values: {path}")
            table[path] = meta
        for prop, sub in (node.get("properties") or {}).items():
            walk(sub, f"{path}.{prop}" if path else prop, table, stack)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]", table, stack)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{path}{{}}", table, stack)

    for root, ref in PATCH_ROOTS.items():
        out[root] = {}
        walk({"$ref": REF_PREFIX + ref}, "", out[root], [])
    return out


def render(schemas: dict) -> str:
    return json.dumps(schemas, indent=1, sort_keys=True) + "\n"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} path/to/api__v1_openapi.json")
    openapi = json.loads(Path(sys.argv[1]).read_text())
    for path, content in ((OUTPUT, build(openapi)), (PATCH_OUTPUT, patch_keys(openapi))):
        path.write_text(render(content))
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
