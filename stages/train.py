"""train: cross-validate the tuned model, pick the threshold out of fold, fit the final bundle."""

from __future__ import annotations

from typing import Any

import pandas as pd

from foldwise.artifacts import prediction_table, read_json_checked
from foldwise.bundle import Bundle, library_versions
from foldwise.config import Config
from foldwise.cv import folds_fingerprint
from foldwise.ensembling.shipped import TrainedModel, train_ensemble, train_single
from foldwise.errors import FoldwiseError
from foldwise.evaluation import better_if, choose_threshold, cv_summary
from foldwise.hashing import params_sha256
from foldwise.monitor.reference import build_reference, importances_of
from foldwise.paths import ProjectPaths
from foldwise.problem import Problem
from foldwise.production.contract import input_schema
from foldwise.stage import (
    close_live,
    open_live,
    run_stage,
    significant,
    write_json_atomic,
    write_parquet_atomic,
)
from foldwise.training import (
    TrainingData,
    TrainingRun,
    compare_to_baselines,
    load_training_run,
    predict_scores,
    save_fold_models,
)

# Models whose in-sample scores are far too confident to stand for new rows.
IN_SAMPLE_OVERCONFIDENT = frozenset({"random_forest", "extra_trees"})


def print_ensemble(report: dict[str, Any]) -> None:
    """The ensemble's weights and out-of-fold scores, one line per member."""
    metric = report["metric"]
    print(
        f"  ensemble out-of-fold {metric} {report['ensemble_oof_score']:.4f} (weights chosen on "
        f"these rows: optimistic; best member {report['best_member']} "
        f"{report['best_member_oof_score']:.4f})"
    )
    for member in report["members"]:
        print(
            f"    {member}: weight {report['weights'][member]:.3f}, out-of-fold {metric} "
            f"{report['member_oof_scores'][member]:.4f}"
        )


def log_learning_curve(curve: dict | None, directory: str) -> None:
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


def tuned_settings(paths: ProjectPaths, config: Config) -> dict[str, dict[str, Any]]:
    """Settings per fitted model: ``model.<name>`` with the tune stage's params on top.

    An ensemble's members are those the tune stage kept (a time budget may drop some).
    """
    tuned = read_json_checked(paths.best_params, ("model", "params"))
    name = config.model.name
    if tuned["model"] != name:
        raise FoldwiseError(
            f"{paths.best_params}: tuned for model {tuned['model']!r} but model.name is "
            f"{name!r}; run dvc repro so the tune stage runs first"
        )
    if name != "ensemble":
        return {name: {**config.model.settings(name), **tuned["params"]}}
    members = tuned.get("members")
    if not isinstance(members, dict) or not members or set(members) - set(config.model.members):
        raise FoldwiseError(
            f"{paths.best_params}: its members do not match model.ensemble.members "
            f"{config.model.members}; run dvc repro so the tune stage runs first"
        )
    return {m: {**config.model.settings(m), **members[m]} for m in members}


def pick_threshold(
    trained: TrainedModel, data: TrainingData, config: Config
) -> tuple[dict[str, Any] | None, float | None]:
    """The binary decision threshold from out-of-fold predictions (None otherwise)."""
    if data.problem.task != "binary":
        return None, None
    seen = trained.validated
    info = choose_threshold(
        data.y[seen],
        trained.oof[seen, 1],
        objective=config.train.threshold,
        cost_fp=config.evaluate.cost.false_positive,
        cost_fn=config.evaluate.cost.false_negative,
    )
    # Rounded once, here: the bundle, the report and every later stage use the same digits.
    info["threshold"] = significant(info["threshold"])
    return info, info["threshold"]


def baseline_margins(
    paths: ProjectPaths, summary: dict[str, Any], problem: Problem, fingerprint: str
) -> dict[str, dict[str, Any]]:
    """Per-fold margins over the baselines (on the same folds only)."""
    baseline_file = paths.report_dir("baseline") / "metrics.json"
    baselines = read_json_checked(baseline_file, ("models",))
    primary = problem.metric
    try:
        baseline_folds = {
            base: report["cv"][primary]["values"] for base, report in baselines["models"].items()
        }
    except (KeyError, TypeError, AttributeError):
        raise FoldwiseError(
            f"{baseline_file}: no per-fold {primary} scores; run `dvc repro` to rebuild it"
        ) from None
    margins = compare_to_baselines(
        primary, problem.greater_is_better, summary[primary]["values"], baseline_folds
    )
    if baselines.get("folds_fingerprint") != fingerprint:
        margins = {
            base: {"comparable": False, "reason": "baseline used other folds"} for base in margins
        }
    return margins


