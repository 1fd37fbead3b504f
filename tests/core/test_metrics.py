"""Every metric against a value worked out by hand, plus the registry's contracts."""

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from foldwise.metrics import (
    DEFAULT_METRIC,
    METRICS,
    TASKS,
    derive_labels,
    get_metric,
    score,
    score_weighted,
)

# Binary: two negatives (0.1, 0.4), two positives (0.35, 0.8); column 1 = positive class.
Y_BIN = np.array([0, 0, 1, 1])
P_POS = np.array([0.1, 0.4, 0.35, 0.8])
P_BIN = np.column_stack([1 - P_POS, P_POS])

# Multiclass: argmax predictions are 0, 1, 1, 2 against truth 0, 1, 2, 1.
Y_MC = np.array([0, 1, 2, 1])
P_MC = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.2, 0.5, 0.3],
        [0.1, 0.6, 0.3],
        [0.3, 0.3, 0.4],
    ]
)

# Regression: errors y - pred = -1, 0, 1.
Y_REG = np.array([1.0, 2.0, 4.0])
P_REG = np.array([2.0, 2.0, 3.0])


def test_binary_roc_auc_is_the_share_of_correctly_ordered_pairs():
    # (pos, neg) pairs: (.35>.1) yes, (.35>.4) no, (.8>.1) yes, (.8>.4) yes -> 3/4
    assert score("roc_auc", Y_BIN, P_BIN) == pytest.approx(0.75)


def test_roc_auc_counts_a_tie_as_half():
    # one pair, tied at 0.5 -> 1/2
    assert score("roc_auc", np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)


def test_roc_auc_accepts_the_positive_column_alone():
    assert score("roc_auc", Y_BIN, P_POS) == pytest.approx(0.75)


def test_average_precision_by_hand():
    # descending: .8 pos (P=1, R=.5), .4 neg, .35 pos (P=2/3, R=1), .1 neg
    # AP = sum of recall steps x precision = .5 * 1 + .5 * 2/3
    assert score("average_precision", Y_BIN, P_BIN) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_binary_log_loss_by_hand():
    # probability given to the true class: .9, .6, .35, .8
    expected = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert score("log_loss", Y_BIN, P_BIN) == pytest.approx(expected)


def test_brier_is_the_mean_squared_error_of_the_positive_probability():
    # (.1-0)^2 + (.4-0)^2 + (.35-1)^2 + (.8-1)^2 = .01 + .16 + .4225 + .04 = .6325; / 4
    assert score("brier", Y_BIN, P_BIN) == pytest.approx(0.158125)


def test_hard_binary_metrics_at_the_default_threshold():
    # >= .5 -> predictions 0, 0, 0, 1: tn=2, fp=0, fn=1, tp=1
    assert score("accuracy", Y_BIN, P_BIN) == pytest.approx(3 / 4)
    assert score("f1", Y_BIN, P_BIN) == pytest.approx(2 * 1 / (2 * 1 + 0 + 1))
    # recall of class 0 = 2/2, of class 1 = 1/2
    assert score("balanced_accuracy", Y_BIN, P_BIN) == pytest.approx((1 + 0.5) / 2)
    # F1 of class 0: tp=2, fp=1, fn=0 -> 4/5; of class 1: 2/3
    assert score("macro_f1", Y_BIN, P_BIN) == pytest.approx((4 / 5 + 2 / 3) / 2)


def test_hard_metrics_follow_the_threshold():
    # >= .3 -> predictions 0, 1, 1, 1: tp=2, fp=1, fn=0
    assert score("f1", Y_BIN, P_BIN, threshold=0.3) == pytest.approx(4 / 5)
    assert score("accuracy", Y_BIN, P_BIN, threshold=0.3) == pytest.approx(3 / 4)
    # threshold-free metrics ignore it
    assert score("roc_auc", Y_BIN, P_BIN, threshold=0.3) == pytest.approx(0.75)


