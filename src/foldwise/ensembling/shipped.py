"""The model the train stage ships, one model or an ensemble, with its cross-validation.

:func:`train_model` returns the same :class:`TrainedModel` either way, so the train stage
writes one kind of report: out-of-fold predictions, per-fold scores, fold models (for
explain) and the final model. An ensemble's out-of-fold predictions are the weighted blend of
its members' on the run's folds, and its fold models are the members' fold models with the
same weights; those weights were chosen on these same out-of-fold rows, so its CV score is
optimistic (the nested estimate of the tune stage is the honest one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from foldwise.config import Config
from foldwise.ensembling.procedure import fit_ensemble, selection_report
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.training.crossval import cross_validate, cv_rounds, fold_scores, mean_learning_curve
from foldwise.training.data import TrainingData
from foldwise.training.fitting import fit_final, model_for


@dataclass(frozen=True)
class TrainedModel:
    """What the train stage writes, for one model or an ensemble."""

    name: str
    model: TabularModel | EnsembleModel
    settings: dict[str, Any]  # the model's settings; an ensemble's: per member
    oof: np.ndarray
    fold_of_row: np.ndarray
    fold_scores: list[dict[str, float]]
    fold_models: list[TabularModel | EnsembleModel]
    best_iteration: int | None
    fold_best_iterations: list[int | None]
    learning_curve: dict[str, Any] | None
    seconds: dict[str, float]
    ensemble: dict[str, Any] | None = None  # reports/train/ensemble.json
    cv_seconds: float = 0.0
    fit_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def validated(self) -> np.ndarray:
        return self.fold_of_row >= 0

    @property
    def primary_metric(self) -> str:
        """The selection metric (each fold's scores start with it)."""
        return next(iter(self.fold_scores[0]))


def train_single(
    name: str, settings: dict[str, Any], data: TrainingData, folds: list, config: Config
) -> TrainedModel:
    """Cross-validate one model on the folds, then fit it once on all rows.

    A boosting model's final fit trains the mean of the rounds its folds' early stopping found
    (as every ensemble member does). The learning curve is the folds' early-stopping curves
    averaged round by round: out-of-fold validation loss, not the final fit's (which has no
    held-out rows).
    """
    model = model_for(name, data, config, settings)
    run = cross_validate(model, data, folds, config, name, keep_models=True)
    fitted, final = fit_final(name, settings, cv_rounds(run), data, config)
    return TrainedModel(
        name=name,
        model=fitted,
        settings=settings,
        oof=run.oof,
        fold_of_row=run.fold_of_row,
        fold_scores=run.fold_scores,
        fold_models=list(run.models),
        best_iteration=final.rounds,
        fold_best_iterations=run.best_iterations,
        learning_curve=mean_learning_curve(run.learning_curves),
        seconds={f"cv ({len(folds)} folds)": run.seconds, "final fit": final.seconds},
        cv_seconds=run.seconds,
        fit_seconds=final.seconds,
    )


def train_ensemble(
    settings: Mapping[str, dict[str, Any]], data: TrainingData, folds: list, config: Config
) -> TrainedModel:
    """Members cross-validated on the folds, weights on their out-of-fold blend, final fits."""
    fit = fit_ensemble(data, folds, config, settings, keep_models=True)
    names, weights = fit.selection.names, fit.selection.weights
    fold_of_row = fit.runs[names[0]].fold_of_row
    scores = []
    for i, (_, val_idx) in enumerate(folds):
        rows = np.asarray(val_idx)
        scores.append(fold_scores(data.problem, data.y[rows], fit.oof[rows]))
        assert np.all(fold_of_row[rows] == i)
    fold_models: list[TabularModel | EnsembleModel] = [
        EnsembleModel(
            [fit.runs[n].models[i] for n, w in zip(names, weights, strict=True) if w > 0],
            [w for w in weights if w > 0],
        )
        for i in range(len(folds))
    ]
    report = {
        **selection_report(fit.selection),
        "note": "the weights were chosen on these same out-of-fold rows, so the ensemble's "
        "out-of-fold score is optimistic; the honest figure is the nested estimate "
        "(reports/tune/nested_cv.json), which repeats the whole selection inside each outer fold",
        "member_cv_seconds": {n: r.seconds for n, r in fit.runs.items()},
        "member_fold_rounds": {n: r.best_iterations for n, r in fit.runs.items()},
        "final_fits": [
            {"member": f.name, "rounds": f.rounds, "seconds": f.seconds} for f in fit.fits
        ],
        "settings": {n: dict(s) for n, s in settings.items()},
    }
    return TrainedModel(
        name="ensemble",
        model=fit.model,
        settings={n: dict(s) for n, s in settings.items()},
        oof=fit.oof,
        fold_of_row=fold_of_row,
        fold_scores=scores,
        fold_models=fold_models,
        best_iteration=None,
        fold_best_iterations=[None] * len(folds),
        learning_curve=None,
        seconds={
            f"cv ({len(folds)} folds x {len(names)} members)": fit.cv_seconds,
            "final fit": fit.fit_seconds,
        },
        ensemble=report,
        cv_seconds=fit.cv_seconds,
        fit_seconds=fit.fit_seconds,
    )
