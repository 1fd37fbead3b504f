"""The explain stage's computation: from the training run, bundle, fold models and OOF predictions.

Everything here is computed on training rows: either rows the fold model did not see (out of
fold) or the final model on training rows; the result says which. The test table is never read.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from foldwise.bundle import Bundle
from foldwise.config import Config
from foldwise.explain.attribution import output_names
from foldwise.explain.checks import failing_conditions, robustness_report, weak_segments_with_metric
from foldwise.explain.importances import (
    check_suspects,
    compute_importances,
    disagreements,
    feature_table,
    rank_correlations,
    suspects_in_top,
)
from foldwise.explain.mistakes import worst_mistakes
from foldwise.explain.oof import (
    LOSS_NAMES,
    oof_shap_table,
    out_of_fold_loss,
    out_of_fold_rows,
    sample_rows,
)
from foldwise.explain.result import Explanation
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.training.data import TrainingData

__all__ = ["Explanation", "run_explain"]


def run_explain(
    config: Config,
    data: TrainingData,
    ids: list[str],
    bundle: Bundle,
    fold_models: Sequence[TabularModel | EnsembleModel],
    oof: pd.DataFrame,
) -> Explanation:
    """Global SHAP, agreement, suspects, worst mistakes, weak segments and robustness.

    OpenMP runs single-threaded here: explain makes many small predictions, for which
    scikit-learn's threads only spin (very slow on a busy machine); CatBoost keeps its own.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return _run_explain(config, data, ids, bundle, fold_models, oof)


def _run_explain(
    config: Config,
    data: TrainingData,
    ids: list[str],
    bundle: Bundle,
    fold_models: Sequence[TabularModel | EnsembleModel],
    oof: pd.DataFrame,
) -> Explanation:
    cfg, problem, seed = config.explain, data.problem, config.seed
    suspects, unused_suspects = check_suspects(config, data)
    fold_of_row, validated = out_of_fold_rows(oof, data, fold_models)
    sample = sample_rows(validated, cfg.max_rows, seed)
    kinds = {str(f["name"]): str(f["kind"]) for f in data.features}
    features = list(kinds)
    model = bundle.model
    outputs = output_names(model, [str(c) for c in problem.classes or ()], problem.target)
    X_sample = data.X.iloc[sample].reset_index(drop=True)
    imp = compute_importances(config, data, bundle, fold_models, sample, fold_of_row, outputs)
    final, importance, fold_attr = imp.final, imp.final.mean_abs(), imp.fold_attr
    fold_importance, linear_importance, perm_mean = imp.fold, imp.linear, imp.permutation
    name = bundle.metadata.get("model_name", model.name)
    statements = disagreements(model, name, features, importance, linear_importance, perm_mean)
    top_k = min(cfg.top_k, len(features))
    flagged_suspects = suspects_in_top(suspects, features, importance, top_k)
    scores, loss = out_of_fold_loss(oof, data, validated)
    worst = worst_mistakes(
        data, ids, scores, loss, fold_of_row, fold_models, outputs, n_worst=cfg.worst_rows, seed=seed
    )  # fmt: skip
    threshold = 0.5 if bundle.threshold is None else float(bundle.threshold)
    segments = weak_segments_with_metric(config, data, validated, features, loss, scores, threshold)
    robust = robustness_report(config, data, model, X_sample, threshold)
    feature_rows = feature_table(data, importance, fold_importance, linear_importance, perm_mean)
    failing = failing_conditions(cfg.fail_on, flagged_suspects, segments, statements, top_k)
    summary = {
        "model": name,
        "task": problem.task,
        "method": final.method,
        "units": final.units,
        "rows_explained": len(final.values),
        "rows_out_of_fold": len(validated),
        "top_features": [
            {"feature": r["feature"], "importance": r["importance"]} for r in feature_rows[:top_k]
        ],
        "rank_correlation": rank_correlations(model, importance, linear_importance, perm_mean),
        "investigate": len(statements),
        "suspect_flagged": [s["feature"] for s in flagged_suspects],
        "weak_segments": len(segments["flagged"]),
        "worst_segment_loss_ratio": segments["flagged"][0]["loss_ratio"]
        if segments["flagged"]
        else None,
        "robustness": {"flip_share": robust["flip_share"], "moved_share": robust["moved_share"]},
        "passed": not failing,
    }
    details = {
        **summary,
        "note": final.note,
        "fold_notes": sorted({a.note for a in fold_attr if a is not None and a.note}),
        "linear_note": imp.linear_note,
        "top_k": top_k,
        "features": feature_rows,
        "investigate_statements": statements,
        "suspects": {
            "checked": list(config.explain.suspect_columns),
            "flagged": flagged_suspects,
            "not_features": unused_suspects,
        },
        "segments": dict(segments),
        "robustness": robust,
        "worst": {"rows": len(worst), "loss": LOSS_NAMES[problem.task == "regression"]},
        "failing": failing,
    }
    oof_shap = oof_shap_table(data, ids, fold_attr, fold_of_row)
    return Explanation(
        summary, details, final, X_sample, fold_importance, worst, oof_shap, kinds, failing
    )
