"""``foldwise init``: point the project at a new table, track it with DVC, write params.yaml."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from foldwise.config import parse_params_text, read_params
from foldwise.data import CSV_SUFFIXES, coerce_target, read_table, sniff_separator
from foldwise.errors import FoldwiseError
from foldwise.init.infer import (
    ReadingOptions,
    SplitColumns,
    TablePlan,
    metric_direction,
    plan_table,
)
from foldwise.init.params_file import arrows_text, default_params_text, render_params
from foldwise.metrics import Task
from foldwise.model_settings import load_config
from foldwise.numbers import Decimal
from foldwise.prepare import check_columns
from foldwise.problem import resolve_problem

RAW_DIR = PurePosixPath("data/raw")


@dataclass
class InitResult:
    """What ``foldwise init`` did, and the lines it reports."""

    plan: TablePlan
    params: Path
    tracked: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _inside(root: Path, given: str, option: str) -> PurePosixPath:
    """``given`` as a path relative to the project root; refuses files outside it."""
    path = Path(given)
    if not path.is_absolute():
        path = root / path if (root / path).is_file() else Path.cwd() / path
    absolute = path.resolve()
    if not absolute.is_file():
        raise FoldwiseError(f"{given}: file not found ({option})")
    try:
        return PurePosixPath(absolute.relative_to(root.resolve()).as_posix())
    except ValueError:
        raise FoldwiseError(
            f"{given} is outside the project: copy it into {RAW_DIR}/ first "
            f"(mkdir -p {RAW_DIR} && cp {shlex.quote(given)} {RAW_DIR}/) and run foldwise init "
            f"on {RAW_DIR}/{absolute.name}"
        ) from None


def detect_separator(path: Path) -> str:
    """The CSV field separator: the one splitting the first lines alike, else the header's."""
    if path.suffix.lower() not in CSV_SUFFIXES:
        return ","
    if (found := sniff_separator(path)) is not None:
        return found
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _stage_outputs(root: Path) -> set[PurePosixPath]:
    """Every path dvc.yaml declares as a stage output."""
    spec = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8")) or {}
    outs: set[PurePosixPath] = set()
    for stage in (spec.get("stages") or {}).values():
        for out in (stage or {}).get("outs") or []:
            name = next(iter(out)) if isinstance(out, dict) else out
            outs.add(PurePosixPath(str(name)))
    return outs


def _git_tracked(root: Path, rel: PurePosixPath) -> bool:
    result = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(rel)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    return result.returncode == 0


def tracking(root: Path, rel: PurePosixPath) -> str | None:
    """How ``rel`` is already tracked (a .dvc file, a stage output, git), or None."""
    for path in (rel, *rel.parents):
        if str(path) != "." and (root / f"{path}.dvc").is_file():
            return f"DVC ({path}.dvc)"
    outs = _stage_outputs(root)
    if any(out == rel or out in rel.parents for out in outs):
        return "DVC (a pipeline output)"
    if (root / ".git").exists() and _git_tracked(root, rel):
        return "git"
    return None


