"""MkDocs hook: the reference pages, generated from the code at build time so they cannot drift.

- reference/api.md: every field of the RoleBasedGroup, RoleBasedGroupSet,
  RoleBasedGroupScalingAdapter, ClusterEngineRuntimeProfile, CoordinatedPolicy, RoleInstanceSet
  and RoleInstance specs and statuses (workloads.x-k8s.io/v1alpha2), walked from the pydantic models in hooks.api (camelCase
  alias, type, default, description);
- reference/names.md: every label, annotation and injected environment variable of
  hooks.constants, with its line from docs/_gen/descriptions.yaml;
- reference/conditions.md: every condition type and reason of hooks.constants, likewise, and
  the (type, status, reason) triples the group reports (hooks.metrics.CONDITIONS);
- reference/metrics.md: every metric of hooks.metrics, with its help text and labels;
- reference/cli.md: every command and option of the `rbg` parser (rbgcli.main.parser).

The build fails (PluginError, listing every problem) when a model field has no description, a
constant has no line in descriptions.yaml (or a line names no constant), a metric has no help
text, a command has no help, an option has neither help nor a line in descriptions.yaml, or a
condition reason has no heading in docs/troubleshooting.md. No generated file is committed:
the pages exist only in the build (File.generated).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The kinds whose spec and status are documented, in page order: (kind, spec model, status model).
KINDS = (
    ("RoleBasedGroup", "RoleBasedGroupSpec", "RoleBasedGroupStatus"),
    ("RoleBasedGroupSet", "RoleBasedGroupSetSpec", "RoleBasedGroupSetStatus"),
    ("RoleBasedGroupScalingAdapter", "RoleBasedGroupScalingAdapterSpec", "RoleBasedGroupScalingAdapterStatus"),
    ("ClusterEngineRuntimeProfile", "ClusterEngineRuntimeProfileSpec", None),
    ("CoordinatedPolicy", "CoordinatedPolicySpec", "CoordinatedPolicyStatus"),
    ("RoleInstanceSet", "RoleInstanceSetSpec", "RoleInstanceSetStatus"),
    ("RoleInstance", "RoleInstanceSpec", "RoleInstanceStatus"),
)
# hooks.constants prefixes -> (section of descriptions.yaml, what it is).
CONSTANT_KINDS = (
    (("LABEL_", "LABELS_"), "labels", "label"),
    (("ANNOTATION_", "ANNOTATIONS_"), "annotations", "annotation"),
    (("ENV_",), "env", "environment variable"),
    (("COND_",), "conditions", "condition type"),
    (("REASON_",), "reasons", "condition reason"),
)
TROUBLESHOOTING = "troubleshooting.md"


def on_files(files: Files, config: Any) -> Files:
    """Generate the reference pages into the build's files, or fail the build with every problem."""
    problems: list[str] = []
    descriptions = yaml.safe_load((HERE / "descriptions.yaml").read_text())
    constants = _constants(problems, descriptions)
    pages = {
        "reference/api.md": api_page(problems),
        "reference/names.md": names_page(constants, descriptions),
        "reference/conditions.md": conditions_page(problems, constants, descriptions, Path(config["docs_dir"])),
        "reference/metrics.md": metrics_page(problems),
        "reference/cli.md": cli_page(problems, descriptions.get("cli_options") or {}),
    }
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise PluginError(f"docs/_gen/reference.py: {len(problems)} undocumented or stale item(s):\n{listing}")
    for path, text in pages.items():
        files.append(File.generated(config, path, content=text))
    return files


# ---------------------------------------------------------------------------------------------
# API fields


