"""SHAP values of a registry model on feature frames, in the model's own output space.

CatBoost uses its native ``ShapValues`` (TreeSHAP), LightGBM its native ``pred_contrib``
(TreeSHAP; what ``shap.TreeExplainer`` itself calls for a LightGBM booster, without re-parsing
the trees, so categorical splits are explained exactly), the linear model the exact
interventional linear SHAP (``coef * (x - mean)`` on the encoded columns, summed back per input
column), random forests, extra trees and histogram boosting ``shap.TreeExplainer``. Any model
none of these can explain (the dummy model, or a tree model shap refuses) falls back to
model-agnostic permutation SHAP (shap's PermutationExplainer scheme, batched) on a smaller
sample, and says so in :attr:`Attribution.note`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel

# The model-agnostic fallback evaluates the model ~(2p + 1) x background rows per row.
FALLBACK_MAX_ROWS = 200
FALLBACK_BACKGROUND = 25
PERMUTATIONS = 2  # each forward and backward
FOREST_MAX_ROWS = 300
LINEAR_BACKGROUND = 2000
ADDITIVITY_TOLERANCE = 1e-6  # relative to the largest output, for explainers checked here
_FORESTS = ("random_forest", "extra_trees")
_EPOCH = pd.Timestamp("1970-01-01")


@dataclass
class Attribution:
    """SHAP values (n rows, p features, k outputs) with their base values and units."""

    values: np.ndarray
    base: np.ndarray
    features: list[str]
    outputs: list[str]
    units: str
    method: str
    note: str | None = None
    rows: np.ndarray | None = None  # positions of the explained rows in the input frame

    def mean_abs(self) -> np.ndarray:
        """Mean |SHAP| per feature, averaged over rows and outputs (classes)."""
        if len(self.values) == 0:
            return np.zeros(len(self.features))
        return np.abs(self.values).mean(axis=(0, 2))

    def mean_abs_per_output(self) -> np.ndarray:
        """Mean |SHAP| per (feature, output)."""
        return np.abs(self.values).mean(axis=0)


def output_names(
    model: TabularModel | EnsembleModel, classes: list[str] | None, target: str
) -> list[str]:
    """One name per explained output: the positive class, each class, or the target."""
    if model.task == "regression":
        return [target]
    labels = [str(c) for c in classes or range(model.n_classes_)]
    return labels[-1:] if model.task == "binary" else labels


def _units(model: TabularModel | EnsembleModel, space: str, target: str) -> str:
    if model.task == "regression":
        return f"{target} (target units)"
    return space


def _full_classes(values: np.ndarray, known: np.ndarray, k: int) -> np.ndarray:
    """Place per-class columns of a model that saw only some classes into all k classes."""
    if values.shape[-1] == k:
        return values
    full = np.zeros((*values.shape[:-1], k), dtype="float64")
    full[..., known] = values
    return full


def _catboost(model: TabularModel, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    from catboost import Pool

    frame = model.model_input(X)
    cats = [str(f["name"]) for f in model.features if f["kind"] == "categorical"]
    raw = np.asarray(
        model.estimator_.get_feature_importance(Pool(frame, cat_features=cats), type="ShapValues"),
        dtype="float64",
    )
    if raw.ndim == 2:  # binary (log-odds of class 1) or regression
        return raw[:, :-1, None], raw[:1, -1]
    values = raw[:, :, :-1].transpose(0, 2, 1)
    base = raw[0, :, -1]
    known = np.asarray(model.estimator_.classes_).astype("int64")
    return _full_classes(values, known, model.n_classes_), _full_classes(
        base, known, model.n_classes_
    )


def _lightgbm(model: TabularModel, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    raw = model.estimator_.contributions(model.model_input(X))  # (n, outputs, p + 1)
    return raw[:, :, :-1].transpose(0, 2, 1), raw[0, :, -1]


def column_owners(preprocessor: object) -> list[str]:
    """The input column behind each encoded column of a fitted ColumnTransformer."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    owners: list[str] = []
    for name, transformer, columns in preprocessor.transformers_:  # type: ignore[attr-defined]
        cols = [str(c) for c in columns]
        if name == "remainder" or transformer == "drop" or not cols:
            continue
        if transformer == "passthrough":
            owners += cols
            continue
        last = transformer.steps[0][1] if isinstance(transformer, Pipeline) else transformer
        if isinstance(last, OneHotEncoder):
            owners += [c for c, cats in zip(cols, last.categories_, strict=True) for _ in cats]
            continue
        for out in transformer.get_feature_names_out(cols):
            out = str(out)
            matches = [
                c for c in cols if out in (c, f"missingindicator_{c}") or out.startswith(f"{c}_")
            ]
            if not matches:
                raise ValueError(f"cannot map encoded column {out!r} back to an input column")
            owners.append(max(matches, key=len))
    return owners


