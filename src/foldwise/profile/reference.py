"""The reference profile: what training rows and out-of-fold predictions looked like.

Written by the train stage into the bundle as ``reference.json``, so ``foldwise monitor``
needs neither the training nor the test table. Per feature: quantile bin edges and counts
(numbers, dates as days since 1970), category counts (categories, booleans as ``true``/
``false``), missing counts, observed range. For the predictions: bins of the score (binary:
P(positive); regression: the value; multiclass: the predicted class), the calibration
map (Platt scaling) fitted on out-of-fold probabilities (binary), and the cross-validated metrics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

REFERENCE_FORMAT = 1
DEFAULT_BINS = 10
MAX_CATEGORIES = 500  # more levels than this: new-category checks are skipped for the column
SCORE_BINS = 200  # fine bins of the binary score, for confidence-based performance estimation
_EPOCH = pd.Timestamp("1970-01-01")


def is_binned(kind: str) -> bool:
    """Numbers and dates are binned by quantiles; categories and booleans are counted."""
    return kind in ("numeric", "datetime")


def column_values(values: pd.Series, kind: str) -> np.ndarray | pa.Array:
    """One typed feature column (as :func:`foldwise.models.feature_frame` makes it) as arrays.

    Numbers and dates: float64 numpy with NaN (dates in days since 1970). Categories and
    booleans: a pyarrow string array with nulls (booleans as ``true``/``false``).
    """
    if kind == "numeric":
        return values.to_numpy(dtype="float64", na_value=np.nan)
    if kind == "datetime":
        stamps = pd.to_datetime(values)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        return ((stamps - _EPOCH) / pd.Timedelta(days=1)).to_numpy(dtype="float64", na_value=np.nan)
    if kind == "boolean":
        mapped = values.map({True: "true", False: "false"})
        return pa.array(mapped.to_numpy(dtype=object, na_value=None), pa.string())  # type: ignore[call-overload]  # pandas-stubs: None is valid
    text = values.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]  # pandas-stubs: None is valid
    return pa.array([None if v is None else str(v) for v in text], pa.string())


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value: 0 for missing, 1..len(edges)+1 for the value bins."""
    index = np.searchsorted(edges, values, side="right") + 1
    index[np.isnan(values)] = 0
    return index


def n_slots(profile: dict[str, Any]) -> int:
    """Bins of a column: [missing, values...] (numbers) or [missing, categories..., other,
    unseen] (categories; 'unseen' stays empty in training)."""
    return len(profile["counts"]) + (0 if is_binned(profile["kind"]) else 1)


def bins_for(values: np.ndarray | pa.Array, profile: dict[str, Any]) -> np.ndarray:
    """The bin of every value (from :func:`column_values`) in the profile's layout."""
    if is_binned(profile["kind"]):
        return bin_index(np.asarray(values, dtype="float64"), np.asarray(profile["edges"]))
    lookup = {name: i + 1 for i, name in enumerate(profile["categories"])}
    unseen = len(profile["categories"]) + (1 if profile["truncated"] else 2)
    text = values.to_pylist() if isinstance(values, pa.Array) else list(values)
    # Anything but text (None, or NaN once pandas holds the column) is a missing value.
    return np.array(
        [lookup.get(v, unseen) if isinstance(v, str) else 0 for v in text], dtype="int64"
    )


def residual_profile(
    bins: np.ndarray, size: int, y: np.ndarray, p: np.ndarray
) -> dict[str, list[float]]:
    """Per bin: rows, observed positives, expected positives (sum p) and sum p(1 - p)."""
    return {
        "rows": np.bincount(bins, minlength=size).astype(float).tolist(),
        "observed": np.bincount(bins, weights=y, minlength=size).tolist(),
        "expected": np.bincount(bins, weights=p, minlength=size).tolist(),
        "variance": np.bincount(bins, weights=p * (1 - p), minlength=size).tolist(),
    }


