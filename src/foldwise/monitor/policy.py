"""The verdict of one period by the ``monitor:`` thresholds and ``retrain.when``."""

from __future__ import annotations

from typing import Any

from foldwise.config import Config

EXIT_OK = 0
EXIT_RETRAIN = 1


def judge(period: dict[str, Any], index: int, config: Config) -> dict[str, Any]:
    """``ok``, ``warn``, ``retrain`` or ``too_few_rows``, with the reasons and the triggers.

    ``index`` is the period's position (1 = the first monitored period), for the schedule.
    """
    when = set(config.retrain.when)
    reasons: list[str] = []
    triggers: list[str] = []
    every = config.retrain.every_periods
    if "schedule" in when and every is not None and index % every == 0:
        triggers.append("schedule")
        reasons.append(f"schedule: every {every} period(s)")
    if period["rows"] < config.monitor.min_rows:
        reasons.append(
            f"{period['rows']} rows, fewer than monitor.min_rows {config.monitor.min_rows}"
        )
        status = "retrain" if triggers else "too_few_rows"
        return {"status": status, "reasons": reasons, "triggers": triggers}
    for finding in period["quality"]:
        reasons.append(finding["message"])
    drifted = [d for d in period["drift"] if d["drifted"]]
    relied = [d for d in drifted if d["relied_on"]]
    prediction = period.get("prediction_drift") or {}
    if relied or prediction.get("drifted"):
        names = [d["feature"] for d in relied] + (
            ["prediction"] if prediction.get("drifted") else []
        )
        reasons.append(f"drift in {', '.join(names)}")
        if "drift" in when:
            triggers.append("drift")
    for d in drifted:
        if not d["relied_on"]:
            reasons.append(f"drift in {d['feature']} (little used by the model)")
    for kind, trigger in (("estimated", "estimated_drop"), ("realized", "realized_drop")):
        drop = (period.get("performance") or {}).get(f"{kind}_drop")
        if drop and drop["dropped"]:
            reasons.append(
                f"{kind} {drop['metric']} {drop['cv_mean'] - drop['worse_by']:.3f} is "
                f"{drop['worse_by']:.3f} below the CV mean {drop['cv_mean']:.3f}"
                if drop["worse_by"] >= 0
                else f"{kind} {drop['metric']} worse than CV"
            )
            if trigger in when:
                triggers.append(trigger)
    status = "retrain" if triggers else "warn" if reasons else "ok"
    return {"status": status, "reasons": reasons, "triggers": triggers}


def exit_code(periods: list[dict[str, Any]]) -> int:
    """1 when any period asks for retraining, else 0 (bad input exits 2 before this)."""
    return EXIT_RETRAIN if any(p["verdict"]["status"] == "retrain" for p in periods) else EXIT_OK
