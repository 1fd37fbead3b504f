"""``foldwise explain ROWS.csv``: why the saved model predicts what it does for given raw rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.artifacts import id_columns, with_ids
from foldwise.bundle import Bundle
from foldwise.data import read_table
from foldwise.errors import FoldwiseError
from foldwise.explain.attribution import output_names
from foldwise.explain.explainer import explain
from foldwise.explain.mistakes import show
from foldwise.explain.plots import waterfall
from foldwise.models import feature_frame
from foldwise.models.ensemble import ENSEMBLE_NAME
from foldwise.stage import write_text_atomic

NEEDS_BACKGROUND = (
    "logistic_regression",
    "dummy",
    "random_forest",
    "extra_trees",
    "hist_gradient_boosting",
    ENSEMBLE_NAME,  # its members are explained against the same rows (permutation SHAP)
)


@dataclass
class RowsResult:
    """What the command wrote and printed."""

    table: pd.DataFrame
    csv: Path
    waterfall: Path
    lines: list[str]


def _background(path: Path, rows: pd.DataFrame, bundle: Bundle) -> pd.DataFrame:
    if bundle.model.name not in NEEDS_BACKGROUND:
        return rows  # native TreeSHAP needs no reference rows
    if not path.is_file():
        raise FoldwiseError(
            f"{path}: not found; the {bundle.model.name} model is explained against training rows "
            "that the explain stage writes (run `dvc repro explain`) or pass --background"
        )
    return feature_frame(pd.read_parquet(path), bundle.features)


def explain_rows(
    rows_path: Path,
    *,
    bundle_dir: Path,
    background: Path,
    out: Path,
    row: int = 0,
    top: int = 5,
) -> RowsResult:
    """Top contributions per row into ``out/contributions.csv`` and a waterfall PNG for one row."""
    if not rows_path.is_file():
        raise FoldwiseError(f"{rows_path}: file not found; expected a CSV or Parquet of raw rows")
    bundle = Bundle.load(bundle_dir)
    ids = [str(c) for c in bundle.metadata.get("id_columns") or []]
    raw = read_table(rows_path, text_columns=tuple(ids))  # ids stay text, as in training
    if not 0 <= row < len(raw):
        raise FoldwiseError(f"--row {row}: {rows_path} has rows 0 to {len(raw) - 1}")
    X = feature_frame(raw, bundle.features)
    problem = bundle.problem
    outputs = output_names(bundle.model, [str(c) for c in problem.classes or ()], problem.target)
    attr = explain(
        bundle.model,
        X.reset_index(drop=True),
        _background(background, X, bundle),
        outputs=outputs,
        target=problem.target,
        seed=0,
    )
    predictions = bundle.predict(raw).reset_index(drop=True)
    scores = bundle.predict_scores(raw)
    shown = (
        np.zeros(len(raw), dtype="int64")
        if problem.task != "multiclass"
        else np.asarray(scores).argmax(axis=1)
    )
    table = predictions.copy()
    table.insert(0, "row", np.arange(len(raw)))
    explained = {int(r): i for i, r in enumerate(attr.rows if attr.rows is not None else [])}
    lines = []
    contributions = []
    for r in range(len(raw)):
        if r not in explained:
            contributions.append("")
            continue
        phi = attr.values[explained[r], :, shown[r]]
        order = np.argsort(-np.abs(phi))[:top]
        parts = [
            f"{attr.features[j]}={show(X.iloc[r][attr.features[j]])} ({phi[j]:+.3g})" for j in order
        ]
        contributions.append("; ".join(parts))
        lines.append(
            f"row {r}: prediction {predictions['prediction'].iloc[r]}; " + "; ".join(parts)
        )
    table["explained_output"] = [attr.outputs[k] for k in shown]
    table["top_contributions"] = contributions
    # The bundle's id columns that the rows carry, as id:<column> (never mixed with own columns).
    table = with_ids(id_columns(raw, [c for c in ids if c in raw.columns]), table)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "contributions.csv"
    write_text_atomic(csv, table.to_csv(index=False))
    if row not in explained:
        raise FoldwiseError(f"--row {row} was not explained (the fallback explainer samples rows)")
    k = shown[row]
    values = attr.values[explained[row], :, k]
    what = attr.units if problem.task == "regression" else f"{attr.units} of {outputs[k]!r}"
    title = f"row {row}: {what}; prediction {predictions['prediction'].iloc[row]}"
    shown_values = [show(X.iloc[row][f]) for f in attr.features]
    png = out / f"waterfall_row{row}.png"
    waterfall(values, float(attr.base[k]), attr.features, shown_values, title, png)
    if attr.note:
        lines.append(f"note: {attr.note}")
    return RowsResult(table, csv, png, lines)
