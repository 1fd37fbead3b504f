"""The worst out-of-fold mistakes, with each row's top SHAP contributions from its fold model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from foldwise.artifacts import id_columns, with_ids
from foldwise.explain.attribution import Attribution
from foldwise.explain.explainer import explain
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.training.data import TrainingData

TOP_CONTRIBUTIONS = 3


def _contributions(
    attr: Attribution, X: pd.DataFrame, output_of_row: np.ndarray, top: int
) -> list[list[tuple[str, Any, float]]]:
    """Per explained row: the ``top`` features by |SHAP| with value and SHAP (for one output)."""
    out = []
    for r, row in enumerate(attr.rows if attr.rows is not None else range(len(attr.values))):
        phi = attr.values[r, :, output_of_row[r]]
        order = np.argsort(-np.abs(phi))[:top]
        out.append(
            [(attr.features[j], show(X.iloc[row][attr.features[j]]), float(phi[j])) for j in order]
        )
    return out


def show(value: Any) -> str:
    """A feature value as a reader wants it: dates without a time, whole numbers without .0."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "(missing)"
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _output_index(task: str, y_codes: np.ndarray) -> np.ndarray:
    """Which explained output to show for a row: the true class (multiclass), else the only one."""
    return (
        y_codes.astype("int64") if task == "multiclass" else np.zeros(len(y_codes), dtype="int64")
    )


def worst_mistakes(
    data: TrainingData,
    ids: list[str],
    scores: np.ndarray,
    loss: np.ndarray,
    fold_of_row: np.ndarray,
    models: Sequence[TabularModel | EnsembleModel],
    outputs: list[str],
    *,
    n_worst: int,
    seed: int,
) -> pd.DataFrame:
    """The out-of-fold rows with the highest loss, ids as ``id:<column>``, top contributions."""
    problem = data.problem
    validated = np.flatnonzero(fold_of_row >= 0)
    worst = validated[np.argsort(-loss[validated], kind="stable")[:n_worst]]
    table = pd.DataFrame({"row": worst})
    table["fold"] = fold_of_row[worst]
    if problem.task == "regression":
        table["y_true"] = data.y[worst]
        table["y_pred"] = scores[worst]
    else:
        table["y_true"] = problem.decode(data.y[worst])
        table["y_pred"] = problem.decode(scores[worst].argmax(axis=1))
        table["p_true"] = scores[worst, data.y[worst]]
    table["loss"] = loss[worst]
    cells: dict[int, list[tuple[str, Any, float]]] = {}
    for i, model in enumerate(models):
        rows = worst[fold_of_row[worst] == i]
        if not len(rows):
            continue
        background = data.X.iloc[np.flatnonzero(fold_of_row != i)[:2000]]
        attr = explain(
            model,
            data.X.iloc[rows],
            background,
            outputs=outputs,
            target=problem.target,
            seed=seed + i,
        )
        picked = rows[attr.rows]
        attr.rows = picked
        for row, contrib in zip(
            picked,
            _contributions(
                attr, data.X, _output_index(problem.task, data.y[picked]), TOP_CONTRIBUTIONS
            ),
            strict=True,
        ):
            cells[int(row)] = contrib
    for t in range(TOP_CONTRIBUTIONS):
        table[f"top{t + 1}_feature"] = [
            cells.get(int(r), [])[t][0] if len(cells.get(int(r), [])) > t else None for r in worst
        ]
        table[f"top{t + 1}_value"] = [
            str(cells[int(r)][t][1]) if len(cells.get(int(r), [])) > t else None for r in worst
        ]
        table[f"top{t + 1}_shap"] = [
            cells[int(r)][t][2] if len(cells.get(int(r), [])) > t else np.nan for r in worst
        ]
    return with_ids(id_columns(data.frame, ids, worst), table)
