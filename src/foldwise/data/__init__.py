"""Read a user's table, infer and coerce column types, clean rows and split train from test.

The code lives in :mod:`foldwise.data.read` (files, separators, header checks),
:mod:`foldwise.data.coerce` (column types) and :mod:`foldwise.data.split` (row cleaning and
the train/test split); this package re-exports their public names.
"""

from foldwise.data.coerce import (
    BOOLEAN_PAIRS,
    ISO_DATE,
    MISSING_TOKENS,
    MOSTLY_NUMBERS,
    NUMERIC_SHARE,
    TRUE_TOKENS,
    Coercion,
    Kind,
    TypedTable,
    coerce_column,
    coerce_table,
    coerce_target,
)
from foldwise.data.read import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    SEPARATORS,
    check_same_columns,
    read_table,
    separator_hint,
    sniff_separator,
)
from foldwise.data.split import (
    CleaningStats,
    SplitInfo,
    SplitStrategy,
    choose_split_strategy,
    clean_rows,
    split_table,
)

__all__ = [
    "BOOLEAN_PAIRS",
    "CSV_SUFFIXES",
    "ISO_DATE",
    "MISSING_TOKENS",
    "MOSTLY_NUMBERS",
    "NUMERIC_SHARE",
    "PARQUET_SUFFIXES",
    "SEPARATORS",
    "TRUE_TOKENS",
    "CleaningStats",
    "Coercion",
    "Kind",
    "SplitInfo",
    "SplitStrategy",
    "TypedTable",
    "check_same_columns",
    "choose_split_strategy",
    "clean_rows",
    "coerce_column",
    "coerce_table",
    "coerce_target",
    "read_table",
    "separator_hint",
    "sniff_separator",
    "split_table",
]
