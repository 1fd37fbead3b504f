"""Steps 4, 5 and 7: fit with early stopping, cross-validate on fixed folds, compare to baselines."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from foldwise.artifacts import read_parquet_checked, read_schema
from foldwise.config import Config, read_config
from foldwise.cv import class_label, make_folds, validation_split
from foldwise.errors import FoldwiseError
from foldwise.metrics import score
from foldwise.model_settings import check_model_settings
from foldwise.models import TabularModel, build_model, feature_frame
from foldwise.models.ensemble import EnsembleModel, load_model
from foldwise.paths import ProjectPaths
from foldwise.problem import Problem
from foldwise.stage import staged_folder

# Threshold-free metrics reported for every fold; the selection metric is always added.
FOLD_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("roc_auc", "average_precision", "log_loss", "brier"),
    "multiclass": ("log_loss", "accuracy", "macro_f1", "roc_auc"),
    "regression": ("rmse", "mae", "r2"),
}


def derive_seed(seed: int, *keys: int) -> int:
    """An independent, reproducible seed for one fold or trial (``seed`` 0 is a valid seed)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


@dataclass
class TrainingData:
    """The training table split into what models see and what they predict."""

    frame: pd.DataFrame
    X: pd.DataFrame
    y: np.ndarray
    problem: Problem
    features: list[dict[str, Any]]


def take_rows(data: TrainingData, idx: np.ndarray) -> TrainingData:
    """The rows ``idx`` (positions) of ``data``, re-indexed from 0."""
    return TrainingData(
        frame=data.frame.iloc[idx].reset_index(drop=True),
        X=data.X.iloc[idx].reset_index(drop=True),
        y=data.y[idx],
        problem=data.problem,
        features=data.features,
    )


def training_data(train: pd.DataFrame, schema: dict[str, Any]) -> TrainingData:
    """Features and encoded target of the prepared training table."""
    problem = Problem.from_dict(schema)
    features = schema["features"]
    return TrainingData(
        frame=train,
        X=feature_frame(train, features),
        y=problem.encode(train[problem.target]),
        problem=problem,
        features=features,
    )


def folds_for(data: TrainingData, config: Config, n_splits: int | None = None) -> list:
    """The cross-validation folds every model of this run is scored on."""
    return make_folds(
        data.frame,
        data.y,
        task=data.problem.task,
        n_splits=n_splits or config.cv.folds,
        seed=config.seed,
        time_column=config.data.time_column,
        group_column=config.data.group_column,
        labels=data.problem.classes,
    )


@dataclass
class TrainingRun:
    """What every training-side stage starts from: params, schema, data and the fixed folds."""

    config: Config
    schema: dict[str, Any]
    data: TrainingData
    folds: list


def training_run(config: Config, schema: dict[str, Any], train: pd.DataFrame) -> TrainingRun:
    """The run of a prepared training table (as :func:`foldwise.prepare.prepare_tables` makes)."""
    data = training_data(train, schema)
    return TrainingRun(config, schema, data, folds_for(data, config))


def load_training_run(paths: ProjectPaths, fitted: Collection[str] | None = None) -> TrainingRun:
    """Validate params.yaml, read the prepared training table and make this run's folds.

    The values of the settings of the models in ``fitted`` are checked by their libraries
    (default: ``model.members``, the models tune and train fit); every model's setting names
    are checked whatever ``fitted`` is.
    """
    config = read_config(paths.params)
    fit = config.model.members if fitted is None else fitted
    check_model_settings(config, config.problem.task, fit)
    schema = read_schema(paths.schema)
    names = [schema["target"], *(str(f.get("name")) for f in schema["features"])]
    return training_run(config, schema, read_parquet_checked(paths.train_table, names))


def model_for(
    name: str, data: TrainingData, config: Config, settings: dict[str, Any] | None = None
) -> TabularModel:
    """An unfitted model from the registry with the params.yaml settings for ``name``."""
    return build_model(
        name,
        task=data.problem.task,
        features=data.features,
        settings=config.model.settings(name) if settings is None else settings,
        seed=config.seed,
        max_onehot_categories=config.model.max_onehot_categories,
        early_stopping_rounds=config.train.early_stopping_rounds,
        n_classes=len(data.problem.classes) if data.problem.classes else None,
    )


@dataclass
class FitResult:
    """A fitted model and how it was fitted."""

    model: TabularModel
    best_iteration: int | None = None
    learning_curve: dict[str, Any] | None = None
    seconds: float = 0.0


