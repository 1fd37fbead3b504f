"""Messages name a class by its label, never by its internal code; reports carry no Python repr."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foldwise.config import parse_config
from foldwise.errors import FoldwiseError, quoted
from foldwise.prepare import prepare_tables
from foldwise.training.data import folds_for, training_data
from foldwise.training.fitting import fit_with_early_stopping, model_for


def prepared(root: Path, labels: list[str], task: str):
    """A tiny table whose target holds ``labels``, prepared as the prepare stage does."""
    rng = np.random.default_rng(0)
    n = len(labels)
    frame = pd.DataFrame({"x": rng.normal(size=n), "kind": rng.choice(["a", "b"], n)})
    frame["label"] = labels
    (root / "data").mkdir(parents=True, exist_ok=True)
    frame.to_csv(root / "data" / "t.csv", index=False)
    params = {
        "data": {"source": "data/t.csv", "target": "label"},
        "problem": {"task": task},
        "cv": {"folds": 5},
        "model": {"catboost": {"iterations": 20}},
    }
    config = parse_config(params)
    tables = prepare_tables(config, root)
    return config, training_data(tables.train, tables.schema)


@pytest.mark.parametrize(
    ("task", "labels", "rare"),
    [
        ("binary", ["no"] * 60 + ["yes"] * 5, "yes"),
        ("multiclass", ["red"] * 30 + ["green"] * 30 + ["blue"] * 5, "blue"),
    ],
)
def test_too_few_rows_of_a_class_names_its_label(tmp_path, task, labels, rare):
    config, data = prepared(tmp_path, labels, task)
    with pytest.raises(FoldwiseError) as caught:
        folds_for(data, config)
    message = str(caught.value)
    assert re.match(
        rf"target class '{rare}' has only \d row\(s\), fewer than cv\.folds = 5", message
    )
    assert "code" not in message


def test_a_single_class_in_a_fit_names_the_label(tmp_path):
    config, data = prepared(tmp_path, ["no"] * 30 + ["yes"] * 30, "binary")
    only_no = np.flatnonzero(data.y == data.problem.classes.index("no"))
    model = model_for("catboost", data, config)
    with pytest.raises(
        FoldwiseError, match=r"^these training rows hold only the target class 'no';"
    ):
        fit_with_early_stopping(
            model,
            data.frame.iloc[only_no],
            data.X.iloc[only_no],
            data.y[only_no],
            config=config,
            task="binary",
            seed=0,
            labels=data.problem.classes,
        )


def test_quoted_lists_names_without_python_brackets():
    assert quoted(["city", "member"]) == "'city', 'member'"
    assert quoted(range(12), limit=3) == "'0', '1', '2' and 9 more"
    assert quoted([]) == ""
