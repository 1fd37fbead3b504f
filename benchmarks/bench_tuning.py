"""Tuning time and final inner score with and without pruning and early stopping.

One study (the final one, on inner folds of the demo training table) per variant, at the
same number of trials, each in a fresh journal:

    python benchmarks/bench_tuning.py                       # 20k demo rows, 20 trials
    python benchmarks/bench_tuning.py --rows 5000 --trials 10

Without early stopping every fit runs the model's full `iterations` (1000 by default).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from unittest import mock

from foldwise.config import parse_config
from foldwise.demo import write_builtin_datasets
from foldwise.model_settings import load_config
from foldwise.models import TabularModel
from foldwise.prepare import prepare_tables
from foldwise.training.data import folds_for, training_data
from foldwise.tuning import make_tuner, plan_studies

ROOT = Path(__file__).resolve().parents[1]


def run_variant(
    rows: int, trials: int, pruning: bool, early_stopping: bool
) -> tuple[float, float, int]:
    base = load_config(ROOT / "params.yaml").model_dump()
    base["demo"]["rows"] = rows
    base["tune"].update(n_trials=trials, pruning=pruning, nested=False, storage=None)
    config = parse_config(base)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_builtin_datasets(work / "data" / "builtin", rows, config.demo.seed)
        prepared = prepare_tables(config, work)
        data = training_data(prepared.train, prepared.schema)
        folds = folds_for(data, config)
        tuner = make_tuner(config, data, folds, work / "studies.journal", worker=False)
        final = plan_studies(config, data, folds)[-1]
        patch = mock.patch.object(
            TabularModel,
            "supports_early_stopping",
            new_callable=mock.PropertyMock,
            return_value=False,
        )
        started = time.perf_counter()
        if early_stopping:
            result = tuner.run(final.name, final.data, final.inner, final.seed)
        else:
            with patch:
                result = tuner.run(final.name, final.data, final.inner, final.seed)
        return time.perf_counter() - started, result.best_value, result.n_pruned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    variants = [(True, True), (False, True), (True, False), (False, False)]
    print(f"{'pruning':>8} {'early stop':>10} {'seconds':>8} {'best inner':>10} {'pruned':>6}")
    results = {}
    for pruning, early in variants:
        seconds, best, pruned = run_variant(args.rows, args.trials, pruning, early)
        results[(pruning, early)] = seconds
        print(f"{pruning!s:>8} {early!s:>10} {seconds:>8.1f} {best:>10.4f} {pruned:>6}", flush=True)
    print(f"time ratio, neither / both: {results[(False, False)] / results[(True, True)]:.2f}")


if __name__ == "__main__":
    main()
