"""Time `foldwise compare`, `foldwise test-usage` and `dvc exp show` on a project with many experiments.

A temporary git + DVC copy of the pipeline (as tests/conftest.py's Project.create makes) runs
once with small params and is committed; then N cheap `dvc exp run` experiments switch the
model to logistic regression with a different `C` each and one tuning trial (the params.yaml
`C`), so each experiment has its own model; generate/prepare/audit stay cached,
baseline/tune/train/evaluate rerun. Each command is then timed a few times (wall, median and
min) with its peak RSS, next to the load average: other jobs may share the machine.

python benchmarks/bench_compare.py                            # 50 experiments, in a temp dir
python benchmarks/bench_compare.py --experiments 10 --repeat 5 --json /tmp/compare.json
python benchmarks/bench_compare.py --mode queue --experiments 5   # dvc exp run --queue + --run-all
python benchmarks/bench_compare.py --root /tmp/cmp            # keep the project in /tmp/cmp
python benchmarks/bench_compare.py --root /tmp/cmp --reuse    # time again, no new experiments
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _project import copy_pipeline, set_param

ROOT = Path(__file__).resolve().parents[1]
# Small settings: the committed run takes well under a minute; experiments a few seconds each.
BASE_PARAMS = {
    "demo": {"rows": 2000},
    "cv": {"folds": 5},
    # C is set so experiments can override it (`-S` refuses keys params.yaml lacks).
    "model": {"catboost": {"iterations": 150}, "logistic_regression": {"C": 1.0}},
    "tune": {"n_trials": 2, "nested": False},
    "evaluate": {"bootstrap_samples": 200},
}
SORT_BY = "reports/train/metrics.json:cv.roc_auc.mean"
KEEP = r"Experiment|cv\.roc_auc\.mean|primary_metric\.value|model\.name|logistic_regression\.C"
USAGE_RE = re.compile(
    r"scored by (\d+) distinct evaluate run\(s\): (\d+) commit\(s\), (\d+) experiment\(s\)"
)
TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
DVC = [sys.executable, "-m", "dvc"]
_CONSOLE = shutil.which("foldwise")
FOLDWISE = [_CONSOLE] if _CONSOLE else [sys.executable, "-m", "foldwise.cli"]


class BenchError(RuntimeError):
    """A command failed or printed something implausible: the figures would mean nothing."""


def source_version() -> str:
    """foldwise's commit and a hash of src/foldwise as imported by the `foldwise` command."""
    digest = hashlib.sha256()
    package = ROOT / "src" / "foldwise"
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + path.read_bytes())
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return f"{head or '?'} src:{digest.hexdigest()[:12]}"


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _merge(params: dict, sections: dict) -> None:
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            _merge(params[key], value)
        else:
            params[key] = value


