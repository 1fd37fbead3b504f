"""Reports, threshold choice, bootstrap intervals, segments and CV summaries."""

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from foldwise.errors import FoldwiseError
from foldwise.evaluation import (
    MISSING,
    bootstrap_interval,
    choose_threshold,
    classification_report,
    cv_summary,
    paired_bootstrap,
    regression_report,
    segment_report,
)

Y_BIN = np.array([0, 0, 1, 1])
P_POS = np.array([0.1, 0.4, 0.35, 0.8])
P_BIN = np.column_stack([1 - P_POS, P_POS])

Y_MC = np.array([0, 1, 2, 1])
P_MC = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.2, 0.5, 0.3],
        [0.1, 0.6, 0.3],
        [0.3, 0.3, 0.4],
    ]
)

# Threshold example: sorted probabilities with their labels.
Y_THR = np.array([0, 0, 1, 0, 1, 1])
P_THR = np.array([0.1, 0.3, 0.4, 0.6, 0.7, 0.9])


def strict_json(payload) -> str:
    return json.dumps(payload, allow_nan=False)


def binary_scores(n: int, seed: int, strength: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and (n, 2) probabilities from a logistic score with some skill."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    logit = strength * (2 * y - 1) + rng.normal(scale=2.0, size=n)
    p = 1 / (1 + np.exp(-logit))
    return y, np.column_stack([1 - p, p])


# --- classification_report ---------------------------------------------------------------


def test_binary_report_by_hand():
    report = classification_report(Y_BIN, P_BIN, task="binary", classes=["no", "yes"])
    strict_json(report)
    assert report["positive_label"] == "yes"
    assert report["threshold"] == 0.5
    assert report["roc_auc"] == pytest.approx(0.75)  # 3 of 4 pairs ordered right
    assert report["average_precision"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert report["brier"] == pytest.approx(0.158125)
    assert report["log_loss"] == pytest.approx(
        -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    )
    # >= .5 calls only the .8 row positive
    assert report["confusion"] == {"tn": 2, "fp": 0, "fn": 1, "tp": 1}
    assert report["precision"] == pytest.approx(1.0)  # 1 / (1 + 0)
    assert report["recall"] == pytest.approx(0.5)  # 1 / (1 + 1)
    assert report["f1"] == pytest.approx(2 / 3)
    assert report["accuracy"] == pytest.approx(0.75)
    assert report["notes"] == []


def test_binary_report_uses_the_given_threshold():
    report = classification_report(Y_BIN, P_BIN, task="binary", classes=[0, 1], threshold=0.3)
    # >= .3 calls .4, .35, .8 positive
    assert report["confusion"] == {"tn": 1, "fp": 1, "fn": 0, "tp": 2}
    assert report["precision"] == pytest.approx(2 / 3)
    assert report["f1"] == pytest.approx(0.8)


def test_binary_report_with_one_class_gives_none_and_notes():
    y = np.array([0, 0, 0])
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]])
    report = classification_report(y, proba, task="binary", classes=["n", "y"])
    strict_json(report)
    assert report["roc_auc"] is None
    assert report["average_precision"] is None
    assert report["recall"] is None
    assert report["log_loss"] == pytest.approx(-(math.log(0.9) + math.log(0.8) + math.log(0.3)) / 3)
    assert "roc_auc undefined: y_true holds a single class" in report["notes"]


def test_multiclass_report_by_hand_keyed_by_original_labels():
    classes = ["cat", "dog", "eel"]
    report = classification_report(Y_MC, P_MC, task="multiclass", classes=classes)
    strict_json(report)
    assert report["accuracy"] == pytest.approx(0.5)
    assert report["macro_f1"] == pytest.approx(0.5)
    assert report["roc_auc"] == pytest.approx(2 / 3)
    # truth rows x predicted columns; predictions are cat, dog, dog, eel
    assert report["confusion"] == {
        "labels": classes,
        "matrix": [[1, 0, 0], [0, 1, 1], [0, 1, 0]],
    }
    # dog: tp 1, called twice, truly twice
    assert report["per_class"]["dog"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
    }
    assert report["per_class"]["eel"]["f1"] == 0.0
    assert report["per_class"]["cat"]["precision"] == 1.0


