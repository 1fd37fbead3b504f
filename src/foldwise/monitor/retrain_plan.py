"""``foldwise retrain``'s checks, all made before anything is changed.

:func:`plan` reads the batches and labels, joins them, splits off the held-out periods and
checks that each part can do its job: the held-out rows can score the primary metric (both
classes, enough rows), there are new rows to train on, the batches carry the model's
features, the training table can take new rows (tracked with ``dvc add``, or a pipeline
output to be copied), and git has nothing uncommitted that the challenger would silently
include. Any failure is one :class:`FoldwiseError` line naming the file, column, period or
option and the fix.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import yaml

from foldwise.bundle import Bundle
from foldwise.config import Config
from foldwise.data import read_table
from foldwise.errors import FoldwiseError, quoted
from foldwise.init.project import RAW_DIR
from foldwise.labels import combine, read_labels, row_keys
from foldwise.monitor.collect import period_keys
from foldwise.problem import Problem

# The monitor judges realized performance from this many labelled rows on; a comparison of
# two models on fewer is noise. Classification also needs this many rows of each class.
MIN_HOLDOUT_ROWS = 30
MIN_CLASS_ROWS = 10
_EVERY_CLASS = ("roc_auc", "average_precision")  # one-vs-rest: undefined without every class


@dataclass(frozen=True)
class SourcePlan:
    """Where the new rows go: ``table`` (DVC-tracked after the run), read from ``source``.

    ``copied`` is true when ``data.source`` is a pipeline output (the built-in demo table):
    the challenger then trains on ``table``, a copy under ``data/raw/`` tracked with ``dvc
    add``, and ``data.source`` is set to it for the experiment.
    """

    source: str
    table: str
    copied: bool
    stage: str | None = None


@dataclass(frozen=True)
class RetrainPlan:
    """Everything the run will do, decided before it changes anything."""

    train: pd.DataFrame  # labelled rows of the older periods (with ``period``)
    recent: pd.DataFrame  # labelled rows of the held-out periods (with ``period``)
    new_rows: pd.DataFrame  # ``train`` rows whose id is not in the table yet, in its columns
    table: pd.DataFrame  # the current training table
    source: SourcePlan
    id_column: str
    skipped: int  # labelled rows of older periods whose id the table already has


def git(root: Path, *args: str, check: bool = True, strip: bool = True) -> str:
    """Run git in ``root``; its stdout (stripped). A failure is one line naming the command."""
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check and result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise FoldwiseError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")
    return result.stdout.strip() if strip else result.stdout


def check_git_clean(root: Path) -> None:
    """Refuse uncommitted changes to tracked files: the challenger must be HEAD + new rows."""
    changed = git(root, "status", "--porcelain", "--untracked-files=no", "-z", strip=False)
    if changed:
        # -z: "XY path" entries split by NUL (a rename adds its source as an entry of its own)
        files = [entry[3:] for entry in changed.split("\0") if len(entry) > 3 and entry[2] == " "]
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        raise FoldwiseError(
            f"retrain: uncommitted changes in {shown}; the challenger must be the commit plus "
            "the new rows only: commit them (or `git stash`) first"
        )


def check_names_free(root: Path, name: str, branch: str) -> None:
    """Refuse an experiment name or branch that already exists (nothing would be restorable)."""
    if subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"], cwd=root).returncode:
        raise FoldwiseError(f"retrain: --name {name!r} cannot name a git branch ({branch})")
    heads = set(git(root, "for-each-ref", "--format=%(refname:short)", "refs/heads").split())
    if branch in heads:
        raise FoldwiseError(f"retrain: branch {branch!r} exists; choose another --name")
    parts = branch.split("/")
    for blocking in ["/".join(parts[:i]) for i in range(1, len(parts))]:
        if blocking in heads:  # git keeps refs as paths: a branch `retrain` blocks `retrain/x`
            raise FoldwiseError(
                f"retrain: the branch {blocking!r} keeps git from creating {branch!r}; "
                f"rename it (git branch -m {blocking} NEW-NAME)"
            )
    if any(head.startswith(f"{branch}/") for head in heads):
        raise FoldwiseError(f"retrain: branches under {branch}/ exist; choose another --name")
    refs = git(root, "for-each-ref", "--format=%(refname)", "refs/exps", check=False)
    if any(ref.rsplit("/", 1)[-1] == name for ref in refs.splitlines()):
        raise FoldwiseError(
            f"retrain: a DVC experiment named {name!r} exists; choose another --name"
        )


def _read_batches(batches: list[Path], id_columns: list[str], features: list[str]) -> pd.DataFrame:
    id_column = id_columns[0]
    frames = []
    for path in batches:
        frame = read_table(path, text_columns=tuple(dict.fromkeys(id_columns)))
        missing = [c for c in (id_column, "ts") if c not in frame.columns]
        missing += [c for c in features if c not in frame.columns]
        if missing:
            raise FoldwiseError(
                f"{path}: missing column(s) {quoted(missing)}; a batch needs the id {id_column!r}, "
                "'ts' and the model's features"
            )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def labelled_rows(
    batches: list[Path],
    labels_paths: list[Path],
    champion: Bundle,
    id_columns: list[str],
    period: str,
) -> pd.DataFrame:
    """Production rows that have a label (the latest scoring of an id), with ``period``.

    The labels join on the model's ``id_columns`` when the files carry them all, else on
    ``id`` matched with the first id column (:mod:`foldwise.labels`).
    """
    if not batches or not labels_paths:
        raise FoldwiseError("retrain: give production batch files and at least one labels file")
    target = champion.problem.target
    features = [f["name"] for f in champion.features]
    id_column = id_columns[0]
    rows = _read_batches(batches, id_columns, features)
    rows[id_column] = rows[id_column].astype(str)
    rows = rows.drop_duplicates(id_column, keep="last")
    model_ids = [c for c in id_columns if c != "id"]
    given = combine([read_labels(p, target, model_ids) for p in labels_paths])
    on = [id_column] if given.by_row_id else list(given.columns)
    absent = [c for c in on if c not in rows.columns]
    if absent:
        raise FoldwiseError(f"{batches[0]}: no column(s) {quoted(absent)} to join the labels on")
    labels = given.frame.set_index("key")["label"]
    keys = pd.Series(row_keys(rows, on), index=rows.index)
    rows = rows[keys.isin(labels.index).to_numpy()].copy()
    if rows.empty:
        names = ", ".join(str(p) for p in labels_paths[:3])
        raise FoldwiseError(
            f"labels ({names}): none of the {len(labels)} {given.describe()!r} value(s) (e.g. "
            f"{labels.index[0]!r}) match column(s) {', '.join(on)!r} of the batches; expected "
            "the ids the batches were scored with"
        )
    rows[target] = keys[rows.index].map(labels).to_numpy()
    champion.problem.encode(rows[target])  # labels the model does not know: refused here
    ts = pd.to_datetime(rows["ts"], utc=True, errors="coerce")
    if ts.isna().any():
        bad = rows.loc[ts.isna().to_numpy(), "ts"].iloc[0]
        raise FoldwiseError(f"batches: column 'ts' has a value that is not a time ({bad!r})")
    codes, periods = period_keys(ts.dt.tz_localize(None).to_numpy("datetime64[us]"), period)
    rows["period"] = np.asarray(periods, dtype=object)[codes]
    return rows.reset_index(drop=True)


def holdout_problem(recent: pd.DataFrame, problem: Problem) -> str | None:
    """Why the held-out rows cannot score the primary metric, or None when they can."""
    n = len(recent)
    if problem.classes is None:
        if n < MIN_HOLDOUT_ROWS:
            return f"{n} labelled row(s); {problem.metric} needs at least {MIN_HOLDOUT_ROWS}"
        if recent[problem.target].astype(float).nunique() < 2:
            return f"{n} labelled rows, all with the same value; {problem.metric} needs spread"
        return None
    codes = problem.encode(recent[problem.target])
    counts = np.bincount(codes, minlength=len(problem.classes))
    shown = ", ".join(f"{c}: {k}" for c, k in zip(problem.classes, counts, strict=True))
    every = problem.task == "binary" or problem.metric in _EVERY_CLASS
    enough = counts >= MIN_CLASS_ROWS
    if every and not enough.all():
        need = "both classes" if problem.task == "binary" else "every class"
        return (
            f"{n} labelled row(s) ({shown}); {problem.metric} needs {need} with at least "
            f"{MIN_CLASS_ROWS} rows each"
        )
    if n < MIN_HOLDOUT_ROWS or enough.sum() < 2:
        return (
            f"{n} labelled row(s) ({shown}); {problem.metric} needs at least "
            f"{MIN_HOLDOUT_ROWS} rows and two classes with {MIN_CLASS_ROWS} each"
        )
    return None


def split_recent(
    rows: pd.DataFrame, recent_periods: int, problem: Problem
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(older rows to train on, the latest ``recent_periods`` periods), checked for the metric."""
    periods = sorted(rows["period"].unique())
    if len(periods) <= recent_periods:
        raise FoldwiseError(
            f"retrain: labels cover {len(periods)} period(s) ({', '.join(periods)}); "
            f"--recent-periods (retrain.recent_periods) is {recent_periods}, so nothing is left "
            "to train on: hold out fewer periods or wait for more labels"
        )
    recent = rows["period"].isin(periods[-recent_periods:]).to_numpy()
    reason = holdout_problem(rows[recent], problem)
    if reason is not None:
        held = periods[-recent_periods:]
        held_text = f"period {held[0]} has" if len(held) == 1 else f"periods {', '.join(held)} have"
        fix = "wait for more labels"
        for k in range(recent_periods + 1, len(periods)):
            wider = rows[rows["period"].isin(periods[-k:]).to_numpy()]
            if holdout_problem(wider, problem) is None:
                fix = f"hold out {k} periods: --recent-periods {k} (or retrain.recent_periods: {k})"
                break
        raise FoldwiseError(f"retrain: the held-out {held_text} {reason}; {fix}")
    return rows[~recent].reset_index(drop=True), rows[recent].reset_index(drop=True)


