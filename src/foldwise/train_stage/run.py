"""The train stage's work: cross-validate the tuned model, pick the threshold, fit the bundle.

:func:`train` coordinates; each phase is a named helper that returns a value
(:func:`fit_model`, :func:`pick_threshold`, :func:`baseline_margins`, :func:`make_bundle`,
:func:`oof_table`). Nothing here reads or writes a file: :mod:`foldwise.train_stage.inputs`
reads, :mod:`foldwise.train_stage.output` renders and writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from foldwise.artifacts import prediction_table
from foldwise.bundle import Bundle, library_versions
from foldwise.cv import folds_fingerprint
from foldwise.ensembling.shipped import TrainedModel, train_ensemble, train_single
from foldwise.evaluation import choose_threshold, cv_summary
from foldwise.hashing import params_sha256
from foldwise.profile.contract import input_schema
from foldwise.profile.reference import build_reference, importances_of
from foldwise.stage import significant
from foldwise.train_stage.budget import within_budget
from foldwise.train_stage.inputs import BaselineScores, TrainInputs
from foldwise.training.crossval import compare_to_baselines, predict_scores
from foldwise.training.data import TrainingRun

# Models whose in-sample scores are far too confident to stand for new rows.
IN_SAMPLE_OVERCONFIDENT = frozenset({"random_forest", "extra_trees"})


@dataclass(frozen=True)
class Threshold:
    """The binary decision threshold chosen out of fold, with how it was chosen."""

    value: float
    info: dict[str, Any]  # choose_threshold's report (objective, scores at the threshold)


@dataclass(frozen=True)
class TrainResult:
    """What the train stage produces; :mod:`foldwise.train_stage.output` writes it."""

    inputs: TrainInputs
    trained: TrainedModel  # the final model, out-of-fold predictions, fold models, timings
    summary: dict[str, dict[str, Any]]  # cv_summary of the per-fold scores
    threshold: Threshold | None  # binary only
    margins: dict[str, dict[str, Any]]  # per baseline: paired per-fold margins
    bundle: Bundle
    oof: pd.DataFrame  # out-of-fold predictions with ids, fold and truth
    time_limit: dict[str, Any] | None = None  # time_budget_s: what the fits' clock did

    @property
    def run(self) -> TrainingRun:
        return self.inputs.run

    @property
    def seconds(self) -> dict[str, float]:
        """The named parts' wall seconds (cross-validation, final fit)."""
        return self.trained.seconds


def fit_model(inputs: TrainInputs) -> tuple[TrainedModel, dict[str, Any] | None]:
    """Cross-validate the tuned model (or ensemble) on the run's folds; fit it on all rows.

    With ``time_budget_s`` the boosting fits stop at their share of the seconds the tune
    stage left (:mod:`foldwise.train_stage.budget`); the second value says what that did.
    """
    run = inputs.run
    config, data, folds = run.config, run.data, run.folds
    name = config.model.name
    settings = inputs.tuned.settings(config)

    def fit() -> TrainedModel:
        if name == "ensemble":
            return train_ensemble(settings, data, folds, config)
        return train_single(name, settings[name], data, folds, config)

    fraction = config.train.validation_size
    return within_budget(inputs.tuned.budget, list(settings), folds, len(data.y), fraction, fit)


def pick_threshold(trained: TrainedModel, run: TrainingRun) -> Threshold | None:
    """The binary decision threshold from out-of-fold predictions (None otherwise)."""
    data, config = run.data, run.config
    if data.problem.task != "binary":
        return None
    seen = trained.validated
    info = choose_threshold(
        data.y[seen],
        trained.oof[seen, 1],
        objective=config.train.threshold,
        cost_fp=config.evaluate.cost.false_positive,
        cost_fn=config.evaluate.cost.false_negative,
    )
    # Rounded once, here: the bundle, the report and every later stage use the same digits.
    info["threshold"] = significant(info["threshold"])
    return Threshold(info["threshold"], info)