def test_multiclass_report_with_a_class_missing_from_the_fold():
    y = np.array([0, 0, 2, 2])
    proba = np.array([[0.6, 0.3, 0.1], [0.5, 0.2, 0.3], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    report = classification_report(y, proba, task="multiclass", classes=[10, 20, 30])
    strict_json(report)
    assert report["roc_auc"] == pytest.approx((1 + 0.875) / 2)
    assert report["log_loss"] == pytest.approx(
        -(math.log(0.6) + math.log(0.5) + math.log(0.6) + math.log(0.3)) / 4
    )
    assert report["per_class"]["20"]["support"] == 0
    assert report["per_class"]["20"]["recall"] is None
    assert any("absent from y_true: ['20']" in note for note in report["notes"])


def test_classification_report_checks_the_shape():
    with pytest.raises(ValueError, match="3 columns but there are 2 classes"):
        classification_report(Y_MC, P_MC, task="binary", classes=["a", "b"])
    with pytest.raises(ValueError, match="binary or multiclass"):
        classification_report(Y_BIN, P_BIN, task="regression", classes=[0, 1])
    with pytest.raises(ValueError, match="does not fit 2 classes"):
        classification_report(Y_BIN, P_BIN, task="multiclass", classes=[0, 1])


# --- regression_report -------------------------------------------------------------------


def test_regression_report_by_hand():
    report = regression_report(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 3.0]))
    strict_json(report)
    # residuals y - pred: -1, 0, 1
    assert report["rmse"] == pytest.approx(math.sqrt(2 / 3))
    assert report["mae"] == pytest.approx(2 / 3)
    assert report["r2"] == pytest.approx(4 / 7)  # 1 - 2 / (42/9)
    assert report["mape"] == pytest.approx(1.25 / 3)  # (1/1 + 0/2 + 1/4) / 3
    assert report["residuals"] == {"mean": 0.0, "std": pytest.approx(1.0)}  # ddof=1: sqrt(2/2)


def test_regression_report_omits_mape_when_the_target_has_zeros():
    report = regression_report(np.array([0.0, 2.0, 4.0]), np.array([1.0, 2.0, 3.0]))
    strict_json(report)
    assert "mape" not in report
    assert "mape undefined: target has zeros" in report["notes"]
    assert report["mae"] == pytest.approx(2 / 3)


# --- choose_threshold --------------------------------------------------------------------
# Y_THR / P_THR, calling p >= t positive (3 positives):
#   t    TP FP FN  F1=2TP/(2TP+FP+FN)   cost fp=5,fn=1   cost fp=1,fn=5
#   .1   3  3  0   6/9                  15               3
#   .3   3  2  0   6/8                  10               2
#   .4   3  1  0   6/7  <- best F1       5               1  <- best
#   .6   2  1  1   4/6                   6               6
#   .7   2  0  1   4/5                   1  <- best       5
#   .9   1  0  2   2/4                   2              10
#   1.0  0  0  3   0                     3              15


def test_best_f1_threshold_by_hand():
    result = choose_threshold(Y_THR, P_THR, objective="f1")
    strict_json(result)
    assert result == {
        "threshold": 0.4,
        "objective": "f1",
        "value": pytest.approx(6 / 7),
        "precision": pytest.approx(3 / 4),
        "recall": pytest.approx(1.0),
    }
    assert type(result["threshold"]) is float