def run(root: Path, args: list[str], ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=root, capture_output=True, text=True)
    if result.returncode not in ok:
        raise BenchError(
            f"`{' '.join(args)}` exited {result.returncode} (expected {ok}):\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result


def measured(root: Path, args: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``args``; its result, wall seconds and peak RSS in MiB (largest process in the tree)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        if TIME_BIN:
            wrapped = [TIME_BIN, "-o", rss.name, "-f", "%M", *args]
        else:  # a fresh wrapper process, so RUSAGE_CHILDREN covers this command only
            probe = (
                "import resource, subprocess, sys\n"
                "code = subprocess.run(sys.argv[2:]).returncode\n"
                "open(sys.argv[1], 'w').write(\n"
                "    str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
                "sys.exit(code)\n"
            )
            wrapped = [sys.executable, "-c", probe, rss.name, *args]
        started = time.perf_counter()
        result = subprocess.run(wrapped, cwd=root, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        text = Path(rss.name).read_text().strip().splitlines()
    # GNU time prints "Command exited with non-zero status N" before the figure.
    kib = int(text[-1]) if text and text[-1].strip().isdigit() else 0
    result.args = args
    return result, seconds, kib / 1024


# --- the project ------------------------------------------------------------------------


def create_project(root: Path, overrides: list[str]) -> None:
    """A git + DVC copy of the pipeline with small params, run once and committed."""
    root.mkdir(parents=True)
    copy_pipeline(root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    _merge(params, BASE_PARAMS)
    for assignment in overrides:
        set_param(params, assignment)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(root, ["git", "init", "-q"])
    run(root, ["git", "config", "user.email", "bench@example.com"])
    run(root, ["git", "config", "user.name", "bench"])
    run(root, [*DVC, "init", "-q"])
    run(root, [*DVC, "config", "core.analytics", "false"])
    commit(root, "foldwise pipeline")
    started = time.perf_counter()
    run(root, [*DVC, "repro"])
    print(f"dvc repro (committed run): {time.perf_counter() - started:.1f} s", flush=True)
    commit(root, "dvc repro")


def commit(root: Path, message: str) -> None:
    run(root, ["git", "add", "-A"])
    run(root, ["git", "commit", "-q", "-m", message])


def exp_params(i: int, n: int) -> list[str]:
    c = 10 ** (-3 + 5 * i / max(n - 1, 1))  # 1e-3 … 1e2, log-spaced
    # One trial: trial 0 is params.yaml's C, so every experiment fits its own model (with two,
    # the second trial's sampled C is the same in every experiment and usually wins).
    return [
        "-S",
        "model.name=logistic_regression",
        "-S",
        "tune.n_trials=1",
        "-S",
        f"model.logistic_regression.C={c:.6g}",
    ]


def exp_name(i: int) -> str:
    return f"bench-{i + 1:03d}"


def run_experiments(root: Path, n: int, mode: str) -> dict:
    """Create ``n`` experiments; seconds per experiment (queue: total / n, queueing included)."""
    per_exp: list[float] = []
    started_all = time.perf_counter()
    if mode == "workspace":
        for i in range(n):
            started = time.perf_counter()
            run(root, [*DVC, "exp", "run", "-n", exp_name(i), *exp_params(i, n)])
            seconds = time.perf_counter() - started
            per_exp.append(seconds)
            done = time.perf_counter() - started_all
            eta = done / (i + 1) * (n - i - 1)
            print(
                f"  exp {i + 1:>3}/{n} {exp_name(i)} {exp_params(i, n)[-1]:<36} {seconds:6.1f} s"
                f"  (total {done:6.0f} s, eta {eta:5.0f} s, load {_load()})",
                flush=True,
            )
        queue_s = 0.0
        run_all_s = sum(per_exp)
    else:
        started = time.perf_counter()
        for i in range(n):
            run(root, [*DVC, "exp", "run", "--queue", "-n", exp_name(i), *exp_params(i, n)])
        queue_s = time.perf_counter() - started
        print(f"  queued {n} experiments in {queue_s:.1f} s (load {_load()})", flush=True)
        started = time.perf_counter()
        run(root, [*DVC, "exp", "run", "--run-all", "-j", "1"])
        run_all_s = time.perf_counter() - started
        print(f"  dvc exp run --run-all -j 1: {run_all_s:.1f} s (load {_load()})", flush=True)
    total = time.perf_counter() - started_all
    return {
        "mode": mode,
        "experiments": n,
        "total_s": round(total, 1),
        "queue_s": round(queue_s, 1),
        "run_s": round(run_all_s, 1),
        "per_experiment_mean_s": round(total / n, 2) if n else None,
        "per_experiment_median_s": round(statistics.median(per_exp), 2) if per_exp else None,
        "per_experiment_min_s": round(min(per_exp), 2) if per_exp else None,
        "per_experiment_max_s": round(max(per_exp), 2) if per_exp else None,
        "seconds": [round(s, 2) for s in per_exp],
    }


def experiment_names(root: Path) -> list[str]:
    out = run(root, [*DVC, "exp", "list", "--name-only"]).stdout.split()
    return sorted(name for name in out if name.startswith("bench-"))


def committed_evaluations(root: Path) -> int:
    """Commits on HEAD's history whose git tree has an evaluate report (expected test-usage)."""
    revs = run(root, ["git", "rev-list", "HEAD"]).stdout.split()
    has = 0
    for rev in revs:
        probe = subprocess.run(
            ["git", "cat-file", "-e", f"{rev}:reports/evaluate/metrics.json"],
            cwd=root,
            capture_output=True,
        )
        has += probe.returncode == 0
    return has


# --- checks -----------------------------------------------------------------------------


def check_exp_show_csv(result: subprocess.CompletedProcess, names: list[str]) -> None:
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    seen = {row.get("Experiment") for row in rows}
    missing = [name for name in names if name not in seen]
    if missing or not rows or "model.logistic_regression.C" not in rows[0]:
        raise BenchError(
            f"dvc exp show --csv: {len(rows)} rows, missing experiments {missing[:5]}, "
            f"columns {list(rows[0])[:8] if rows else []}…"
        )


def check_exp_show_sorted(result: subprocess.CompletedProcess, names: list[str]) -> None:
    missing = [name for name in names if name not in result.stdout]
    if missing or "roc_auc" not in result.stdout:
        raise BenchError(
            f"dvc exp show --sort-by: experiments {missing[:5]} or the roc_auc column missing "
            f"from the table:\n{result.stdout[:2000]}"
        )


def check_compare(result: subprocess.CompletedProcess, markdown: bool) -> None:
    if result.returncode not in (0, 1):
        raise BenchError(
            f"`{' '.join(result.args)}` exited {result.returncode} (expected 0 or 1):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    text = result.stdout
    expected = ("# foldwise compare:", "Regression gate") if markdown else ("regression gate",)
    if not all(marker in text for marker in expected) or "Traceback" in result.stderr:
        raise BenchError(
            f"`{' '.join(result.args)}`: expected {expected} in its output:\n"
            f"{text[-2000:]}\n{result.stderr[-2000:]}"
        )


def check_test_usage(result: subprocess.CompletedProcess, n_exps: int, n_commits: int) -> dict:
    match = USAGE_RE.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise BenchError(
            f"foldwise test-usage exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    evaluations, commits, experiments = map(int, match.groups())
    counts = {"evaluations": evaluations, "commits": commits, "experiments": experiments}
    # Experiments with the same best params give byte-identical reports: one evaluation each.
    plausible = experiments == n_exps and commits == n_commits
    plausible = plausible and 2 <= evaluations <= n_exps + n_commits + 1
    if not plausible:
        raise BenchError(
            f"foldwise test-usage counted {counts}; expected {n_exps} experiment(s), "
            f"{n_commits} commit(s) and 2…{n_exps + n_commits + 1} evaluations:\n{result.stdout}"
        )
    return counts


# --- timing -----------------------------------------------------------------------------


def time_commands(root: Path, names: list[str], repeat: int) -> tuple[list[dict], dict]:
    first, last = names[0], names[-1]
    n_commits = committed_evaluations(root)
    usage: dict = {}

    def usage_check(result: subprocess.CompletedProcess) -> None:
        usage.update(check_test_usage(result, len(names), n_commits))

    show_cache = root / ".dvc" / "tmp" / "exps" / "cache"
    commands = [
        ("foldwise --help (startup)", [*FOLDWISE, "--help"], lambda r: None),
        (
            "dvc exp show --csv (all, cold cache)",
            [*DVC, "exp", "show", "--no-pager", "--csv"],
            lambda r: check_exp_show_csv(r, names),
        ),
        (
            "dvc exp show --csv (all)",
            [*DVC, "exp", "show", "--no-pager", "--csv"],
            lambda r: check_exp_show_csv(r, names),
        ),
        (
            "dvc exp show --sort-by roc_auc --drop/--keep",
            [
                *DVC,
                "exp",
                "show",
                "--no-pager",
                "--sort-by",
                SORT_BY,
                "--sort-order",
                "desc",
                "--drop",
                ".*",
                "--keep",
                KEEP,
            ],
            lambda r: check_exp_show_sorted(r, names),
        ),
        (
            f"foldwise compare {first} {last}",
            [*FOLDWISE, "compare", first, last],
            lambda r: check_compare(r, markdown=False),
        ),
        (
            "foldwise compare HEAD (workspace)",
            [*FOLDWISE, "compare", "HEAD"],
            lambda r: check_compare(r, markdown=False),
        ),
        (
            f"foldwise compare HEAD {last} --md",
            [*FOLDWISE, "compare", "HEAD", last, "--md"],
            lambda r: check_compare(r, markdown=True),
        ),
        ("foldwise test-usage", [*FOLDWISE, "test-usage"], usage_check),
    ]
    rows = []
    for label, args, check in commands:
        walls, rss, loads = [], [], []
        for _ in range(repeat):
            if "cold cache" in label:  # DVC keeps each commit's collected results here
                shutil.rmtree(show_cache, ignore_errors=True)
            loads.append(os.getloadavg()[0])
            result, seconds, peak = measured(root, args)
            if label == "foldwise --help (startup)":
                if result.returncode != 0:
                    raise BenchError(f"foldwise --help exited {result.returncode}")
            else:
                check(result)
            walls.append(seconds)
            rss.append(peak)
        row = {
            "command": label,
            "argv": [os.path.basename(a) if a == sys.executable else a for a in args],
            "runs": repeat,
            "median_s": round(statistics.median(walls), 2),
            "min_s": round(min(walls), 2),
            "max_s": round(max(walls), 2),
            "first_s": round(walls[0], 2),
            "peak_rss_mib": round(max(rss)),
            "load1": round(statistics.mean(loads), 2),
        }
        rows.append(row)
        print(
            f"  {label:<48} median {row['median_s']:6.2f} s  min {row['min_s']:6.2f} s  "
            f"rss {row['peak_rss_mib']:5d} MiB  load {_load()}",
            flush=True,
        )
    return rows, usage


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| command | median s | min s | max s | first s | peak RSS MiB | load (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['command']}` | {row['median_s']:.2f} | {row['min_s']:.2f} | "
            f"{row['max_s']:.2f} | {row['first_s']:.2f} | {row['peak_rss_mib']} | "
            f"{row['load1']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=50, help="experiments to create")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per command")
    parser.add_argument(
        "--mode",
        choices=("workspace", "queue"),
        default="workspace",
        help="workspace: one `dvc exp run` after another; queue: --queue, then --run-all -j 1",
    )
    parser.add_argument("--root", type=Path, help="make (and keep) the project here")
    parser.add_argument(
        "--reuse", action="store_true", help="--root already holds a project: only time commands"
    )
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("-S", "--set", action="append", default=[], help="key=value override")
    args = parser.parse_args()
    os.environ["COLUMNS"] = "200"  # `dvc exp show` tables: room for the kept columns
    if args.reuse and args.root is None:
        parser.error("--reuse needs --root")
    if args.experiments < 2 and not args.reuse:
        parser.error("--experiments must be at least 2 (compare needs a first and a last)")
    if args.root is not None:
        args.root = args.root.resolve()
        if not args.reuse and args.root.exists():
            parser.error(f"{args.root} exists; pass --reuse to time it, or another --root")
    tmp = None if args.root is not None else tempfile.TemporaryDirectory(prefix="bench_compare_")
    root = args.root if tmp is None else Path(tmp.name) / "proj"
    figures: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "dvc": run(ROOT, [*DVC, "--version"]).stdout.strip(),
            "rss_probe": TIME_BIN or "getrusage(RUSAGE_CHILDREN)",
        },
        "load_start": _load(),
        "root": str(root),
    }
    print(f"project: {root}\nload average (1/5/15 min) at start: {figures['load_start']}")
    try:
        if not args.reuse:
            figures["foldwise_pipeline"] = source_version()  # copied into the project
            create_project(root, args.set)
            print(f"creating {args.experiments} experiments ({args.mode})", flush=True)
            figures["experiments"] = run_experiments(root, args.experiments, args.mode)
        names = experiment_names(root)
        if not args.reuse and len(names) != args.experiments:
            raise BenchError(
                f"dvc exp list shows {len(names)} bench experiments, not {args.experiments}"
            )
        if len(names) < 2:
            raise BenchError(f"{root}: fewer than two bench-* experiments ({names})")
        figures["n_experiments"] = len(names)
        figures["load_before_timing"] = _load()
        version = source_version()
        figures["foldwise_timed"] = version
        print(f"timing with {len(names)} experiments, {args.repeat} run(s) each", flush=True)
        rows, usage = time_commands(root, names, args.repeat)
        figures["commands"] = rows
        figures["test_usage"] = usage
        figures["load_end"] = _load()
        if source_version() != version:
            raise BenchError(
                f"src/foldwise changed while the commands were timed ({version} -> "
                f"{source_version()}): the figures mix two versions; run again (--reuse)"
            )
    finally:
        if tmp is not None:
            tmp.cleanup()
    exps = figures.get("experiments")
    print()
    print(
        f"**{figures['n_experiments']} experiments**, {os.cpu_count()} CPUs, "
        f"load average (1/5/15 min): start {figures['load_start']}, "
        f"before timing {figures['load_before_timing']}, end {figures['load_end']}"
    )
    if exps:
        extra = (
            f"median {exps['per_experiment_median_s']} s, min {exps['per_experiment_min_s']} s, "
            f"max {exps['per_experiment_max_s']} s"
            if exps["mode"] == "workspace"
            else f"queueing {exps['queue_s']} s + run-all {exps['run_s']} s"
        )
        print(
            f"experiments ({exps['mode']}): {exps['total_s']} s in all, "
            f"{exps['per_experiment_mean_s']} s per experiment ({extra})"
        )
    print(f"foldwise timed: {figures['foldwise_timed']}; test-usage counted: {usage}")
    print()
    print(markdown_table(rows))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nfigures: {args.json}")


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        sys.exit(1)