def api_page(problems: list[str]) -> str:
    from pydantic import BaseModel

    import hooks.api as api

    out = [
        "# API fields",
        "",
        "Generated from the pydantic models in `hooks/api/`, from which the CRDs in `crds/` are "
        "generated too (`make crd`): `workloads.x-k8s.io/v1alpha2`, the version stored and read "
        "by the hooks. How `v1alpha1`'s fields map onto these: "
        "[API versions](../concepts/api-versions.md). Field names are as written in manifests (camelCase). Pod "
        "templates, containers, volumes and service ports are validated with the Kubernetes "
        "v1.34 schemas of those types.",
        "",
    ]
    documented: dict[type[BaseModel], str] = {}  # model -> anchor, in the order first met
    queue: list[tuple[type[BaseModel], str]] = []

    def anchor(model: type[BaseModel]) -> str:
        return model.__name__.lower()

    def visit(model: type[BaseModel], path: str) -> None:
        if model not in documented:
            documented[model] = anchor(model)
            queue.append((model, path))

    sections: list[str] = []
    for kind, spec_name, status_name in KINDS:
        spec = getattr(api, spec_name)
        status = getattr(api, status_name) if status_name else None
        top = [f"## {kind}", ""]
        top.append(f"- `spec`: [{spec.__name__}](#{anchor(spec)})")
        if status is not None:
            top.append(f"- `status`: [{status.__name__}](#{anchor(status)})")
        else:
            top.append("- `status`: no fields")
        top.append("")
        out += top
        visit(spec, f"{kind} spec")
        if status is not None:
            visit(status, f"{kind} status")

    while queue:
        model, path = queue.pop(0)
        sections += _model_section(model, path, problems, visit, anchor)

    out += ["## Types", "", *sections]
    return "\n".join(out) + "\n"


