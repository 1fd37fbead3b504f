"""``foldwise shadow-report``: primary versus shadow on the logged rows, and on labels joined later."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

from foldwise.artifacts import ID_PREFIX
from foldwise.errors import FoldwiseError, quoted
from foldwise.evaluation import paired_bootstrap
from foldwise.labels import Labels, row_keys
from foldwise.labels import read_labels as labels_file
from foldwise.markdown import cell
from foldwise.problem import Problem
from foldwise.serve.log import model_file, recover

LOG_COLUMNS = [
    "request_id",
    "row",
    "id",
    "ts",
    "model_version",
    "prediction",
    "value",
    "proba",
    "shadow_model_version",
    "shadow_prediction",
    "shadow_value",
    "shadow_proba",
]


def read_log(root: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The prediction log's rows (after compacting segments left by a dead server)."""
    if not root.is_dir():
        raise FoldwiseError(f"{root}: no such prediction log folder")
    recover(root)
    dataset = ds.dataset(root, format="parquet", partitioning="hive")
    if not dataset.files:
        raise FoldwiseError(f"{root}: the prediction log holds no Parquet parts yet")
    ids = [name for name in dataset.schema.names if name.startswith(ID_PREFIX)]
    return dataset.to_table(columns=columns or [*LOG_COLUMNS, *ids]).to_pandas()


def model_description(root: Path, version: str) -> dict[str, Any]:
    """The problem, threshold and features a server recorded for ``version``."""
    path = model_file(root, version)
    if not path.is_file():
        raise FoldwiseError(f"{path}: missing; the log does not describe model {version!r}")
    return json.loads(path.read_text())


def read_labels(path: Path, target: str, id_columns: list[str] | None = None) -> Labels:
    """A labels file keyed as :mod:`foldwise.labels` describes (model ids or ``id``)."""
    if not path.is_file():
        raise FoldwiseError(f"--labels {path}: no such file")
    try:
        return labels_file(path, target, id_columns or [])
    except FoldwiseError as exc:
        raise FoldwiseError(f"--labels {exc}") from None


def _differences(diff: np.ndarray) -> dict[str, float]:
    size = np.abs(diff)
    return {
        "mean": float(diff.mean()),
        "mean_abs": float(size.mean()),
        "p95_abs": float(np.quantile(size, 0.95)),
        "max_abs": float(size.max()),
    }


def _verdict(test: dict[str, Any], alpha: float) -> str:
    low, high = test["low"], test["high"]
    if low is None or high is None:
        return "not testable"
    if low > 0 or high < 0:
        shadow_better = (low > 0) == bool(test["greater_is_better"])
        return "shadow better" if shadow_better else "primary better"
    return f"within noise (at alpha {alpha})"


def compare_pair(
    rows: pd.DataFrame,
    problem: Problem,
    thresholds: tuple[float, float],
    labels: Labels | None,
    *,
    alpha: float,
    n_samples: int,
) -> dict[str, Any]:
    """Agreement and score differences of one (primary, shadow) pair; a paired test on labels."""
    out: dict[str, Any] = {"rows": len(rows), "requests": int(rows["request_id"].nunique())}
    if problem.task == "regression":
        out["value_difference"] = _differences(
            rows["shadow_value"].to_numpy(float) - rows["value"].to_numpy(float)
        )
    else:
        out["agreement"] = float((rows["prediction"] == rows["shadow_prediction"]).mean())
        proba = np.vstack(list(rows["proba"].to_numpy()))
        shadow = np.vstack(list(rows["shadow_proba"].to_numpy()))
        if problem.task == "binary":
            out["positive_probability_difference"] = _differences(shadow[:, 1] - proba[:, 1])
        else:
            out["total_variation_distance"] = _differences(0.5 * np.abs(shadow - proba).sum(1))
    if labels is None:
        return out
    absent = [c for c in labels.log_columns if c not in rows.columns]
    if absent:
        raise FoldwiseError(
            f"the prediction log has no column(s) {quoted(absent)} to join the labels on "
            f"({labels.describe()}); label it by 'id', the id the server answered with"
        )
    rows = rows.assign(key=row_keys(rows, labels.log_columns))
    keyed = rows[rows["key"].notna()]
    latest = keyed.sort_values("ts").drop_duplicates("key", keep="last")
    joined = latest.merge(labels.frame, on="key", how="inner")
    out["labelled"] = {
        "rows": len(joined),
        "scored_ids": len(latest),
        "duplicate_ids": len(keyed) - len(latest),
    }
    if len(joined) < 2:
        out["labelled"]["note"] = "fewer than 2 logged ids have a label; no test"
        return out
    y = problem.encode(joined["label"])
    if problem.task == "regression":
        a, b = joined["value"].to_numpy(float), joined["shadow_value"].to_numpy(float)
    else:
        a = np.vstack(list(joined["proba"].to_numpy()))
        b = np.vstack(list(joined["shadow_proba"].to_numpy()))
    test = paired_bootstrap(
        problem.metric,
        y,
        a,
        b,
        n_samples=n_samples,
        seed=0,
        threshold_a=thresholds[0],
        threshold_b=thresholds[1],
        alpha=alpha,
    )
    out["labelled"]["test"] = test
    out["labelled"]["verdict"] = _verdict(test, alpha)
    return out


