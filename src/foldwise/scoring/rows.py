"""The forms raw rows arrive in, before any feature is read: a table, a mapping, or records.

:data:`Rows` is what the scorer accepts; :func:`records_of` checks a sequence of records (parsed
JSON); :func:`column_arrays` reads a table's columns without building a Series each;
:func:`gc_paused` keeps the garbage collector out of the many short-lived tuples that pulling
values out of records makes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from foldwise.errors import FoldwiseError


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while many short-lived tuples are built.

    Ten thousand row tuples alive at once make the collector run some fifteen times, each
    pass walking every tracked object (about a third of the conversion of 10,000 records);
    none of them can form a cycle. The collector's state is restored, also on errors (with
    several threads, one that found it enabled re-enables it on leaving; another still inside
    then merely runs with the collector on).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


Rows = pd.DataFrame | Mapping[str, Any] | Sequence[Mapping[str, Any]]


def column_arrays(rows: pd.DataFrame) -> Any:
    """A function from a column's position to its array, or None.

    pandas' public access to one column (``items()``, ``iloc``) builds a Series, some 15 µs a
    column: for a 100-row table that is a tenth of the whole call. Its block manager hands out
    the column's own array (no copy) in under a microsecond; when a pandas version lacks it,
    the columns are read through ``iloc``.
    """
    manager = getattr(rows, "_mgr", None)
    return getattr(manager, "iget_values", None)


def records_of(rows: Any) -> Sequence[Mapping[str, Any]]:
    """``rows`` checked to be a sequence of mappings (parsed JSON), else the refusal."""
    # str and bytes are sequences too; refused below (rows come from parsed JSON)
    if isinstance(rows, Sequence) and not isinstance(rows, str | bytes):
        if not set(map(type, rows)) <= {dict}:  # one C pass for the usual parsed JSON
            bad = next((i for i, r in enumerate(rows) if not isinstance(r, Mapping)), None)
            if bad is not None:
                raise FoldwiseError(f"row {bad}: expected an object of column: value pairs")
        return rows
    raise FoldwiseError(
        f"rows: expected a table, a mapping or a list of mappings, got {type(rows).__name__}"
    )
