"""Raw-row scoring of rows never seen before, against bare CatBoost on the same rows typed.

    python benchmarks/bench_scoring.py [--bundle models/model] [--calls 1000] [--batches 30]

The bundle is loaded fresh in this process; the rows are new draws of the demo generator
(``--seed``, duplicates dropped), so no row is scored twice in a measurement. For 1 row
(``--calls`` calls, each a different row: p50/p99), 100 rows (``--batches`` batches) and
10,000 rows (3 batches), as records (parsed JSON, what ``/predict`` receives) and as a frame
(as a CSV reader gives it), with and without the id and other non-feature columns, the
bundle (``Bundle.predict_scores``) is timed beside bare CatBoost (the bundle's
``estimator_.predict_proba``) on the same rows already typed (the reference model frame, built
outside the timing). Calls alternate between the two, so load hits both alike. 10,000 records
take the bundle's chunked path (one chunk converted while CatBoost scores another, in a second
thread; ``foldwise.scoring.overlap``), which only pays with a free core: on a busy shared
machine, ``chrt -f 10 python benchmarks/bench_scoring.py ...`` measures as if idle.

Goals (issue 18): 100 rows within 1.3x bare (p50), one-row p99 within 1.5x bare, 10,000 rows
at least 0.9x bare throughput. The last column is the same ratio on the process's CPU time
(CatBoost's threads included): on a shared, loaded machine wall times mostly measure the wait
for a core, CPU times much less so. ``--threads`` also compares CatBoost's thread_count=1 with its
default on the bundle's own input for 1 and 100 rows (wall and CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.bundle import Bundle
from foldwise.demo import CHURN_TARGET, generate_churn
from foldwise.models.frame import reference_model_frame

SIZES = {1: "1 row", 100: "100 rows", 10_000: "10,000 rows"}
GOALS = {1: ("p99", 1.5), 100: ("p50", 1.3), 10_000: ("throughput", 1 / 0.9)}


def fresh_rows(n: int, seed: int) -> pd.DataFrame:
    """Rows the bundle has never seen: a new draw of the demo table, no row twice."""
    table = generate_churn(max(n + n // 10, 100), seed=seed).drop_duplicates()
    return table.iloc[:n].reset_index(drop=True)


def warm_calls(count: int) -> int:
    """Chunks scored before the measured ones (each a different chunk, not measured)."""
    return min(20, max(1, count // 10))


def timed(calls: list[tuple[str, Callable[[], object]]], times: dict[str, list[float]]) -> None:
    """Wall time of each call, and the process's CPU time (all threads) under ``<key>_cpu``."""
    for key, call in calls:
        start, cpu = time.perf_counter(), time.process_time()
        call()
        times[key].append(time.perf_counter() - start)
        times[f"{key}_cpu"].append(time.process_time() - cpu)


def measure(bundle: Bundle, table: pd.DataFrame, size: int, form: str, extras: bool) -> dict:
    """Bundle and bare timings on consecutive, disjoint chunks of ``size`` rows."""
    estimator = bundle.model.estimator_
    bare_call = (
        estimator.predict if bundle.problem.task == "regression" else estimator.predict_proba
    )
    names = [str(f["name"]) for f in bundle.features]
    inputs = table if extras else table[names]
    chunks = [inputs.iloc[i : i + size] for i in range(0, len(inputs) - size + 1, size)]
    typed = [reference_model_frame(chunk, bundle.features) for chunk in chunks]
    if form == "records":
        chunks = [json.loads(chunk.to_json(orient="records")) for chunk in chunks]
    warm = warm_calls(len(chunks) - 1)
    times: dict[str, list[float]] = {"bundle": [], "bare": [], "bundle_cpu": [], "bare_cpu": []}
    for i, (chunk, matrix) in enumerate(zip(chunks, typed, strict=True)):
        order = [("bundle", lambda c=chunk: bundle.predict_scores(c)),
                 ("bare", lambda m=matrix: bare_call(m))]  # fmt: skip
        if i % 2:
            order.reverse()
        if i < warm:  # warm-up rows are not measured and not used again
            for _, call in order:
                call()
            continue
        timed(order, times)
    check = bundle.predict_scores(chunks[-1])
    expected = np.asarray(bare_call(typed[-1]), dtype="float64")
    assert np.array_equal(check, expected.reshape(check.shape)), "predictions differ from bare"
    out = {"calls": len(times["bundle"]), "rows": size}
    for key, values in times.items():
        ms = np.asarray(values) * 1e3
        out[f"{key}_p50"] = float(np.percentile(ms, 50))
        out[f"{key}_p99"] = float(np.percentile(ms, 99))
        out[f"{key}_rows_per_s"] = size * len(values) / float(np.sum(values))
    return out


