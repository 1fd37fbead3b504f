"""Markdown for every report: one missing-value mark, one escape, one table layout.

The audit, explain, evaluate, compare, monitor, serve, tuning and validate reports all build
their Markdown from these, so a missing number reads the same everywhere (``MISSING``) and a
cell holding ``|`` or a line break never breaks a table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

MISSING = "–"
"""What a report shows for a value that does not exist (no interval, no rank, not measured)."""


def escape(text: Any) -> str:
    """``text`` safe inside a table cell: ``|`` escaped, line breaks as spaces."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def cell(value: Any, spec: str = "") -> str:
    """``value`` formatted with ``spec`` (as ``format`` does), or ``MISSING`` for None."""
    return MISSING if value is None else format(value, spec)


def number(value: Any, spec: str = ".3g") -> str:
    """A cell for a value that is usually a number: an int in full, a float with ``spec``,
    anything else (text, a bool) escaped as text, None as ``MISSING``."""
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return escape(value)
    return format(value, "d") if isinstance(value, int) else format(value, spec)


def percent(value: float | None, spec: str = ".1%") -> str:
    """A share in [0, 1] as a percentage (``0.125`` -> ``12.5%``), or ``MISSING``."""
    return MISSING if value is None else format(value, spec)


def table(
    header: Sequence[str], rows: Iterable[Sequence[str]], align: str | None = None
) -> list[str]:
    """A Markdown table's lines: the header, the separator and one line per row.

    ``align`` has one letter per column, ``l`` (left, the default) or ``r`` (right), e.g.
    ``"lrr"``; cells are used as given (escape them first where they may hold ``|``).
    """
    align = align or "l" * len(header)
    if len(align) != len(header):
        raise ValueError(f"align {align!r} has {len(align)} letters for {len(header)} columns")
    marks = {"l": "---", "r": "---:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "".join(marks[a] + "|" for a in align)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
