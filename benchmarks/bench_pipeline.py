"""Wall time of the whole default pipeline (`dvc repro`), stage by stage, in a fresh copy.

python benchmarks/bench_pipeline.py                # the project's params.yaml
python benchmarks/bench_pipeline.py -S tune.n_trials=10 -S demo.rows=50000
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _set(params: dict, assignment: str) -> None:
    key, _, value = assignment.partition("=")
    *parents, leaf = key.split(".")
    node = params
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = yaml.safe_load(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-S", "--set", action="append", default=[], help="key=value override")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("dvc.yaml", "params.yaml", ".gitignore"):
            shutil.copy(ROOT / name, work / name)
        for folder in ("stages", "src"):
            shutil.copytree(
                ROOT / folder,
                work / folder,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
            )
        (work / "data" / "raw").mkdir(parents=True)
        (work / "data" / "raw" / ".gitkeep").touch()
        params = yaml.safe_load((work / "params.yaml").read_text())
        for assignment in args.set:
            _set(params, assignment)
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

        def run(*cmd: str) -> None:
            subprocess.run(cmd, cwd=work, check=True, capture_output=True)

        run("git", "init", "-q")
        run(sys.executable, "-m", "dvc", "init", "-q")
        run("git", "add", "-A")
        run("git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "bench")
        stages = list(yaml.safe_load((work / "dvc.yaml").read_text())["stages"])
        total = 0.0
        print(f"{'stage':<10} {'seconds':>8}")
        for stage in stages:
            started = time.perf_counter()
            run(sys.executable, "-m", "dvc", "repro", "--single-item", stage)
            seconds = time.perf_counter() - started
            total += seconds
            print(f"{stage:<10} {seconds:>8.1f}", flush=True)
        print(f"{'total':<10} {total:>8.1f}")


if __name__ == "__main__":
    main()
