"""The explain stage's computation: from the training run, bundle, fold models and OOF predictions.

Everything here is computed on training rows: either rows the fold model did not see (out of
fold) or the final model on training rows; the result says which. The test table is never read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from foldwise.artifacts import id_columns, with_ids
from foldwise.bundle import Bundle
from foldwise.config import Config
from foldwise.errors import FoldwiseError
from foldwise.explain.agreement import (
    fold_permutation_importance,
    investigate,
    rank_correlation,
    ranks,
)
from foldwise.explain.attribution import Attribution, output_names
from foldwise.explain.explainer import explain
from foldwise.explain.mistakes import worst_mistakes
from foldwise.explain.robustness import robustness
from foldwise.explain.segments import row_loss, segment_metric, weak_segments
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.training import TrainingData, model_for, predict_scores

MIN_ROWS = 50
ROBUSTNESS_ROWS = 2000


@dataclass(frozen=True)
class Explanation:
    """Everything the reports need."""

    summary: dict[str, Any]
    details: dict[str, Any]
    final: Attribution
    sample: pd.DataFrame
    fold_importance: np.ndarray
    worst: pd.DataFrame
    oof_shap: pd.DataFrame
    failing: list[str] = field(default_factory=list)


def check_suspects(config: Config, data: TrainingData) -> tuple[list[str], list[str]]:
    """(suspect features, suspect columns the model cannot use); unknown columns are an error."""
    names = {str(f["name"]) for f in data.features}
    used, unused = [], []
    for column in config.explain.suspect_columns:
        if column in names:
            used.append(column)
        elif column in data.frame.columns:
            unused.append(column)
        else:
            raise FoldwiseError(
                f"explain.suspect_columns: column {column!r} is not in the training table; "
                f"its columns: {', '.join(map(str, data.frame.columns))}"
            )
    return used, unused


def oof_scores(oof: pd.DataFrame, data: TrainingData) -> np.ndarray:
    """The out-of-fold probabilities (n, k) or predictions (n,) written by train."""
    if len(oof) != len(data.y):
        raise FoldwiseError(
            f"reports/train/oof_predictions.parquet: {len(oof)} rows but the training table has "
            f"{len(data.y)}; run dvc repro so train runs on this table"
        )
    if data.problem.task == "regression":
        return oof["oof_prediction"].to_numpy("float64")
    columns = [f"oof_proba_{label}" for label in data.problem.classes or ()]
    return oof[columns].to_numpy("float64")


def _explain_folds(
    models: Sequence[TabularModel | EnsembleModel],
    X: pd.DataFrame,
    rows: np.ndarray,
    fold_of_row: np.ndarray,
    outputs: list[str],
    target: str,
    seed: int,
) -> tuple[list[Attribution | None], np.ndarray]:
    """Each fold model on its held-out rows among ``rows``; mean |SHAP| per fold."""
    attributions: list[Attribution | None] = []
    importance = np.full((len(models), X.shape[1]), np.nan)
    for i, model in enumerate(models):
        held = rows[fold_of_row[rows] == i]
        seen = rows[fold_of_row[rows] != i]
        if len(held) == 0:
            attributions.append(None)
            continue
        attr = explain(
            model,
            X.iloc[held],
            X.iloc[seen if len(seen) else held],
            outputs=outputs,
            target=target,
            seed=seed + i,
        )
        attr.rows = held[attr.rows]
        attributions.append(attr)
        importance[i] = attr.mean_abs()
    return attributions, importance


def run_explain(
    config: Config,
    data: TrainingData,
    ids: list[str],
    bundle: Bundle,
    fold_models: Sequence[TabularModel | EnsembleModel],
    oof: pd.DataFrame,
) -> Explanation:
    """Global SHAP, agreement, suspects, worst mistakes, weak segments and robustness.

    OpenMP runs single-threaded here: explain makes many small predictions, for which
    scikit-learn's threads only spin (very slow on a busy machine); CatBoost keeps its own.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return _run_explain(config, data, ids, bundle, fold_models, oof)


