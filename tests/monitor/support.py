"""A small churn bundle with its reference profile, trained in-process (no DVC) for monitor tests.

It prepares the table and calls the train stage's own function
(:func:`foldwise.train_stage.train`): cross-validation, the threshold chosen out of fold, the
final fit and the reference profile are exactly the stage's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from foldwise.config import parse_config
from foldwise.prepare import prepare_tables
from foldwise.train_stage import TrainInputs, TunedParams, train
from foldwise.training.data import training_run

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
    """Train the table ``params`` names (under ``root``) with the train stage's function.

    No tune stage and no baselines: the model is ``model.<name>`` of ``params`` as it is.
    """
    config = parse_config(params)
    prepared = prepare_tables(config, root)
    run = training_run(config, prepared.schema, prepared.train)
    result = train(TrainInputs(run, TunedParams.untuned(config)))
    result.bundle.save(root / "model")
    return root / "model"