def fit_with_early_stopping(
    model: TabularModel,
    frame: pd.DataFrame,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    config: Config,
    task: str,
    seed: int,
    refit: bool = True,
    labels: Sequence[Any] | None = None,
) -> FitResult:
    """Fit; boosting models find their rounds on a carved validation part, then refit on all rows.

    The validation part respects time order and groups, so early stopping never peeks ahead.
    ``refit=False`` keeps the early-stopped model (tuning scores it; only rounds matter there).
    ``labels`` (of the class codes in ``y``) name a class in errors.
    """
    present = np.unique(y) if task != "regression" else np.empty(0)
    if len(present) == 1:
        raise FoldwiseError(
            f"these training rows hold only the target class {class_label(present[0], labels)!r};"
            " a classifier needs two (with data.time_column, the earliest block may hold one "
            "class: lower cv.folds)"
        )
    started = time.perf_counter()
    if not model.supports_early_stopping:
        fitted = clone(model).fit(X, y)
        return FitResult(fitted, seconds=time.perf_counter() - started)
    fit_idx, val_idx = validation_split(
        frame,
        y,
        task=task,  # type: ignore[arg-type]
        fraction=config.train.validation_size,
        seed=seed,
        time_column=config.data.time_column,
        group_column=config.data.group_column,
        labels=labels,
    )
    probe = clone(model).fit(X.iloc[fit_idx], y[fit_idx], X_val=X.iloc[val_idx], y_val=y[val_idx])
    rounds = int(probe.best_iteration_)
    if not refit:
        return FitResult(probe, rounds, probe.learning_curve_, time.perf_counter() - started)
    fitted = model.with_iterations(rounds).fit(X, y)
    return FitResult(fitted, rounds, probe.learning_curve_, time.perf_counter() - started)


def fit_on_fold(
    model: TabularModel,
    X_fit: pd.DataFrame,
    y_fit: np.ndarray,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
) -> FitResult:
    """Fit on a tuning fold's training rows; boosting models early-stop on its validation rows.

    Tuning only: the trial is then scored on the same validation rows, so no carved part is
    lost (each fit sees all of the fold's training rows). Stopping at the best round of the
    scored rows flatters every trial alike by a little; the ranking of trials, not the inner
    score, is what tuning uses, and the outer folds stay untouched.
    """
    started = time.perf_counter()
    if not model.supports_early_stopping:
        fitted = clone(model).fit(X_fit, y_fit)
        return FitResult(fitted, seconds=time.perf_counter() - started)
    fitted = clone(model).fit(X_fit, y_fit, X_val=X_val, y_val=y_val)
    return FitResult(
        fitted, fitted.best_iteration_, fitted.learning_curve_, time.perf_counter() - started
    )


def predict_scores(model: TabularModel | EnsembleModel, X: pd.DataFrame, task: str) -> np.ndarray:
    """Probabilities (n, k) for classification, values (n,) for regression."""
    if task == "regression":
        return np.asarray(model.predict(X), dtype="float64")
    return np.asarray(model.predict_proba(X), dtype="float64")


def fold_scores(problem: Problem, y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The per-fold metrics of a task, the selection metric included."""
    names = list(dict.fromkeys((problem.metric, *FOLD_METRICS[problem.task])))
    values = {name: score(name, y_true, scores) for name in names}
    return {k: float(v) for k, v in values.items() if v is not None and np.isfinite(v)}


@dataclass
class CVRun:
    """Cross-validation of one model on fixed folds, with out-of-fold predictions."""

    model_name: str
    fold_scores: list[dict[str, float]]
    oof: np.ndarray
    fold_of_row: np.ndarray
    best_iterations: list[int | None] = field(default_factory=list)
    seconds: float = 0.0
    models: list[TabularModel] = field(default_factory=list)  # per fold, with keep_models
    # Per fold, the early-stopping fit's loss per round (None for models without rounds).
    learning_curves: list[dict[str, Any] | None] = field(default_factory=list)

    @property
    def validated(self) -> np.ndarray:
        """Rows that were predicted out of fold (walk-forward CV never predicts the first block)."""
        return self.fold_of_row >= 0


def cross_validate(
    model: TabularModel,
    data: TrainingData,
    folds: list[tuple[np.ndarray, np.ndarray]],
    config: Config,
    name: str,
    keep_models: bool = False,
) -> CVRun:
    """Fit ``model`` on each fold's training part and score the rest.

    Each fold fits as :func:`fit_with_early_stopping` does: a boosting model finds its rounds
    on a part carved from the fold's training rows and is refitted on all of them. The shipped
    model is then fitted once on all rows with the folds' mean rounds (:func:`cv_rounds`,
    :func:`fit_final`). ``keep_models`` keeps each fold's fitted model (the explain stage
    reads them).
    """
    started = time.perf_counter()
    task = data.problem.task
    n = len(data.y)
    k = len(data.problem.classes or ())
    oof = np.full((n, k), np.nan) if task != "regression" else np.full(n, np.nan)
    fold_of_row = np.full(n, -1, dtype="int64")
    scores_per_fold: list[dict[str, float]] = []
    best_iterations: list[int | None] = []
    curves: list[dict[str, Any] | None] = []
    models: list[TabularModel] = []
    for i, (train_idx, val_idx) in enumerate(folds):
        result = fit_with_early_stopping(
            model,
            data.frame.iloc[train_idx].reset_index(drop=True),
            data.X.iloc[train_idx].reset_index(drop=True),
            data.y[train_idx],
            config=config,
            task=task,
            seed=derive_seed(config.seed, i),
            labels=data.problem.classes,
        )
        scores = predict_scores(result.model, data.X.iloc[val_idx], task)
        oof[val_idx] = scores
        fold_of_row[val_idx] = i
        scores_per_fold.append(fold_scores(data.problem, data.y[val_idx], scores))
        best_iterations.append(result.best_iteration)
        curves.append(result.learning_curve)
        if keep_models:
            models.append(result.model)
    return CVRun(
        name,
        scores_per_fold,
        oof,
        fold_of_row,
        best_iterations,
        time.perf_counter() - started,
        models,
        curves,
    )


def cv_rounds(run: CVRun) -> int | None:
    """The boosting rounds the folds' early stopping found (their mean), None if none."""
    found = [r for r in run.best_iterations if r is not None]
    return max(1, round(float(np.mean(found)))) if found else None


