"""Time `foldwise monitor` on a month of logged traffic (10 million rows by default).

1. A small simulated training table is trained into a bundle with its reference profile (the
   same in-process training as the tests), unless --model names a bundle trained on the
   simulation's table.
2. A prediction log in the serve format (hive-partitioned Parquet, one folder per day, 30
   days) is written: a pool of simulated production rows (with the covariate shift) is scored
   once, then each day takes a random draw of the pool's log rows with fresh ids and
   timestamps. Labels for --label-share of the rows go to labels.parquet.
3. `foldwise monitor LOG --labels labels.parquet --by week` runs in a subprocess under
   `nice -n 10`; its wall time and peak RSS (getrusage of the child) are printed with the
   load average and written to --json.

python benchmarks/bench_monitor.py                         # 10M rows in a temp dir
python benchmarks/bench_monitor.py --rows 1000000 --root /tmp/bm --keep
python benchmarks/bench_monitor.py --root /tmp/bm --reuse  # time again on the same log
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAYS = 30
POOL_MONTHS = 4


def build_bundle(work: Path) -> tuple[Path, dict]:
    from foldwise.monitor.simulate import Scenario, write_simulation
    from tests.monitor.support import train_churn_bundle

    scenario = Scenario(
        months=POOL_MONTHS, rows_per_month=25_000, train_rows=6000, shift_month=3,
        concept_month=None, seed=1,
    )  # fmt: skip
    manifest = write_simulation(scenario, work / "sim")
    return train_churn_bundle(work / "proj", Path(manifest["train"])), manifest


def write_log(work: Path, model: Path, manifest: dict, rows: int, label_share: float) -> Path:
    import pandas as pd

    from foldwise.bundle import Bundle
    from foldwise.monitor.logfile import append_log, log_table

    bundle = Bundle.load(model)
    pool = pd.concat(
        [pd.read_csv(p, dtype={"customer_id": "str"}) for p in manifest["batches"]],
        ignore_index=True,
    )
    ts = pd.to_datetime(pool["ts"], utc=True).dt.tz_localize(None).to_numpy("datetime64[us]")
    scores = bundle.predict_scores(pool)
    table = log_table(pool, pool["customer_id"].to_numpy(), ts, bundle, scores, "bench")
    log = work / "log"
    rng = np.random.default_rng(0)
    per_day = rows // DAYS
    labelled_ids, labelled_values = [], []
    start = np.datetime64("2025-03-01T00:00:00", "us")
    for day in range(DAYS):
        n = per_day + (rows - per_day * DAYS if day == DAYS - 1 else 0)
        take = rng.integers(0, table.num_rows, size=n)
        part = table.take(pa.array(take))
        ids = np.char.add(f"d{day:02d}-", np.arange(n).astype(str))
        stamps = (
            start
            + np.timedelta64(day, "D")
            + rng.integers(0, 86_400_000_000, size=n).astype("timedelta64[us]")
        )
        part = part.set_column(part.schema.get_field_index("id"), "id", pa.array(ids, pa.string()))
        part = part.set_column(
            part.schema.get_field_index("ts"), "ts", pa.array(stamps, pa.timestamp("us", tz="UTC"))
        )
        append_log(log, part)
        chosen = rng.random(n) < label_share
        labelled_ids.append(ids[chosen])
        p = part.column("value").to_numpy()[chosen]
        labelled_values.append(np.where(rng.random(len(p)) < p, "Yes", "No"))
    pq.write_table(
        pa.table({"id": np.concatenate(labelled_ids), "churned": np.concatenate(labelled_values)}),
        work / "labels.parquet",
    )
    return log


def time_monitor(work: Path, model: Path) -> dict:
    cmd = [
        "nice", "-n", "10", sys.executable, "-m", "foldwise.cli", "monitor", str(work / "log"),
        "--labels", str(work / "labels.parquet"), "--model", str(model), "--by", "week",
        "--out", str(work / "report"),
    ]  # fmt: skip
    load_before = os.getloadavg()
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=work)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"monitor failed ({result.returncode}):\n{result.stderr}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = usage.ru_maxrss / 1024  # KiB -> MiB (Linux)
    return {
        "seconds": round(seconds, 1),
        # CPU seconds of the child: on a shared machine the wall time mostly measures the others.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(peak, 1),
        "exit_code": result.returncode,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "output_tail": result.stdout.strip().splitlines()[-3:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--label-share", type=float, default=0.01)
    parser.add_argument("--root", type=Path, help="work folder (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="reuse the log under --root")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    work = args.root or Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        model = work / "proj" / "model"
        if not args.reuse:
            started = time.perf_counter()
            model, manifest = build_bundle(work)
            shutil.rmtree(work / "log", ignore_errors=True)
            write_log(work, model, manifest, args.rows, args.label_share)
            print(f"log of {args.rows:,} rows written in {time.perf_counter() - started:.0f} s")
        size = sum(f.stat().st_size for f in (work / "log").rglob("*.parquet")) / 2**20
        figures = {"rows": args.rows, "log_mib": round(size, 1)} | time_monitor(work, model)
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        if args.root is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
