"""Write a ``params.yaml`` for a new table from the demo's, keeping every comment.

The template is ``default_params.yaml`` in this folder, a copy of the project's default
``params.yaml`` (a test keeps the two equal). Only the table-specific keys are rewritten in
place, line by line, so every other key keeps its default and its comment.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import yaml

from foldwise.config import parse_params_text
from foldwise.init.infer import TablePlan

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_KEY_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<rest>.*)$")
# The demo's comment above data.drop_columns names its leaky column; a new table gets this.
_DROP_COMMENT = (
    "  # Columns never used as features, e.g. one only known after the outcome (the audit\n"
    "  # flags it as leakage and names it); they stay in the tables for the audit.\n"
)


def default_params_text() -> str:
    """The demo's default ``params.yaml``, as shipped with the package."""
    return resources.files("foldwise.init").joinpath("default_params.yaml").read_text("utf-8")


def yaml_value(value: Any) -> str:
    """One YAML flow value that reads back as ``value`` under YAML 1.1 and 1.2 loaders."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))}: {yaml_value(v)}" for k, v in value.items())
            + "}"
        )
    text = str(value)
    if _PLAIN.match(text) and yaml.safe_load(text) == text and parse_params_text(text) == text:
        return text
    return json.dumps(text)


def _split_comment(rest: str) -> tuple[str, str]:
    """A line's value and its trailing comment (the comment keeps its leading spaces)."""
    quote = None
    for i, ch in enumerate(rest):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or rest[i - 1] == " "):
            j = i
            while j > 0 and rest[j - 1] == " ":
                j -= 1
            return rest[:j], rest[j:]
    return rest, ""


def _with_comment(line: str, key: str, value: Any) -> str:
    """``key: value`` keeping the line's comment at its column when there is room."""
    match = _KEY_LINE.match(line)
    assert match is not None
    indent = match.group("indent")
    old_value, comment = _split_comment(match.group("rest"))
    new = f"{indent}{key}: {yaml_value(value)}"
    if not comment:
        return new
    column = len(indent) + len(key) + 1 + len(old_value) + len(comment) - len(comment.lstrip())
    padded = new.ljust(column) if len(new) + 1 < column else new + " "
    return padded + comment.lstrip()


def table_values(plan: TablePlan) -> dict[tuple[str, str], Any]:
    """The keys ``foldwise init`` sets for a table, by (section, key)."""
    return {
        ("data", "source"): plan.source,
        ("data", "test_source"): plan.test_source,
        ("data", "target"): plan.target,
        ("data", "id_columns"): list(plan.id_columns),
        ("data", "time_column"): plan.time_column,
        ("data", "group_column"): plan.group_column,
        ("data", "drop_columns"): [],
        ("data", "date_columns"): list(plan.date_columns),
        ("data", "csv_separator"): plan.csv_separator,
        ("data", "decimal"): plan.decimal,
        ("data", "label_map"): dict(plan.label_map),
        ("problem", "task"): plan.task,
        ("problem", "positive_label"): plan.positive_label,
        ("problem", "metric"): plan.metric,
        ("evaluate", "segments"): list(plan.segments),
        # The demo distrusts its `city` column; a new table starts with no suspects.
        ("explain", "suspect_columns"): [],
    }


def arrows_text(mapping: dict[str, str]) -> str:
    """``'>50K.' -> '>50K', ...`` for a label map."""
    return ", ".join(f"{old!r} -> {new!r}" for old, new in mapping.items())


def _header(plan: TablePlan, command: str) -> list[str]:
    lines = [f"# Written by `{command}`:", f"#   task {plan.task} ({plan.task_reason})"]
    if plan.positive_label is not None:
        lines.append(f"#   positive class {plan.positive_label!r} ({plan.positive_reason})")
    for name, reason in plan.id_columns.items():
        lines.append(f"#   id column {name!r} ({reason})")
    for name, reason in plan.date_columns.items():
        lines.append(f"#   date column {name!r} ({reason})")
    if plan.csv_separator != ",":
        lines.append(f"#   csv separator {plan.csv_separator!r} (detected in the file)")
    if plan.decimal_reason:
        lines.append(f"#   decimal mark {plan.decimal!r} ({plan.decimal_reason})")
    if plan.label_map:
        lines.append(f"#   test labels renamed (data.label_map): {arrows_text(plan.label_map)}")
    if plan.segments:
        lines.append(f"#   segments: low-cardinality columns {', '.join(plan.segments)}")
    return [line.replace("\n", " ") + "\n" for line in lines]


def render_params(plan: TablePlan, command: str, template: str | None = None) -> str:
    """The demo's ``params.yaml`` with the table's keys set and a header saying why."""
    text = default_params_text() if template is None else template
    values = table_values(plan)
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    section = ""
    header_done = False
    seen: set[tuple[str, str]] = set()
    for line in lines:
        if not header_done and not line.startswith("#"):
            out += _header(plan, command)
            header_done = True
        top = re.match(r"^([A-Za-z_]\w*):", line)
        if top:
            section = top.group(1)
        match = _KEY_LINE.match(line)
        if match and len(match.group("indent")) == 2 and (section, match.group("key")) in values:
            key = (section, match.group("key"))
            if key == ("data", "drop_columns"):
                while out and out[-1].startswith("  #"):
                    out.pop()  # the demo's comment about its own leaky column
                out.append(_DROP_COMMENT)
            out.append(_with_comment(line.rstrip("\n"), key[1], values[key]) + "\n")
            seen.add(key)
            continue
        out.append(line)
    missing = sorted(set(values) - seen)
    if missing:
        raise RuntimeError(f"default_params.yaml has no line for {missing}")
    return "".join(out)