def ratio(result: dict, size: int, cpu: str = "") -> float:
    """Bundle over bare for the size's goal; ``cpu="_cpu"``: the same on CPU time."""
    which, _ = GOALS[size]
    if which == "throughput":
        return result[f"bare{cpu}_rows_per_s"] / result[f"bundle{cpu}_rows_per_s"]
    return result[f"bundle{cpu}_{which}"] / result[f"bare{cpu}_{which}"]


def threads(bundle: Bundle, table: pd.DataFrame, calls: int) -> None:
    """CatBoost thread_count=1 against its default, on the bundle's own input, wall and CPU."""
    estimator = bundle.model.estimator_
    for size in (1, 100):
        chunks = [table.iloc[i : i + size] for i in range(0, min(len(table), calls * size), size)]
        inputs = [bundle.scorer.matrix(c) for c in chunks]
        stats: dict[str, list[tuple[float, float]]] = {"thread_count=1": [], "default": []}
        for matrix in inputs:
            for key, kwargs in (("thread_count=1", {"thread_count": 1}), ("default", {})):
                wall, cpu = time.perf_counter(), time.process_time()
                estimator.predict_proba(matrix, **kwargs)
                stats[key].append((time.perf_counter() - wall, time.process_time() - cpu))
        for key, values in stats.items():
            arr = np.asarray(values) * 1e3
            print(
                f"  catboost {size:>3} row(s) {key:>14}: wall p50 {np.percentile(arr[:, 0], 50):.3f}"
                f" ms, p99 {np.percentile(arr[:, 0], 99):.3f} ms, CPU mean {arr[:, 1].mean():.3f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/model"))
    parser.add_argument("--calls", type=int, default=1000, help="one-row calls per measurement")
    parser.add_argument("--batches", type=int, default=30, help="100-row batches")
    parser.add_argument("--big-batches", type=int, default=3, help="10,000-row batches")
    parser.add_argument("--seed", type=int, default=1018)
    parser.add_argument("--threads", action="store_true", help="compare CatBoost thread counts")
    args = parser.parse_args()
    started = time.perf_counter()
    bundle = Bundle.load(args.bundle)
    print(
        f"bundle {args.bundle} ({bundle.model.name}) loaded in {time.perf_counter() - started:.2f} s"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    counts = {1: args.calls, 100: args.batches, 10_000: args.big_batches}
    print(
        f"{'rows':>12} {'form':>8} {'extras':>6} {'calls':>5} | {'bundle p50':>10} {'p99':>8} "
        f"{'rows/s':>9} | {'bare p50':>8} {'p99':>8} {'rows/s':>9} | ratio (goal)          | CPU ratio"
    )
    seed = args.seed
    for size, label in SIZES.items():
        for form in ("records", "frame"):
            for extras in (False, True):
                seed += 1
                n_chunks = counts[size] + warm_calls(counts[size])
                table = fresh_rows(size * n_chunks, seed).drop(columns=[CHURN_TARGET])
                r = measure(bundle, table, size, form, extras)
                which, goal = GOALS[size]
                value = ratio(r, size)
                verdict = "ok" if value <= goal else "MISSED"
                print(
                    f"{label:>12} {form:>8} {'yes' if extras else 'no':>6} {r['calls']:>5} | "
                    f"{r['bundle_p50']:>8.3f}ms {r['bundle_p99']:>6.3f}ms "
                    f"{r['bundle_rows_per_s']:>9,.0f} | {r['bare_p50']:>6.3f}ms "
                    f"{r['bare_p99']:>6.3f}ms {r['bare_rows_per_s']:>9,.0f} | "
                    f"{value:.2f} {which} (<= {goal:.2f}) {verdict:>6} | "
                    f"{ratio(r, size, '_cpu'):.2f}",
                    flush=True,
                )
    if args.threads:
        print("CatBoost threads, on rows never seen before:")
        threads(bundle, fresh_rows(100 * 200, seed + 1), 200)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
