"""Load-test ``foldwise serve`` on loopback: throughput and latency percentiles, and overhead.

Starts the real server (uvicorn, one process) on a free 127.0.0.1 port, then for 1-row and
100-row requests at 1, 8 and 32 concurrent clients sends a fixed number of requests (stopping
early after ``--max-seconds``), over keep-alive connections from a minimal asyncio client
(on uvloop when installed; its own CPU per request is reported, as it shares the cores with
the server), and reports requests/s, rows/s and p50/p95/p99 latency. Every request carries rows the server has
never seen: fresh draws of the demo generator (``--seed``, duplicates dropped), each row sent
once in the whole run. Rows are also scored in process (``Bundle.predict``, and the server's
whole request path without HTTP; again each row once) to show the server's overhead. Bounded
in count and time; traffic goes to 127.0.0.1 only.

    python benchmarks/bench_serve.py                       # trains a churn bundle (5k rows)
    python benchmarks/bench_serve.py --model models/model  # the pipeline's bundle
    python benchmarks/bench_serve.py --workers 2           # one server process per core
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only
ROW_SIZES = (1, 100)
CLIENTS = (1, 8, 32)
WARM = 50  # warm-up requests per row size (fresh rows too, not measured)
IN_PROCESS = {1: 300, 100: 50}  # in-process calls per row size
_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


def train_churn_bundle(out: Path, rows: int) -> tuple[Path, pd.DataFrame]:
    """A CatBoost bundle on the demo churn table (params.yaml-like settings, no tuning)."""
    from foldwise.bundle import Bundle
    from foldwise.data import coerce_table
    from foldwise.demo import CHURN_TARGET, LEAKY_COLUMN, generate_churn
    from foldwise.models import build_model, feature_frame
    from foldwise.problem import Problem

    raw = generate_churn(rows, seed=0)
    typed = coerce_table(raw, target=CHURN_TARGET, id_columns=["customer_id"], date_columns=[])
    skip = {CHURN_TARGET, "customer_id", LEAKY_COLUMN}
    features = []
    for name in raw.columns:
        if name in skip:
            continue
        entry = {"name": name, "kind": typed.kinds[name]}
        if entry["kind"] == "categorical":
            counts = typed.frame[name].value_counts()
            entry |= {
                "n_categories": len(counts),
                "categories": [str(c) for c in counts.index[:50]],
            }
        features.append(entry)
    problem = Problem("binary", CHURN_TARGET, ("No", "Yes"), "Yes", "roc_auc")
    model = build_model(
        "catboost",
        task="binary",
        features=features,
        settings={"iterations": 300, "depth": 6, "learning_rate": 0.08},
        seed=0,
    )
    model = model.fit(feature_frame(typed.frame, features), problem.encode(raw[CHURN_TARGET]))
    Bundle(model, problem, features, 0.3, {"id_columns": ["customer_id"]}).save(out)
    return out, raw.drop(columns=[CHURN_TARGET])


class RowPool:
    """Rows never seen by the bundle, handed out once each (parsed JSON records)."""

    def __init__(self, n: int, seed: int) -> None:
        from foldwise.demo import CHURN_TARGET, generate_churn

        table = generate_churn(n + n // 10 + 100, seed=seed).drop_duplicates()
        table = table.drop(columns=[CHURN_TARGET]).iloc[:n]
        self.records = json.loads(table.to_json(orient="records"))
        self.used = 0

    def take(self, n: int) -> list[dict]:
        if self.used + n > len(self.records):
            raise SystemExit("bench_serve: the pool of fresh rows ran out")
        rows = self.records[self.used : self.used + n]
        self.used += n
        return rows

    def bodies(self, n_rows: int, count: int) -> list[bytes]:
        return [json.dumps({"rows": self.take(n_rows)}).encode() for _ in range(count)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent pid
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {f"p{q}": float(np.percentile(ms, q)) for q in (50, 95, 99)}


async def _call(reader, writer, request: bytes) -> int:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = _LENGTH.search(head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    return int(head[9:12])


def requests_of(port: int, bodies: list[bytes]) -> list[bytes]:
    return [
        (
            f"POST /predict HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in bodies
    ]


async def load(requests: list[bytes], port: int, clients: int, max_seconds: float) -> dict:
    """Each request once, over ``clients`` keep-alive connections, or until ``max_seconds``."""
    total = len(requests)
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + max_seconds

    async def client() -> None:
        nonlocal issued, errors
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while issued < total and time.perf_counter() < deadline:
                request = requests[issued]
                issued += 1
                started = time.perf_counter()
                status = await _call(reader, writer, request)
                latencies.append(time.perf_counter() - started)
                errors += status != 200
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": elapsed,
        "requests_per_s": len(latencies) / elapsed,
        **percentiles(latencies),
    }


def run_load(requests: list[bytes], port: int, clients: int, max_seconds: float) -> dict:
    """``load`` on uvloop when installed (the server's own loop): a cheaper client leaves more
    of the shared cores to the server; the client's own CPU per request is reported too."""
    coroutine = load(requests, port, clients, max_seconds)
    cpu = time.process_time()
    try:
        import uvloop
    except ImportError:
        run = asyncio.run(coroutine)
    else:
        run = uvloop.run(coroutine)
    run["client_cpu_ms_per_request"] = 1000 * (time.process_time() - cpu) / max(1, run["requests"])
    return run


def in_process(model: Path, batches: list[list[dict]], log_dir: Path) -> dict:
    """Bundle.predict alone, and the server's request path (validate, score, log) without HTTP.

    Each batch is used once by each path (the two paths score the same rows, each once).
    """
    from foldwise.bundle import Bundle
    from foldwise.serve.app import ServerState, ServeSettings
    from foldwise.serve.metrics import ServerMetrics

    bundle = Bundle.load(model)
    state = ServerState(ServeSettings(model=model, log_dir=log_dir), ServerMetrics())
    state.load()
    timings: dict[str, list[float]] = {"bundle_predict": [], "server_path": []}
    cpu = {"bundle_predict": 0.0, "server_path": 0.0}
    for rows in batches:
        started, cpu_started = time.perf_counter(), time.process_time()
        bundle.predict(pd.DataFrame(rows))
        timings["bundle_predict"].append(time.perf_counter() - started)
        cpu["bundle_predict"] += time.process_time() - cpu_started
        started, cpu_started = time.perf_counter(), time.process_time()
        state.predict(rows)
        timings["server_path"].append(time.perf_counter() - started)
        cpu["server_path"] += time.process_time() - cpu_started
    assert state.log is not None
    state.log.close()
    return {
        name: {**percentiles(values), "cpu_ms": 1000 * cpu[name] / len(batches)}
        for name, values in timings.items()
    }


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    import httpx

    # Each new connection may reach any worker process: ready means 20 answers in a row, so a
    # worker still loading its model (503) cannot count as errors in the first measurement.
    deadline = time.monotonic() + timeout
    in_a_row = 0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited before it was ready")
        try:
            ok = httpx.get(f"http://{HOST}:{port}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            ok = False
        in_a_row = in_a_row + 1 if ok else 0
        if in_a_row >= 20:
            return
        time.sleep(0.05 if ok else 0.2)
    raise SystemExit("the server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="bundle (default: train one)")
    parser.add_argument("--train-rows", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=2000, help="per 1-row configuration")
    parser.add_argument("--requests-100", type=int, default=300, help="per 100-row configuration")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="cap per configuration")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument("--seed", type=int, default=1018, help="seed of the fresh rows")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    model = args.model
    if model is None:
        model, _ = train_churn_bundle(work / "model", args.train_rows)
    need = {
        1: WARM + len(CLIENTS) * args.requests + IN_PROCESS[1],
        100: WARM + len(CLIENTS) * args.requests_100 + IN_PROCESS[100],
    }
    pool = RowPool(sum(n * count for n, count in need.items()), args.seed)
    port = free_port()
    server_out = (work / "server.txt").open("w")
    command = [sys.executable, "-m", "foldwise.cli", "serve", "--model", str(model), "--host",
               HOST, "--port", str(port), "--log-dir", str(work / "log"),
               "--workers", str(args.workers)]  # fmt: skip
    process = subprocess.Popen(command, stdout=server_out, stderr=subprocess.STDOUT)
    results: dict = {
        "load_before": os.getloadavg(),
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "runs": [],
    }
    try:
        wait_ready(port, process)
        for n_rows in ROW_SIZES:
            total = args.requests if n_rows == 1 else args.requests_100
            run_load(requests_of(port, pool.bodies(n_rows, WARM)), port, 4, 10)
            for clients in CLIENTS:
                requests = requests_of(port, pool.bodies(n_rows, total))
                cpu_before = server_cpu_seconds(process.pid)
                run = run_load(requests, port, clients, args.max_seconds)
                cpu = server_cpu_seconds(process.pid) - cpu_before
                run |= {
                    "rows": n_rows,
                    "clients": clients,
                    "load": os.getloadavg()[0],
                    "server_cpu_ms_per_request": 1000 * cpu / max(1, run["requests"]),
                }
                results["runs"].append(run)
                print(
                    f"rows {n_rows:>3}  clients {clients:>2}  {run['requests']:>5} req "
                    f"in {run['seconds']:5.1f} s  {run['requests_per_s']:7.1f} req/s "
                    f"{run['requests_per_s'] * n_rows:8.0f} rows/s  p50 {run['p50']:6.1f} ms  "
                    f"p95 {run['p95']:6.1f} ms  p99 {run['p99']:6.1f} ms  errors {run['errors']}"
                    f"  server CPU {run['server_cpu_ms_per_request']:.1f} ms/req"
                    f"  client CPU {run['client_cpu_ms_per_request']:.1f} ms/req"
                    f"  (load {run['load']:.1f})",
                    flush=True,
                )
    finally:
        process.terminate()
        process.wait(timeout=30)
        server_out.close()
    for n_rows in ROW_SIZES:
        batches = [pool.take(n_rows) for _ in range(IN_PROCESS[n_rows])]
        timing = in_process(model, batches, work / "log-inproc")
        results[f"in_process_{n_rows}"] = timing
        print(
            f"in process, {n_rows:>3} row(s): Bundle.predict p50 "
            f"{timing['bundle_predict']['p50']:.2f} ms (CPU {timing['bundle_predict']['cpu_ms']:.2f}"
            f" ms); validate+score+log p50 {timing['server_path']['p50']:.2f} ms "
            f"(CPU {timing['server_path']['cpu_ms']:.2f} ms)",
            flush=True,
        )
    results["load_after"] = os.getloadavg()
    print(f"load average before {results['load_before']}, after {results['load_after']}")
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
