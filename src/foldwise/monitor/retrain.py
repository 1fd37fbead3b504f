"""``foldwise retrain``: a challenger trained with the newly labelled rows, judged on recent ones.

0. Every check first (:mod:`foldwise.monitor.retrain_plan`): the labels join the batches, the
   batches carry the model's features, the held-out periods can score the primary metric, there
   are new rows, the training table is DVC-tracked (or a pipeline output to copy), git is
   clean. A failed check changes nothing.
1. The latest ``retrain.recent_periods`` labelled periods are held out; the older labelled rows
   are appended to ``data.source`` (rows whose id is already there are skipped) and ``dvc add``
   records the new version. A ``data.source`` written by a stage (the built-in demo table) is
   copied to ``data/raw/`` first, and the experiment sets ``data.source`` to the copy.
2. ``dvc exp run -n NAME`` runs the pipeline on it: the challenger. ``dvc exp branch`` gives
   the experiment a branch (``retrain/NAME``), so it has a commit GTO can tag.
3. The champion (the version in ``prod``) and the challenger score the held-out recent rows,
   which neither trained on; a paired bootstrap of the primary metric (the evaluation module's)
   says whether the challenger is better, worse or within noise.
4. The challenger is registered with GTO (next minor version) but never assigned to prod:
   promotion is a person's ``gto assign``, after reading the report.

From step 1 on it is all or nothing (:class:`~foldwise.monitor.workspace.WorkspaceGuard`): a
failure restores the table, its ``.dvc`` file, ``params.yaml``, the refs and the workspace.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import pandas as pd

from foldwise.bundle import Bundle
from foldwise.config import Config
from foldwise.errors import FoldwiseError
from foldwise.evaluation import paired_bootstrap
from foldwise.markdown import cell
from foldwise.model_settings import load_config
from foldwise.monitor.retrain_plan import RetrainPlan, check_git_clean, check_names_free, plan
from foldwise.monitor.workspace import WorkspaceGuard
from foldwise.production import registry
from foldwise.stage import write_text_atomic


class Progress:
    """Phases with the elapsed time, one line each on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.start = time.monotonic()
        self.quiet = quiet

    def __call__(self, phase: str, message: str) -> None:
        if not self.quiet:
            elapsed = time.monotonic() - self.start
            minutes, seconds = divmod(elapsed, 60)
            print(
                f"retrain [{int(minutes):2d}m{seconds:04.1f}s] {phase}: {message}",
                file=sys.stderr,
                flush=True,
            )


def _dvc(root: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        errors = [line for line in lines if line.startswith("ERROR")] or lines or ["failed"]
        raise FoldwiseError(f"dvc {' '.join(args)}: {errors[-1]}")
    return result.stdout


def set_data_source(params: Path, source: str) -> None:
    """Point ``data.source`` at ``source``, editing only that line (comments and quoting stay;
    ``dvc exp run -S`` would rewrite the whole file)."""
    lines = params.read_text().splitlines(keepends=True)
    section = None
    for i, line in enumerate(lines):
        if line and not line[0].isspace() and not line.startswith("#"):
            section = line.split(":", 1)[0].strip()
        match = re.match(r"^(\s+source:\s*)(\S+)(.*)$", line.rstrip("\n"))
        if section == "data" and match:
            comment = match[3] if match[3].lstrip().startswith("#") else ""
            lines[i] = f"{match[1]}{source}{comment}\n"
            write_text_atomic(params, "".join(lines))
            if load_config(params).data.source != source:
                raise FoldwiseError(f"{params}: could not set data.source to {source}")
            return
    raise FoldwiseError(f"{params}: no data.source line to point at {source}")


def run_experiment(root: Path, args: list[str], progress: Progress) -> None:
    """``dvc exp run ARGS``, reporting each stage as it starts; on failure, the failed stage
    and its own error line (else DVC's)."""
    tail: deque[str] = deque(maxlen=30)
    stage = None
    command = [sys.executable, "-m", "dvc", "exp", "run", *args]
    with subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line.rstrip())
            if line.startswith("Running stage '"):
                stage = line.split("'")[1]
                progress("repro", f"stage {stage}")
                tail.clear()
            elif "didn't change, skipping" in line and ".dvc'" not in line:
                progress("repro", f"stage {line.split(chr(39))[1]} unchanged")
    if proc.returncode != 0:
        own = [t for t in tail if t.startswith("error:")]
        dvc = [t for t in tail if t.startswith("ERROR")]
        where = f" in stage {stage!r}" if stage else ""
        detail = (own or dvc or list(tail) or ["no output"])[-1]
        raise FoldwiseError(f"dvc exp run failed{where}: {detail}")


