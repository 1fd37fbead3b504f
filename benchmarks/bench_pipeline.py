"""Wall time of the whole default pipeline (`dvc repro`), stage by stage, in a fresh copy.

CPU time (user + system, of all processes a stage ran) is printed beside the wall time: on a
shared machine it moves far less with the load than wall time does.

python benchmarks/bench_pipeline.py                # the project's params.yaml
python benchmarks/bench_pipeline.py -S tune.n_trials=10 -S demo.rows=50000
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _project import copy_pipeline, set_param


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-S", "--set", action="append", default=[], help="key=value override")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        copy_pipeline(work)
        params = yaml.safe_load((work / "params.yaml").read_text())
        for assignment in args.set:
            set_param(params, assignment)
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

        def run(*cmd: str) -> None:
            subprocess.run(cmd, cwd=work, check=True, capture_output=True)

        run("git", "init", "-q")
        run(sys.executable, "-m", "dvc", "init", "-q")
        run("git", "add", "-A")
        run("git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "bench")
        stages = list(yaml.safe_load((work / "dvc.yaml").read_text())["stages"])
        total = total_cpu = 0.0
        print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cpus)")
        print(f"{'stage':<10} {'wall s':>8} {'cpu s':>8}")
        for stage in stages:
            started, cpu = time.perf_counter(), children_cpu()
            run(sys.executable, "-m", "dvc", "repro", "--single-item", stage)
            seconds, cpu_seconds = time.perf_counter() - started, children_cpu() - cpu
            total += seconds
            total_cpu += cpu_seconds
            print(f"{stage:<10} {seconds:>8.1f} {cpu_seconds:>8.1f}", flush=True)
        print(f"{'total':<10} {total:>8.1f} {total_cpu:>8.1f}")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")


def children_cpu() -> float:
    """User + system seconds of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
