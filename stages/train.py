"""train: cross-validate the tuned model, pick the threshold out of fold, fit the final bundle."""

from __future__ import annotations

import pandas as pd

from foldwise.artifacts import prediction_table, read_json_checked
from foldwise.bundle import Bundle, library_versions
from foldwise.cv import folds_fingerprint
from foldwise.errors import FoldwiseError
from foldwise.evaluation import better_if, choose_threshold, cv_summary
from foldwise.hashing import params_sha256
from foldwise.monitor.reference import build_reference, importances_of
from foldwise.paths import ProjectPaths
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
    compare_to_baselines,
    cross_validate,
    derive_seed,
    fit_with_early_stopping,
    load_training_run,
    model_for,
    predict_scores,
    save_fold_models,
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


def main() -> dict[str, float]:
    paths = ProjectPaths.from_cwd()
    loaded = load_training_run(paths)
    config, schema, data, folds = loaded.config, loaded.schema, loaded.data, loaded.folds
    train, problem = data.frame, data.problem
    name = config.model.name
    tuned = read_json_checked(paths.best_params, ("model", "params"))
    baselines = read_json_checked(paths.report_dir("baseline") / "metrics.json", ("models",))
    if tuned["model"] != name:
        raise FoldwiseError(
            f"{paths.best_params}: tuned for model {tuned['model']!r} but model.name is "
            f"{name!r}; run dvc repro so the tune stage runs first"
        )
    settings = {**config.model.settings(), **tuned["params"]}
    model = model_for(name, data, config, settings)

    run = cross_validate(model, data, folds, config, name, keep_models=True)
    summary = cv_summary(run.fold_scores)
    primary = problem.metric

    threshold_info = None
    threshold = None
    if problem.task == "binary":
        seen = run.validated
        threshold_info = choose_threshold(
            data.y[seen],
            run.oof[seen, 1],
            objective=config.train.threshold,
            cost_fp=config.evaluate.cost.false_positive,
            cost_fn=config.evaluate.cost.false_negative,
        )
        # Rounded once, here: the bundle, the report and every later stage use the same digits.
        threshold = significant(threshold_info["threshold"])
        threshold_info["threshold"] = threshold

    final = fit_with_early_stopping(
        model,
        train,
        data.X,
        data.y,
        config=config,
        task=problem.task,
        seed=derive_seed(config.seed, len(folds)),
        labels=problem.classes,
    )
    baseline_file = paths.report_dir("baseline") / "metrics.json"
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
    fingerprint = folds_fingerprint(folds)
    if baselines.get("folds_fingerprint") != fingerprint:
        margins = {
            base: {"comparable": False, "reason": "baseline used other folds"} for base in margins
        }

    params_used = {
        "seed": config.seed,
        "model": config.model.model_dump(),
        "train": config.train.model_dump(),
        "cv": config.cv.model_dump(),
        "cost": config.evaluate.cost.model_dump(),
    }
    bundle = Bundle(
        model=final.model,
        problem=problem,
        features=data.features,
        threshold=threshold,
        metadata={
            "model_name": name,
            "settings": settings,
            "tuned_params": tuned["params"],
            "best_iteration": final.best_iteration,
            "train_sha256": schema["train_sha256"],
            "source_sha256": schema["source_sha256"],
            "params_sha256": params_sha256(params_used),
            "folds_fingerprint": fingerprint,
            "libraries": library_versions(),
            "id_columns": list(schema["id_columns"]),  # foldwise serve logs the first as `id`
        },
        input_schema=input_schema(train, data.features, f"{problem.target} model input row"),
        # What training rows and out-of-fold predictions looked like, for `foldwise monitor`.
        reference=build_reference(
            data.X,
            data.features,
            task=problem.task,
            classes=None if problem.classes is None else list(problem.classes),
            oof=run.oof,
            y=data.y,
            cv=summary,
            primary_metric=primary,
            id_columns=list(schema["id_columns"]),
            importances=importances_of(final.model, data.X),
            # The deployed model's own scores are the reference for production scores; a random
            # forest's in-sample scores are far too confident to stand for new rows.
            final=None
            if name == "random_forest"
            else predict_scores(final.model, data.X, problem.task),
        ),
    )
    own = {"fold": run.fold_of_row, "y_true": data.y}
    if problem.task == "regression":
        own["oof_prediction"] = run.oof
    else:
        for i, label in enumerate(problem.classes or ()):
            own[f"oof_proba_{label}"] = run.oof[:, i]
    oof = prediction_table(train, list(schema["id_columns"]), pd.DataFrame(own))

    report = {
        "model": name,
        "task": problem.task,
        "primary_metric": primary,
        "greater_is_better": problem.greater_is_better,
        "better_if": better_if(summary),
        "cv": summary,
        "folds": len(folds),
        "folds_fingerprint": fingerprint,
        # Rows fitted and scored per fold: the corrected resampled t-test of `foldwise
        # compare` needs the test/train ratio.
        "fold_rows": {
            "fit": [len(fit) for fit, _ in folds],
            "scored": [len(scored) for _, scored in folds],
        },
        "vs_baselines": margins,
        "threshold": threshold_info,
        "best_iteration": final.best_iteration,
        "fold_best_iterations": run.best_iterations,
    }
    # Written only now that every output is computed: a failing run leaves no bundle behind.
    bundle.save(paths.models_dir / "model")
    # The fold models let explain attribute out-of-fold predictions to the model that made them.
    save_fold_models(run.models, paths.models_dir / "folds")
    write_parquet_atomic(paths.report_dir("train") / "oof_predictions.parquet", oof)
    log_learning_curve(final.learning_curve, str(paths.report_dir("train") / "live"))
    write_json_atomic(paths.report_dir("train") / "metrics.json", report)
    print(
        f"train {name}: {primary} {summary[primary]['mean']:.4f} ± {summary[primary]['std']:.4f} "
        f"(cv, {len(folds)} folds; {run.seconds:.1f} s CV, {final.seconds:.1f} s final fit)"
        + ("" if threshold is None else f"; threshold {threshold:.3f}")
    )
    for base, margin in margins.items():
        if margin.get("comparable"):
            print(
                f"  vs {base}: {margin['margin_mean']:+.4f} ± {margin['margin_std']:.4f}, "
                f"better on {margin['folds_better']}/{margin['folds']} folds"
            )
    return {f"cv ({len(folds)} folds)": run.seconds, "final fit": final.seconds}


if __name__ == "__main__":
    run_stage(main)
