"""Write a ``params.yaml`` for a new table: the config models' defaults and the table's keys.

The file is rendered from the config models (:mod:`foldwise.config.params_yaml`), the one home
of every key's default and comment, as the repository's own ``params.yaml`` is; only the keys
``foldwise init`` decides for the table differ from the defaults, and a header says why.
"""

from __future__ import annotations

from typing import Any

from foldwise.config.generate import PARAMS_HEADER, demo_params_text
from foldwise.config.params_yaml import render_params_yaml
from foldwise.init.infer import TablePlan


def default_params_text() -> str:
    """The demo's default ``params.yaml`` (the repository's own), rendered from the models."""
    return demo_params_text()


def table_values(plan: TablePlan) -> dict[str, Any]:
    """The keys ``foldwise init`` sets for a table, by dotted key."""
    return {
        "data.source": plan.source,
        "data.test_source": plan.test_source,
        "data.target": plan.target,
        "data.id_columns": list(plan.id_columns),
        "data.time_column": plan.time_column,
        "data.group_column": plan.group_column,
        "data.drop_columns": [],
        "data.date_columns": list(plan.date_columns),
        "data.csv_separator": plan.csv_separator,
        "data.decimal": plan.decimal,
        "data.thousands": plan.thousands,
        "data.label_map": dict(plan.label_map),
        "problem.task": plan.task,
        "problem.positive_label": plan.positive_label,
        "problem.metric": plan.metric,
        "evaluate.segments": list(plan.segments),
        # The demo distrusts its `city` column; a new table starts with no suspects.
        "explain.suspect_columns": [],
    }


def arrows_text(mapping: dict[str, str]) -> str:
    """``'>50K.' -> '>50K', ...`` for a label map."""
    return ", ".join(f"{old!r} -> {new!r}" for old, new in mapping.items())


def _header(plan: TablePlan, command: str) -> list[str]:
    lines = [f"Written by `{command}`:", f"  task {plan.task} ({plan.task_reason})"]
    if plan.positive_label is not None:
        lines.append(f"  positive class {plan.positive_label!r} ({plan.positive_reason})")
    for name, reason in plan.id_columns.items():
        lines.append(f"  id column {name!r} ({reason})")
    for name, reason in plan.date_columns.items():
        lines.append(f"  date column {name!r} ({reason})")
    if plan.csv_separator != ",":
        lines.append(f"  csv separator {plan.csv_separator!r} (detected in the file)")
    if plan.decimal_reason:
        lines.append(f"  decimal mark {plan.decimal!r} ({plan.decimal_reason})")
    if plan.label_map:
        lines.append(f"  test labels renamed (data.label_map): {arrows_text(plan.label_map)}")
    if plan.segments:
        lines.append(f"  segments: low-cardinality columns {', '.join(plan.segments)}")
    return [line.replace("\n", " ") for line in lines]


def render_params(plan: TablePlan, command: str) -> str:
    """The table's ``params.yaml``: every default, the table's keys, a header saying why."""
    return render_params_yaml(table_values(plan), [*PARAMS_HEADER, *_header(plan, command)])
