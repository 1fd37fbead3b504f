"""What moved between two runs besides the metrics: params.yaml keys and test segments."""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from foldwise.compare.runs import Run


def _flatten(mapping: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(mapping, dict):
        return {prefix: mapping} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(_flatten(value, name))
        else:
            out[name] = value
    return out


def changed_params(base: dict[str, Any], target: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    a, b = _flatten(base), _flatten(target)
    missing = object()
    changed = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, missing), b.get(key, missing)
        # An empty section that gained (or lost) keys shows as those keys, not as itself.
        if {} in (va, vb) and any(k.startswith(f"{key}.") for k in (*a, *b)):
            continue
        if va != vb:
            changed.append((key, None if va is missing else va, None if vb is missing else vb))
    return changed


def segment_moves(base: Run, target: Run, alpha: float) -> list[dict[str, Any]]:
    """Segments present in both runs whose primary metric moved beyond its rough noise.

    A segment's standard error is approximated from the run's test interval scaled by
    sqrt(rows / segment rows); the difference of two such estimates is then a z-score.
    """
    if not base.segments or not target.segments:
        return []

    def se_overall(run: Run) -> float | None:
        primary = (run.evaluate or {}).get("primary_metric") or {}
        low, high = primary.get("ci95_low"), primary.get("ci95_high")
        if low is None or high is None:
            return None
        return (high - low) / (2 * 1.959964)

    se_a, se_b = se_overall(base), se_overall(target)
    rows_a = int((base.evaluate or {}).get("rows") or 0)
    rows_b = int((target.evaluate or {}).get("rows") or 0)
    index = {
        (s["column"], str(s["segment"])): s for s in base.segments if s.get("value") is not None
    }
    z_crit = float(stats.norm.ppf(1 - alpha / 2))
    moved = []
    for seg in target.segments:
        old = index.get((seg["column"], str(seg["segment"])))
        if old is None or seg.get("value") is None:
            continue
        delta = float(seg["value"]) - float(old["value"])
        z = None
        if se_a and se_b and rows_a and rows_b and old["rows"] and seg["rows"]:
            se = math.hypot(
                se_a * math.sqrt(rows_a / old["rows"]), se_b * math.sqrt(rows_b / seg["rows"])
            )
            z = delta / se if se > 0 else None
        moved.append(
            {
                "column": seg["column"],
                "segment": str(seg["segment"]),
                "rows": int(seg["rows"]),
                "base": float(old["value"]),
                "target": float(seg["value"]),
                "delta": delta,
                "z": z,
                "moved": z is not None and abs(z) >= z_crit,
            }
        )
    moved.sort(key=lambda s: -abs(s["z"] if s["z"] is not None else s["delta"]))
    return moved
