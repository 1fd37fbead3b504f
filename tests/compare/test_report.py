"""foldwise compare: the Markdown report, comparison.json and the plots (fast)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from foldwise.compare.comparison import compare_runs
from foldwise.compare.report import render_markdown, write_report
from tests.compare.helpers import BASE_SCORES, PNG_SIGNATURE, binary_predictions, make_run


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_report_writes_markdown_json_and_images(tmp_path, task):
    rng = np.random.default_rng(0)
    n = 200
    if task == "binary":
        preds_a, preds_b, metric = (
            binary_predictions(n, 0.5, 1),
            binary_predictions(n, 0.5, 1),
            "roc_auc",
        )
        preds_b["proba_Yes"] = np.clip(preds_b["proba_Yes"] + rng.normal(0, 0.05, n), 0, 1)
        preds_b["proba_No"] = 1 - preds_b["proba_Yes"]
        expected = {"cv_folds.png", "roc.png", "precision_recall.png", "calibration.png"}
    elif task == "multiclass":
        y = rng.integers(0, 3, n)
        proba = rng.dirichlet(np.ones(3), n)
        preds_a = pd.DataFrame({"y_true": y, "prediction": proba.argmax(1)})
        for k in range(3):
            preds_a[f"proba_{k}"] = proba[:, k]
        preds_b, metric = preds_a.copy(), "log_loss"
        expected = {"cv_folds.png", "roc.png", "precision_recall.png", "calibration.png"}
    else:
        y = rng.normal(size=n)
        preds_a = pd.DataFrame({"y_true": y, "prediction": y + rng.normal(0, 0.5, n)})
        preds_b, metric = (
            pd.DataFrame({"y_true": y, "prediction": y + rng.normal(0, 0.3, n)}),
            "rmse",
        )
        expected = {"cv_folds.png", "residuals.png", "predicted_vs_actual.png"}
    cmp = compare_runs(
        make_run("a", [0.5, 0.6, 0.55], metric=metric, task=task, predictions=preds_a),
        make_run("b", [0.52, 0.61, 0.56], metric=metric, task=task, predictions=preds_b),
    )
    (tmp_path / "keep.txt").write_text("user file")
    report, plots = write_report(cmp, tmp_path, None)
    assert set(plots) == expected
    for name in plots:
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE)
        assert f"]({name})" in report.read_text()
    assert (tmp_path / "keep.txt").read_text() == "user file"  # only our own files are touched
    payload = json.loads((tmp_path / "comparison.json").read_text())
    assert payload["primary_metric"] == metric
    assert payload["cv"][0]["verdict"] in {"better", "worse", "within noise"}
    md = render_markdown(cmp, plots, None, image_prefix="out/")
    assert "](out/cv_folds.png)" in md
    assert "## Cross-validation: decide by this" in md


def test_report_without_predictions_does_not_claim_a_paired_bootstrap():
    a = binary_predictions(100, 1.0, seed=1)
    base = make_run("a", BASE_SCORES, predictions=a)
    target = make_run("b", BASE_SCORES, predictions=a)
    base.predictions = None
    md = render_markdown(compare_runs(base, target), [], None)
    assert "paired bootstrap on the same rows" not in md
    assert "No test on the test set" in md
