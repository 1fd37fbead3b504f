"""Deterministic built-in demo data: a synthetic subscription-churn table and three sklearn sets.

``churn`` draws the churn table (:func:`generate_churn`, its planted quirks in that module's
docstring); ``builtin`` loads the scikit-learn sets and writes ``data/builtin/*.csv``
(:func:`write_builtin_datasets`, the ``generate`` stage). This package re-exports their
public names.
"""

from foldwise.demo.builtin import BUILTIN_DATASETS, load_sklearn_dataset, write_builtin_datasets
from foldwise.demo.churn import (
    CHURN_TARGET,
    HIGH_CARDINALITY_COLUMN,
    LEAKY_COLUMN,
    NEAR_CONSTANT_COLUMN,
    TEXT_NUMBER_COLUMN,
    WEAK_SEGMENT,
    ChurnWorld,
    as_written,
    churn_world,
    generate_churn,
)

__all__ = [
    "BUILTIN_DATASETS",
    "CHURN_TARGET",
    "HIGH_CARDINALITY_COLUMN",
    "LEAKY_COLUMN",
    "NEAR_CONSTANT_COLUMN",
    "TEXT_NUMBER_COLUMN",
    "WEAK_SEGMENT",
    "ChurnWorld",
    "as_written",
    "churn_world",
    "generate_churn",
    "load_sklearn_dataset",
    "write_builtin_datasets",
]