def _stage_writing(root: Path, source: str) -> str | None:
    """The dvc.yaml stage that writes ``source`` (or a folder holding it), if any."""
    path = root / "dvc.yaml"
    if not path.is_file():
        return None
    stages = (yaml.safe_load(path.read_text()) or {}).get("stages") or {}
    target = PurePosixPath(source)
    for name, stage in stages.items():
        for out in (stage or {}).get("outs") or []:
            out_path = PurePosixPath(next(iter(out)) if isinstance(out, dict) else str(out))
            if target == out_path or out_path in target.parents:
                return str(name)
    return None


def plan_source(root: Path, source: str) -> SourcePlan:
    """Check that ``data.source`` can take new rows; see :class:`SourcePlan`."""
    if (root / f"{source}.dvc").is_file():
        if not git(root, "ls-files", f"{source}.dvc"):
            raise FoldwiseError(
                f"data.source {source}: {source}.dvc is not committed; `git add {source}.dvc` "
                "and commit it, so the champion's table can be restored"
            )
        status = subprocess.run(
            [sys.executable, "-m", "dvc", "status", "--json", f"{source}.dvc"],
            cwd=root, capture_output=True, text=True,
        )  # fmt: skip
        if status.returncode != 0 or json.loads(status.stdout or "{}"):
            raise FoldwiseError(
                f"data.source {source}: the file differs from {source}.dvc; "
                f"`dvc checkout {source}.dvc` (or `dvc add {source}` and commit) first"
            )
        return SourcePlan(source=source, table=source, copied=False)
    stage = _stage_writing(root, source)
    if stage is None:
        raise FoldwiseError(
            f"data.source {source}: not tracked by `dvc add` (no {source}.dvc); retraining "
            f"appends rows to a DVC-tracked table so every version can be restored: run "
            f"`dvc add {source}` (after `git rm --cached {source}` if git tracks it) and commit"
        )
    copy = str(RAW_DIR / PurePosixPath(source).name)
    for taken in (copy, f"{copy}.dvc"):
        if (root / taken).exists():
            raise FoldwiseError(
                f"data.source {source} is written by stage {stage!r}, and {taken} (where "
                "retraining would copy it) exists: set data.source to it, or move it away"
            )
    return SourcePlan(source=source, table=copy, copied=True, stage=stage)


