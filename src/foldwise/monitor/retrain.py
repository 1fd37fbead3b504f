"""``foldwise retrain``: a challenger trained with the newly labelled rows, judged on recent ones.

1. Production rows (CSV/Parquet batches with an id and ``ts``) are joined with their labels.
   The latest ``retrain.recent_periods`` labelled periods are held out; the older labelled rows
   are appended to ``data.source`` (a DVC-tracked table; rows whose id is already there are
   skipped) and ``dvc add`` records the new version.
2. ``dvc exp run -n NAME`` runs the pipeline on it: the challenger. ``dvc exp branch`` gives
   the experiment a branch (``retrain/NAME``), so it has a commit GTO can tag.
3. The champion (the version in ``prod``) and the challenger score the held-out recent rows,
   which neither trained on; a paired bootstrap of the primary metric (the evaluation module's)
   says whether the challenger is better, worse or within noise.
4. The challenger is registered with GTO (next minor version) but never assigned to prod:
   promotion is a person's ``gto assign``, after reading the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.bundle import Bundle
from foldwise.config import Config
from foldwise.data import read_table
from foldwise.errors import FoldwiseError
from foldwise.evaluation import paired_bootstrap
from foldwise.monitor.collect import period_keys
from foldwise.monitor.labels import combine, read_labels, row_keys
from foldwise.production import registry
from foldwise.stage import write_text_atomic


def labelled_rows(
    batches: list[Path],
    labels_paths: list[Path],
    target: str,
    id_column: str,
    period: str,
    id_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """Production rows that have a label, with the target column and their ``period``.

    The labels join on the model's ``id_columns`` when they carry them all (else on ``id``,
    matched with the rows' ``id_column``); see :mod:`foldwise.monitor.labels`.
    """
    if not batches or not labels_paths:
        raise FoldwiseError("retrain: give production batch files and at least one labels file")
    frames = []
    for path in batches:
        frame = read_table(path, text_columns=(id_column, *id_columns))
        for column in (id_column, "ts"):
            if column not in frame.columns:
                raise FoldwiseError(f"{path}: no column {column!r}; expected the id and ts")
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True).drop_duplicates(id_column, keep="last")
    given = combine([read_labels(p, target, id_columns) for p in labels_paths])
    on = [id_column] if given.by_row_id else list(given.columns)
    absent = [c for c in on if c not in rows.columns]
    if absent:
        raise FoldwiseError(f"{batches[0]}: no column(s) {absent} to join the labels on")
    labels = given.frame.set_index("key")["label"]
    keys = pd.Series(row_keys(rows, on), index=rows.index)
    rows = rows[keys.isin(labels.index).to_numpy()].copy()
    if rows.empty:
        raise FoldwiseError(
            f"labels: none of the {len(labels)} label id(s) match a production row's "
            f"{', '.join(on)}"
        )
    rows[target] = keys[rows.index].map(labels).to_numpy()
    ts = pd.to_datetime(rows["ts"], utc=True).dt.tz_localize(None).to_numpy("datetime64[us]")
    codes, names = period_keys(ts, period)
    rows["period"] = np.asarray(names, dtype=object)[codes]
    return rows.reset_index(drop=True)


def split_recent(rows: pd.DataFrame, recent_periods: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows to train on, the latest ``recent_periods`` periods held out for the comparison)."""
    periods = sorted(rows["period"].unique())
    if len(periods) <= recent_periods:
        raise FoldwiseError(
            f"retrain: labels cover {len(periods)} period(s) ({', '.join(periods)}); "
            f"retrain.recent_periods is {recent_periods}, so nothing is left to train on"
        )
    recent = rows["period"].isin(periods[-recent_periods:]).to_numpy()
    return rows[~recent].reset_index(drop=True), rows[recent].reset_index(drop=True)


def append_training_rows(root: Path, config: Config, rows: pd.DataFrame, id_column: str) -> int:
    """Append ``rows`` to the DVC-tracked ``data.source`` (new ids only); returns how many."""
    source = root / config.data.source
    if not (root / f"{config.data.source}.dvc").is_file():
        raise FoldwiseError(
            f"data.source {config.data.source}: not tracked by `dvc add` (no .dvc file); "
            "retraining appends rows to a DVC-tracked table so every version can be restored"
        )
    parquet = source.suffix.lower() == ".parquet"
    if parquet:
        table = pd.read_parquet(source)
    else:
        sep = config.data.csv_separator
        table = pd.read_csv(source, sep=sep, dtype=str, keep_default_na=False)
    if id_column not in table.columns:
        raise FoldwiseError(f"{source}: no id column {id_column!r} to tell new rows from old")
    new = rows[~rows[id_column].astype(str).isin(table[id_column].astype(str))]
    if new.empty:
        return 0
    new = new.reindex(columns=table.columns)  # production lacks e.g. dropped columns: blank
    if parquet:
        merged = pd.concat([table, new.astype(table.dtypes.to_dict(), errors="ignore")])
        tmp = source.with_name(f".{source.name}.tmp")
        merged.to_parquet(tmp, index=False)
        tmp.replace(source)
    else:
        text = new.astype(object).where(new.notna(), "").astype(str)
        merged = pd.concat([table, text], ignore_index=True)
        write_text_atomic(source, merged.to_csv(index=False, sep=config.data.csv_separator))
    _run(root, [sys.executable, "-m", "dvc", "add", config.data.source])
    return len(new)


