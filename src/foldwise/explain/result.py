"""What the explain stage computed (:class:`Explanation`), and the lines the stage prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.explain.attribution import Attribution


@dataclass(frozen=True)
class Explanation:
    """Everything the reports need."""

    summary: dict[str, Any]
    details: dict[str, Any]
    final: Attribution
    sample: pd.DataFrame
    fold_importance: np.ndarray
    worst: pd.DataFrame
    oof_shap: pd.DataFrame
    kinds: dict[str, str]
    failing: list[str] = field(default_factory=list)

    def summary_line(self, seconds: float) -> str:
        """One line: model, top features, weak segments, disagreements, flagged suspects."""
        s = self.summary
        top = ", ".join(f["feature"] for f in s["top_features"][:5])
        return (
            f"explain {s['model']}: top features {top}; {s['weak_segments']} weak segment(s); "
            f"{s['investigate']} to investigate; suspects flagged: {s['suspect_flagged'] or 'none'} "
            f"({seconds:.1f} s)"
        )

    def notes(self) -> list[str]:
        """How the final and the fold models were explained, where that needs saying."""
        return [note for note in [self.details["note"], *self.details["fold_notes"]] if note]

    def failure_message(self, report: Path) -> str:
        """The explain.fail_on conditions that hold, pointing at the report."""
        return "explain failed on explain.fail_on: " + "; ".join(self.failing) + f" (see {report})"