def append_rows(root: Path, config: Config, chosen: RetrainPlan) -> None:
    """Write the table with the new rows appended to ``chosen.source.table`` (atomically)."""
    table, new = chosen.table, chosen.new_rows
    path = root / chosen.source.table
    if path.suffix.lower() == ".parquet":
        merged = pd.concat([table, new.astype(table.dtypes.to_dict(), errors="ignore")])
        tmp = path.with_name(f".{path.name}.tmp")
        merged.to_parquet(tmp, index=False)
        tmp.replace(path)
    else:
        text = new.astype(object).where(new.notna(), "").astype(str)
        merged = pd.concat([table, text], ignore_index=True)
        write_text_atomic(path, merged.to_csv(index=False, sep=config.data.csv_separator))


def compare_on_recent(
    champion: Bundle, challenger: Bundle, recent: pd.DataFrame, config: Config
) -> dict[str, Any]:
    """Paired bootstrap of the primary metric, challenger minus champion, on the same rows."""
    problem = champion.problem
    y = problem.encode(recent[problem.target])
    result = paired_bootstrap(
        problem.metric,
        y,
        champion.predict_scores(recent),
        challenger.predict_scores(recent),
        n_samples=config.compare.bootstrap_samples,
        seed=config.seed,
        threshold_a=0.5 if champion.threshold is None else champion.threshold,
        threshold_b=0.5 if challenger.threshold is None else challenger.threshold,
        alpha=config.compare.alpha,
    )
    estimate, p = result["estimate"], result["p_value"]
    if estimate is None or result["a"] is None or result["b"] is None:  # undefined on these rows
        raise FoldwiseError(
            f"retrain: {problem.metric} is undefined on the {len(recent)} held-out rows; "
            "hold out more periods (--recent-periods)"
        )
    better = (estimate > 0) == result["greater_is_better"]
    verdict = "within noise" if p is None or p >= config.compare.alpha else (
        "challenger better" if better else "challenger worse"
    )  # fmt: skip
    return result | {"rows": len(recent), "verdict": verdict}


def _champion(root: Path, ref: str) -> tuple[str, str, str | None]:
    """(label, git revision, registered version or None) of the champion: a GTO ref
    (model#prod, model@v1.2.0) or a git revision."""
    if registry.is_model_ref(ref):
        version = registry.resolve(root, ref)
        return version.ref, version.commit, version.ref
    return ref, ref, None