def _run(root: Path, args: list[str]) -> str:
    result = subprocess.run(args, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise FoldwiseError(f"{' '.join(args[2:])}: {lines[-1] if lines else 'failed'}")
    return result.stdout


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
    p = result["p_value"]
    better = (result["estimate"] > 0) == result["greater_is_better"]
    verdict = "within noise" if p is None or p >= config.compare.alpha else (
        "challenger better" if better else "challenger worse"
    )  # fmt: skip
    return result | {"rows": len(recent), "verdict": verdict}


def retrain(
    root: Path,
    config: Config,
    *,
    batches: list[Path],
    labels_paths: list[Path],
    name: str | None,
    champion_ref: str,
    out: Path,
) -> dict[str, Any]:
    """Append, run the challenger experiment, compare with the champion, register; report."""
    if registry.is_model_ref(champion_ref):  # model#prod, model@v1.2.0
        version = registry.resolve(root, champion_ref)
        champion_label, champion_rev = version.ref, version.commit
    else:  # a git revision
        champion_label = champion_rev = champion_ref
    with tempfile.TemporaryDirectory() as tmp:
        champion_dir = registry.fetch_revision(root, champion_rev, Path(tmp) / "champion")
        champion = Bundle.load(champion_dir)
        reference = champion.reference or {}
        id_column = (reference.get("id_columns") or ["id"])[0]
        rows = labelled_rows(
            batches,
            labels_paths,
            champion.problem.target,
            id_column,
            config.monitor.period,
            id_columns=reference.get("id_columns") or [],
        )
        train_rows, recent = split_recent(rows, config.retrain.recent_periods)
        appended = append_training_rows(root, config, train_rows.drop(columns="period"), id_column)
        name = name or f"retrain-{recent['period'].max()}"
        _run(root, [sys.executable, "-m", "dvc", "exp", "run", "-n", name])
        branch = f"retrain/{name}"
        _run(root, [sys.executable, "-m", "dvc", "exp", "branch", name, branch])
        challenger_dir = registry.fetch_revision(root, branch, Path(tmp) / "challenger")
        challenger = Bundle.load(challenger_dir)
        comparison = compare_on_recent(champion, challenger, recent, config)
    registered = registry.register_next(root, registry.DEFAULT_NAME, branch)
    version = registered.version
    summary = {
        "champion": champion_label,
        "challenger": {"experiment": name, "branch": branch, "registered": registered.ref},
        "appended_rows": appended,
        "train_periods": sorted(train_rows["period"].unique()),
        "recent_periods": sorted(recent["period"].unique()),
        "comparison": comparison,
        "promote": f"gto assign model --version {version} --stage prod",
        "roll_back": f"gto deprecate model {version} prod",
    }
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "comparison.json", json.dumps(summary, indent=2, default=str) + "\n")
    write_text_atomic(out / "report.md", render(summary))
    summary["report"] = str(out / "report.md")
    return summary


def render(summary: dict[str, Any]) -> str:
    """The evidence a person reads before promoting."""
    c = summary["comparison"]
    return "\n".join(
        [
            f"# Retraining: {summary['challenger']['experiment']}",
            "",
            f"- champion: `{summary['champion']}` (the version in prod)",
            f"- challenger: experiment `{summary['challenger']['experiment']}`, branch "
            f"`{summary['challenger']['branch']}`, registered as `{summary['challenger']['registered']}`",
            f"- appended {summary['appended_rows']} labelled rows of "
            f"{', '.join(summary['train_periods'])} to the training data",
            f"- compared on {c['rows']} labelled rows of {', '.join(summary['recent_periods'])}, "
            "which neither model trained on",
            "",
            f"| {c['metric']} | champion | challenger | difference | {1 - c['alpha']:.0%} interval | p |",
            "| --- | ---: | ---: | ---: | --- | ---: |",
            f"| paired bootstrap ({c['n_used']} resamples) | {c['a']:.4f} | {c['b']:.4f} | "
            f"{c['estimate']:+.4f} | [{c['low']:+.4f}, {c['high']:+.4f}] | {c['p_value']:.3g} |",
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
    )
