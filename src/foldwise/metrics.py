"""Metric registry: each metric knows its task types, its direction and how to compute it.

Every metric is implemented once, as a *weighted, batched* function: given ``y_true`` (n,),
the model output (n, k) probabilities or (n,) values, and a weight matrix ``W`` (B, n), it
returns B scores, row ``b`` being the metric on the data where row ``i`` is repeated
``W[b, i]`` times. A plain score is ``B = 1`` with unit weights; a bootstrap resample is a
row of counts. So the bootstrap never re-sorts or copies the data per resample, and a plain
score and a resampled score can never disagree in definition.

A metric that is mathematically undefined on the given rows (ROC AUC or average precision
with a single class, F1 with no positive rows and no positive predictions, R² with a
constant target, MAPE with a zero in the target) scores NaN here; :mod:`foldwise.evaluation`
turns that into ``None`` plus a note, never a NaN in a report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[Task, ...] = ("binary", "multiclass", "regression")

BatchFunc = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

# sklearn clips probabilities to [eps, 1 - eps] for log loss; so do we, to match it.
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Metric:
    """A scoring rule. ``uses_proba`` metrics take probabilities, the others hard predictions.

    ``batch(y_true, x, weights)`` maps weights (B, n) to B scores (NaN where undefined);
    ``x`` is (n, k) probabilities, (n,) class codes or (n,) regression predictions.
    ``ideal`` is the best attainable value (1 for AUC, 0 for a loss).
    """

    name: str
    tasks: tuple[Task, ...]
    greater_is_better: bool
    uses_proba: bool
    batch: BatchFunc
    ideal: float

    @property
    def direction(self) -> str:
        return "higher" if self.greater_is_better else "lower"

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better than ``b``."""
        return a > b if self.greater_is_better else a < b

    def func(self, y_true: np.ndarray, prediction: np.ndarray) -> float:
        """The metric on unweighted rows: probabilities if ``uses_proba``, else hard labels."""
        y = np.asarray(y_true)
        x = np.asarray(prediction)
        if self.uses_proba:
            x = as_proba(x)
        return float(self.batch(y, x, np.ones((1, len(y))))[0])


# --- weighted, batched implementations -------------------------------------------------


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0 (no warnings)."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def _mean_defined(values: np.ndarray) -> np.ndarray:
    """Row means over the finite entries of (B, K); NaN for a row with none."""
    finite = np.isfinite(values)
    return _ratio(np.where(finite, values, 0.0).sum(axis=1), finite.sum(axis=1).astype(float))


