"""``data.label_map``: rename target labels of both tables before anything else reads them.

The census-income test file writes ``>50K.`` where its training file writes ``>50K``; a map
from one spelling to the other, stated in params.yaml, lets both tables share their labels.
"""

from __future__ import annotations

import string
from typing import Any

import pandas as pd

from foldwise.problem import label_key


def apply_label_map(values: pd.Series, mapping: dict[str, str]) -> tuple[pd.Series, int]:
    """The target with every cell whose text (spaces trimmed) is a key of ``mapping`` renamed.

    Returns the new column and how many cells were renamed.
    """
    if not mapping:
        return values, 0
    present = values.notna()
    text = values.astype("object").where(present).map(lambda v: str(v).strip(), na_action="ignore")
    renamed = text.map(mapping.get, na_action="ignore")
    hit = present & renamed.notna()
    out = values.astype("object").where(~hit, renamed)
    return out, int(hit.sum())


def _loose(label: str) -> str:
    """A label without surrounding whitespace and trailing punctuation, in lower case."""
    return label.strip().rstrip(string.punctuation).strip().lower()


def suggest_label_map(train_labels: list[Any], test_labels: list[Any]) -> dict[str, str]:
    """Unknown test labels mapped to the one training label equal but for case/spaces/dots."""
    known = {label_key(lab) for lab in train_labels}
    by_loose: dict[str, set[str]] = {}
    for lab in known:
        by_loose.setdefault(_loose(lab), set()).add(lab)
    mapping: dict[str, str] = {}
    for lab in sorted({label_key(v) for v in test_labels} - known):
        matches = by_loose.get(_loose(lab), set())
        if len(matches) == 1 and _loose(lab):
            mapping[lab] = next(iter(matches))
    return mapping