def test_cost_threshold_moves_with_the_costs():
    fp_dear = choose_threshold(Y_THR, P_THR, objective="cost", cost_fp=5, cost_fn=1)
    assert fp_dear["threshold"] == 0.7
    assert fp_dear["value"] == pytest.approx(1 / 6)  # one FN among six rows
    assert fp_dear["precision"] == pytest.approx(1.0)
    assert fp_dear["recall"] == pytest.approx(2 / 3)
    fn_dear = choose_threshold(Y_THR, P_THR, objective="cost", cost_fp=1, cost_fn=5)
    assert fn_dear["threshold"] == 0.4
    assert fn_dear["value"] == pytest.approx(1 / 6)  # one FP among six rows
    # the best-F1 threshold (.4) is not the cost-optimal one when false positives are dear
    assert choose_threshold(Y_THR, P_THR, objective="f1")["threshold"] != fp_dear["threshold"]


def test_threshold_ties_go_to_the_highest_threshold():
    # equal costs: .4 and .7 both make one error
    result = choose_threshold(Y_THR, P_THR, objective="cost")
    assert result["threshold"] == 0.7
    assert result["value"] == pytest.approx(1 / 6)


def test_threshold_can_call_nothing_positive_when_false_positives_are_dear():
    # the negative scores higher: t=.2 costs 9 (one FP), t=.8 costs 9 + 1, t=1.0 costs 1 (one FN)
    result = choose_threshold(np.array([1, 0]), np.array([0.2, 0.8]), objective="cost", cost_fp=9)
    assert result["threshold"] == 1.0
    assert result["precision"] is None
    strict_json(result)


def test_choose_threshold_refuses_bad_input():
    with pytest.raises(ValueError, match="objective must be 'f1' or 'cost'"):
        choose_threshold(Y_THR, P_THR, objective="accuracy")
    with pytest.raises(ValueError, match="both class codes"):
        choose_threshold(np.zeros(3, int), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        choose_threshold(Y_THR, P_THR * 2)
    with pytest.raises(ValueError, match="costs must be finite"):
        choose_threshold(Y_THR, P_THR, objective="cost", cost_fp=-1)


# --- bootstrap ---------------------------------------------------------------------------


def test_bootstrap_interval_contains_the_estimate_and_is_deterministic():
    y, proba = binary_scores(500, seed=1)
    first = bootstrap_interval("roc_auc", y, proba, n_samples=300, seed=7)
    strict_json(first)
    assert first["low"] < first["estimate"] < first["high"]
    assert first["n_samples"] == first["n_used"] == 300
    assert bootstrap_interval("roc_auc", y, proba, n_samples=300, seed=7) == first
    assert bootstrap_interval("roc_auc", y, proba, n_samples=300, seed=8) != first


def test_bootstrap_interval_narrows_with_more_rows():
    widths = []
    for n in (200, 5000):
        y, proba = binary_scores(n, seed=2)
        result = bootstrap_interval("log_loss", y, proba, n_samples=300, seed=0)
        widths.append(result["high"] - result["low"])
    assert widths[1] < widths[0] / 3  # ~ sqrt(25) = 5 times narrower


def test_bootstrap_interval_for_regression_and_hard_metrics():
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    pred = y + rng.normal(scale=0.5, size=400)
    result = bootstrap_interval("rmse", y, pred, n_samples=200, seed=0)
    assert result["low"] < result["estimate"] < result["high"]
    yb, proba = binary_scores(400, seed=3)
    f1 = bootstrap_interval("f1", yb, proba, n_samples=200, seed=0, threshold=0.3)
    assert f1["low"] <= f1["estimate"] <= f1["high"]


def test_bootstrap_skips_resamples_where_the_metric_is_undefined():
    y = np.array([1] + [0] * 9)  # one positive: many resamples draw none
    proba = np.column_stack([np.linspace(0.9, 0.1, 10), np.linspace(0.1, 0.9, 10)])
    result = bootstrap_interval("roc_auc", y, proba, n_samples=500, seed=0)
    strict_json(result)
    # P(no positive in 10 draws) = 0.9^10 ~ 35 %
    assert 250 < result["n_used"] < 400


def test_bootstrap_with_no_defined_resample_reports_none():
    y = np.zeros(5, int)
    proba = np.column_stack([np.full(5, 0.7), np.full(5, 0.3)])
    result = bootstrap_interval("roc_auc", y, proba, n_samples=100, seed=0)
    strict_json(result)
    assert result["n_used"] == 0
    assert result["estimate"] is None
    assert result["low"] is None
    assert result["high"] is None


def test_bootstrap_refuses_bad_settings():
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        bootstrap_interval("roc_auc", Y_BIN, P_BIN, n_samples=0, seed=0)
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, 1\)"):
        bootstrap_interval("roc_auc", Y_BIN, P_BIN, seed=0, alpha=1.5)


