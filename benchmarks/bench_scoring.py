"""Raw-row scoring against the bare model, in one process: the ratios of issue 12.

    python benchmarks/bench_scoring.py [--bundle models/model] [--rows data/prepared/train.parquet]
        [--big 1000000] [--calls 2000]

"Bare" is the fitted estimator inside the bundle (CatBoost or the scikit-learn pipeline)
given rows already in its input form; the bundle gets the raw rows. Batch: rows per second,
best of 3 (the 1M-row batch: best of 2). One row: p99 over ``--calls`` interleaved calls, the
bundle with a dict (the serving path) and with a one-row frame. Prints the ratios and the
reference path (``TabularModel.predict_proba`` on raw rows, the pre-issue-12 code).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.bundle import Bundle
from foldwise.models.frame import _model_frame, feature_frame


def typed_input(bundle: Bundle, rows: pd.DataFrame) -> pd.DataFrame:
    """The estimator's input as foldwise built it before issue 12: the already-typed rows."""
    return _model_frame(feature_frame(rows, bundle.features), bundle.features)


def best_rate(fn, n_rows: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return n_rows / best


def batch(bundle: Bundle, rows: pd.DataFrame, repeats: int, reference: bool) -> dict:
    estimator = bundle.model.estimator_
    predict = estimator.predict if bundle.problem.task == "regression" else estimator.predict_proba
    matrix = typed_input(bundle, rows)
    fast_input = bundle.scorer.model_frame(rows)
    assert np.array_equal(bundle.predict_scores(rows), bundle.scorer.scores_of(matrix))
    out = {
        "rows": len(rows),
        "bare_rows_per_s": best_rate(lambda: predict(matrix), len(rows), repeats),
        "bare_fast_input_rows_per_s": best_rate(lambda: predict(fast_input), len(rows), repeats),
        "bundle_rows_per_s": best_rate(lambda: bundle.predict(rows), len(rows), repeats),
    }
    if reference:
        model = bundle.model
        ref = model.predict if bundle.problem.task == "regression" else model.predict_proba
        out["reference_rows_per_s"] = best_rate(lambda: ref(rows), len(rows), 1)
    return out


def one_row(bundle: Bundle, rows: pd.DataFrame, calls: int) -> dict:
    estimator = bundle.model.estimator_
    predict = estimator.predict if bundle.problem.task == "regression" else estimator.predict_proba
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(rows), size=calls)
    frames = [rows.iloc[[i]] for i in picks]
    records = rows.iloc[picks].to_dict("records")
    matrices = [typed_input(bundle, f) for f in frames]
    for i in range(50):  # warm up every path
        predict(matrices[i % calls])
        bundle.predict(records[i % calls])
        bundle.predict(frames[i % calls])
    times: dict[str, list[float]] = {"bare": [], "dict": [], "frame": []}
    for i in range(calls):
        for key, call in (
            ("bare", lambda i=i: predict(matrices[i])),
            ("dict", lambda i=i: bundle.predict(records[i])),
            ("frame", lambda i=i: bundle.predict(frames[i])),
        ):
            start = time.perf_counter()
            call()
            times[key].append(time.perf_counter() - start)
    out = {f"{key}_p99_ms": float(np.percentile(v, 99)) * 1e3 for key, v in times.items()}
    out.update({f"{key}_p50_ms": float(np.percentile(v, 50)) * 1e3 for key, v in times.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, default=Path("models/model"))
    parser.add_argument("--rows", type=Path, default=Path("data/prepared/train.parquet"))
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    bundle = Bundle.load(args.bundle)
    rows = pd.read_parquet(args.rows)
    print(f"bundle {args.bundle} ({bundle.metadata.get('model_name')}), {len(rows):,} raw rows")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    single = one_row(bundle, rows, args.calls)
    print(
        f"one row p99: bare {single['bare_p99_ms']:.3f} ms, bundle dict "
        f"{single['dict_p99_ms']:.3f} ms (ratio {single['dict_p99_ms'] / single['bare_p99_ms']:.2f}),"
        f" bundle one-row frame {single['frame_p99_ms']:.3f} ms "
        f"(ratio {single['frame_p99_ms'] / single['bare_p99_ms']:.2f})"
    )
    print(
        f"one row p50: bare {single['bare_p50_ms']:.3f} ms, dict {single['dict_p50_ms']:.3f} ms, "
        f"frame {single['frame_p50_ms']:.3f} ms"
    )
    for label, table, repeats in (
        ("demo rows", rows, 3),
        (f"{args.big:,}-row batch", rows.iloc[np.resize(np.arange(len(rows)), args.big)], 2),
    ):
        if len(table) == 0:
            continue
        result = batch(
            bundle, table.reset_index(drop=True), repeats, reference=label == "demo rows"
        )
        ratio = result["bundle_rows_per_s"] / result["bare_rows_per_s"]
        line = (
            f"batch {label}: bare {result['bare_rows_per_s']:,.0f} rows/s, bundle "
            f"{result['bundle_rows_per_s']:,.0f} rows/s, ratio {ratio:.2f}"
        )
        fast = result["bare_fast_input_rows_per_s"]
        line += f"; bare on the bundle's own input form {fast:,.0f} rows/s"
        if "reference_rows_per_s" in result:
            ref = result["reference_rows_per_s"] / result["bare_rows_per_s"]
            line += f" (pre-issue-12 path: {result['reference_rows_per_s']:,.0f} rows/s, {ref:.2f})"
        print(line)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
