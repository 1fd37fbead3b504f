"""Production figures of a bundle, measured in a fresh process, and the budgets they must meet.

``python -m foldwise.production.measure BUNDLE ROWS OUT.json [CALLS]`` loads the bundle in a
new interpreter (so import and load costs, caches and memory are what a server would see),
times ``CALLS`` one-row calls given as parsed JSON (what ``/predict`` receives) and scores a
batch, never the same row twice, and writes the figures as JSON.
:func:`measure_in_fresh_process` runs it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from foldwise.errors import FoldwiseError

# The longest text of a float in JSON ("-2.2250738585072014e-308"): every float of a bundle's
# JSON files is counted at this width, so the recorded size does not depend on its digits.
JSON_FLOAT_WIDTH = 24


def json_size(path: Path) -> int:
    """Bytes of a JSON file with every float counted at :data:`JSON_FLOAT_WIDTH` characters."""
    data = path.read_bytes()
    widths: list[int] = []

    def count(text: str) -> float:
        widths.append(len(text))
        return 0.0

    try:
        json.loads(data, parse_float=count)
    except ValueError:  # not JSON after all: its plain size
        return len(data)
    return len(data) - sum(widths) + JSON_FLOAT_WIDTH * len(widths)


def folder_mb(directory: Path) -> float:
    """Size of the files under ``directory`` in MB (10^6 bytes), JSON floats at a fixed width.

    The same model on another CPU can differ in the last bits of a float inside bundle.json or
    reference.json; counting each float at one width keeps the figure (a tracked DVC metric)
    the same. It is at most a few kB above the bytes on disk.
    """
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    total = sum(json_size(p) if p.suffix == ".json" else p.stat().st_size for p in files)
    return total / 1e6


_WARM_CALLS = 20


def _measure(bundle_dir: Path, rows_path: Path, calls: int) -> dict[str, Any]:
    """Figures on rows the bundle has never scored: no row is scored twice.

    The rows are shuffled once (seed 0, so the same rows are drawn on every run): the first
    ``20 + calls`` are the one-row calls (20 to warm up, each a different row), the rest is
    split in two disjoint batches and the faster one gives the throughput.
    """
    import numpy as np
    import pandas as pd

    from foldwise.bundle import Bundle

    start = time.perf_counter()
    bundle = Bundle.load(bundle_dir)
    load_s = time.perf_counter() - start
    rows = pd.read_parquet(rows_path)
    if len(rows) < 2:
        raise FoldwiseError(f"{rows_path}: {len(rows)} row(s); at least 2 are needed to measure")
    order = np.random.default_rng(0).permutation(len(rows))
    single = order[: min(_WARM_CALLS + calls, len(rows) // 2)]
    # As a client sends them: parsed JSON (ISO dates, true/false, null).
    records = json.loads(rows.iloc[single].to_json(orient="records", date_format="iso"))
    for record in records[:_WARM_CALLS]:
        bundle.predict_records(record)
    latencies = []
    for record in records[_WARM_CALLS:]:
        start = time.perf_counter()
        bundle.predict_records(record)
        latencies.append(time.perf_counter() - start)
    ms = np.asarray(latencies) * 1e3
    rest = order[len(single) :]
    batches = [rows.iloc[part] for part in np.array_split(rest, 2)]
    batch_s = []
    for batch in batches:
        start = time.perf_counter()
        bundle.predict(batch)
        batch_s.append(time.perf_counter() - start)
    fastest = int(np.argmin(batch_s))
    return {
        "rows": len(rows),
        "load_s": load_s,
        "batch_rows": len(batches[fastest]),
        "batch_s": batch_s[fastest],
        "rows_per_s": len(batches[fastest]) / batch_s[fastest],
        "latency_calls": len(latencies),
        "latency_p50_ms": float(np.percentile(ms, 50)) if len(ms) else float("nan"),
        "latency_p99_ms": float(np.percentile(ms, 99)) if len(ms) else float("nan"),
        # Linux reports kilobytes; the peak of this whole process, imports included.
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "model_mb": folder_mb(bundle_dir),
        "load_average": list(os.getloadavg()),
    }


def measure_in_fresh_process(bundle_dir: Path, rows_path: Path, calls: int) -> dict[str, Any]:
    """Run :func:`_measure` in a new interpreter; its one-line error becomes ours."""
    with tempfile.TemporaryDirectory(prefix="foldwise-measure-") as tmp:
        out = Path(tmp) / "figures.json"
        args = [sys.executable, "-m", "foldwise.production.measure"]
        args += [str(bundle_dir), str(rows_path), str(out), str(calls)]
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
            raise FoldwiseError(
                f"measuring {bundle_dir} failed: {lines[-1] if lines else result.returncode}"
            )
        return json.loads(out.read_text())


BUDGETS = (
    # (params key, figure, unit, "max" or "min")
    ("max_latency_ms", "latency_p99_ms", "ms (p99, one row)", "max"),
    ("min_rows_per_s", "rows_per_s", "rows/s (batch)", "min"),
    ("max_model_mb", "model_mb", "MB (bundle folder)", "max"),
    ("max_memory_mb", "peak_memory_mb", "MB (peak memory)", "max"),
)


def check_budgets(figures: dict[str, Any], budgets: dict[str, float]) -> list[dict[str, Any]]:
    """One entry per budget: the limit, the measured figure and whether it was met."""
    checks = []
    for key, figure, unit, side in BUDGETS:
        limit, value = float(budgets[key]), float(figures[figure])
        met = value <= limit if side == "max" else value >= limit
        word = "at most" if side == "max" else "at least"
        checks.append(
            {
                "budget": f"production.{key}",
                "limit": limit,
                "measured": value,
                "unit": unit,
                "met": met,
                "message": f"production.{key}: measured {value:.4g} {unit}; budget {word} {limit:g}",
            }
        )
    return checks


def main(argv: list[str]) -> None:
    """Entry point of the fresh measuring process."""
    bundle_dir, rows_path, out = Path(argv[0]), Path(argv[1]), Path(argv[2])
    calls = int(argv[3]) if len(argv) > 3 else 300
    try:
        figures = _measure(bundle_dir, rows_path, calls)
    except FoldwiseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