def test_bootstrap_roc_auc_on_20k_rows_is_fast():
    y, proba = binary_scores(20_000, seed=4)
    started = time.perf_counter()
    result = bootstrap_interval("roc_auc", y, proba, n_samples=1000, seed=0)
    assert time.perf_counter() - started < 10
    assert result["n_used"] == 1000


def test_paired_bootstrap_of_identical_predictions_is_zero():
    y, proba = binary_scores(300, seed=5)
    result = paired_bootstrap("roc_auc", y, proba, proba.copy(), n_samples=200, seed=0)
    strict_json(result)
    assert result["estimate"] == 0.0
    assert result["low"] == 0.0
    assert result["high"] == 0.0
    assert result["prob_b_better"] == 0.0
    assert result["p_value"] == 1.0


def test_paired_bootstrap_sees_a_better_model_on_the_same_rows():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 2000)
    base = rng.normal(size=2000)
    weak = 1 / (1 + np.exp(-(0.5 * (2 * y - 1) + base)))
    strong = 1 / (1 + np.exp(-(1.0 * (2 * y - 1) + base)))
    result = paired_bootstrap("log_loss", y, weak, strong, n_samples=300, seed=0)
    # lower is better: b - a < 0 throughout
    assert result["estimate"] < 0
    assert result["high"] < 0
    assert result["prob_b_better"] == 1.0
    assert result["estimate"] == pytest.approx(result["b"] - result["a"])


def test_paired_bootstrap_uses_each_threshold():
    y, proba = binary_scores(300, seed=9)
    result = paired_bootstrap(
        "f1", y, proba, proba, n_samples=100, seed=0, threshold_a=0.5, threshold_b=0.2
    )
    assert result["estimate"] != 0.0


# --- segment_report ----------------------------------------------------------------------


