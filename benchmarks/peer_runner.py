"""Fit one AutoML peer on a training table and write its test predictions (bench_peers.py).

Runs in the peers' own virtualenv (AutoGluon and FLAML pin their own pandas and scikit-learn),
so it imports nothing from foldwise. It reads the rows foldwise's `prepare` stage wrote (the
features and the target, no ids, no dropped columns), fits the peer, and writes one ``.npy``
of test predictions in foldwise's class-code order (probabilities (n, k) for classification,
values for regression) and a JSON with the wall time of fit + predict.

    peers-venv/bin/python benchmarks/peer_runner.py autogluon --train train.parquet \
        --test test.parquet --target churned --task binary --metric roc_auc \
        --classes '["No", "Yes"]' --budget 120 --out out/autogluon
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

# foldwise metric names -> each peer's own name for the same metric.
AUTOGLUON_METRIC = {
    "roc_auc": "roc_auc",
    "average_precision": "average_precision",
    "log_loss": "log_loss",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced_accuracy",
    "f1": "f1",
    "macro_f1": "f1_macro",
    "rmse": "root_mean_squared_error",
    "mae": "mean_absolute_error",
    "r2": "r2",
}
FLAML_METRIC = {
    "roc_auc": "roc_auc",
    "average_precision": "ap",
    "log_loss": "log_loss",
    "accuracy": "accuracy",
    "f1": "f1",
    "macro_f1": "macro_f1",
    "rmse": "rmse",
    "mae": "mae",
    "r2": "r2",
}


def _ordered(proba: pd.DataFrame | np.ndarray, known: list, classes: list) -> np.ndarray:
    """Probability columns in foldwise's class order (a class the peer never saw gets 0)."""
    values = np.asarray(proba, dtype="float64")
    index = {str(label): i for i, label in enumerate(known)}
    out = np.zeros((len(values), len(classes)))
    for j, label in enumerate(classes):
        if str(label) in index:
            out[:, j] = values[:, index[str(label)]]
    return out


def run_autogluon(train: pd.DataFrame, test: pd.DataFrame, args: argparse.Namespace) -> np.ndarray:
    from autogluon.tabular import TabularPredictor

    problem_type = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
    with tempfile.TemporaryDirectory(prefix="ag-") as path:
        predictor = TabularPredictor(
            label=args.target,
            problem_type=problem_type[args.task],
            eval_metric=AUTOGLUON_METRIC[args.metric],
            path=path,
            verbosity=0,
        ).fit(train, presets=args.presets)
        features = test.drop(columns=[args.target])
        if args.task == "regression":
            return np.asarray(predictor.predict(features), dtype="float64")
        proba = predictor.predict_proba(features, as_multiclass=True)
        return _ordered(proba.to_numpy(), list(proba.columns), args.classes)


def run_flaml(train: pd.DataFrame, test: pd.DataFrame, args: argparse.Namespace) -> np.ndarray:
    from flaml import AutoML

    automl = AutoML()
    X, y = train.drop(columns=[args.target]), train[args.target]
    task = "regression" if args.task == "regression" else "classification"
    automl.fit(
        X,
        y,
        task=task,
        metric=FLAML_METRIC[args.metric],
        time_budget=args.budget,
        seed=0,
        verbose=0,
        n_jobs=-1,
    )
    features = test.drop(columns=[args.target])
    if args.task == "regression":
        return np.asarray(automl.predict(features), dtype="float64")
    return _ordered(automl.predict_proba(features), list(automl.classes_), args.classes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", choices=["autogluon", "flaml"])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--task", choices=["binary", "multiclass", "regression"], required=True)
    parser.add_argument("--metric", required=True)
    parser.add_argument("--classes", type=json.loads, default=None, help="JSON list, in order")
    parser.add_argument("--budget", type=float, default=120.0, help="FLAML's time_budget (s)")
    parser.add_argument("--presets", default="medium_quality", help="AutoGluon's presets")
    parser.add_argument("--out", type=Path, required=True, help="writes OUT.npy and OUT.json")
    args = parser.parse_args()
    train, test = pd.read_parquet(args.train), pd.read_parquet(args.test)
    started = time.perf_counter()
    runner = run_autogluon if args.tool == "autogluon" else run_flaml
    predictions = runner(train, test, args)
    seconds = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out.with_suffix(".npy"), predictions)
    args.out.with_suffix(".json").write_text(json.dumps({"seconds": seconds}), encoding="utf-8")


if __name__ == "__main__":
    main()
