"""Where the time of a run goes, kept out of tracked reports.

Each stage appends one JSON line (its wall time, and named parts such as one tuning study)
to ``.foldwise/timings.jsonl``, an untracked, gitignored file, then prints its own line and
the summary of the run so far. Stages of one ``dvc repro`` share a run id (the DVC process
they run under), so whichever stage runs last prints the whole run's summary: no stage needs
to know which one that is.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

# Keep the file small: once it passes MAX_LINES, only the newest KEEP_LINES are kept.
MAX_LINES = 2000
KEEP_LINES = 500


def run_id() -> str:
    """The id of the DVC process this stage runs under, else of this process alone.

    ``FOLDWISE_RUN_ID`` overrides it (a benchmark or script running stages itself).
    """
    given = os.environ.get("FOLDWISE_RUN_ID")
    if given:
        return given
    import psutil  # a dependency of DVC

    me = psutil.Process()
    for parent in me.parents():
        try:
            command = parent.cmdline()
            started = parent.create_time()
        except psutil.Error:
            continue
        if any(Path(part).name in ("dvc", "dvc.exe") for part in command):
            return f"dvc-{parent.pid}-{started:.0f}"
    return f"pid-{me.pid}-{me.create_time():.0f}"


def process_started() -> float:
    """When this process started (Unix time), so import time counts as the stage's."""
    import psutil

    return float(psutil.Process().create_time())


def record_stage(
    path: Path,
    stage: str,
    started: float,
    parts: dict[str, float] | None = None,
    run: str | None = None,
) -> list[dict[str, Any]]:
    """Append this stage's timing to ``path``; return every record of the same run, in order."""
    record: dict[str, Any] = {
        "run": run or run_id(),
        "stage": stage,
        "started": round(started, 3),
        "seconds": round(max(0.0, time.time() - started), 3),
        "parts": {k: round(float(v), 3) for k, v in (parts or {}).items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    lines.append(json.dumps(record))
    if len(lines) > MAX_LINES:
        lines = lines[-KEEP_LINES:]
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    else:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(lines[-1] + "\n")
    return run_records(lines, record["run"])


def run_records(lines: list[str], run: str) -> list[dict[str, Any]]:
    """The records of run ``run``; a stage that ran twice in it counts once, its last time."""
    latest: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut off by a kill; the others still count
            continue
        if isinstance(record, dict) and record.get("run") == run:
            latest.pop(str(record.get("stage")), None)
            latest[str(record.get("stage"))] = record
    return sorted(latest.values(), key=lambda r: r["started"])


def _seconds(value: float) -> str:
    if value >= 60:
        return f"{int(value // 60)}m{value % 60:04.1f}s"
    return f"{value:.1f}s"


def stage_line(record: dict[str, Any]) -> str:
    """One stage: its wall time, then its parts, largest first."""
    parts = sorted(record.get("parts", {}).items(), key=lambda kv: -kv[1])
    detail = ", ".join(f"{name} {_seconds(sec)}" for name, sec in parts)
    return f"{record['stage']} {_seconds(record['seconds'])}" + (f" ({detail})" if detail else "")


def summary_lines(records: list[dict[str, Any]], now: float | None = None) -> list[str]:
    """The run so far: wall time since the first stage started, and each stage's share."""
    if not records:
        return []
    end = max(r["started"] + r["seconds"] for r in records) if now is None else now
    wall = end - records[0]["started"]
    inside = sum(r["seconds"] for r in records)
    lines = [
        f"timing: this run so far {_seconds(wall)} wall, {len(records)} stage(s); "
        f"{_seconds(max(0.0, wall - inside))} outside the stages (DVC)"
    ]
    for r in records:
        share = 100.0 * r["seconds"] / wall if wall > 0 else 0.0
        lines.append(f"  {share:5.1f}%  {stage_line(r)}")
    return lines


def report_stage(
    path: Path, stage: str, started: float, parts: dict[str, float] | None = None
) -> list[str]:
    """Record this stage and return the lines to print: the summary of the run so far."""
    return summary_lines(record_stage(path, stage, started, parts))