def _tie_groups(scores: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """A stable sort order of ``scores`` and the start index of each run of tied scores."""
    order = np.argsort(-scores if descending else scores, kind="stable")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return order, starts


def _auc_one_vs_rest(positive: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted ROC AUC: the share of (positive, negative) pairs ordered right, ties count half."""
    pos_idx = np.flatnonzero(positive)
    neg_idx = np.flatnonzero(~positive)
    neg_idx = neg_idx[np.argsort(scores[neg_idx], kind="stable")]
    neg_scores = scores[neg_idx]
    # below[:, j]: weight of the j lowest-scored negatives, so a positive's lower and tied
    # negatives are differences of two columns.
    below = np.zeros((weights.shape[0], len(neg_idx) + 1))
    np.cumsum(np.take(weights, neg_idx, axis=1), axis=1, out=below[:, 1:])
    left = np.searchsorted(neg_scores, scores[pos_idx], side="left")
    right = np.searchsorted(neg_scores, scores[pos_idx], side="right")
    pos_w = np.take(weights, pos_idx, axis=1)
    halves = np.take(below, left, axis=1) + np.take(below, right, axis=1)
    correct = 0.5 * (pos_w * halves).sum(axis=1)
    return _ratio(correct, pos_w.sum(axis=1) * below[:, -1])


def _roc_auc(y: np.ndarray, proba: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Binary AUC of column 1; multiclass: macro one-vs-rest over the classes present."""
    if proba.shape[1] == 2:
        return _auc_one_vs_rest(y == 1, proba[:, 1], weights)
    per_class = np.column_stack(
        [_auc_one_vs_rest(y == c, proba[:, c], weights) for c in range(proba.shape[1])]
    )
    return _mean_defined(per_class)


def _average_precision(y: np.ndarray, proba: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum over distinct thresholds (descending) of (recall gain) x precision, as sklearn."""
    order, starts = _tie_groups(proba[:, 1], descending=True)
    w = weights[:, order]
    pos = (y == 1)[order]
    tp = np.add.reduceat(w * pos, starts, axis=1)
    fp = np.add.reduceat(w * ~pos, starts, axis=1)
    cum_tp = np.cumsum(tp, axis=1)
    precision = np.nan_to_num(_ratio(cum_tp, cum_tp + np.cumsum(fp, axis=1)))
    return _ratio((tp * precision).sum(axis=1), cum_tp[:, -1])


def _log_loss(y: np.ndarray, proba: np.ndarray, weights: np.ndarray) -> np.ndarray:
    p_true = np.clip(proba[np.arange(len(y)), y], _EPS, 1 - _EPS)
    return _ratio(weights @ -np.log(p_true), weights.sum(axis=1))


def _brier(y: np.ndarray, proba: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return _ratio(weights @ (proba[:, 1] - (y == 1)) ** 2, weights.sum(axis=1))


def _accuracy(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return _ratio(weights @ (y == pred), weights.sum(axis=1))


def _class_counts(
    y: np.ndarray, pred: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted true positives, false positives and false negatives per class, each (B, K)."""
    k = int(max(y.max(), pred.max())) + 1
    truth = y[:, None] == np.arange(k)
    called = pred[:, None] == np.arange(k)
    tp = weights @ (truth & called)
    return tp, weights @ (~truth & called), weights @ (truth & ~called)


def _f1(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    positive, called = y == 1, pred == 1
    tp = weights @ (positive & called)
    fp = weights @ (~positive & called)
    fn = weights @ (positive & ~called)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _macro_f1(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean F1 over the classes that occur in y_true or in the predictions (as sklearn)."""
    tp, fp, fn = _class_counts(y, pred, weights)
    return _mean_defined(_ratio(2 * tp, 2 * tp + fp + fn))


def _balanced_accuracy(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean recall over the classes that occur in y_true (as sklearn)."""
    tp, _, fn = _class_counts(y, pred, weights)
    return _mean_defined(_ratio(tp, tp + fn))


def _rmse(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return np.sqrt(_ratio(weights @ (y - pred) ** 2, weights.sum(axis=1)))


def _mae(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return _ratio(weights @ np.abs(y - pred), weights.sum(axis=1))


def _r2(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """1 - SS_res / SS_tot; undefined (NaN) when the target is constant on the rows used."""
    total = weights.sum(axis=1)
    mean = _ratio(weights @ y, total)
    ss_tot = (weights * (y[None, :] - mean[:, None]) ** 2).sum(axis=1)
    present = weights > 0
    constant = np.where(present, y, np.inf).min(axis=1) == np.where(present, y, -np.inf).max(axis=1)
    r2 = 1 - _ratio(weights @ (y - pred) ** 2, ss_tot)
    return np.where(constant, np.nan, r2)


def _mape(y: np.ndarray, pred: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean |error| / |y_true| as a fraction (0.1 = 10 %); undefined if any y_true is 0."""
    has_zero = (weights * (y == 0)).sum(axis=1) > 0
    rel = np.abs(y - pred) / np.where(y == 0, 1.0, np.abs(y))
    return np.where(has_zero, np.nan, _ratio(weights @ rel, weights.sum(axis=1)))


_CLS: tuple[Task, ...] = ("binary", "multiclass")
_REG: tuple[Task, ...] = ("regression",)
METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("roc_auc", _CLS, True, True, _roc_auc, 1.0),
        Metric("average_precision", ("binary",), True, True, _average_precision, 1.0),
        Metric("log_loss", _CLS, False, True, _log_loss, 0.0),
        Metric("brier", ("binary",), False, True, _brier, 0.0),
        Metric("accuracy", _CLS, True, False, _accuracy, 1.0),
        Metric("balanced_accuracy", _CLS, True, False, _balanced_accuracy, 1.0),
        Metric("f1", ("binary",), True, False, _f1, 1.0),
        Metric("macro_f1", _CLS, True, False, _macro_f1, 1.0),
        Metric("rmse", _REG, False, False, _rmse, 0.0),
        Metric("mae", _REG, False, False, _mae, 0.0),
        Metric("r2", _REG, True, False, _r2, 1.0),
        Metric("mape", _REG, False, False, _mape, 0.0),
    ]
}

DEFAULT_METRIC: dict[Task, str] = {
    "binary": "roc_auc",
    "multiclass": "log_loss",
    "regression": "rmse",
}


def get_metric(name: str) -> Metric:
    """The registered metric called ``name``."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None


# --- inputs ------------------------------------------------------------------------------


def as_proba(proba: np.ndarray) -> np.ndarray:
    """(n, k) float probabilities; a 1-D array is read as the positive-class column of a binary task."""
    p = np.asarray(proba, dtype="float64")
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"expected probabilities of shape (n, k >= 2), got shape {p.shape}")
    return p


def derive_labels(proba: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Hard class codes: binary ``proba[:, 1] >= threshold``; multiclass argmax (ties: lowest code)."""
    p = as_proba(proba)
    if p.shape[1] == 2:
        return (p[:, 1] >= threshold).astype("int64")
    return np.argmax(p, axis=1).astype("int64")


def as_codes(y_true: np.ndarray, k: int) -> np.ndarray:
    """Validated int64 class codes in 0..k-1."""
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"expected y_true of shape (n,), got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y % 1 != 0):
            raise ValueError("classification y_true must hold integer class codes")
    elif y.dtype.kind not in "iub":
        raise ValueError(f"classification y_true must hold integer class codes, got {y.dtype}")
    codes = y.astype("int64")
    if len(codes) and (codes.min() < 0 or codes.max() >= k):
        raise ValueError(f"y_true codes must lie in 0..{k - 1} for {k} probability columns")
    return codes


def _prepare(
    metric: Metric, y_true: np.ndarray, proba_or_pred: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Validated (y, x) for ``metric.batch``: proba, derived labels or regression values."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    if metric.tasks == _REG:
        y = np.asarray(y_true, dtype="float64")
        x = np.asarray(proba_or_pred, dtype="float64")
        if y.ndim != 1 or x.shape != y.shape:
            raise ValueError(
                f"{metric.name}: expected y_true and y_pred of the same shape (n,), got "
                f"{y.shape} and {x.shape}"
            )
    else:
        x = as_proba(proba_or_pred)
        task: Task = "binary" if x.shape[1] == 2 else "multiclass"
        if task not in metric.tasks:
            raise ValueError(
                f"{metric.name} is for {', '.join(metric.tasks)}, got {x.shape[1]} classes"
            )
        y = as_codes(y_true, x.shape[1])
        if len(y) != len(x):
            raise ValueError(f"{metric.name}: {len(y)} labels but {len(x)} rows of probabilities")
        if not metric.uses_proba:
            x = derive_labels(x, threshold)
    if len(y) == 0:
        raise ValueError(f"{metric.name}: no rows to score")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"{metric.name}: inputs contain NaN or infinite values")
    return y, x


# --- public scoring ----------------------------------------------------------------------


def score_weighted(
    name: str,
    y_true: np.ndarray,
    proba_or_pred: np.ndarray,
    weights: np.ndarray,
    *,
    threshold: float = 0.5,
) -> np.ndarray:
    """Metric ``name`` once per row of ``weights`` (B, n): B scores, NaN where undefined.

    Integer weights are row repetition counts, so a bootstrap resample is a row of counts.
    """
    metric = get_metric(name)
    y, x = _prepare(metric, y_true, proba_or_pred, threshold)
    w = np.asarray(weights, dtype="float64")
    if w.ndim != 2 or w.shape[1] != len(y):
        raise ValueError(f"weights must have shape (B, {len(y)}), got {w.shape}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative")
    return metric.batch(y, x, w)


def score(
    name: str, y_true: np.ndarray, proba_or_pred: np.ndarray, *, threshold: float = 0.5
) -> float:
    """Metric ``name`` on all rows; NaN only where the metric is undefined for these rows.

    Classification: pass (n, k) probabilities (binary: column 1 is the positive class) and
    integer codes; hard-label metrics use ``proba[:, 1] >= threshold`` (binary) or argmax.
    Regression: pass the (n,) predictions.
    """
    return float(
        score_weighted(name, y_true, proba_or_pred, np.ones((1, len(y_true))), threshold=threshold)[
            0
        ]
    )
