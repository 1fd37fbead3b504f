"""One-row latency of a bundle with scikit-learn members, small-batch paths on and off.

    python benchmarks/bench_small_batch.py [--bundle models/model] [--calls 300] [--rounds 10]

Meant for an ensemble bundle (``model.name: ensemble``) or a forest / histogram-boosting one.
The bundle is loaded fresh; each call scores one record (``Bundle.predict_records``, what
``/predict`` does) of a new demo row (``--seed``), never the same row twice. Calls alternate in
rounds between the small-batch paths of ``foldwise.scoring.small_batch`` ("on": one OpenMP
thread for histogram boosting, forests tree by tree) and the libraries' own calls ("off"), so
load hits both alike. It prints p50, p99 and the largest call, in ms. On a busy shared machine,
``chrt -f 10 python benchmarks/bench_small_batch.py ...`` measures as if idle.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from foldwise.bundle import Bundle
from foldwise.demo import CHURN_TARGET, generate_churn
from foldwise.scoring import fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/model"))
    parser.add_argument("--calls", type=int, default=300, help="one-row calls per setting")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    bundle = Bundle.load(args.bundle)
    rows = generate_churn(args.calls * 2 + 100, args.seed).drop(columns=[CHURN_TARGET])
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    on = (fast.FOREST_NAMES, fast.OPENMP_NAMES)
    off = (frozenset[str](), frozenset[str]())
    for record in records[:20]:  # warm-up rows are not measured again
        bundle.predict_records([record])
    seconds: dict[str, list[float]] = {"on": [], "off": []}
    position = 20
    per_round = max(1, args.calls // args.rounds)
    for _ in range(args.rounds):
        for label, names in (("off", off), ("on", on)):
            fast.FOREST_NAMES, fast.OPENMP_NAMES = names
            for record in records[position : position + per_round]:
                started = time.perf_counter()
                bundle.predict_records([record])
                seconds[label].append(time.perf_counter() - started)
            position += per_round
    fast.FOREST_NAMES, fast.OPENMP_NAMES = on
    print(f"load average {os.getloadavg()[0]:.2f}; bundle {args.bundle}")
    for label, values in seconds.items():
        ms = np.array(values) * 1e3
        print(
            f"{label:>3}: one row p50 {np.percentile(ms, 50):6.1f} ms  p99 "
            f"{np.percentile(ms, 99):6.1f} ms  max {ms.max():6.1f} ms  ({len(ms)} calls)"
        )


if __name__ == "__main__":
    main()