def test_multiclass_metrics_by_hand():
    # predictions (argmax) 0, 1, 1, 2 vs truth 0, 1, 2, 1: two right
    assert score("accuracy", Y_MC, P_MC) == pytest.approx(2 / 4)
    expected_ll = -(math.log(0.7) + math.log(0.5) + math.log(0.3) + math.log(0.3)) / 4
    assert score("log_loss", Y_MC, P_MC) == pytest.approx(expected_ll)
    # one-vs-rest AUC per class:
    #   0: pos .7 vs neg .2, .1, .3 -> 3/3 = 1
    #   1: pos .5, .3 vs neg .2, .6 -> (1 + 0 + 1 + 0)/4 = .5
    #   2: pos .3 vs neg .1, .3, .4 -> (1 + .5 + 0)/3 = .5
    assert score("roc_auc", Y_MC, P_MC) == pytest.approx((1 + 0.5 + 0.5) / 3)
    # F1 per class: 0 -> 1; 1 -> tp1 fp1 fn1 = 2/4; 2 -> tp0 = 0
    assert score("macro_f1", Y_MC, P_MC) == pytest.approx((1 + 0.5 + 0) / 3)
    # recall per class: 1/1, 1/2, 0/1
    assert score("balanced_accuracy", Y_MC, P_MC) == pytest.approx((1 + 0.5 + 0) / 3)


def test_multiclass_ignores_the_threshold():
    assert score("accuracy", Y_MC, P_MC, threshold=0.9) == pytest.approx(0.5)


def test_regression_metrics_by_hand():
    # errors -1, 0, 1
    assert score("rmse", Y_REG, P_REG) == pytest.approx(math.sqrt(2 / 3))
    assert score("mae", Y_REG, P_REG) == pytest.approx(2 / 3)
    # mean y = 7/3; SS_tot = (16 + 1 + 25)/9 = 42/9; SS_res = 2; r2 = 1 - 18/42 = 4/7
    assert score("r2", Y_REG, P_REG) == pytest.approx(4 / 7)
    # |err|/|y| = 1/1, 0/2, 1/4 -> mean 1.25/3 (a fraction, not a percentage)
    assert score("mape", Y_REG, P_REG) == pytest.approx(1.25 / 3)


def test_mape_is_nan_only_when_the_target_has_zeros():
    assert math.isnan(score("mape", np.array([0.0, 2.0]), np.array([1.0, 2.0])))
    assert not math.isnan(score("mape", np.array([-1.0, 2.0]), np.array([1.0, 2.0])))


def test_r2_is_undefined_for_a_constant_target():
    assert math.isnan(score("r2", np.array([3.0, 3.0, 3.0]), np.array([1.0, 2.0, 3.0])))


def test_log_loss_and_roc_auc_survive_a_fold_missing_a_class():
    y = np.array([0, 0, 2, 2])  # class 1 absent
    proba = np.array([[0.6, 0.3, 0.1], [0.5, 0.2, 0.3], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    expected_ll = -(math.log(0.6) + math.log(0.5) + math.log(0.6) + math.log(0.3)) / 4
    assert score("log_loss", y, proba) == pytest.approx(expected_ll)
    # class 0: pos .6, .5 vs neg .2, .3 -> 4/4; class 2: pos .6, .3 vs neg .1, .3 -> 3.5/4
    assert score("roc_auc", y, proba) == pytest.approx((1 + 0.875) / 2)


def test_binary_log_loss_with_one_class_in_the_fold():
    # only negatives: probability of the true class .9 and .6
    y = np.array([0, 0])
    proba = np.array([[0.9, 0.1], [0.6, 0.4]])
    assert score("log_loss", y, proba) == pytest.approx(-(math.log(0.9) + math.log(0.6)) / 2)


@pytest.mark.parametrize("single", [0, 1])
def test_roc_auc_is_nan_with_a_single_class(single):
    assert math.isnan(score("roc_auc", np.full(3, single), np.array([0.2, 0.5, 0.9])))


def test_average_precision_is_nan_without_positives_only():
    assert math.isnan(score("average_precision", np.zeros(3, int), np.array([0.2, 0.5, 0.9])))
    # all positive: precision is 1 at every threshold
    assert score("average_precision", np.ones(3, int), np.array([0.2, 0.5, 0.9])) == 1.0


def test_f1_is_nan_without_positive_rows_or_calls():
    assert math.isnan(score("f1", np.zeros(2, int), np.array([0.1, 0.2])))


def test_log_loss_clips_certain_wrong_answers():
    value = score("log_loss", np.array([1]), np.array([[1.0, 0.0]]))
    assert math.isfinite(value)
    assert value == pytest.approx(-math.log(np.finfo(float).eps))


def test_derive_labels():
    np.testing.assert_array_equal(derive_labels(P_BIN, 0.4), [0, 1, 0, 1])
    np.testing.assert_array_equal(derive_labels(P_MC), [0, 1, 1, 2])
    # argmax ties go to the lowest code
    np.testing.assert_array_equal(derive_labels(np.array([[0.4, 0.4, 0.2]])), [0])


@pytest.mark.parametrize("name", list(METRICS))
def test_weights_are_row_repetitions(name):
    rng = np.random.default_rng(3)
    n = 60
    if METRICS[name].tasks == ("regression",):
        y = rng.normal(size=n) + 5
        x = y + rng.normal(size=n)
    elif "binary" in METRICS[name].tasks and name in {"f1", "brier", "average_precision"}:
        y = rng.integers(0, 2, n)
        x = np.round(rng.random(n), 1)  # ties on purpose
    else:
        y = rng.integers(0, 3, n)
        x = np.round(rng.dirichlet(np.ones(3), n), 1)
    counts = np.bincount(rng.integers(0, n, n), minlength=n)
    weighted = score_weighted(name, y, x, counts[None, :])[0]
    repeated = np.repeat(np.arange(n), counts)
    assert weighted == pytest.approx(score(name, y[repeated], x[repeated]))


def test_scores_agree_with_scikit_learn_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300), 2)
    proba = np.column_stack([1 - p, p])
    hard = p >= 0.5
    assert score("roc_auc", y, proba) == pytest.approx(skm.roc_auc_score(y, p))
    assert score("average_precision", y, proba) == pytest.approx(skm.average_precision_score(y, p))
    assert score("log_loss", y, proba) == pytest.approx(skm.log_loss(y, proba))
    assert score("brier", y, proba) == pytest.approx(skm.brier_score_loss(y, p))
    assert score("f1", y, proba) == pytest.approx(skm.f1_score(y, hard))
    y3 = rng.integers(0, 4, 300)
    proba3 = rng.dirichlet(np.ones(4), 300)
    assert score("roc_auc", y3, proba3) == pytest.approx(
        skm.roc_auc_score(y3, proba3, multi_class="ovr")
    )
    assert score("macro_f1", y3, proba3) == pytest.approx(
        skm.f1_score(y3, proba3.argmax(1), average="macro")
    )
    assert score("balanced_accuracy", y3, proba3) == pytest.approx(
        skm.balanced_accuracy_score(y3, proba3.argmax(1))
    )