@dataclass(frozen=True)
class FinalFit:
    """A model fitted on all the rows: its name, settings, rounds and seconds."""

    name: str
    settings: dict[str, Any]
    rounds: int | None
    seconds: float


def fit_final(
    name: str, settings: dict[str, Any], rounds: int | None, data: TrainingData, config: Config
) -> tuple[TabularModel, FinalFit]:
    """Fit ``name`` once on all of ``data``; a boosting model trains exactly ``rounds`` rounds.

    ``rounds`` is what cross-validation found (:func:`cv_rounds`): no rows are carved off for
    early stopping and no probe fit is made. The shipped single model and every ensemble
    member are fitted here.
    """
    started = time.perf_counter()
    model = model_for(name, data, config, dict(settings))
    model = model.set_params(seed=derive_seed(config.seed, 3000))
    fitted = (model.with_iterations(rounds) if rounds is not None else clone(model)).fit(
        data.X, data.y
    )
    return fitted, FinalFit(name, dict(settings), rounds, time.perf_counter() - started)


def mean_learning_curve(curves: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The folds' learning curves averaged round by round (None when no fold has one).

    Every fold's early-stopping fit ran a different number of rounds; the mean is taken over
    the rounds all of them ran, so each point is the mean of the same folds. A part
    (``train`` or ``validation``) that one fold lacks is left out.
    """
    present = [c for c in curves if c]
    if not present:
        return None
    out: dict[str, Any] = {"metric": present[0].get("metric"), "folds": len(present)}
    for part in ("train", "validation"):
        values: list[list[float]] = [c.get(part) or [] for c in present]
        if any(not v for v in values):
            out[part] = None
            continue
        rounds = min(len(v) for v in values)
        out[part] = [float(np.mean([v[i] for v in values])) for i in range(rounds)]
    return out


def compare_to_baselines(
    primary: str,
    greater_is_better: bool,
    model_folds: list[float],
    baselines: dict[str, list[float]],
) -> dict[str, dict[str, Any]]:
    """Paired per-fold margins of the model over each baseline (positive = model better)."""
    sign = 1.0 if greater_is_better else -1.0
    out: dict[str, dict[str, Any]] = {}
    model = np.asarray(model_folds, dtype=float)
    for name, folds in baselines.items():
        base = np.asarray(folds, dtype=float)
        if base.shape != model.shape:
            out[name] = {"comparable": False, "reason": "different number of folds"}
            continue
        margin = sign * (model - base)
        out[name] = {
            "comparable": True,
            "metric": primary,
            "margin_mean": float(margin.mean()),
            "margin_std": float(margin.std(ddof=1)) if len(margin) > 1 else 0.0,
            "folds_better": int((margin > 0).sum()),
            "folds": len(margin),
        }
    return out


def save_fold_models(models: Sequence[TabularModel | EnsembleModel], directory: Path) -> None:
    """Write each fold's model to ``directory/fold_<i>`` (the folder is replaced as a whole)."""
    with staged_folder(directory) as staging:
        for i, model in enumerate(models):
            model.save(staging / f"fold_{i}")


def load_fold_models(directory: Path) -> list[TabularModel | EnsembleModel]:
    """The fold models written by :func:`save_fold_models`, in fold order (ensembles too)."""
    folders = sorted(directory.glob("fold_*"), key=lambda p: int(p.name.removeprefix("fold_")))
    if not folders:
        raise FoldwiseError(f"{directory}: no fold models; run dvc repro so train writes them")
    return [load_model(folder) for folder in folders]
