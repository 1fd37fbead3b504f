"""Cross-validated score and fit time of every model family on the built-in tables.

Each table (``data/builtin/*.csv``, written by ``dvc repro generate``) is prepared exactly as
the ``prepare`` stage does (same split, the sealed test part never read here), then every
family is cross-validated with :func:`foldwise.training.crossval.cross_validate` on the same
folds the train stage uses (``cv.folds``, seeded), early stopping on a part carved from each
fold's training rows. Printed per family and table: the primary metric's mean ± std over
folds and the mean fit time per fold (wall seconds, so record the machine's load beside them).

Families are named ``name`` (the settings of ``params.yaml``) or ``name:label`` with settings
given as JSON, e.g.::

    python benchmarks/bench_families.py --tables wine diabetes \\
        --family catboost lightgbm extra_trees \\
        --family 'lightgbm:lr0.1={"learning_rate": 0.1}'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from threadpoolctl import threadpool_limits

from foldwise.metrics import METRICS
from foldwise.model_settings import load_config
from foldwise.prepare import prepare_tables
from foldwise.training.crossval import cross_validate
from foldwise.training.data import folds_for, training_data
from foldwise.training.fitting import model_for

ROOT = Path(__file__).resolve().parents[1]
TABLES = {
    "churn": None,  # the demo table: params.yaml's data section as it is
    "breast_cancer": "diagnosis",
    "wine": "cultivar",
    "diabetes": "progression",
}
DEFAULT_FAMILIES = [
    "catboost",
    "lightgbm",
    "hist_gradient_boosting",
    "random_forest",
    "extra_trees",
    "logistic_regression",
]


@dataclass(frozen=True)
class Result:
    table: str
    family: str
    metric: str
    mean: float
    std: float
    fit_seconds: float
    folds: int


def _params_for(table: str) -> dict[str, Any]:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    target = TABLES[table]
    if target is not None:
        params["data"].update(
            source=f"data/builtin/{table}.csv", target=target, id_columns=[], drop_columns=[]
        )
        params["data"]["time_column"] = None
        params["problem"]["positive_label"] = None
        params["evaluate"]["segments"] = []
    return params


def _family(spec: str) -> tuple[str, str, dict[str, Any] | None]:
    """``name`` or ``name:label={json settings}`` -> (name, label, settings or None)."""
    if ":" not in spec:
        return spec, spec, None
    name, rest = spec.split(":", 1)
    label, _, settings = rest.partition("=")
    return name, f"{name}:{label}", json.loads(settings) if settings else {}


# Each library's own thread setting, so ``--threads`` caps every family alike.
THREAD_KEYS = {
    "catboost": "thread_count",
    "lightgbm": "num_threads",
    "random_forest": "n_jobs",
    "extra_trees": "n_jobs",
}


def bench_table(table: str, families: list[str], threads: int | None = None) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.yaml"
        path.write_text(yaml.safe_dump(_params_for(table)))
        config = load_config(path)
    prepared = prepare_tables(config, ROOT)
    data = training_data(prepared.train, prepared.schema)
    folds = folds_for(data, config)
    metric = data.problem.metric
    results = []
    for spec in families:
        name, label, extra = _family(spec)
        settings = {**config.model.settings(name), **(extra or {})}
        if threads and name in THREAD_KEYS:
            settings[THREAD_KEYS[name]] = threads
        model = model_for(name, data, config, settings)
        run = cross_validate(model, data, folds, config, label)
        values = np.array([fold[metric] for fold in run.fold_scores])
        result = Result(
            table,
            label,
            metric,
            float(values.mean()),
            float(values.std(ddof=1)),
            run.seconds / len(folds),
            len(folds),
        )
        results.append(result)
        print(
            f"{table:14s} {label:34s} {metric} {result.mean:.4f} ± {result.std:.4f}  "
            f"fit {result.fit_seconds:6.2f} s/fold",
            flush=True,
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--family", nargs="+", action="extend", default=None)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per fit for every family (OpenMP, BLAS and each library's own setting); "
        "1 on a shared machine, where spinning OpenMP threads cost far more than they save",
    )
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    print(
        f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
        f"threads per fit: {args.threads or 'library defaults'}",
        flush=True,
    )
    results = []
    with threadpool_limits(limits=args.threads):
        for table in args.tables:
            results += bench_table(table, args.family or DEFAULT_FAMILIES, args.threads)
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    print(
        "\n| table | family | metric | CV mean ± std | fit s/fold |\n| --- | --- | --- | --- | --- |"
    )
    for r in results:
        better = "↑" if METRICS[r.metric].greater_is_better else "↓"
        print(
            f"| {r.table} | {r.family} | {r.metric} {better} | {r.mean:.4f} ± {r.std:.4f} "
            f"| {r.fit_seconds:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