def _numeric_profile(x: np.ndarray, bins: int) -> dict[str, Any]:
    present = x[~np.isnan(x)]
    if len(present) == 0:
        edges = np.array([], dtype="float64")
    else:
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
    counts = np.bincount(bin_index(x, edges), minlength=len(edges) + 2)
    return {
        "edges": [float(e) for e in edges],
        "counts": [int(c) for c in counts],  # [missing, bin 1, ..., bin len(edges)+1]
        "min": float(present.min()) if len(present) else None,
        "max": float(present.max()) if len(present) else None,
    }


def _categorical_profile(values: pa.Array) -> dict[str, Any]:
    counts = pc.value_counts(values.drop_null())
    pairs = sorted(
        zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True),
        key=lambda kv: (-kv[1], kv[0]),
    )
    kept = pairs[:MAX_CATEGORIES]
    other = sum(c for _, c in pairs[MAX_CATEGORIES:])
    return {
        "categories": [k for k, _ in kept],
        # [missing, category 1, ..., category k, other (beyond MAX_CATEGORIES)]
        "counts": [values.null_count, *[int(c) for _, c in kept], int(other)],
        "truncated": len(pairs) > MAX_CATEGORIES,
        # Good-Turing: the share of future rows in categories training never saw is about
        # the share of training rows in categories seen once.
        "unseen_expected": sum(1 for _, c in pairs if c == 1) / max(1, len(values)),
    }