def _threshold(description: dict[str, Any]) -> float:
    value = description.get("threshold")
    return 0.5 if value is None else float(value)


def shadow_report_for(
    log: Path, labels_path: Path | None, *, alpha: float = 0.05, n_samples: int = 1000
) -> dict[str, Any]:
    """The shadow comparison of every (primary, shadow) pair found in the log."""
    if not 0 < alpha < 1:
        raise FoldwiseError(f"--alpha {alpha}: expected a value between 0 and 1")
    if n_samples < 1:
        raise FoldwiseError(f"--bootstrap-samples {n_samples}: expected at least 1")
    rows = read_log(log)
    rows = rows[rows["shadow_model_version"].notna()]
    if rows.empty:
        raise FoldwiseError(f"{log}: no logged row was scored by a shadow model")
    pairs = []
    for (primary, shadow), group in rows.groupby(["model_version", "shadow_model_version"]):
        first = model_description(log, str(primary))
        second = model_description(log, str(shadow))
        problem = Problem.from_dict(first["problem"])
        ids = first.get("id_columns") or ([first["id_column"]] if first.get("id_column") else [])
        labels = None if labels_path is None else read_labels(labels_path, problem.target, ids)
        result = compare_pair(
            group[group["shadow_value"].notna()],
            problem,
            (_threshold(first), _threshold(second)),
            labels,
            alpha=alpha,
            n_samples=n_samples,
        )
        pairs.append({"primary": primary, "shadow": shadow, "task": problem.task, **result})
    return {
        "log": str(log),
        "labels": None if labels_path is None else str(labels_path),
        "pairs": pairs,
    }


def render_text(report: dict[str, Any]) -> str:
    """The report as lines for a terminal."""
    lines = []
    for pair in report["pairs"]:
        lines.append(
            f"primary {pair['primary']} vs shadow {pair['shadow']} ({pair['task']}): "
            f"{pair['rows']} rows in {pair['requests']} requests"
        )
        if "agreement" in pair:
            lines.append(f"  agreement of predicted labels: {pair['agreement']:.2%}")
        for key in (
            "positive_probability_difference",
            "total_variation_distance",
            "value_difference",
        ):
            if key in pair:
                d = pair[key]
                lines.append(
                    f"  {key.replace('_', ' ')} (shadow - primary): mean {d['mean']:+.4f}, "
                    f"mean |.| {d['mean_abs']:.4f}, p95 |.| {d['p95_abs']:.4f}, max |.| {d['max_abs']:.4f}"
                )
        labelled = pair.get("labelled")
        if labelled is None:
            lines.append("  no labels given (--labels FILE with the ids and the target)")
        elif "test" not in labelled:
            lines.append(f"  labels joined: {labelled['rows']} rows; {labelled['note']}")
        else:
            t = labelled["test"]
            lines.append(
                f"  labels joined: {labelled['rows']} rows; {t['metric']} primary {_num(t['a'])}, "
                f"shadow {_num(t['b'])}, difference {_num(t['estimate'], '+.4f')} "
                f"[{_num(t['low'], '+.4f')}, {_num(t['high'], '+.4f')}] "
                f"(paired bootstrap, p = {_num(t['p_value'], '.3f')}): {labelled['verdict']}"
            )
    return "\n".join(lines)


def _num(value: float | None, spec: str = ".4f") -> str:
    return cell(value, spec)  # four decimals unless a line asks for other digits
