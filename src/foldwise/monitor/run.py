"""``foldwise monitor``: read production rows, judge every period, write the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from foldwise.bundle import Bundle
from foldwise.config import Config
from foldwise.errors import FoldwiseError
from foldwise.labels import combine, read_labels
from foldwise.monitor.drift import compare_counts, feature_drift, quality_findings
from foldwise.monitor.performance import (
    drop_against,
    estimate,
    metric_names,
    realized,
    residuals_by_feature,
)
from foldwise.monitor.policy import exit_code, judge
from foldwise.monitor.read import Observed, read_batches, read_log

MIN_LABELLED = 30  # fewer labelled rows in a period: realized performance is not computed
INTERVAL_ALPHA = 0.05  # realized and estimated performance get 95 % intervals


def load_monitored_bundle(model_dir: Path) -> Bundle:
    """The bundle, which must carry a reference profile."""
    bundle = Bundle.load(model_dir)
    if bundle.reference is None:
        raise FoldwiseError(
            f"{model_dir}: the bundle has no reference.json (trained before monitoring "
            "existed); run dvc repro to retrain it"
        )
    return bundle


def observe(
    inputs: list[Path],
    bundle: Bundle,
    period: str,
    labels_paths: list[Path],
    time_column: str = "ts",
) -> Observed:
    """Read the prediction log (one folder) or CSV/Parquet batches (files)."""
    if not inputs:
        raise FoldwiseError("monitor: no input; give the prediction log folder or batch files")
    for path in inputs:
        if not path.exists():
            raise FoldwiseError(
                f"{path}: not found; expected a prediction log folder or a batch file"
            )
    labels = None
    if labels_paths:
        ids = (bundle.reference or {}).get("id_columns") or []
        labels = combine([read_labels(path, bundle.problem.target, ids) for path in labels_paths])
    folders = [p for p in inputs if p.is_dir()]
    if folders:
        if len(inputs) > 1:
            raise FoldwiseError(
                f"{folders[0]}: a prediction log folder must be the only input (got {len(inputs)})"
            )
        return read_log(inputs[0], bundle, period, labels)
    return read_batches(inputs, bundle, period, labels, time_column)


def _performance(
    stats_: Any,
    labelled: Any,
    bundle: Bundle,
    config: Config,
    seed: int,
) -> dict[str, Any]:
    reference = bundle.reference
    assert reference is not None
    task, primary = bundle.problem.task, bundle.problem.metric
    cv = reference["performance"]["cv"]
    cfg = config.monitor
    alpha = INTERVAL_ALPHA
    est = estimate(stats_, task, cfg.bootstrap_samples, alpha, seed)
    judged = primary if primary in est else next(iter(est), None)
    out: dict[str, Any] = {
        "cv": {m: cv[m] for m in metric_names(task, primary) if m in cv},
        "estimated": est,
        "estimated_drop": drop_against(
            est.get(judged) if judged else None,
            cv.get(judged) if judged else None,
            judged or primary,
            cfg.performance_drop,
        ),
        "labelled_rows": 0 if labelled is None else len(labelled),
    }
    if labelled is not None and len(labelled) >= MIN_LABELLED:
        real = realized(
            labelled,
            task,
            metric_names(task, primary),
            bundle.threshold,
            cfg.bootstrap_samples,
            alpha,
            seed,
        )
        out["realized"] = real
        out["realized_drop"] = drop_against(
            real.get(primary), cv.get(primary), primary, cfg.performance_drop
        )
        out["agreement"] = {
            m: bool(est[m]["low"] <= real[m]["estimate"] <= est[m]["high"])
            for m in est
            if m in real and est[m]["low"] is not None
        }
        if task == "binary":
            out["residuals"] = residuals_by_feature(labelled, reference, cfg.alpha)
    return out


def summarise(
    observed: Observed, bundle: Bundle, config: Config, period: str, seed: int = 0
) -> dict:
    """Per-period quality, drift, performance and verdict, plus the run's headline."""
    reference = bundle.reference
    assert reference is not None
    periods = []
    for i, stats_ in enumerate(observed.periods):
        quality = [
            finding
            for name, profile in reference["features"].items()
            for finding in quality_findings(
                name, profile, stats_.features[name], config.monitor, len(reference["features"])
            )
        ]
        labelled = None
        if observed.labelled is not None:
            rows = observed.labelled[observed.labelled["period"] == stats_.label]
            labelled = rows if len(rows) else None
        entry: dict[str, Any] = {
            "period": stats_.label,
            "rows": stats_.rows,
            "quality": quality,
            "drift": feature_drift(stats_.features, reference, config.monitor),
            "prediction_drift": None
            if stats_.prediction is None
            else compare_counts(reference["prediction"], stats_.prediction, 1, config.monitor),
            "performance": _performance(stats_, labelled, bundle, config, seed + i),
        }
        entry["verdict"] = judge(entry, i + 1, config)
        periods.append(entry)
    first = next((p["period"] for p in periods if p["verdict"]["status"] == "retrain"), None)
    return {
        "source": observed.source,
        "period": period,
        "task": bundle.problem.task,
        "primary_metric": bundle.problem.metric,
        "model": bundle.metadata.get("model_name"),
        "reference_rows": reference["rows"],
        "schema_findings": observed.findings,
        "labels": observed.label_summary,
        "policy": {"monitor": config.monitor.model_dump(), "retrain": config.retrain.model_dump()},
        "periods": periods,
        "first_retrain_period": first,
        "exit_code": exit_code(periods),
    }


def plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def monitor(
    inputs: list[Path],
    *,
    model_dir: Path,
    labels_paths: list[Path],
    period: str,
    out: Path,
    config: Config,
    time_column: str = "ts",
    seed: int = 0,
    registry_root: Path | None = None,
) -> dict[str, Any]:
    """Read, judge and write the reports; the summary carries the exit code.

    The bundle is named as in the prediction log: its registered version found in the
    registry at ``registry_root`` (if any) and its content hash.
    """
    from foldwise.monitor.report import write_reports
    from foldwise.production.registry import registered_name

    bundle = load_monitored_bundle(model_dir)
    observed = observe(inputs, bundle, period, labels_paths, time_column)
    summary = plain(summarise(observed, bundle, config, period, seed))
    summary["bundle"] = registered_name(bundle, registry_root)
    summary["report"] = str(write_reports(summary, out))
    return summary
