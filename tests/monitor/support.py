"""A small churn bundle with its reference profile, trained in-process (no DVC) for monitor tests.

It follows the train stage: prepare the demo table, cross-validate for out-of-fold
predictions, fit the final model with early stopping, build the reference profile.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from foldwise.bundle import Bundle
from foldwise.config import parse_config
from foldwise.evaluation import cv_summary
from foldwise.monitor.reference import build_reference, importances_of
from foldwise.prepare import prepare_tables
from foldwise.training import (
    cross_validate,
    derive_seed,
    fit_with_early_stopping,
    folds_for,
    model_for,
    predict_scores,
    training_data,
)

PARAMS = {
    "data": {
        "source": "data/raw/churn.csv",
        "target": "churned",
        "id_columns": ["customer_id"],
        "drop_columns": ["account_closure_fee"],
    },
    "problem": {"positive_label": "Yes"},
    "cv": {"folds": 3},
    "model": {"catboost": {"iterations": 300, "learning_rate": 0.1, "depth": 4}},
}


def train_churn_bundle(root: Path, table: Path) -> Path:
    """Train on ``table`` (copied to ``root/data/raw/churn.csv``); write the bundle ``root/model``."""
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    shutil.copy(table, root / "data" / "raw" / "churn.csv")
    return train_bundle(root, PARAMS)


def train_bundle(root: Path, params: dict) -> Path:
    """Train the table ``params`` names (under ``root``) as the train stage does; save the bundle."""
    config = parse_config(params)
    prepared = prepare_tables(config, root)
    data = training_data(prepared.train, prepared.schema)
    folds = folds_for(data, config)
    model = model_for("catboost", data, config)
    run = cross_validate(model, data, folds, config, "catboost")
    final = fit_with_early_stopping(
        model, data.frame, data.X, data.y, config=config, task=data.problem.task,
        seed=derive_seed(config.seed, len(folds)),
    )  # fmt: skip
    summary = cv_summary(run.fold_scores)
    problem = data.problem
    bundle = Bundle(
        model=final.model,
        problem=problem,
        features=data.features,
        threshold=0.3 if data.problem.task == "binary" else None,
        metadata={"model_name": "catboost", "train_sha256": prepared.schema["train_sha256"]},
        reference=build_reference(
            data.X,
            data.features,
            task=problem.task,
            classes=None if problem.classes is None else list(problem.classes),
            oof=run.oof,
            y=data.y,
            cv=summary,
            primary_metric=problem.metric,
            id_columns=list(config.data.id_columns),
            importances=importances_of(final.model),
            final=predict_scores(final.model, data.X, problem.task),
        ),
    )
    bundle.save(root / "model")
    return root / "model"