def _run_explain(
    config: Config,
    data: TrainingData,
    ids: list[str],
    bundle: Bundle,
    fold_models: Sequence[TabularModel | EnsembleModel],
    oof: pd.DataFrame,
) -> Explanation:
    cfg, problem, seed = config.explain, data.problem, config.seed
    suspects, unused_suspects = check_suspects(config, data)
    fold_of_row, validated = _out_of_fold_rows(oof, data, fold_models)
    rng = np.random.default_rng(seed)
    n_sample = min(cfg.max_rows, len(validated))
    sample = np.sort(rng.choice(validated, size=n_sample, replace=False))
    features = [str(f["name"]) for f in data.features]
    model = bundle.model
    outputs = output_names(model, [str(c) for c in problem.classes or ()], problem.target)
    X_sample = data.X.iloc[sample].reset_index(drop=True)
    imp = _importances(config, data, bundle, fold_models, sample, fold_of_row, outputs)
    final, importance, fold_attr = imp.final, imp.final.mean_abs(), imp.fold_attr
    fold_importance, linear_importance, perm_mean = imp.fold, imp.linear, imp.permutation
    name = bundle.metadata.get("model_name", model.name)
    statements = _statements(model, name, features, importance, linear_importance, perm_mean)
    top_k = min(cfg.top_k, len(features))
    flagged_suspects = _flagged_suspects(suspects, features, importance, top_k)
    scores, loss = _out_of_fold_loss(oof, data, validated)
    worst = worst_mistakes(
        data, ids, scores, loss, fold_of_row, fold_models, outputs, n_worst=cfg.worst_rows, seed=seed
    )  # fmt: skip
    threshold = 0.5 if bundle.threshold is None else float(bundle.threshold)
    segments = _weak_segments(config, data, validated, features, loss, scores, threshold)
    robust = _robustness(config, data, model, X_sample, threshold)
    feature_rows = _feature_rows(data, importance, fold_importance, linear_importance, perm_mean)
    failing = _failing(cfg.fail_on, flagged_suspects, segments, statements, top_k)
    summary = {
        "model": name,
        "task": problem.task,
        "method": final.method,
        "units": final.units,
        "rows_explained": len(final.values),
        "rows_out_of_fold": len(validated),
        "top_features": [
            {"feature": r["feature"], "importance": r["importance"]} for r in feature_rows[:top_k]
        ],
        "rank_correlation": _rank_correlations(model, importance, linear_importance, perm_mean),
        "investigate": len(statements),
        "suspect_flagged": [s["feature"] for s in flagged_suspects],
        "weak_segments": len(segments["flagged"]),
        "worst_segment_loss_ratio": segments["flagged"][0]["loss_ratio"]
        if segments["flagged"]
        else None,
        "robustness": {"flip_share": robust["flip_share"], "moved_share": robust["moved_share"]},
        "passed": not failing,
    }
    details = {
        **summary,
        "note": final.note,
        "fold_notes": sorted({a.note for a in fold_attr if a is not None and a.note}),
        "linear_note": imp.linear_note,
        "top_k": top_k,
        "features": feature_rows,
        "investigate_statements": statements,
        "suspects": {
            "checked": list(config.explain.suspect_columns),
            "flagged": flagged_suspects,
            "not_features": unused_suspects,
        },
        "segments": dict(segments),
        "robustness": robust,
        "worst": {"rows": len(worst), "loss": _LOSS_NAMES[problem.task == "regression"]},
        "failing": failing,
    }
    oof_shap = _oof_shap_table(data, ids, fold_attr, fold_of_row)
    return Explanation(summary, details, final, X_sample, fold_importance, worst, oof_shap, failing)


@dataclass(frozen=True)
class _Importances:
    """Mean |SHAP| of the final model, of each fold model and of the linear baseline, and
    the fold models' permutation importance."""

    final: Attribution
    fold_attr: list[Attribution | None]
    fold: np.ndarray
    linear: np.ndarray
    linear_note: str
    permutation: np.ndarray


def _importances(
    config: Config,
    data: TrainingData,
    bundle: Bundle,
    fold_models: Sequence[TabularModel | EnsembleModel],
    sample: np.ndarray,
    fold_of_row: np.ndarray,
    outputs: list[str],
) -> _Importances:
    """Every importance the agreement checks compare, on the sampled out-of-fold rows."""
    problem, seed, model = data.problem, config.seed, bundle.model
    X_sample = data.X.iloc[sample].reset_index(drop=True)
    final = explain(model, X_sample, X_sample, outputs=outputs, target=problem.target, seed=seed)
    fold_attr, fold_importance = _explain_folds(
        fold_models, data.X, sample, fold_of_row, outputs, problem.target, seed
    )
    linear_importance, linear_note = _linear_importance(
        config, data, model, final.mean_abs(), X_sample, data.y[sample], outputs
    )
    permutation = fold_permutation_importance(
        fold_models,
        data.X.iloc[sample].reset_index(drop=True),
        data.y[sample],
        fold_of_row[sample],
        metric=problem.metric,
        task=problem.task,
        repeats=config.explain.permutation_repeats,
        seed=seed,
    )
    return _Importances(
        final=final,
        fold_attr=fold_attr,
        fold=fold_importance,
        linear=linear_importance,
        linear_note=linear_note,
        permutation=np.nanmean(permutation, axis=0),
    )