def make_bundle(
    run: TrainingRun,
    trained: TrainedModel,
    tuned: dict[str, Any],
    summary: dict[str, Any],
    threshold: float | None,
) -> Bundle:
    """The bundle of the final model, its provenance and its reference profile."""
    config, schema, data = run.config, run.schema, run.data
    problem = data.problem
    params_used = {
        "seed": config.seed,
        "model": config.model.model_dump(),
        "train": config.train.model_dump(),
        "cv": config.cv.model_dump(),
        "cost": config.evaluate.cost.model_dump(),
    }
    return Bundle(
        model=trained.model,
        problem=problem,
        features=data.features,
        threshold=threshold,
        metadata={
            "model_name": config.model.name,
            "settings": trained.settings,
            "tuned_params": tuned.get("members", tuned["params"]),
            "best_iteration": trained.best_iteration,
            "train_sha256": schema["train_sha256"],
            "source_sha256": schema["source_sha256"],
            "params_sha256": params_sha256(params_used),
            "folds_fingerprint": folds_fingerprint(run.folds),
            "libraries": library_versions(),
            "id_columns": list(schema["id_columns"]),  # foldwise serve logs the first as `id`
        },
        input_schema=input_schema(data.frame, data.features, f"{problem.target} model input row"),
        # What training rows and out-of-fold predictions looked like, for `foldwise monitor`.
        reference=build_reference(
            data.X,
            data.features,
            task=problem.task,
            classes=None if problem.classes is None else list(problem.classes),
            oof=trained.oof,
            y=data.y,
            cv=summary,
            primary_metric=problem.metric,
            id_columns=list(schema["id_columns"]),
            importances=importances_of(trained.model, data.X),
            # The deployed model's own scores are the reference for production scores; a random
            # forest's in-sample scores are far too confident to stand for new rows.
            final=None
            if IN_SAMPLE_OVERCONFIDENT & set(config.model.members)
            else predict_scores(trained.model, data.X, problem.task),
        ),
    )


def oof_table(run: TrainingRun, trained: TrainedModel) -> pd.DataFrame:
    """Out-of-fold predictions with ids, fold and truth."""
    data = run.data
    own: dict[str, Any] = {"fold": trained.fold_of_row, "y_true": data.y}
    if data.problem.task == "regression":
        own["oof_prediction"] = trained.oof
    else:
        for i, label in enumerate(data.problem.classes or ()):
            own[f"oof_proba_{label}"] = trained.oof[:, i]
    return prediction_table(data.frame, list(run.schema["id_columns"]), pd.DataFrame(own))


def train_report(
    run: TrainingRun,
    trained: TrainedModel,
    summary: dict[str, Any],
    margins: dict[str, Any],
    threshold_info: dict[str, Any] | None,
    tuned: dict[str, Any],
) -> dict[str, Any]:
    """reports/train/metrics.json."""
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
        "vs_baselines": margins,
        "threshold": threshold_info,
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
    if tuned.get("budget") is not None:
        report["time_budget"] = tuned["budget"]
    return report


def print_result(
    name: str,
    summary: dict[str, Any],
    trained: TrainedModel,
    threshold: float | None,
    margins: dict[str, Any],
    folds: int,
) -> None:
    primary = trained.primary_metric
    print(
        f"train {name}: {primary} {summary[primary]['mean']:.4f} ± {summary[primary]['std']:.4f} "
        f"(cv, {folds} folds; {trained.cv_seconds:.1f} s CV, "
        f"{trained.fit_seconds:.1f} s final fit)"
        + ("" if threshold is None else f"; threshold {threshold:.3f}")
    )
    if trained.ensemble is not None:
        print_ensemble(trained.ensemble)
    for base, margin in margins.items():
        if margin.get("comparable"):
            print(
                f"  vs {base}: {margin['margin_mean']:+.4f} ± {margin['margin_std']:.4f}, "
                f"better on {margin['folds_better']}/{margin['folds']} folds"
            )


def main() -> dict[str, float]:
    paths = ProjectPaths.from_cwd()
    run = load_training_run(paths)
    config, data, folds = run.config, run.data, run.folds
    name = config.model.name
    settings = tuned_settings(paths, config)
    tuned = read_json_checked(paths.best_params, ("model", "params"))
    trained = (
        train_ensemble(settings, data, folds, config)
        if name == "ensemble"
        else train_single(name, settings[name], data, folds, config)
    )
    summary = cv_summary(trained.fold_scores)
    threshold_info, threshold = pick_threshold(trained, data, config)
    margins = baseline_margins(paths, summary, data.problem, folds_fingerprint(folds))
    bundle = make_bundle(run, trained, tuned, summary, threshold)
    oof = oof_table(run, trained)
    report = train_report(run, trained, summary, margins, threshold_info, tuned)
    # Written only now that every output is computed: a failing run leaves no bundle behind.
    bundle.save(paths.models_dir / "model")
    # The fold models let explain attribute out-of-fold predictions to the model that made them.
    save_fold_models(trained.fold_models, paths.models_dir / "folds")
    write_parquet_atomic(paths.report_dir("train") / "oof_predictions.parquet", oof)
    log_learning_curve(trained.learning_curve, str(paths.report_dir("train") / "live"))
    # Always written (a DVC output): for one model it says that no ensemble was fitted.
    write_json_atomic(
        paths.report_dir("train") / "ensemble.json",
        trained.ensemble
        if trained.ensemble is not None
        else {"ensemble": False, "model": name, "note": "model.name is not ensemble"},
    )
    write_json_atomic(paths.report_dir("train") / "metrics.json", report)
    print_result(name, summary, trained, threshold, margins, len(folds))
    return trained.seconds


if __name__ == "__main__":
    run_stage(main)