def test_registry_contract():
    assert set(DEFAULT_METRIC) == set(TASKS)
    for task, name in DEFAULT_METRIC.items():
        assert task in METRICS[name].tasks
    assert METRICS["roc_auc"].direction == "higher"
    assert METRICS["log_loss"].direction == "lower"
    assert METRICS["rmse"].better(1.0, 2.0)
    assert not METRICS["r2"].better(0.1, 0.2)
    assert get_metric("mae") is METRICS["mae"]


def test_metric_func_keeps_the_old_two_argument_call():
    assert METRICS["roc_auc"].func(Y_BIN, P_POS) == pytest.approx(0.75)
    assert METRICS["accuracy"].func(Y_BIN, np.array([0, 0, 0, 1])) == pytest.approx(0.75)


def test_unknown_metric_is_named():
    with pytest.raises(KeyError, match="unknown metric 'auc'"):
        score("auc", Y_BIN, P_BIN)


def test_binary_only_metric_refuses_multiclass_input():
    with pytest.raises(ValueError, match="f1 is for binary, got 3 classes"):
        score("f1", Y_MC, P_MC)


def test_regression_metric_refuses_probabilities():
    with pytest.raises(ValueError, match="same shape"):
        score("rmse", Y_BIN, P_BIN)


def test_codes_must_fit_the_probability_columns():
    with pytest.raises(ValueError, match=r"codes must lie in 0\.\.1"):
        score("roc_auc", np.array([0, 2]), np.array([0.2, 0.8]))


def test_labels_must_be_codes():
    with pytest.raises(ValueError, match="integer class codes"):
        score("accuracy", np.array(["a", "b"]), np.array([0.2, 0.8]))


def test_lengths_must_match():
    with pytest.raises(ValueError, match="3 labels but 4 rows"):
        score("accuracy", Y_BIN[:3], P_BIN)


def test_nan_inputs_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        score("rmse", Y_REG, np.array([1.0, np.nan, 2.0]))


def test_empty_input_is_refused():
    with pytest.raises(ValueError, match="no rows"):
        score("mae", np.array([]), np.array([]))


def test_threshold_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match=r"threshold must lie in \[0, 1\]"):
        score("f1", Y_BIN, P_BIN, threshold=1.5)


def test_weights_shape_and_sign_are_checked():
    with pytest.raises(ValueError, match=r"weights must have shape \(B, 4\)"):
        score_weighted("accuracy", Y_BIN, P_BIN, np.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        score_weighted("accuracy", Y_BIN, P_BIN, -np.ones((1, 4)))
