"""The fixed start-up cost of each stage process: imports plus validating params.yaml.

Every ``dvc repro`` stage is a fresh Python process that imports its stack and validates
``params.yaml`` before doing any work: every model's setting names (from a generated table,
no model library imported), and the values of the models the stage fits (by their
libraries). This script measures exactly that, per stage, in fresh processes: the stage
script is imported as a module (its ``main`` is guarded by ``__name__``, so nothing runs) and
then params.yaml is validated as the stage's ``main`` does first (prepare: every model's
values; baseline: its baselines; tune and train: ``model.members``; the others: none).

    python benchmarks/bench_stage_startup.py [--repeat 5] [--top 8]

It reads ``params.yaml`` and ``stages/`` of the project it sits in. For each stage it prints
the median wall time and CPU time (user + system) of the process, and the packages whose
modules took the most import time (self time, from ``python -X importtime``). The CPU time
is the steadier figure on a shared machine; record ``uptime``'s load beside the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = sorted(p.stem for p in (ROOT / "stages").glob("*.py"))

# Imports the stage module from stages/ without running main(), then validates params.yaml
# as the stage's main() does (load_config, or load_training_run's check).
PROBE = """
import importlib.util, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("stage_{name}", "stages/{name}.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from foldwise.config import read_config
from foldwise.model_settings import check_model_settings
config = read_config("params.yaml")
fitted = {{"prepare": None, "baseline": getattr(module, "BASELINES", None)}}
fitted |= dict.fromkeys(("tune", "train"), config.model.members)
check_model_settings(config, config.problem.task, fitted.get("{name}", ()))
print(f"{{time.perf_counter() - t0:.4f}}")
"""

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")


def _run(name: str, importtime: bool = False) -> tuple[float, float, str, float]:
    """(process wall s, s after start-up, stderr, process CPU s) of one fresh process."""
    args = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*args, PROBE.format(name=name)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"stage {name}: the probe failed:\n{done.stderr[-2000:]}")
    return wall, float(done.stdout.strip().splitlines()[-1]), done.stderr, cpu


def heaviest(stderr: str, top: int) -> list[tuple[str, float]]:
    """Packages by the import time of their own modules (self time), in seconds, heaviest first."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            package = match.group(3).split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(match.group(1)) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per stage")
    parser.add_argument("--top", type=int, default=8, help="heaviest packages listed")
    parser.add_argument("stages", nargs="*", default=STAGES)
    args = parser.parse_args()
    bare = statistics.median(
        _timed([sys.executable, "-c", "pass"]) for _ in range(max(3, args.repeat))
    )
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"bare interpreter: {bare:.3f} s")
    print(f"{'stage':<10} {'process s':>9} {'CPU s':>6}  heaviest imports, self time (s)")
    totals = []
    for name in args.stages:
        runs = [_run(name) for _ in range(args.repeat)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[3] for r in runs)
        totals.append((wall, cpu))
        top = heaviest(_run(name, importtime=True)[2], args.top)
        listed = ", ".join(f"{pkg} {sec:.2f}" for pkg, sec in top)
        print(f"{name:<10} {wall:9.3f} {cpu:6.3f}  {listed}", flush=True)
    wall_sum, cpu_sum = (sum(t[i] for t in totals) for i in (0, 1))
    print(f"sum over {len(totals)} stages (medians): process {wall_sum:.2f} s, CPU {cpu_sum:.2f} s")


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
