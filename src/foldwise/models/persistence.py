"""The saved form of a fitted :class:`~foldwise.models.TabularModel`: file names and state.

The estimator is stored by its backend in the library's own format (CatBoost's ``model.cbm``,
LightGBM's text model, scikit-learn pipelines as skops, whose loading runs no code; pickles are
refused), the wrapper's parameters and fitted state in ``model.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from foldwise.errors import FoldwiseError
from foldwise.stage import rounded

__all__ = [
    "CATBOOST_FILE",
    "LEGACY_PIPELINE_FILE",
    "LIGHTGBM_FILE",
    "MODEL_FILE",
    "PIPELINE_FILE",
    "SAVE_FORMAT",
    "read_state",
    "write_state",
]

MODEL_FILE = "model.json"
# The fitted estimator's file of each backend, in the library's own format (never pickle).
CATBOOST_FILE = "model.cbm"
LIGHTGBM_FILE = "lightgbm_model.txt"
PIPELINE_FILE = "pipeline.skops"
LEGACY_PIPELINE_FILE = "pipeline.joblib"
# 2: scikit-learn pipelines in skops format (loading runs no code), never pickle/joblib.
SAVE_FORMAT = 2


def write_state(
    directory: Path, params: dict[str, Any], fitted: dict[str, Any], versions: dict[str, str]
) -> None:
    """Write ``model.json``: the wrapper's parameters, fitted state and library versions."""
    import catboost  # imported here: loading a model needs neither library
    import sklearn

    state = {
        "format": SAVE_FORMAT,
        "params": params,
        # The learning curve's floats rounded like every report (foldwise.stage.rounded).
        "fitted": rounded(fitted),
        "versions": {
            "scikit-learn": sklearn.__version__,
            "catboost": catboost.__version__,
            **versions,
        },
    }
    (directory / MODEL_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def read_state(directory: Path) -> dict[str, Any]:
    """The checked ``model.json`` of a saved model folder."""
    state_path = directory / MODEL_FILE
    if not state_path.is_file():
        raise FoldwiseError(f"{directory}: not a saved foldwise model (no {MODEL_FILE})")
    state = json.loads(state_path.read_text(encoding="utf-8"))
    if (directory / LEGACY_PIPELINE_FILE).exists():
        raise FoldwiseError(
            f"{directory / LEGACY_PIPELINE_FILE}: pickled models are never loaded (a pickle "
            "can run code); retrain with dvc repro train to get a skops file"
        )
    if state.get("format") != SAVE_FORMAT:
        raise FoldwiseError(
            f"{state_path}: model format {state.get('format')!r} is not supported "
            f"(expected {SAVE_FORMAT})"
        )
    return dict(state)
