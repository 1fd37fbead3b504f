"""Renderers and writers of a :class:`~foldwise.train_stage.run.TrainResult`."""

from __future__ import annotations

from typing import Any

from foldwise.cv import folds_fingerprint
from foldwise.evaluation import better_if
from foldwise.paths import ProjectPaths
from foldwise.stage import close_live, open_live, write_json_atomic, write_parquet_atomic
from foldwise.train_stage.run import TrainResult
from foldwise.training.fold_models import save_fold_models


def metrics_report(result: TrainResult) -> dict[str, Any]:
    """``reports/train/metrics.json``: CV scores, margins over the baselines, the threshold."""
    run, trained, summary = result.run, result.trained, result.summary
    problem, folds = run.data.problem, run.folds
    report: dict[str, Any] = {
        "model": run.config.model.name,
        "task": problem.task,
        "primary_metric": problem.metric,
        "greater_is_better": problem.greater_is_better,
        "better_if": better_if(summary),
        "cv": summary,
        "folds": len(folds),
        "folds_fingerprint": folds_fingerprint(folds),
        # Rows fitted and scored per fold: the corrected resampled t-test of `foldwise
        # compare` needs the test/train ratio.
        "fold_rows": {
            "fit": [len(fit) for fit, _ in folds],
            "scored": [len(scored) for _, scored in folds],
        },
        "vs_baselines": result.margins,
        "threshold": None if result.threshold is None else result.threshold.info,
        "best_iteration": trained.best_iteration,
        "fold_best_iterations": trained.fold_best_iterations,
    }
    if trained.ensemble is not None:
        report["ensemble"] = {
            "members": trained.ensemble["members"],
            "weights": trained.ensemble["weights"],
            "optimistic": True,
            "note": trained.ensemble["note"],
        }
    budget = result.inputs.tuned.budget
    if budget is not None:
        report["time_budget"] = {**budget, "train": result.time_limit}
    return report


def ensemble_report(result: TrainResult) -> dict[str, Any]:
    """``reports/train/ensemble.json``; for one model it says that no ensemble was fitted."""
    if result.trained.ensemble is not None:
        return result.trained.ensemble
    name = result.run.config.model.name
    return {"ensemble": False, "model": name, "note": "model.name is not ensemble"}


def log_learning_curve(curve: dict[str, Any] | None, directory: str) -> None:
    """Training and validation loss per boosting round, as DVCLive step metrics."""
    live = open_live(directory)
    if curve:
        train_loss = curve.get("train") or []
        valid_loss = curve.get("validation") or []
        for step, value in enumerate(train_loss):
            live.log_metric("loss/train", float(value), plot=True)
            if step < len(valid_loss):
                live.log_metric("loss/validation", float(valid_loss[step]), plot=True)
            live.next_step()
    close_live(live)


def write_outputs(result: TrainResult, paths: ProjectPaths) -> None:
    """The bundle, the fold models, the out-of-fold table, the learning curve and the reports.

    Called only once every output is computed: a failing run leaves no bundle behind.
    """
    reports = paths.report_dir("train")
    result.bundle.save(paths.models_dir / "model")
    # The fold models let explain attribute out-of-fold predictions to the model that made them.
    save_fold_models(result.trained.fold_models, paths.models_dir / "folds")
    write_parquet_atomic(reports / "oof_predictions.parquet", result.oof)
    log_learning_curve(result.trained.learning_curve, str(reports / "live"))
    write_json_atomic(reports / "ensemble.json", ensemble_report(result))
    write_json_atomic(reports / "metrics.json", metrics_report(result))


def summary_lines(result: TrainResult) -> list[str]:
    """The stage's printed summary: the CV score, timings, threshold and margins."""
    trained, summary = result.trained, result.summary
    primary = trained.primary_metric
    threshold = result.threshold
    lines = [
        f"train {result.run.config.model.name}: {primary} {summary[primary]['mean']:.4f} ± "
        f"{summary[primary]['std']:.4f} (cv, {len(result.run.folds)} folds; "
        f"{trained.cv_seconds:.1f} s CV, {trained.fit_seconds:.1f} s final fit)"
        + ("" if threshold is None else f"; threshold {threshold.value:.3f}")
    ]
    if trained.ensemble is not None:
        lines += ensemble_lines(trained.ensemble)
    limit = result.time_limit
    if limit is not None:
        lines.append(
            f"  time budget: {limit['fit_s']:.0f} s for the fits; "
            + (
                f"{limit['stopped_by_time']} of {limit['boosting_fits']} boosting fits stopped "
                f"by the time limit (rounds {limit['stopped_at_rounds']})"
                if limit["stopped_by_time"]
                else f"no boosting fit reached its time limit ({limit['boosting_fits']} fits)"
            )
        )
    for base, margin in result.margins.items():
        if margin.get("comparable"):
            lines.append(
                f"  vs {base}: {margin['margin_mean']:+.4f} ± {margin['margin_std']:.4f}, "
                f"better on {margin['folds_better']}/{margin['folds']} folds"
            )
    return lines


def ensemble_lines(report: dict[str, Any]) -> list[str]:
    """The ensemble's weights and out-of-fold scores, one line per member."""
    metric = report["metric"]
    lines = [
        f"  ensemble out-of-fold {metric} {report['ensemble_oof_score']:.4f} (weights chosen on "
        f"these rows: optimistic; best member {report['best_member']} "
        f"{report['best_member_oof_score']:.4f})"
    ]
    for member in report["members"]:
        lines.append(
            f"    {member}: weight {report['weights'][member]:.3f}, out-of-fold {metric} "
            f"{report['member_oof_scores'][member]:.4f}"
        )
    return lines