def planted_segments() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Region 'c' gets noise for predictions; 'noise' and 'flag' columns carry no signal."""
    rng = np.random.default_rng(11)
    n = 3000
    region = np.array(["a", "b", "c"])[np.arange(n) % 3]
    y, proba = binary_scores(n, seed=12, strength=2.5)
    bad = region == "c"
    p_bad = rng.random(bad.sum())
    proba[bad] = np.column_stack([1 - p_bad, p_bad])
    region = region.astype(object)
    region[:40] = None
    region[40:50] = "tiny"
    frame = pd.DataFrame(
        {
            "region": region,
            "noise": rng.normal(size=n),
            "flag": rng.random(n) < 0.5,
        }
    )
    return frame, y, proba


def test_segment_report_flags_the_planted_bad_segment_only():
    frame, y, proba = planted_segments()
    segments = segment_report(
        frame,
        y,
        proba,
        columns=["region", "noise", "flag"],
        task="binary",
        metric="roc_auc",
        seed=0,
    )
    strict_json(segments)
    flagged = [(s["column"], s["segment"]) for s in segments if s["flag"]]
    assert flagged == [("region", "c")]
    bad = next(s for s in segments if s["segment"] == "c")
    assert bad["delta"] < 0
    assert bad["z"] > 3
    assert bad["value"] == pytest.approx(0.5, abs=0.06)


def test_segment_report_kinds_of_segment():
    frame, y, proba = planted_segments()
    segments = segment_report(
        frame, y, proba, columns=["region", "noise", "flag"], task="binary", metric="log_loss"
    )
    by_column = {}
    for s in segments:
        by_column.setdefault(s["column"], []).append(s)
    assert [s["segment"] for s in by_column["region"]] == ["a", "b", "c", "tiny", MISSING]
    tiny = by_column["region"][3]
    assert tiny["rows"] == 10
    assert tiny["value"] is None
    assert tiny["note"] == "too few rows (< 30)"
    assert by_column["region"][4]["rows"] == 40
    assert len(by_column["noise"]) == 4  # quartiles
    assert sum(s["rows"] for s in by_column["noise"]) == len(frame)
    assert [s["segment"] for s in by_column["flag"]] == ["False", "True"]
    # log loss: lower is better, so the noisy region's delta is still negative
    bad = next(s for s in by_column["region"] if s["segment"] == "c")
    assert bad["delta"] < 0
    assert bad["flag"]


def test_segment_report_for_regression_signs_lower_is_better():
    rng = np.random.default_rng(0)
    n = 600
    group = np.where(np.arange(n) < 300, "calm", "wild")
    y = rng.normal(size=n)
    pred = y + rng.normal(scale=np.where(group == "calm", 0.2, 1.0))
    frame = pd.DataFrame({"group": group})
    segments = segment_report(
        frame, y, pred, columns=["group"], task="regression", metric="rmse", seed=1
    )
    calm, wild = segments
    assert calm["delta"] > 0
    assert wild["delta"] < 0
    assert wild["flag"]
    assert not calm["flag"]


def test_segment_report_notes_an_undefined_segment():
    y = np.array([0] * 40 + [0] * 20 + [1] * 20)
    p = np.linspace(0.1, 0.9, 80)
    frame = pd.DataFrame({"part": ["only_neg"] * 40 + ["mixed"] * 40})
    segments = segment_report(
        frame, y, p, columns=["part"], task="binary", metric="roc_auc", seed=0
    )
    undefined = next(s for s in segments if s["segment"] == "only_neg")
    assert undefined["value"] is None
    assert undefined["note"] == "roc_auc undefined: y_true holds a single class"


def test_segment_report_unknown_column_names_the_key():
    frame, y, proba = planted_segments()
    with pytest.raises(FoldwiseError, match=r"evaluate\.segments: column 'colour' is not"):
        segment_report(
            frame, y, proba, columns=["region", "colour"], task="binary", metric="roc_auc"
        )


def test_segment_report_metric_must_fit_the_task():
    frame, y, proba = planted_segments()
    with pytest.raises(ValueError, match="rmse"):
        segment_report(frame, y, proba, columns=["region"], task="binary", metric="rmse")


# --- cv_summary --------------------------------------------------------------------------


def test_cv_summary_by_hand():
    summary = cv_summary([{"auc": 0.8, "ll": 0.5}, {"auc": 0.6, "ll": 0.7}, {"auc": 0.7}])
    strict_json(summary)
    auc = summary["auc"]
    assert auc["mean"] == pytest.approx(0.7)
    # deviations .1, -.1, 0 -> sum of squares .02 / (3 - 1) -> std .1
    assert auc["std"] == pytest.approx(0.1)
    assert (auc["min"], auc["max"]) == (0.6, 0.8)
    assert auc["values"] == [0.8, 0.6, 0.7]
    ll = summary["ll"]
    assert ll["values"] == [0.5, 0.7, None]
    assert ll["n_folds"] == 2
    assert ll["mean"] == pytest.approx(0.6)
    assert ll["std"] == pytest.approx(math.sqrt(0.02))  # (.1^2 + .1^2) / 1


def test_cv_summary_turns_nan_into_none():
    summary = cv_summary([{"auc": float("nan")}, {"auc": 0.5}])
    strict_json(summary)
    assert summary["auc"]["values"] == [None, 0.5]
    assert summary["auc"]["std"] is None


def test_cv_summary_needs_folds():
    with pytest.raises(ValueError, match="at least one fold"):
        cv_summary([])


def test_better_if_names_each_registered_metrics_direction():
    from foldwise.evaluation import better_if

    assert better_if(["roc_auc", "log_loss", "rmse", "task", "threshold"]) == {
        "roc_auc": "higher",
        "log_loss": "lower",
        "rmse": "lower",
    }