def _dvc_add(root: Path, rels: list[PurePosixPath]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "add", "-q", *map(str, rels)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
        shown = " ".join(map(str, rels))
        raise FoldwiseError(f"dvc add {shown} failed: {lines[-1] if lines else 'no output'}")


def _check_untracked_location(rel: PurePosixPath, given: str) -> None:
    if RAW_DIR not in rel.parents:
        raise FoldwiseError(
            f"{given} is not under {RAW_DIR}/ and not tracked yet: move it there "
            f"(mkdir -p {RAW_DIR} && git mv or mv {shlex.quote(given)} {RAW_DIR}/) and run "
            f"foldwise init on {RAW_DIR}/{rel.name}; the prepare stage watches {RAW_DIR}/"
        )


def _may_overwrite(params: Path, new_text: str) -> bool:
    """True if params.yaml is absent, the demo's default, or already what init would write."""
    if not params.is_file():
        return True
    try:
        current = read_params(params)
    except yaml.YAMLError:
        return False
    return current in (parse_params_text(default_params_text()), parse_params_text(new_text))


def _validate(text: str, params: Path, plan: TablePlan, source: Path) -> Path:
    """Write ``text`` next to params.yaml and check it as every stage will; return the file."""
    tmp = params.with_name(".params.yaml.init.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        config = load_config(tmp)
        frame = read_table(
            source, separator=plan.csv_separator, text_columns=tuple(plan.id_columns)
        )
        check_columns(config, list(frame.columns), source)
        problem = resolve_problem(config, coerce_target(frame[plan.target], decimal=plan.decimal))
        if problem.task != plan.task:
            raise FoldwiseError(f"params.yaml would give task {problem.task}, not {plan.task}")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _report(plan: TablePlan) -> list[str]:
    lines = [
        f"table: {plan.source} ({plan.rows} rows × {len(plan.columns)} columns), target "
        f"{plan.target!r}",
        f"task: {plan.task} ({plan.task_reason})",
    ]
    if plan.positive_label is not None:
        lines.append(f"positive class: {plan.positive_label!r} ({plan.positive_reason})")
    if plan.csv_separator != "," or plan.decimal != ".":
        reason = f"; {plan.decimal_reason}" if plan.decimal_reason else ""
        lines.append(
            f"reading: csv_separator {plan.csv_separator!r} (detected in the file), decimal "
            f"{plan.decimal!r}{reason}"
        )
    lines.append(f"metric: {plan.metric} ({metric_direction(plan.metric)} is better)")
    ids = ", ".join(f"{c} ({r})" for c, r in plan.id_columns.items())
    lines.append(f"id columns (never features): {ids or 'none found'}")
    dates = ", ".join(f"{c} ({r})" for c, r in plan.date_columns.items())
    lines.append(f"date columns: {dates or 'none found'}")
    if plan.time_column:
        lines.append(f"time column: {plan.time_column} (temporal split: test = latest rows)")
    if plan.group_column:
        lines.append(f"group column: {plan.group_column} (no group on both sides of a split)")
    lines.append(f"segments (evaluate.segments): {', '.join(plan.segments) or 'none found'}")
    if plan.test_source:
        lines.append(f"test table: {plan.test_source} ({plan.test_rows} rows, scored whole)")
    if plan.label_map:
        lines.append(
            f"test labels renamed (data.label_map): {arrows_text(plan.label_map)} (they differ from "
            "the training labels only by case, surrounding spaces or punctuation)"
        )
    lines += [f"note: {note}" for note in plan.notes]
    return lines


def init_project(
    root: Path,
    source: str,
    target: str,
    *,
    test_source: str | None = None,
    split: SplitColumns | None = None,
    positive: str | None = None,
    task: Task | None = None,
    thousands: Decimal | None = None,
    force: bool = False,
    track: bool = True,
) -> InitResult:
    """Decide the table's settings, track it with DVC if needed and write params.yaml.

    Nothing is written unless every check passes; params.yaml is replaced atomically. The CSV
    field separator is detected from the file (:func:`detect_separator`), not chosen;
    ``split`` None is a random split.
    """
    split = SplitColumns() if split is None else split
    root = root.resolve()
    if not (root / "dvc.yaml").is_file():
        raise FoldwiseError(
            f"{root}: no dvc.yaml here; run foldwise init from the foldwise project root"
        )
    files = {"source": _inside(root, source, "SOURCE")}
    if test_source is not None:
        files["test_source"] = _inside(root, test_source, "--test-source")
    reading = ReadingOptions(detect_separator(root / files["source"]), thousands)
    plan = plan_table(
        root / files["source"],
        target,
        source_name=str(files["source"]),
        test_source=root / files["test_source"] if test_source is not None else None,
        test_name=str(files["test_source"]) if test_source is not None else None,
        split=split,
        positive=positive,
        task=task,
        reading=reading,
    )
    options = {
        "--test-source": test_source and str(files["test_source"]),
        "--time-column": split.time_column,
        "--group-column": split.group_column,
        "--positive": positive,
        "--task": task,
        "--thousands": thousands,
    }
    text = render_params(plan, _command_line(files["source"], target, options))
    params = root / "params.yaml"
    if not force and not _may_overwrite(params, text):
        raise FoldwiseError(
            f"{params.name} differs from the demo's default (edited, or written for another "
            "table); foldwise init would replace it: pass --force to overwrite it"
        )
    given = {"source": source, "test_source": str(test_source)}
    untracked = _untracked(root, files, given) if track else {}
    tmp = _validate(text, params, plan, root / files["source"])
    result = InitResult(plan, params, lines=_report(plan))
    try:
        if untracked:
            _dvc_add(root, list(untracked.values()))
            result.tracked += [str(rel) for rel in untracked.values()]
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, params)
    if result.tracked:
        dvc_files = [f"{rel}.dvc" for rel in result.tracked]
        ignores = sorted({str(PurePosixPath(rel).parent / ".gitignore") for rel in result.tracked})
        result.lines.append(
            f"tracked with DVC: {', '.join(result.tracked)} (commit "
            f"{' '.join(dvc_files + ignores)})"
        )
    result.lines.append(f"wrote {params.name}; every other key is at its default")
    result.lines.append("next: dvc repro")
    return result


def _command_line(source: PurePosixPath, target: str, options: dict[str, str | None]) -> str:
    """The ``foldwise init`` command that writes this params.yaml, quoted for a shell."""
    words = ["foldwise init", str(source), "--target", target]
    for option, value in options.items():
        if value is not None:
            words += [option, value]
    return " ".join(shlex.quote(w) if i else w for i, w in enumerate(words))


def _untracked(
    root: Path, files: dict[str, PurePosixPath], given: dict[str, str]
) -> dict[str, PurePosixPath]:
    """The tables that DVC does not track yet (checked to be where ``dvc add`` can take them)."""
    untracked = {}
    for key, rel in files.items():
        if tracking(root, rel) is None:
            _check_untracked_location(rel, given[key])
            untracked[key] = rel
    if untracked and not (root / ".dvc").is_dir():
        raise FoldwiseError(
            f"{root}: not a DVC repository, so {', '.join(map(str, untracked.values()))} cannot "
            "be tracked; run `git init && dvc init` here first"
        )
    return untracked
