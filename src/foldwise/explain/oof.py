"""The out-of-fold rows explain works on: which rows, their scores and loss, their SHAP table.

``reports/train/oof_predictions.parquet`` says which fold held each training row out; only those
rows are explained by a model that did not see them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from foldwise.artifacts import id_columns, with_ids
from foldwise.errors import FoldwiseError
from foldwise.explain.attribution import Attribution
from foldwise.explain.segments import row_loss
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.training.data import TrainingData

MIN_ROWS = 50
LOSS_NAMES = {False: "log loss of the true class", True: "squared error"}


def sample_rows(validated: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """At most ``max_rows`` of the out-of-fold rows, drawn with ``seed``, in row order."""
    rng = np.random.default_rng(seed)
    n_sample = min(max_rows, len(validated))
    return np.sort(rng.choice(validated, size=n_sample, replace=False))


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


def out_of_fold_rows(
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


def out_of_fold_loss(
    oof: pd.DataFrame, data: TrainingData, validated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold scores, per-row loss: NaN on rows no fold model held out)."""
    scores = oof_scores(oof, data)
    loss = np.full(len(data.y), np.nan)
    loss[validated] = row_loss(data.problem.task, data.y[validated], scores[validated])
    return scores, loss


def oof_shap_table(
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
