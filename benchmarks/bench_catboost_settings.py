"""CatBoost settings by cross-validation on the peer tables' training rows (never the test rows).

For each table of ``bench_peers.py`` a fresh project runs ``foldwise init`` and
``dvc repro prepare`` (the post-outcome column dropped, as the peer benchmark does); each
candidate is then fitted on the run's own folds (``foldwise.training.data.folds_for``) and scored on
each fold's held-out rows. Procedures: ``probe_refit`` (the train stage's: early-stop on a
part carved from the fold's training rows, refit on all of them with those rounds), ``once``
(keep the early-stopped fit), ``scaled`` (refit with the rounds / (1 - validation_size)) and
``fixed`` (no early stopping: ``iterations`` rounds, as CatBoost's library defaults).

    python benchmarks/bench_catboost_settings.py --cands lr0.1 lr0.05 library_defaults
    python benchmarks/bench_catboost_settings.py --tables demo_churn --cands lr0.05_p100

Prints one JSON line per (table, candidate): mean and std of the fold scores, the folds' fit
seconds and rounds, the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from _project import copy_pipeline, set_param
from bench_first_contact import TABLES, write_table
from bench_peers import BENCH_TABLES
from sklearn.base import clone

from foldwise.artifacts import read_schema
from foldwise.model_settings import load_config
from foldwise.training.crossval import fold_scores, predict_scores
from foldwise.training.data import derive_seed, training_run
from foldwise.training.fitting import fit_with_early_stopping, model_for

BASE = {"iterations": 1000, "depth": 6, "max_ctr_complexity": 2}
# name: (settings, procedure, early-stopping patience)
CANDIDATES: dict[str, tuple[dict, str, int]] = {
    "lr0.1": ({**BASE, "learning_rate": 0.1}, "probe_refit", 30),
    "lr0.05": ({**BASE, "learning_rate": 0.05}, "probe_refit", 30),
    "lr0.03": ({**BASE, "learning_rate": 0.03}, "probe_refit", 30),
    "lr0.1_p100": ({**BASE, "learning_rate": 0.1}, "probe_refit", 100),
    "lr0.05_p100": ({**BASE, "learning_rate": 0.05}, "probe_refit", 100),
    "lr0.1_mcc4": ({**BASE, "learning_rate": 0.1, "max_ctr_complexity": 4}, "probe_refit", 30),
    "lr0.05_mcc4": ({**BASE, "learning_rate": 0.05, "max_ctr_complexity": 4}, "probe_refit", 30),
    "lr0.05_scaled": ({**BASE, "learning_rate": 0.05}, "scaled", 30),
    "lr0.05_p100_scaled": ({**BASE, "learning_rate": 0.05}, "scaled", 100),
    "lr0.05_auc": ({**BASE, "learning_rate": 0.05, "eval_metric": "AUC"}, "probe_refit", 30),
    "lr0.1_once": ({**BASE, "learning_rate": 0.1}, "once", 30),
    "lr0.05_once": ({**BASE, "learning_rate": 0.05}, "once", 30),
    # CatBoost's library defaults as bench_peers fits them (learning_rate None: automatic).
    "library_defaults": ({"iterations": 1000, "learning_rate": None}, "fixed", 30),
}


def prepare(name: str, rows: int, dest: Path) -> None:
    """``foldwise init`` and ``dvc repro prepare`` of one table; data/prepared + params to dest."""
    with tempfile.TemporaryDirectory(prefix=f"fw-cb-{name}-") as tmp:
        work = Path(tmp)
        copy_pipeline(work)

        def run(*cmd: str) -> subprocess.CompletedProcess:
            return subprocess.run(cmd, cwd=work, capture_output=True, text=True, check=True)

        run("git", "init", "-q")
        run(sys.executable, "-m", "dvc", "init", "-q")
        run(sys.executable, "-m", "foldwise.cli", "init", *write_table(name, rows, work))
        params = yaml.safe_load((work / "params.yaml").read_text())
        if TABLES[name].post_outcome:
            set_param(params, f"data.drop_columns=[{TABLES[name].post_outcome}]")
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        run(sys.executable, "-m", "dvc", "repro", "prepare")
        dest.mkdir(parents=True, exist_ok=True)
        for part in ("train.parquet", "schema.json"):
            (dest / part).write_bytes((work / "data" / "prepared" / part).read_bytes())
        (dest / "params.yaml").write_bytes((work / "params.yaml").read_bytes())


def cross_validate(folder: Path, candidate: str) -> dict:
    """One candidate on one table's folds: the fold scores of the primary metric."""
    config = load_config(folder / "params.yaml")
    run = training_run(
        config, read_schema(folder / "schema.json"), pd.read_parquet(folder / "train.parquet")
    )
    data = run.data
    settings, procedure, patience = CANDIDATES[candidate]
    train = config.train.model_copy(update={"early_stopping_rounds": patience})
    config = config.model_copy(update={"train": train})
    model = model_for("catboost", data, config, dict(settings))
    scores, seconds, rounds = [], 0.0, []
    for i, (fit_idx, held) in enumerate(run.folds):
        started = time.perf_counter()
        X, y = data.X.iloc[fit_idx].reset_index(drop=True), data.y[fit_idx]
        if procedure == "fixed":
            fitted, found = clone(model).fit(X, y), None
        else:
            result = fit_with_early_stopping(
                model,
                data.frame.iloc[fit_idx].reset_index(drop=True),
                X,
                y,
                config=config,
                task=data.problem.task,
                seed=derive_seed(config.seed, i),
                refit=procedure == "probe_refit",
                labels=data.problem.classes,
            )
            fitted, found = result.model, result.best_iteration
            if procedure == "scaled":
                n = max(1, round(found / (1 - config.train.validation_size)))
                fitted = model.with_iterations(n).fit(X, y)
        predicted = predict_scores(fitted, data.X.iloc[held], data.problem.task)
        seconds += time.perf_counter() - started
        rounds.append(found)
        scores.append(fold_scores(data.problem, data.y[held], predicted)[data.problem.metric])
    values = np.asarray(scores)
    return {
        "table": folder.name,
        "candidate": candidate,
        "metric": data.problem.metric,
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)),
        "folds": scores,
        "fit_seconds": seconds,
        "rounds": rounds,
        "load": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(BENCH_TABLES), choices=BENCH_TABLES)
    parser.add_argument("--cands", nargs="+", default=["lr0.1", "lr0.05", "library_defaults"])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/foldwise-catboost-settings"))
    args = parser.parse_args()
    unknown = sorted(set(args.cands) - set(CANDIDATES))
    if unknown:
        parser.error(f"unknown candidate(s) {unknown}; known: {', '.join(CANDIDATES)}")
    for name in args.tables:
        folder = args.work / name
        if not (folder / "train.parquet").exists():
            prepare(name, args.rows, folder)
        for candidate in args.cands:
            print(json.dumps(cross_validate(folder, candidate)), flush=True)


if __name__ == "__main__":
    main()
