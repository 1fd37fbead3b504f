"""The nested tune of the demo: studies one at a time against side by side (one per core).

Each run is the tune stage's work (``run_tuning``: every outer study, its refit and score,
and the final study) on the demo's training rows with params.yaml's settings, in a fresh
journal; the two ways alternate, so both meet the same machine load:

    python benchmarks/bench_side_by_side.py                  # 10,000 demo rows, 2 rounds
    python benchmarks/bench_side_by_side.py --rows 20000 --rounds 1

Prints the seconds of each run, the load average beside it, and whether both found the same
params, inner scores and outer scores (they must).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from foldwise.config import parse_config
from foldwise.demo import write_builtin_datasets
from foldwise.model_settings import load_config
from foldwise.prepare import prepare_tables
from foldwise.training.data import folds_for, training_data
from foldwise.tuning.budget import unlimited_plan
from foldwise.tuning.run import TuningOutcome, run_tuning, study_workers

ROOT = Path(__file__).resolve().parents[1]


def facts(outcome: TuningOutcome) -> tuple:
    """What the reports are made of, but the seconds."""
    final = [(r.best_params, r.best_value, r.best_rounds) for r in outcome.final.values()]
    outer = [(o.scores, o.params, o.inner_score, o.rounds) for o in outcome.outer]
    return final, outer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    base = load_config(ROOT / "params.yaml").model_dump()
    base["demo"]["rows"] = args.rows
    config = parse_config(base)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_builtin_datasets(work / "data" / "builtin", args.rows, config.demo.seed)
        prepared = prepare_tables(config, work)
        data = training_data(prepared.train, prepared.schema)
        folds = folds_for(data, config)
        plan = unlimited_plan(config)
        side = study_workers(config, plan, config.cv.folds + 1)
        print(f"{args.rows} demo rows, {config.tune.n_trials} trials, side by side: {side} studies")
        seconds: dict[int, list[float]] = {1: [], side: []}
        found: dict[int, tuple] = {}
        for i in range(args.rounds):
            for workers in (1, side) if i % 2 == 0 else (side, 1):
                journal = work / f"run{i}-{workers}.journal"
                load = os.getloadavg()[0]
                started = time.perf_counter()
                outcome = run_tuning(config, data, folds, journal, plan=plan, workers=workers)
                seconds[workers].append(time.perf_counter() - started)
                found[workers] = facts(outcome)
                print(f"workers {workers}: {seconds[workers][-1]:6.1f} s (load {load:.2f})")
        one, many = sum(seconds[1]), sum(seconds[side])
        print(f"one at a time / side by side: {one / many:.2f}x")
        print(f"same params and scores: {found[1] == found[side]}")


if __name__ == "__main__":
    main()
