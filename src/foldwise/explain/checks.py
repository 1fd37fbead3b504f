"""Weak segments, robustness to perturbation, and which ``explain.fail_on`` conditions hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from foldwise.config import Config
from foldwise.explain.robustness import robustness
from foldwise.explain.segments import segment_metric, weak_segments
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel
from foldwise.training.crossval import predict_scores
from foldwise.training.data import TrainingData

ROBUSTNESS_ROWS = 2000


def weak_segments_with_metric(
    config: Config,
    data: TrainingData,
    validated: np.ndarray,
    features: list[str],
    loss: np.ndarray,
    scores: np.ndarray,
    threshold: float,
) -> dict[str, Any]:
    """Slices whose out-of-fold loss is significantly worse, each with the primary metric."""
    cfg, metric = config.explain, data.problem.metric
    y = data.y[validated]
    segments = weak_segments(
        data.X.iloc[validated].reset_index(drop=True),
        features,
        loss[validated],
        bins=cfg.segment_bins,
        min_rows=cfg.segment_min_rows,
        alpha=cfg.segment_alpha,
        min_ratio=cfg.segment_min_ratio,
    )
    for seg in segments["flagged"]:
        mask = seg.pop("mask")
        everyone = np.ones(len(mask), dtype=bool)
        seg["metric"] = {
            "name": metric,
            "segment": segment_metric(metric, y, scores[validated], mask, threshold),
            "overall": segment_metric(metric, y, scores[validated], everyone, threshold),
        }
    return segments


def robustness_report(
    config: Config,
    data: TrainingData,
    model: TabularModel | EnsembleModel,
    X_sample: pd.DataFrame,
    threshold: float,
) -> dict[str, Any]:
    """How the final model's predictions move when the explained rows are perturbed."""
    cfg, task = config.explain, data.problem.task
    kinds = {str(f["name"]): str(f["kind"]) for f in data.features}
    tolerance = cfg.robustness_tolerance * (float(np.std(data.y)) if task == "regression" else 1.0)
    robust = robustness(
        lambda frame: predict_scores(model, frame, task),
        X_sample.iloc[:ROBUSTNESS_ROWS],
        kinds,
        task=task,
        threshold=threshold,
        amount=cfg.perturbation,
        tolerance=tolerance,
        seed=config.seed,
    )
    robust["tolerance_units"] = (
        f"{cfg.robustness_tolerance:g} x the target's standard deviation ({tolerance:.4g})"
        if task == "regression"
        else "probability"
    )
    return robust


def failing_conditions(
    fail_on: Sequence[str],
    flagged_suspects: list[dict[str, Any]],
    segments: dict[str, Any],
    statements: list[dict[str, Any]],
    top_k: int,
) -> list[str]:
    """The explain.fail_on conditions that hold, one sentence each."""
    failing = []
    if "suspect_column" in fail_on and flagged_suspects:
        failing.append(
            "suspect column(s) "
            + ", ".join(s["feature"] for s in flagged_suspects)
            + f" among the top {top_k} features"
        )
    if "weak_segment" in fail_on and segments["flagged"]:
        failing.append(
            f"{len(segments['flagged'])} weak segment(s), worst: "
            f"{segments['flagged'][0]['segment']}"
        )
    if "disagreement" in fail_on and statements:
        failing.append(f"{len(statements)} strong disagreement(s) on top features")
    return failing
