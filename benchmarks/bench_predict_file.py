"""``foldwise predict`` on big Parquet files: wall time, rows per second and peak memory.

    python benchmarks/bench_predict_file.py [--bundle models/model] [--rows 10000000]
        [--also 1000000] [--chunk-rows 100000] [--workdir /tmp/foldwise-bench-predict]

Generates ``--rows`` (and ``--also``) unseen churn-like raw rows (the demo generator with
other seeds, every column as the demo table has it, including the target and the leaky
column, which the command ignores) as Parquet, 500,000 rows at a time so the generator's
memory stays bounded; then runs ``foldwise predict IN -o OUT.parquet`` in a subprocess and
reads that process's own peak RSS from ``wait4``. Peak memory that does not grow from the
smaller to the bigger input is the point: the command streams.

The rows are generated in a subprocess too: Linux carries a process's peak RSS across
``exec`` (``ru_maxrss``), and a child forked from a benchmark that had just generated 10M rows
would report the generator's memory as its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from foldwise.demo import generate_churn

GENERATE_ROWS = 500_000


def generate(path: Path, rows: int, seed: int) -> None:
    """``rows`` unseen churn rows in ``path`` (kept if already there with that many rows)."""
    if path.is_file() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    temp = path.with_name(f".{path.name}.partial")
    writer = None
    done = 0
    while done < rows:
        n = min(GENERATE_ROWS, rows - done)
        frame = generate_churn(max(n, 1000), seed=seed + done)[:n]
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(temp, table.schema)
        writer.write_table(table.cast(writer.schema))
        done += n
    assert writer is not None
    writer.close()
    os.replace(temp, path)


def run_predict(bundle: Path, source: Path, out: Path, chunk_rows: int) -> dict:
    """One ``foldwise predict`` in a child process: wall seconds, rows/s, its peak RSS."""
    command = [sys.executable, "-m", "foldwise.cli", "predict", str(source), "-o", str(out),
               "--model", str(bundle), "--chunk-rows", str(chunk_rows), "--force"]  # fmt: skip
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = process.stdout.read().decode(), process.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"foldwise predict failed:\n{stderr}")
    rows = pq.ParquetFile(source).metadata.num_rows
    assert pq.ParquetFile(out).metadata.num_rows == rows, stdout
    return {
        "rows": rows,
        "chunk_rows": chunk_rows,
        "wall_s": round(wall, 2),
        "rows_per_s": round(rows / wall),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # Linux: kilobytes
        "input_mb": round(source.stat().st_size / 2**20, 1),
        "output_mb": round(out.stat().st_size / 2**20, 1),
    }


def main() -> None:
    if sys.argv[1:2] == ["--generate-only"]:
        generate(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("models/model"))
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--also", type=int, nargs="*", default=[1_000_000], help="smaller inputs")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/foldwise-bench-predict"))
    parser.add_argument("--seed", type=int, default=20_000)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for rows in sorted({*args.also, args.rows}):
        source = args.workdir / f"rows-{rows}.parquet"
        start = time.perf_counter()
        command = [sys.executable, __file__, "--generate-only", str(source), str(rows),
                   str(args.seed)]  # fmt: skip
        subprocess.run(command, check=True)
        print(f"input: {rows:,} rows ({time.perf_counter() - start:.0f} s to generate)", flush=True)
        result = run_predict(args.bundle, source, args.workdir / f"out-{rows}.parquet",
                             args.chunk_rows)  # fmt: skip
        results.append(result)
        print(json.dumps(result), flush=True)
    print(f"load average: {os.getloadavg()[0]:.2f} (1 min), cores: {os.cpu_count()}")
    print("rows | wall s | rows/s | peak RSS MB")
    for r in results:
        print(f"{r['rows']:,} | {r['wall_s']} | {r['rows_per_s']:,} | {r['peak_rss_mb']}")


if __name__ == "__main__":
    main()