def retrain(
    root: Path,
    config: Config,
    *,
    batches: list[Path],
    labels_paths: list[Path],
    name: str | None,
    champion_ref: str,
    out: Path,
    recent_periods: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Check everything, then append, run the challenger, compare, register and report; on any
    failure after the first change, restore the project as it was (see the module doc)."""
    progress = progress or Progress()
    progress("check", "git, champion, batches, labels, held-out periods, training table")
    check_git_clean(root)
    champion_label, champion_rev, champion_version = _champion(root, champion_ref)
    with tempfile.TemporaryDirectory() as tmp:
        champion = Bundle.load(registry.fetch_revision(root, champion_rev, Path(tmp) / "champion"))
        champion_name = registry.registered_name(champion, root, champion_version)
        chosen = plan(
            root, config, champion, batches=batches, labels_paths=labels_paths,
            recent_periods=recent_periods or config.retrain.recent_periods,
        )  # fmt: skip
        champion.predict_scores(chosen.recent)  # the held-out rows must score (types, columns)
        name = name or f"retrain-{chosen.recent['period'].max()}"
        branch = f"retrain/{name}"
        check_names_free(root, name, branch)
        progress("check", _plan_line(chosen))
        table = chosen.source.table
        guarded = [
            "params.yaml",
            f"{table}.dvc",
            str(Path(table).parent / ".gitignore"),
            str(out / "comparison.json"),
            str(out / "report.md"),
        ]
        guard = WorkspaceGuard(root, files=guarded, tables=[table])
        out_existed = out.exists()
        try:
            with guard:
                summary = _challenger(root, config, chosen, champion, name, tmp, progress)
                summary["champion"] = champion_label
                summary["champion_bundle"] = champion_name
                progress("report", f"{out / 'report.md'}")
                out.mkdir(parents=True, exist_ok=True)
                text = json.dumps(summary, indent=2, default=str) + "\n"
                write_text_atomic(out / "comparison.json", text)
                write_text_atomic(out / "report.md", render(summary))
        except (FoldwiseError, OSError) as exc:
            message = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) else str(exc)
            if not out_existed and out.is_dir() and not any(out.iterdir()):
                out.rmdir()
            restored = ", ".join(guard.restored) or "nothing"
            raise FoldwiseError(f"{message} (restored: {restored})") from None
    summary["report"] = str(out / "report.md")
    progress("done", f"{summary['challenger']['registered']}: {summary['comparison']['verdict']}")
    return summary


def _plan_line(chosen: RetrainPlan) -> str:
    source = chosen.source
    where = (
        f"{source.table} (a copy of {source.source}, which stage {source.stage!r} writes)"
        if source.copied
        else source.table
    )
    return (
        f"{len(chosen.new_rows):,} new labelled rows of "
        f"{', '.join(sorted(chosen.train['period'].unique()))} to append to {where}"
        + (f" ({chosen.skipped:,} already there)" if chosen.skipped else "")
        + f"; {len(chosen.recent):,} rows of {', '.join(sorted(chosen.recent['period'].unique()))} "
        "held out"
    )


def _challenger(
    root: Path,
    config: Config,
    chosen: RetrainPlan,
    champion: Bundle,
    name: str,
    tmp: str,
    progress: Progress,
) -> dict[str, Any]:
    """Steps 1 to 4 of the module doc; the summary without the champion's label."""
    table = chosen.source.table
    progress("append", f"{len(chosen.new_rows):,} rows to {table}")
    append_rows(root, config, chosen)
    progress("dvc add", table)
    _dvc(root, "add", "--quiet", table)
    exp_args = ["-n", name]
    if chosen.source.copied:  # a new .dvc file: staged, so the experiment's commit has it
        progress("params", f"data.source: {table} (was {chosen.source.source})")
        set_data_source(root / "params.yaml", table)
        gitignore = str(Path(table).parent / ".gitignore")
        subprocess.run(["git", "add", f"{table}.dvc", gitignore], cwd=root, check=True)
    progress("repro", f"dvc exp run {' '.join(exp_args)}")
    run_experiment(root, exp_args, progress)
    branch = f"retrain/{name}"
    progress("branch", branch)
    _dvc(root, "exp", "branch", name, branch)
    progress("compare", f"champion and challenger on {len(chosen.recent):,} held-out rows")
    challenger = Bundle.load(registry.fetch_revision(root, branch, Path(tmp) / "challenger"))
    comparison = compare_on_recent(champion, challenger, chosen.recent, config)
    progress("register", f"the challenger at {branch} (not promoted)")
    registered = registry.register_next(root, registry.DEFAULT_NAME, branch)
    version = registered.version
    return {
        "challenger": {
            "experiment": name,
            "branch": branch,
            "registered": registered.ref,
            "bundle": challenger.name(registered.ref),
        },
        "training_table": table,
        "copied_from": chosen.source.source if chosen.source.copied else None,
        "appended_rows": len(chosen.new_rows),
        "skipped_rows": chosen.skipped,
        "train_periods": sorted(chosen.train["period"].unique()),
        "recent_periods": sorted(chosen.recent["period"].unique()),
        "comparison": comparison,
        "promote": f"gto assign model --version {version} --stage prod",
        "roll_back": f"gto deprecate model {version} prod",
    }


def summary_line(summary: dict[str, Any]) -> str:
    """One line: the challenger, the champion, the difference with its interval, the verdict."""
    c = summary["comparison"]
    return (
        f"challenger {summary['challenger']['registered']} vs champion {summary['champion']} on "
        f"{c['rows']} recent rows: {c['metric']} {cell(c['estimate'], '+.4f')} "
        f"[{cell(c['low'], '+.4f')}, {cell(c['high'], '+.4f')}], "
        f"p={cell(c['p_value'], '.3g')}: {c['verdict']}"
    )


def render(summary: dict[str, Any]) -> str:
    """The evidence a person reads before promoting."""
    c = summary["comparison"]
    copied = summary.get("copied_from")
    table = summary.get("training_table", "the training data")
    return "\n".join(
        [
            f"# Retraining: {summary['challenger']['experiment']}",
            "",
            f"- champion: `{summary['champion_bundle']}` ({summary['champion']})",
            f"- challenger: experiment `{summary['challenger']['experiment']}`, branch "
            f"`{summary['challenger']['branch']}`, registered as `{summary['challenger']['bundle']}`",
            f"- appended {summary['appended_rows']} labelled rows of "
            f"{', '.join(summary['train_periods'])} to `{table}`"
            + (f" (a copy of `{copied}`, tracked with `dvc add`)" if copied else "")
            + (f"; {summary['skipped_rows']} rows whose id was there already were skipped"
               if summary.get("skipped_rows") else ""),
            f"- compared on {c['rows']} labelled rows of {', '.join(summary['recent_periods'])}, "
            "which neither model trained on",
            "",
            f"| {c['metric']} | champion | challenger | difference | {1 - c['alpha']:.0%} interval | p |",
            "| --- | ---: | ---: | ---: | --- | ---: |",
            f"| paired bootstrap ({c['n_used']} resamples) | {cell(c['a'], '.4f')} | "
            f"{cell(c['b'], '.4f')} | {cell(c['estimate'], '+.4f')} | "
            f"[{cell(c['low'], '+.4f')}, {cell(c['high'], '+.4f')}] | "
            f"{cell(c['p_value'], '.3g')} |",
            "",
            f"**Verdict: {c['verdict']}.** Nothing was promoted. To promote after review:",
            "",
            f"    {summary['promote']}",
            "",
            "To roll back afterwards (prod returns to the version assigned before):",
            "",
            f"    {summary['roll_back']}",
            "",
        ]
    )  # fmt: skip
