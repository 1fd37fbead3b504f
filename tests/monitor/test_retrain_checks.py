"""retrain's up-front checks of the held-out rows, for every task, and of the training table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from foldwise.errors import FoldwiseError
from foldwise.monitor.retrain_plan import holdout_problem, plan_source, split_recent
from foldwise.problem import Problem

BINARY = Problem("binary", "churned", ("No", "Yes"), "Yes", "roc_auc")
MULTI_AUC = Problem("multiclass", "kind", ("a", "b", "c"), None, "roc_auc")
MULTI_LOGLOSS = Problem("multiclass", "kind", ("a", "b", "c"), None, "log_loss")
REGRESSION = Problem("regression", "price", None, None, "rmse")


def rows(periods: dict[str, list], target: str) -> pd.DataFrame:
    """Labelled rows: ``{period: [label, ...]}``."""
    return pd.DataFrame(
        [{"period": p, target: label} for p, labels in periods.items() for label in labels]
    )


def test_binary_needs_both_classes_and_names_them() -> None:
    one_class = rows({"2025-01": ["No"] * 40 + ["Yes"] * 20, "2025-02": ["No"] * 40}, "churned")
    assert holdout_problem(one_class[one_class.period == "2025-01"], BINARY) is None
    with pytest.raises(FoldwiseError) as error:
        split_recent(one_class, 1, BINARY)
    message = str(error.value)
    assert "held-out period 2025-02 has 40 labelled row(s) (No: 40, Yes: 0)" in message
    assert "roc_auc needs both classes with at least 10 rows each" in message
    assert "hold out 2 periods: --recent-periods 2" not in message  # nothing left to train on
    assert message.endswith("wait for more labels")


def test_the_fix_names_the_smallest_hold_out_that_works() -> None:
    labelled = rows(
        {"2025-01": ["No"] * 50 + ["Yes"] * 10, "2025-02": ["No"] * 30 + ["Yes"] * 9,
         "2025-03": ["No", "No"]},
        "churned",
    )  # fmt: skip
    with pytest.raises(FoldwiseError, match=r"period 2025-03 has 2 labelled row\(s\)") as error:
        split_recent(labelled, 1, BINARY)
    # Months 2 and 3 hold 9 positives, months 1 to 3 leave nothing to train on.
    assert str(error.value).endswith("wait for more labels")
    labelled.loc[0, "period"] = "2024-12"  # one more, older period to train on
    labelled = pd.concat([labelled, rows({"2025-02": ["Yes"]}, "churned")], ignore_index=True)
    with pytest.raises(FoldwiseError, match="hold out 2 periods: --recent-periods 2"):
        split_recent(labelled, 1, BINARY)
    train, recent = split_recent(labelled, 2, BINARY)
    assert sorted(recent.period.unique()) == ["2025-02", "2025-03"]
    assert set(train.period) == {"2024-12", "2025-01"}


def test_multiclass_auc_needs_every_class_other_metrics_two() -> None:
    two_classes = rows({"p": ["a"] * 20 + ["b"] * 20}, "kind")
    assert "needs every class with at least 10 rows each" in holdout_problem(two_classes, MULTI_AUC)
    assert "(a: 20, b: 20, c: 0)" in holdout_problem(two_classes, MULTI_AUC)
    assert holdout_problem(two_classes, MULTI_LOGLOSS) is None
    one_class = rows({"p": ["a"] * 40 + ["b"] * 3}, "kind")
    assert "two classes with 10 each" in holdout_problem(one_class, MULTI_LOGLOSS)


def test_regression_needs_rows_that_vary() -> None:
    assert "needs at least 30" in holdout_problem(rows({"p": [1.0] * 29}, "price"), REGRESSION)
    assert "same value" in holdout_problem(rows({"p": [2.5] * 40}, "price"), REGRESSION)
    values = list(np.linspace(0, 1, 30))
    assert holdout_problem(rows({"p": values}, "price"), REGRESSION) is None


def test_nothing_left_to_train_on() -> None:
    labelled = rows({"2025-01": ["No"] * 20 + ["Yes"] * 20}, "churned")
    with pytest.raises(FoldwiseError, match="labels cover 1 period"):
        split_recent(labelled, 1, BINARY)


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    (root / "data" / "raw").mkdir(parents=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    (root / "dvc.yaml").write_text(
        "stages:\n  generate:\n    cmd: python gen.py\n    outs:\n      - data/builtin/t.csv\n"
    )
    return root


def test_source_kinds(tmp_path: Path) -> None:
    root = _project(tmp_path)
    copied = plan_source(root, "data/builtin/t.csv")
    assert (copied.copied, copied.table, copied.stage) == (True, "data/raw/t.csv", "generate")
    (root / "data" / "raw" / "plain.csv").write_text("id,y\n1,a\n")
    with pytest.raises(
        FoldwiseError, match=r"data.source data/raw/plain.csv: not tracked by `dvc add`"
    ):
        plan_source(root, "data/raw/plain.csv")
    subprocess.run(
        [sys.executable, "-m", "dvc", "add", "-q", "data/raw/plain.csv"], cwd=root, check=True
    )
    with pytest.raises(FoldwiseError, match=r"data/raw/plain.csv.dvc is not committed"):
        plan_source(root, "data/raw/plain.csv")
    subprocess.run(["git", "add", "data/raw/plain.csv.dvc"], cwd=root, check=True)
    assert plan_source(root, "data/raw/plain.csv").copied is False
    (root / "data" / "raw" / "plain.csv").write_text("id,y\n1,a\n2,b\n")  # edited after dvc add
    with pytest.raises(FoldwiseError, match=r"differs from data/raw/plain.csv.dvc"):
        plan_source(root, "data/raw/plain.csv")
    (root / "data" / "raw" / "t.csv").write_text("id,y\n")  # the copy's place is taken
    with pytest.raises(
        FoldwiseError, match=r"data/raw/t.csv \(where retraining would copy it\) exists"
    ):
        plan_source(root, "data/builtin/t.csv")