def read_source(root: Path, config: Config, id_column: str) -> pd.DataFrame:
    """The current training table, as written (CSV cells as text)."""
    path = root / config.data.source
    if path.suffix.lower() == ".parquet":
        table = pd.read_parquet(path)
    else:
        sep = config.data.csv_separator
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    if id_column not in table.columns:
        raise FoldwiseError(f"{path}: no id column {id_column!r} to tell new rows from old")
    return table


def plan(
    root: Path,
    config: Config,
    champion: Bundle,
    *,
    batches: list[Path],
    labels_paths: list[Path],
    recent_periods: int,
) -> RetrainPlan:
    """Every check of the run, in the order a user can fix them; changes nothing."""
    reference = champion.reference or {}
    id_columns = list(reference.get("id_columns") or config.data.id_columns or ["id"])
    id_column = id_columns[0]
    rows = labelled_rows(batches, labels_paths, champion, id_columns, config.monitor.period)
    train, recent = split_recent(rows, recent_periods, champion.problem)
    source = plan_source(root, config.data.source)
    table = read_source(root, config, id_column)
    known = set(table[id_column].astype(str))
    fresh = train[~train[id_column].isin(known).to_numpy()]
    if fresh.empty:
        raise FoldwiseError(
            f"retrain: all {len(train)} labelled row(s) of {', '.join(sorted(train['period'].unique()))} "
            f"are in {config.data.source} already (same {id_column!r}); nothing new to train on"
        )
    lacking = [
        c for c in table.columns if c not in fresh.columns and c not in config.data.drop_columns
    ]
    if lacking:
        raise FoldwiseError(
            f"batches: missing column(s) {quoted(lacking, 5)} of {config.data.source}; the appended "
            "rows would have them blank (add them, or list them in data.drop_columns)"
        )
    new_rows = fresh.reindex(columns=table.columns)  # dropped columns (the leak): blank
    return RetrainPlan(
        train=train,
        recent=recent,
        new_rows=new_rows,
        table=table,
        source=source,
        id_column=id_column,
        skipped=len(train) - len(fresh),
    )