def _grouping(owners: list[str], features: list[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(features)}
    group = np.zeros((len(owners), len(features)), dtype="float64")
    for j, owner in enumerate(owners):
        group[j, index[owner]] = 1.0
    return group


def _linear(
    model: TabularModel, X: pd.DataFrame, background: pd.DataFrame, features: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    pipeline = model.estimator_
    pre, estimator = pipeline.named_steps["preprocess"], pipeline.named_steps["model"]
    encoded = np.asarray(pre.transform(model.model_input(X)), dtype="float64")
    reference = np.asarray(pre.transform(model.model_input(background)), dtype="float64")
    mean = reference.mean(axis=0)
    coef = np.atleast_2d(np.asarray(estimator.coef_, dtype="float64"))  # (k', m)
    intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype="float64"))
    per_column = (encoded - mean)[:, :, None] * coef.T[None, :, :]  # (n, m, k')
    values = np.einsum("nmk,mp->npk", per_column, _grouping(column_owners(pre), features))
    base = intercept + coef @ mean
    if model.task == "multiclass":
        known = np.asarray(estimator.classes_).astype("int64")
        values = _full_classes(values, known, model.n_classes_)
        base = _full_classes(base, known, model.n_classes_)
    return values, base


def _tree(
    model: TabularModel, X: pd.DataFrame, features: list[str]
) -> tuple[np.ndarray, np.ndarray, str]:
    import shap

    pipeline = model.estimator_
    pre, estimator = pipeline.named_steps["preprocess"], pipeline.named_steps["model"]
    encoded = np.asarray(pre.transform(model.model_input(X)), dtype="float64")
    explainer = shap.TreeExplainer(estimator)
    raw = explainer.shap_values(encoded, check_additivity=False)
    raw = np.stack(raw, axis=-1) if isinstance(raw, list) else np.asarray(raw, dtype="float64")
    if raw.ndim == 2:
        raw = raw[:, :, None]
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype="float64"))
    space = "probability" if model.name in _FORESTS else "log-odds"
    if model.task == "binary" and raw.shape[-1] == 2:
        raw, base = raw[:, :, 1:], base[1:]
    values = np.einsum("nmk,mp->npk", raw, _grouping(column_owners(pre), features))
    if model.task == "multiclass":
        known = np.asarray(estimator.classes_).astype("int64")
        values = _full_classes(values, known, model.n_classes_)
        base = _full_classes(base, known, model.n_classes_)
    return values, base, space


def check_margin_additivity(
    model: TabularModel, X: pd.DataFrame, values: np.ndarray, base: np.ndarray
) -> None:
    """Raise ValueError unless base + Σ SHAP equals the model's raw margin on ``X``.

    shap checks additivity against its own reading of the trees, which ignores the
    categorical splits of histogram boosting; this checks against the model itself.
    """
    frame = model.model_input(X)
    if model.task == "regression":
        margin = np.asarray(model.estimator_.predict(frame), dtype="float64")[:, None]
    else:
        margin = np.asarray(model.estimator_.decision_function(frame), dtype="float64")
        margin = margin.reshape(len(X), -1)
        known = np.asarray(model.estimator_.classes_).astype("int64")
        if model.task == "multiclass":
            margin = _full_classes(margin, known, model.n_classes_)
    gap = np.abs(values.sum(axis=1) + base[None, :] - margin)
    scale = max(1.0, float(np.abs(margin).max())) if margin.size else 1.0
    if gap.size and float(gap.max()) > ADDITIVITY_TOLERANCE * scale:
        raise ValueError(
            f"its SHAP values do not add up to the model's output (largest gap "
            f"{float(gap.max()):.3g})"
        )