_LOSS_NAMES = {False: "log loss of the true class", True: "squared error"}


def _out_of_fold_loss(
    oof: pd.DataFrame, data: TrainingData, validated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold scores, per-row loss: NaN on rows no fold model held out)."""
    scores = oof_scores(oof, data)
    loss = np.full(len(data.y), np.nan)
    loss[validated] = row_loss(data.problem.task, data.y[validated], scores[validated])
    return scores, loss


def _rank_correlations(
    model: TabularModel | EnsembleModel,
    importance: np.ndarray,
    linear: np.ndarray,
    permutation: np.ndarray,
) -> dict[str, float | None]:
    """Spearman correlation of the final model's ranking with the linear and permutation ones."""
    return {
        "linear_baseline": None
        if model.name == "logistic_regression"
        else rank_correlation(importance, linear),
        "permutation": rank_correlation(importance, np.nan_to_num(permutation)),
    }


def _out_of_fold_rows(
    oof: pd.DataFrame, data: TrainingData, fold_models: Sequence[TabularModel | EnsembleModel]
) -> tuple[np.ndarray, np.ndarray]:
    """(fold of each training row, -1 where none; the rows some fold model did not see)."""
    fold_of_row = oof["fold"].to_numpy("int64") if "fold" in oof else np.full(len(data.y), -1)
    validated = np.flatnonzero(fold_of_row >= 0)
    if len(validated) < MIN_ROWS:
        raise FoldwiseError(
            f"data/prepared/train.parquet: {len(validated)} out-of-fold rows; explain needs at "
            f"least {MIN_ROWS} to say anything (add rows or lower cv.folds)"
        )
    if len(fold_models) != int(fold_of_row.max()) + 1:
        raise FoldwiseError(
            f"models/folds: {len(fold_models)} fold models but the out-of-fold predictions come "
            f"from {int(fold_of_row.max()) + 1} folds; run dvc repro so train writes both"
        )
    return fold_of_row, validated


def _linear_importance(
    config: Config,
    data: TrainingData,
    model: TabularModel | EnsembleModel,
    importance: np.ndarray,
    X_sample: pd.DataFrame,
    y_sample: np.ndarray,
    outputs: list[str],
) -> tuple[np.ndarray, str]:
    """Mean |SHAP| of the linear baseline refitted on the explained rows, and how it was got."""
    if model.name == "logistic_regression":
        return importance, "the model is the linear baseline itself"
    target, seed = data.problem.target, config.seed
    linear = model_for("logistic_regression", data, config).fit(X_sample, y_sample)
    linear_importance = explain(
        linear, X_sample, X_sample, outputs=outputs, target=target, seed=seed
    ).mean_abs()
    return linear_importance, f"linear baseline refitted on the {len(X_sample)} explained rows"


def _statements(
    model: TabularModel | EnsembleModel,
    name: str,
    features: list[str],
    importance: np.ndarray,
    linear_importance: np.ndarray,
    perm_mean: np.ndarray,
) -> list[dict[str, Any]]:
    """Top features on which SHAP, the linear baseline and permutation importance disagree."""
    statements = []
    if model.name != "logistic_regression":
        statements += investigate(
            features,
            importance,
            linear_importance,
            main_name=name,
            other_name="the linear baseline",
        )
    statements += investigate(
        features,
        importance,
        perm_mean,
        main_name=f"{name} SHAP",
        other_name="permutation importance",
    )
    return statements


def _flagged_suspects(
    suspects: list[str], features: list[str], importance: np.ndarray, top_k: int
) -> list[dict[str, Any]]:
    """The suspect columns among the top ``top_k`` features, with their rank and importance."""
    r_final = ranks(importance)
    return [
        {
            "feature": s,
            "rank": int(r_final[features.index(s)]),
            "importance": float(importance[features.index(s)]),
        }
        for s in suspects
        if r_final[features.index(s)] <= top_k
    ]


def _weak_segments(
    config: Config,
    data: TrainingData,
    validated: np.ndarray,
    features: list[str],
    loss: np.ndarray,
    scores: np.ndarray,
    threshold: float,
) -> dict[str, Any]:
    """Slices whose out-of-fold loss is significantly worse, each with the primary metric."""
    cfg, metric = config.explain, data.problem.metric
    y = data.y[validated]
    segments = weak_segments(
        data.X.iloc[validated].reset_index(drop=True),
        features,
        loss[validated],
        bins=cfg.segment_bins,
        min_rows=cfg.segment_min_rows,
        alpha=cfg.segment_alpha,
        min_ratio=cfg.segment_min_ratio,
    )
    for seg in segments["flagged"]:
        mask = seg.pop("mask")
        everyone = np.ones(len(mask), dtype=bool)
        seg["metric"] = {
            "name": metric,
            "segment": segment_metric(metric, y, scores[validated], mask, threshold),
            "overall": segment_metric(metric, y, scores[validated], everyone, threshold),
        }
    return segments