def _model_section(model: Any, path: str, problems: list[str], visit: Any, anchor: Any) -> list[str]:
    doc = " ".join((model.__doc__ or "").split())
    out = [f"### {model.__name__}", ""]
    if doc:
        out += [doc, ""]
    out += [f"Found at: `{path}`.", "", "| field | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        alias = field.alias or name
        where = f"{path}.{alias}"
        if not (field.description or "").strip():
            problems.append(f"field {model.__module__}.{model.__name__}.{name} ({where}): no description")
        nested = _models_in(field.annotation)
        for sub in nested:
            visit(sub, f"{where}[]" if _is_list(field.annotation) else where)
        kind = _type_text(field.annotation, field, anchor)
        out.append(f"| `{alias}` | {kind} | {_cell(_default_text(field))} | {_cell(field.description or '')} |")
    out.append("")
    return out


def _strip(tp: Any) -> Any:
    """The type without Annotated and without None in a union."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if _is_union(tp):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_list(tp: Any) -> bool:
    return typing.get_origin(_strip(tp)) is list


def _models_in(tp: Any) -> list[Any]:
    from pydantic import BaseModel

    tp = _strip(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    found: list[Any] = []
    for arg in typing.get_args(tp):
        if arg is not type(None) and not isinstance(arg, (str, int, bool)):
            found += _models_in(arg)
    return found


# What the API's int-or-string validators (hooks.api.spec) accept, by the validator's name.
VALIDATORS = {"_int32_count": "integers 0 to 2147483647", "_percentage": 'strings as `"25%"`'}


def _type_text(tp: Any, field: Any, anchor: Any) -> str:
    k8s = (field.json_schema_extra or {}).get("k8s") if isinstance(field.json_schema_extra, dict) else None
    text = _type_name(tp, anchor, k8s)
    constraints = _constraints([*field.metadata, *_annotated_metadata(tp)])  # already Markdown/HTML
    return f"{_cell(text)}; {constraints}" if constraints else _cell(text)


def _annotated_metadata(tp: Any) -> list[Any]:
    """Constraints carried by the type itself (Annotated aliases such as Percent or IntOrString)."""
    found: list[Any] = []
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp, *meta = typing.get_args(tp)
            for item in meta:
                found += [item, *getattr(item, "metadata", [])]
        elif _is_union(tp) and len([a for a in typing.get_args(tp) if a is not type(None)]) == 1:
            tp = next(a for a in typing.get_args(tp) if a is not type(None))
        else:
            return found


def _type_name(tp: Any, anchor: Any, k8s: str | None = None) -> str:
    from pydantic import BaseModel

    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        return "[]" + _type_name(item, anchor, k8s)
    if k8s:
        return f"{k8s} (Kubernetes)"
    if origin is dict:
        key, value = typing.get_args(tp)
        value = _strip(value)
        if value is Any:
            return "object"
        return f"map[{_type_name(key, anchor)}]{_type_name(value, anchor)}"
    if origin is typing.Literal:
        values = [v for v in typing.get_args(tp)]
        return "string: " + ", ".join(f"`{v}`" if v != "" else '`""`' for v in values)
    if _is_union(tp):
        return " or ".join(_type_name(a, anchor) for a in typing.get_args(tp) if a is not type(None))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{anchor(tp)})"
    return {str: "string", int: "integer", bool: "boolean", float: "number", Any: "object"}.get(tp, getattr(tp, "__name__", str(tp)))


def _constraints(metadata: list[Any]) -> str:
    said: list[str] = []
    bounds: dict[str, Any] = {}
    for item in metadata:
        name = getattr(getattr(item, "func", None), "__name__", "")
        if name in VALIDATORS and VALIDATORS[name] not in said:
            said.append(VALIDATORS[name])
        for attr in ("ge", "le", "gt", "lt", "min_length", "max_length", "pattern"):
            value = getattr(item, attr, None)
            if value is not None:
                bounds[attr] = value
    if "ge" in bounds and "le" in bounds:
        said.append(f"{bounds['ge']} to {bounds['le']}")
    elif "ge" in bounds:
        said.append(f"at least {bounds['ge']}")
    elif "le" in bounds:
        said.append(f"at most {bounds['le']}")
    if "min_length" in bounds and bounds["min_length"] > 0:
        said.append(f"length at least {bounds['min_length']}")
    if "max_length" in bounds:
        said.append(f"length at most {bounds['max_length']}")
    if "pattern" in bounds:
        # As HTML entities: Markdown would read brackets as links, and a pipe ends the table cell.
        pattern = "".join(f"&#{ord(ch)};" if ch in "[]()*_\\`|<>&" else ch for ch in bounds["pattern"])
        said.append(f"pattern <code>{pattern}</code>")
    return ", ".join(said)


def _default_text(field: Any) -> str:
    from pydantic import BaseModel
    from pydantic_core import PydanticUndefined

    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    if "default" in extra:
        value = extra["default"]
    elif field.is_required():
        return "required"
    elif field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    if value is None:
        return ""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_none=True)
    return f"`{json.dumps(value, separators=(', ', ': '))}`"


def _cell(text: str) -> str:
    """Text for a table cell: one line, pipes escaped, and <placeholders> shown, not read as HTML."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------------------------------------
# Constants: labels, annotations, environment variables, conditions, reasons


def _constants(problems: list[str], descriptions: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Per section of descriptions.yaml, the (value, constant name) pairs of hooks.constants;
    a problem for each value without a description, and for each description of no value."""
    import hooks.constants as c

    found: dict[str, list[tuple[str, str]]] = {section: [] for _, section, _ in CONSTANT_KINDS}
    for name, value in vars(c).items():
        for prefixes, section, what in CONSTANT_KINDS:
            if name.startswith(prefixes):
                for one in value if isinstance(value, tuple) else (value,):
                    if one not in [v for v, _ in found[section]]:
                        found[section].append((one, name))
                    if one not in (descriptions.get(section) or {}):
                        problems.append(f"{what} {one!r} (hooks.constants.{name}): no line under {section}: in docs/_gen/descriptions.yaml")
    for _, section, what in CONSTANT_KINDS:
        values = {v for v, _ in found[section]}
        for key in descriptions.get(section) or {}:
            if key not in values:
                problems.append(f"docs/_gen/descriptions.yaml {section}: {key!r} is no {what} of hooks.constants any more")
    return found


def names_page(constants: dict[str, list[tuple[str, str]]], descriptions: dict[str, Any]) -> str:
    out = [
        "# Labels, annotations and environment",
        "",
        "Generated from `hooks/constants.py`, with the meanings kept in `docs/_gen/descriptions.yaml`. "
        "Names are API: they never change. Both upstream spellings are carried where upstream has two.",
        "",
    ]
    for section, title in (("labels", "Labels"), ("annotations", "Annotations"), ("env", "Environment variables")):
        out += [f"## {title}", "", "| name | meaning | constant |", "|---|---|---|"]
        for value, name in sorted(constants[section]):
            out.append(f"| `{value}` | {_cell((descriptions.get(section) or {}).get(value, ''))} | `{name}` |")
        out.append("")
    return "\n".join(out)


def _headings(page: Path) -> dict[str, str]:
    """The `### `Reason`` headings of a page, by reason, with their anchors (MkDocs' toc slugs)."""
    headings: dict[str, str] = {}
    for match in re.finditer(r"^###\s+`([A-Za-z]+)`\s*$", page.read_text(), re.MULTILINE):
        reason = match.group(1)
        headings.setdefault(reason, reason.lower())
    return headings


def conditions_page(problems: list[str], constants: dict[str, list[tuple[str, str]]], descriptions: dict[str, Any], docs_dir: Path) -> str:
    import hooks.metrics as metrics

    headings = _headings(docs_dir / TROUBLESHOOTING)
    for reason, name in constants["reasons"]:
        if reason not in headings:
            problems.append(f"condition reason {reason!r} (hooks.constants.{name}): no '### `{reason}`' heading in docs/{TROUBLESHOOTING}")
    out = [
        "# Conditions",
        "",
        "Generated from `hooks/constants.py` and `hooks/metrics.py`. Types and reasons are API: "
        "they never change. What each reason means for you and what to do: "
        f"[Troubleshooting](../{TROUBLESHOOTING}).",
        "",
        "## Condition types",
        "",
        "| type | meaning | constant |",
        "|---|---|---|",
    ]
    for value, name in constants["conditions"]:
        out.append(f"| `{value}` | {_cell((descriptions.get('conditions') or {}).get(value, ''))} | `{name}` |")
    out += ["", "## Reasons", "", "| reason | meaning | constant |", "|---|---|---|"]
    for value, name in constants["reasons"]:
        link = f"[`{value}`](../{TROUBLESHOOTING}#{headings[value]})" if value in headings else f"`{value}`"
        out.append(f"| {link} | {_cell((descriptions.get('reasons') or {}).get(value, ''))} | `{name}` |")
    out += [
        "",
        "## What a group reports",
        "",
        "Every (type, status, reason) a RoleBasedGroup's status can hold, as the metric "
        "`rbg_group_condition` labels them (`hooks.metrics.CONDITIONS`). `PodsScheduled` False "
        "carries the scheduler's own reason, `Unschedulable` when it gives none.",
        "",
        "| type | status | reason |",
        "|---|---|---|",
    ]
    for type_, status, reason in metrics.CONDITIONS:
        out.append(f"| `{type_}` | {status} | `{reason}` |")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Metrics


def metrics_page(problems: list[str]) -> str:
    from prometheus_client.metrics import MetricWrapperBase

    import hooks.metrics as metrics

    out = [
        "# Metrics",
        "",
        "Generated from `hooks/metrics.py`: every metric the hook server serves at `/metrics`. "
        "How they are collected and queried: [Metrics and monitoring](../metrics.md).",
        "",
        "| metric | type | labels | help |",
        "|---|---|---|---|",
    ]
    found = [m for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)]
    if not found:
        problems.append("hooks.metrics defines no metric: the generator no longer finds them")
    extra: list[str] = []
    for metric in found:
        kind = metric._type
        name = metric._name + ("_total" if kind == "counter" else "")
        help_text = (metric._documentation or "").strip()
        if not help_text:
            problems.append(f"metric {name} (hooks.metrics): no help text")
        labels = ", ".join(f"`{label}`" for label in metric._labelnames)
        out.append(f"| `{name}` | {kind} | {labels} | {_cell(help_text)} |")
        if kind == "histogram":
            bounds = ", ".join(f"{b:g}" for b in metric._upper_bounds if b != float("inf"))
            extra.append(f"- `{name}`: series `{name}_bucket`, `{name}_sum`, `{name}_count`; buckets (seconds) {bounds}, +Inf.")
    out += ["", "## Series and label values", "", *extra]
    out.append("- `hook`: " + ", ".join(f"`{h}`" for h in metrics.HOOKS) + ".")
    out.append("- `reason` of `rbg_invalid_spec_total`: " + ", ".join(f"`{r}`" for r in metrics.INVALID_REASONS) + ".")
    out.append(
        "- `type`, `status`, `reason` of `rbg_group_condition`: every triple in "
        "[What a group reports](conditions.md#what-a-group-reports)."
    )
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# The rbg command


def cli_page(problems: list[str], options: dict[str, str]) -> str:
    from rbgcli.main import parser

    os.environ["COLUMNS"] = "100"  # argparse wraps usage to the terminal: the same page everywhere
    root = parser()
    out = [
        "# CLI",
        "",
        "Generated from the parser of the `rbg` command (`rbgcli/main.py`). Examples and what the "
        "commands are for: [The rbg command](../cli.md).",
        "",
        f"```\n{root.format_usage().strip()}\n```",
        "",
    ]
    used: set[str] = set()
    out += _options_table(root, "rbg", options, used, problems)
    for path, sub, help_text in _commands(root, "rbg"):
        command = " ".join(path)
        if not (help_text or "").strip():
            problems.append(f"command `{command}`: no help in its parser")
        out += [f"## {command}", "", _cell(help_text or ""), "", f"```\n{sub.format_usage().strip()}\n```", ""]
        out += _options_table(sub, command, options, used, problems)
    for key in options:
        if key not in used:
            problems.append(f"docs/_gen/descriptions.yaml cli_options: {key!r} is no option without help of the rbg parser")
    return "\n".join(out)


def _options_table(p: argparse.ArgumentParser, command: str, options: dict[str, str], used: set[str], problems: list[str]) -> list[str]:
    """The options and positionals of one parser, each with its help or its line in descriptions.yaml."""
    rows = []
    for action in p._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        flag = max(action.option_strings, key=len) if action.option_strings else action.dest
        key = f"{command} {flag}"
        text = (action.help or "").strip()
        if not text:
            if key in options:
                used.add(key)
                text = options[key]
            else:
                problems.append(f"option `{key}`: no help in its parser and no line under cli_options: in docs/_gen/descriptions.yaml")
        flags = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.dest}`"
        rows.append(f"| {flags} | {_cli_default(action)} | {_cell(text)} |")
    return ["| option | default | meaning |", "|---|---|---|", *rows, ""] if rows else []


def _commands(p: argparse.ArgumentParser, name: str) -> list[tuple[list[str], argparse.ArgumentParser, str]]:
    """Every leaf command under `p`, depth first, with its help from the parent's listing."""
    found: list[tuple[list[str], argparse.ArgumentParser, str]] = []
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for sub_name, sub in action.choices.items():
                path = [*name.split(), sub_name]
                if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
                    if not (helps.get(sub_name) or "").strip():
                        found.append((path, sub, ""))
                    found += _commands(sub, " ".join(path))
                else:
                    found.append((path, sub, helps.get(sub_name) or ""))
    return found


def _cli_default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    value = action.default
    if value is None or value is argparse.SUPPRESS or value is False:
        return ""
    if isinstance(value, str) and value.startswith(str(ROOT)):
        value = os.path.relpath(value, ROOT)
    return f"`{value}`"