def _encode(frame: pd.DataFrame, kinds: dict[str, str], levels: dict[str, list[str]]) -> np.ndarray:
    """A feature frame as floats: category codes, 0/1, days since 1970, numbers."""
    out = np.empty((len(frame), len(kinds)), dtype="float64")
    for j, (name, kind) in enumerate(kinds.items()):
        values = frame[name]
        if kind == "categorical":
            codes = pd.Categorical(values, categories=levels[name]).codes.astype("float64")
            out[:, j] = np.where(codes < 0, np.nan, codes)
        elif kind == "datetime":
            out[:, j] = ((values - _EPOCH) / pd.Timedelta(days=1)).to_numpy(
                "float64", na_value=np.nan
            )
        else:
            out[:, j] = values.astype("Float64").to_numpy("float64", na_value=np.nan)
    return out


def _decode(
    matrix: np.ndarray, kinds: dict[str, str], levels: dict[str, list[str]]
) -> pd.DataFrame:
    columns: dict[str, object] = {}
    for j, (name, kind) in enumerate(kinds.items()):
        values = matrix[:, j]
        if kind == "categorical":
            names = np.asarray(levels[name], dtype=object)
            codes = np.nan_to_num(values, nan=-1).astype("int64")
            columns[name] = pd.Series(np.where(codes >= 0, names[np.maximum(codes, 0)], None))
        elif kind == "datetime":
            columns[name] = _EPOCH + pd.to_timedelta(values, unit="D")
        else:
            columns[name] = values
    return pd.DataFrame(columns)


