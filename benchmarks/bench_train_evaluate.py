"""Time the train and evaluate stages on the demo churn table, and the bundle's scoring latency.

Train runs with the params.yaml model settings (no tuning), cross-validation included.

Each size runs in its own process (so peak RSS is that size's), inside a temporary copy of
the pipeline, with the project's params.yaml apart from `demo.rows`:

    python benchmarks/bench_train_evaluate.py                  # 20k, 200k, 1M rows
    python benchmarks/bench_train_evaluate.py --rows 20000     # one size
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SIZES = (20_000, 200_000, 1_000_000)


def _stage(work: Path, name: str) -> dict:
    """Run one stage script as DVC would; its wall time and its own peak RSS."""
    probe = (
        "import resource, runpy, sys\n"
        f"runpy.run_path('stages/{name}.py', run_name='__main__')\n"
        "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=work, check=True, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    peak = next(
        int(line.split()[1]) for line in out.stderr.splitlines() if line.startswith("PEAK_KIB")
    )
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(peak / 1024)}


def _latency(work: Path) -> dict:
    import pandas as pd

    from foldwise.bundle import Bundle

    bundle = Bundle.load(work / "models" / "model")
    test = pd.read_parquet(work / "data" / "prepared" / "test.parquet")
    batch = test.sample(100_000, replace=True, random_state=0).reset_index(drop=True)
    started = time.perf_counter()
    bundle.predict(batch)
    batch_s = time.perf_counter() - started
    single = []
    for i in range(200):
        row = test.iloc[[i % len(test)]]
        t0 = time.perf_counter()
        bundle.predict(row)
        single.append(time.perf_counter() - t0)
    return {
        "batch_100k_s": round(batch_s, 2),
        "per_row_in_batch_us": round(batch_s / len(batch) * 1e6, 1),
        "single_row_ms_median": round(statistics.median(single) * 1e3, 2),
        "single_row_ms_p95": round(sorted(single)[int(0.95 * len(single))] * 1e3, 2),
    }


def run_one(rows: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("params.yaml",):
            shutil.copy(ROOT / name, work / name)
        shutil.copytree(ROOT / "stages", work / "stages")
        params = yaml.safe_load((work / "params.yaml").read_text())
        params["demo"]["rows"] = rows
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
        subprocess.run(
            [
                "git",
                "-c",
                "user.name=b",
                "-c",
                "user.email=b@b",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "b",
            ],
            cwd=work,
            check=True,
        )
        result: dict = {"rows": rows}
        for name in ("generate", "prepare", "baseline"):
            result[name] = _stage(work, name)
        # Tuning is benchmarked on its own (bench_tuning.py, bench_pipeline.py): here train
        # uses the params.yaml settings, as it would with an untuned model.
        best = {"model": params["model"]["name"], "params": {}}
        (work / "models").mkdir(exist_ok=True)
        (work / "models" / "best_params.json").write_text(json.dumps(best))
        for name in ("train", "evaluate"):
            result[name] = _stage(work, name)
        result["scoring"] = _latency(work)
        result["cv"] = json.loads((work / "reports/train/metrics.json").read_text())["cv"][
            params["problem"]["metric"] if params["problem"]["metric"] != "auto" else "roc_auc"
        ]["mean"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="table size (repeatable)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    header = f"{'rows':>10} {'train s':>8} {'train MiB':>9} {'eval s':>7} {'eval MiB':>8} {'100k batch s':>12} {'us/row':>7} {'1 row ms':>9}"
    print(header)
    for rows in args.rows or SIZES:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(rows)],
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            sys.exit(out.returncode)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        s = r["scoring"]
        print(
            f"{rows:>10,} {r['train']['seconds']:>8} {r['train']['peak_rss_mib']:>9} "
            f"{r['evaluate']['seconds']:>7} {r['evaluate']['peak_rss_mib']:>8} "
            f"{s['batch_100k_s']:>12} {s['per_row_in_batch_us']:>7} {s['single_row_ms_median']:>9}"
        )
        print("  " + json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
