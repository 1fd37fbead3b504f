"""The training run every training-side stage starts from.

A stage that fits models (baseline, tune, train, explain) first loads its run here:
:func:`load_training_run` validates params.yaml, reads the prepared training table and
makes the fixed cross-validation folds every model of the run is scored on. The run holds
the table split into features and encoded target (:class:`TrainingData`); :func:`take_rows`
cuts a part of it and :func:`derive_seed` gives each fold or trial its own reproducible seed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from foldwise.artifacts import read_parquet_checked, read_schema
from foldwise.config import Config, read_config
from foldwise.cv import make_folds
from foldwise.model_settings import check_model_settings
from foldwise.models import feature_frame
from foldwise.paths import ProjectPaths
from foldwise.problem import Problem


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