def _permutation(
    model: TabularModel, X: pd.DataFrame, background: pd.DataFrame, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Interventional SHAP by antithetic permutation sampling, batched across rows.

    The scheme of ``shap.PermutationExplainer``: per permutation, switch the features from a
    background row to the explained row one by one, forward and then backward, and credit each
    feature with the change of the model's output, averaged over the background rows. The
    contributions of every row add up exactly to its output minus the mean background output.
    Unlike shap's explainer, which calls the model once per row, every step of every row is
    scored in one call.
    """
    kinds = {str(f["name"]): str(f["kind"]) for f in model.features}
    levels = {
        name: sorted(set(pd.concat([X[name], background[name]]).dropna().astype(str)))
        for name, kind in kinds.items()
        if kind == "categorical"
    }

    def score(matrix: np.ndarray) -> np.ndarray:
        rows = _decode(matrix, kinds, levels)
        if model.task == "regression":
            return model.predict(rows)[:, None]
        proba = model.predict_proba(rows)
        return proba[:, 1:] if model.task == "binary" else proba

    x, b = _encode(X, kinds, levels), _encode(background, kinds, levels)
    n, p, m = len(x), x.shape[1], len(b)
    rng = np.random.default_rng(seed)
    orders = []
    for _ in range(PERMUTATIONS):
        order = rng.permutation(p)
        orders += [order, order[::-1]]
    # (orders, steps p + 1, n, m, p): step t takes the first t features of the order from x.
    taken = np.zeros((len(orders), p + 1, p), dtype=bool)
    for o, order in enumerate(orders):
        for t in range(1, p + 1):
            taken[o, t] = taken[o, t - 1]
            taken[o, t, order[t - 1]] = True
    mixed = np.where(
        taken[:, :, None, None, :], x[None, None, :, None, :], b[None, None, None, :, :]
    )
    out = score(mixed.reshape(-1, p))
    k = out.shape[1]
    means = out.reshape(len(orders), p + 1, n, m, k).mean(axis=3)  # (orders, steps, n, k)
    values = np.zeros((n, p, k))
    for o, order in enumerate(orders):
        values[:, order, :] += (means[o, 1:] - means[o, :-1]).transpose(1, 0, 2)
    return values / len(orders), means[0, 0, 0]


def explain_single(
    model: TabularModel,
    X: pd.DataFrame,
    background: pd.DataFrame,
    *,
    outputs: list[str],
    target: str,
    seed: int,
) -> Attribution:
    """SHAP values of one model for the feature frame ``X`` (``background``: training rows).

    :func:`foldwise.explain.explainer.explain` also takes ensembles.
    """
    features = [str(f["name"]) for f in model.features]

    def attribution(
        values: np.ndarray,
        base: np.ndarray,
        space: str,
        method: str,
        note: str | None,
        rows: np.ndarray,
    ) -> Attribution:
        units = _units(model, space, target)
        return Attribution(values, base, features, outputs, units, method, note, rows)

    note = None
    rows = np.arange(len(X))
    logits = "log-odds" if model.task == "binary" else "softmax logits"
    if model.name == "catboost":
        values, base = _catboost(model, X)
        return attribution(values, base, logits, "CatBoost ShapValues (TreeSHAP)", None, rows)
    if model.name == "lightgbm":
        values, base = _lightgbm(model, X)
        return attribution(values, base, logits, "LightGBM pred_contrib (TreeSHAP)", None, rows)
    if model.name == "logistic_regression":
        reference = background.iloc[:LINEAR_BACKGROUND]
        values, base = _linear(model, X, reference, features)
        method = "linear SHAP (exact, independent features)"
        return attribution(values, base, logits, method, None, rows)
    rng = np.random.default_rng(seed)
    if model.name in (*_FORESTS, "hist_gradient_boosting"):
        cap = FOREST_MAX_ROWS if model.name in _FORESTS else len(X)
        if len(X) > cap:
            rows = np.sort(rng.choice(len(X), size=cap, replace=False))
        try:
            values, base, space = _tree(model, X.iloc[rows], features)
            if model.name == "hist_gradient_boosting":
                check_margin_additivity(model, X.iloc[rows], values, base)
            capped = (
                f"exact TreeSHAP on a deep forest is slow: {len(rows)} of {len(X)} rows explained"
                if len(rows) < len(X)
                else None
            )
            return attribution(values, base, space, "shap.TreeExplainer", capped, rows)
        except Exception as exc:  # shap refuses some tree models (e.g. categorical splits)
            first = (
                str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            )
            note = f"shap.TreeExplainer cannot explain this {model.name} model ({first})"
    else:
        note = f"model {model.name!r} has no native SHAP support"
    return explain_by_permutation(
        model, X, background, outputs=outputs, target=target, seed=seed, reason=note
    )


def explain_by_permutation(
    model: TabularModel,
    X: pd.DataFrame,
    background: pd.DataFrame,
    *,
    outputs: list[str],
    target: str,
    seed: int,
    reason: str,
) -> Attribution:
    """Model-agnostic permutation SHAP of the probabilities (classification) or values.

    At most :data:`FALLBACK_MAX_ROWS` rows of ``X`` (sampled with ``seed``) against
    :data:`FALLBACK_BACKGROUND` background rows; ``reason`` says why this explainer was used.
    """
    features = [str(f["name"]) for f in model.features]
    rng = np.random.default_rng(seed)
    rows = np.arange(len(X))
    if len(X) > FALLBACK_MAX_ROWS:
        rows = np.sort(rng.choice(len(X), size=FALLBACK_MAX_ROWS, replace=False))
    picked = background.iloc[
        np.sort(
            rng.choice(
                len(background), size=min(FALLBACK_BACKGROUND, len(background)), replace=False
            )
        )
    ]
    values, base = _permutation(model, X.iloc[rows], picked, seed)
    note = (
        f"{reason}; fell back to model-agnostic permutation SHAP on {len(rows)} rows against "
        f"{len(picked)} background rows ({2 * PERMUTATIONS} orderings; approximate)"
    )
    units = _units(model, "probability", target)
    method = "permutation SHAP (fallback)"
    return Attribution(values, base, features, outputs, units, method, note, rows)