def feature_profile(values: np.ndarray | pa.Array, kind: str, bins: int) -> dict[str, Any]:
    """The reference profile of one feature column (from :func:`column_values`)."""
    if is_binned(kind):
        profile = _numeric_profile(np.asarray(values, dtype="float64"), bins)
    else:
        profile = _categorical_profile(values)
    n = int(sum(profile["counts"]))
    return {"kind": kind, "rows": n, "missing_share": profile["counts"][0] / n if n else 0.0} | (
        profile
    )


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype="float64"), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_calibration(scores: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Platt scaling of the score's logit to the observed outcome, fitted out of fold.

    Two parameters, so it does not chase noise: an isotonic map fitted on the same rows has
    dozens of steps whose in-sample spread inflates the expected ROC-AUC by several points.
    """
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return {"a": 1.0, "b": 0.0}
    fitted = LogisticRegression(C=1e6).fit(_logit(scores)[:, None], y.astype("int64"))
    return {"a": float(fitted.coef_[0, 0]), "b": float(fitted.intercept_[0])}


def calibrate(scores: np.ndarray, calibration: dict[str, float]) -> np.ndarray:
    """Apply the stored calibration: sigmoid(a * logit(score) + b)."""
    z = calibration["a"] * _logit(scores) + calibration["b"]
    return 1.0 / (1.0 + np.exp(-z))


def positive_probability(scores: np.ndarray, prediction: dict[str, Any]) -> np.ndarray:
    """Calibrated P(positive) of the deployed model's scores (binary)."""
    mapping = prediction.get("score_map")
    if mapping is not None:
        scores = np.interp(scores, mapping["x"], mapping["y"])
    return calibrate(scores, prediction["calibration"])


def score_of(task: str, proba_or_value: np.ndarray) -> np.ndarray:
    """The monitored prediction score: P(positive) (binary), the value (regression)."""
    if task == "binary":
        return np.asarray(proba_or_value)[:, 1]
    return np.asarray(proba_or_value, dtype="float64")


def importances_of(model: Any, X: pd.DataFrame | None = None) -> dict[str, float] | None:
    """The model's own feature importances, normalised to sum to 1 (CatBoost), else None.

    An ensemble's are its members' shares weighted by the members' weights
    (:mod:`foldwise.monitor.ensemble_importance`); ``X``, typed training rows, lets every
    member be weighed by its mean |SHAP|. A single model ignores ``X``.
    """
    from foldwise.models.ensemble import EnsembleModel

    if isinstance(model, EnsembleModel):
        from foldwise.monitor.ensemble_importance import ensemble_importances

        return ensemble_importances(model, X, importances_of)
    if getattr(model, "name", None) != "catboost":
        return None
    values = np.asarray(model.estimator_.get_feature_importance(), dtype="float64")
    names = [str(f["name"]) for f in model.features]
    total = values.sum()
    if len(values) != len(names) or total <= 0:
        return None
    return {name: float(v / total) for name, v in zip(names, values, strict=True)}


def _prediction_profile(
    task: str,
    classes: list[Any] | None,
    oof: np.ndarray,
    y: np.ndarray,
    deployed: np.ndarray,
    bins: int,
) -> dict[str, Any]:
    """The deployed model's prediction profile, calibrated by the out-of-fold scores ``oof``
    of the rows with labels ``y`` (multiclass: confidence; binary: score map and calibration)."""
    if task == "multiclass":
        assert classes is not None
        codes = oof.argmax(axis=1)
        shown = pa.array([str(classes[i]) for i in deployed.argmax(axis=1)], pa.string())
        prediction = feature_profile(shown, "categorical", bins)
        # P(the predicted class is right) as a function of its probability, out of fold.
        prediction["confidence_calibration"] = fit_calibration(
            oof.max(axis=1), (codes == y).astype("float64")
        )
        return prediction
    prediction = feature_profile(score_of(task, deployed), "numeric", bins)
    if task == "binary":
        score = score_of(task, oof)
        calibration = fit_calibration(score, y.astype("float64"))
        shown_scores = score_of(task, deployed)
        edges = np.unique(np.quantile(shown_scores, np.linspace(0, 1, SCORE_BINS + 1)[1:-1]))
        grid = np.linspace(0, 1, 101)
        prediction["score_map"] = {
            "x": [float(v) for v in np.quantile(shown_scores, grid)],
            "y": [float(v) for v in np.quantile(score, grid)],
        }
        prediction["calibration"] = calibration
        prediction["score_edges"] = [float(e) for e in edges]
        prediction["positive_rate"] = float(y.mean())
    return prediction


def build_reference(  # noqa: PLR0913 (the table, its labels, predictions and CV report, keyword-only)
    X: pd.DataFrame,
    features: list[dict[str, Any]],
    *,
    task: str,
    classes: list[Any] | None,
    oof: np.ndarray,
    y: np.ndarray,
    cv: dict[str, dict[str, Any]],
    primary_metric: str,
    id_columns: list[str],
    importances: dict[str, float] | None,
    final: np.ndarray | None = None,
    bins: int = DEFAULT_BINS,
) -> dict[str, Any]:
    """The reference profile of training rows ``X`` (typed) and their out-of-fold predictions.

    ``oof`` is (n, k) probabilities or (n,) values, NaN for rows never scored out of fold.
    ``final`` is the final model's scores of the same rows: the deployed model is not the
    fold models (it is fitted on more rows, so it is sharper), and its distribution of scores
    is what production scores are compared with. Its scores are mapped onto the out-of-fold
    scale by quantile (``score_map``) before the out-of-fold calibration applies.
    """
    columns = {str(f["name"]): column_values(X[str(f["name"])], f["kind"]) for f in features}
    profiles = {
        name: feature_profile(columns[name], f["kind"], bins)
        for name, f in zip(columns, features, strict=True)
    }
    scored = ~np.isnan(oof).any(axis=1) if oof.ndim == 2 else ~np.isnan(oof)
    deployed = oof[scored] if final is None else final
    prediction = _prediction_profile(task, classes, oof[scored], y[scored], deployed, bins)
    if task == "binary":
        # How far labels sit from calibrated predictions per feature bin out of fold: the
        # model's own misfit, so production residuals are judged against it, not against zero.
        p_cal = calibrate(score_of(task, oof[scored]), prediction["calibration"])
        y_scored = y[scored].astype("float64")
        for name, profile in profiles.items():
            values = columns[name]
            values = (
                values[scored]
                if isinstance(values, np.ndarray)
                else values.filter(pa.array(scored))
            )
            profile["residual"] = residual_profile(
                bins_for(values, profile), n_slots(profile), y_scored, p_cal
            )
    return {
        "format": REFERENCE_FORMAT,
        "rows": len(X),
        "task": task,
        "classes": None if classes is None else [str(c) for c in classes],
        "id_columns": list(id_columns),
        "features": profiles,
        "prediction": prediction,
        "importance": importances,
        "performance": {
            "primary_metric": primary_metric,
            "cv": {
                name: {"mean": s.get("mean"), "std": s.get("std"), "n_folds": s.get("n_folds")}
                for name, s in cv.items()
            },
        },
    }