def baseline_margins(
    baselines: BaselineScores | None, summary: dict[str, Any], run: TrainingRun
) -> dict[str, dict[str, Any]]:
    """Per-fold margins over the baselines (on the same folds only)."""
    if baselines is None:
        return {}
    problem = run.data.problem
    margins = compare_to_baselines(
        problem.metric,
        problem.greater_is_better,
        summary[problem.metric]["values"],
        dict(baselines.folds),
    )
    if baselines.folds_fingerprint != folds_fingerprint(run.folds):
        margins = {
            base: {"comparable": False, "reason": "baseline used other folds"} for base in margins
        }
    return margins


def make_bundle(
    inputs: TrainInputs,
    trained: TrainedModel,
    summary: dict[str, Any],
    threshold: Threshold | None,
) -> Bundle:
    """The bundle of the final model, its provenance and its reference profile."""
    run = inputs.run
    config, schema, data = run.config, run.schema, run.data
    problem = data.problem
    params_used = {
        "seed": config.seed,
        "model": config.model.model_dump(),
        "train": config.train.model_dump(),
        "cv": config.cv.model_dump(),
        "cost": config.evaluate.cost.model_dump(),
    }
    return Bundle(
        model=trained.model,
        problem=problem,
        features=data.features,
        threshold=None if threshold is None else threshold.value,
        metadata={
            "model_name": config.model.name,
            "settings": trained.settings,
            "tuned_params": inputs.tuned.recorded,
            "best_iteration": trained.best_iteration,
            "train_sha256": schema["train_sha256"],
            "source_sha256": schema["source_sha256"],
            "params_sha256": params_sha256(params_used),
            "folds_fingerprint": folds_fingerprint(run.folds),
            "libraries": library_versions(),
            "id_columns": list(schema["id_columns"]),  # foldwise serve logs the first as `id`
        },
        input_schema=input_schema(data.frame, data.features, f"{problem.target} model input row"),
        # What training rows and out-of-fold predictions looked like, for `foldwise monitor`.
        reference=build_reference(
            data.X,
            data.features,
            task=problem.task,
            classes=None if problem.classes is None else list(problem.classes),
            oof=trained.oof,
            y=data.y,
            cv=summary,
            primary_metric=problem.metric,
            id_columns=list(schema["id_columns"]),
            importances=importances_of(trained.model, data.X),
            # The deployed model's own scores are the reference for production scores; a random
            # forest's in-sample scores are far too confident to stand for new rows.
            final=None
            if IN_SAMPLE_OVERCONFIDENT & set(config.model.members)
            else predict_scores(trained.model, data.X, problem.task),
        ),
    )


def oof_table(run: TrainingRun, trained: TrainedModel) -> pd.DataFrame:
    """Out-of-fold predictions with ids, fold and truth."""
    data = run.data
    own: dict[str, Any] = {"fold": trained.fold_of_row, "y_true": data.y}
    if data.problem.task == "regression":
        own["oof_prediction"] = trained.oof
    else:
        for i, label in enumerate(data.problem.classes or ()):
            own[f"oof_proba_{label}"] = trained.oof[:, i]
    return prediction_table(data.frame, list(run.schema["id_columns"]), pd.DataFrame(own))


def train(inputs: TrainInputs) -> TrainResult:
    """Cross-validate, choose the threshold out of fold, compare to baselines, build the bundle.

    Every choice is made from the training rows of ``inputs`` (the test table is never
    read); the final model is one fit on all of them (boosting: the folds' mean rounds).
    """
    run = inputs.run
    trained, time_limit = fit_model(inputs)
    summary = cv_summary(trained.fold_scores)
    threshold = pick_threshold(trained, run)
    margins = baseline_margins(inputs.baselines, summary, run)
    bundle = make_bundle(inputs, trained, summary, threshold)
    return TrainResult(
        inputs=inputs,
        trained=trained,
        summary=summary,
        threshold=threshold,
        margins=margins,
        bundle=bundle,
        oof=oof_table(run, trained),
        time_limit=time_limit,
    )