def _robustness(
    config: Config,
    data: TrainingData,
    model: TabularModel | EnsembleModel,
    X_sample: pd.DataFrame,
    threshold: float,
) -> dict[str, Any]:
    """How the final model's predictions move when the explained rows are perturbed."""
    cfg, task = config.explain, data.problem.task
    kinds = {str(f["name"]): str(f["kind"]) for f in data.features}
    tolerance = cfg.robustness_tolerance * (float(np.std(data.y)) if task == "regression" else 1.0)
    robust = robustness(
        lambda frame: predict_scores(model, frame, task),
        X_sample.iloc[:ROBUSTNESS_ROWS],
        kinds,
        task=task,
        threshold=threshold,
        amount=cfg.perturbation,
        tolerance=tolerance,
        seed=config.seed,
    )
    robust["tolerance_units"] = (
        f"{cfg.robustness_tolerance:g} x the target's standard deviation ({tolerance:.4g})"
        if task == "regression"
        else "probability"
    )
    return robust


def _feature_rows(
    data: TrainingData,
    importance: np.ndarray,
    fold_importance: np.ndarray,
    linear_importance: np.ndarray,
    perm_mean: np.ndarray,
) -> list[dict[str, Any]]:
    """One row per feature: final, fold, linear and permutation importance and ranks."""
    fold_ranks = np.vstack([ranks(row) for row in fold_importance if np.isfinite(row).all()])
    r_final = ranks(importance)
    r_linear, r_perm = ranks(linear_importance), ranks(np.nan_to_num(perm_mean, nan=-np.inf))
    rows: list[dict[str, Any]] = []
    for j, f in enumerate(data.features):
        column = fold_importance[:, j]
        rows.append(
            {
                "feature": str(f["name"]),
                "kind": str(f["kind"]),
                "rank": int(r_final[j]),
                "importance": float(importance[j]),
                "fold_mean": float(np.nanmean(column)),
                "fold_std": float(np.nanstd(column, ddof=1))
                if np.isfinite(column).sum() > 1
                else None,
                "fold_ranks": [int(v) for v in fold_ranks[:, j]] if len(fold_ranks) else [],
                "linear_importance": float(linear_importance[j]),
                "linear_rank": int(r_linear[j]),
                "permutation_importance": float(perm_mean[j])
                if np.isfinite(perm_mean[j])
                else None,
                "permutation_rank": int(r_perm[j]),
            }
        )
    rows.sort(key=lambda r: r["rank"])
    return rows


def _failing(
    fail_on: Sequence[str],
    flagged_suspects: list[dict[str, Any]],
    segments: dict[str, Any],
    statements: list[dict[str, Any]],
    top_k: int,
) -> list[str]:
    """The explain.fail_on conditions that hold, one sentence each."""
    failing = []
    if "suspect_column" in fail_on and flagged_suspects:
        failing.append(
            "suspect column(s) "
            + ", ".join(s["feature"] for s in flagged_suspects)
            + f" among the top {top_k} features"
        )
    if "weak_segment" in fail_on and segments["flagged"]:
        failing.append(
            f"{len(segments['flagged'])} weak segment(s), worst: "
            f"{segments['flagged'][0]['segment']}"
        )
    if "disagreement" in fail_on and statements:
        failing.append(f"{len(statements)} strong disagreement(s) on top features")
    return failing


def _oof_shap_table(
    data: TrainingData, ids: list[str], attrs: list[Attribution | None], fold_of_row: np.ndarray
) -> pd.DataFrame:
    """Per explained out-of-fold row: ids (``id:<column>``), row, fold, ``shap:<feature>``.

    For several outputs (multiclass) the SHAP columns are ``shap:<class>:<feature>``. Both
    prefixes keep user column names apart from ``row`` and ``fold``.
    """
    parts = []
    for attr in attrs:
        if attr is None or attr.rows is None:
            continue
        table = pd.DataFrame({"row": attr.rows})
        table["fold"] = fold_of_row[attr.rows]
        for k, output in enumerate(attr.outputs):
            for j, feat in enumerate(attr.features):
                key = f"shap:{feat}" if len(attr.outputs) == 1 else f"shap:{output}:{feat}"
                table[key] = attr.values[:, j, k]
        parts.append(with_ids(id_columns(data.frame, ids, attr.rows), table))
    return pd.concat(parts, ignore_index=True).sort_values("row") if parts else pd.DataFrame()
