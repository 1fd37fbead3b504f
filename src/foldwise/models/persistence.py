"""Saving and loading a fitted :class:`~foldwise.models.TabularModel`.

CatBoost models are stored in CatBoost's native file, scikit-learn pipelines in skops format
(loading runs no code; pickles are refused), with the parameters and fitted state as JSON.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import catboost
import numpy as np
import sklearn
from sklearn.utils.validation import check_is_fitted

from foldwise.errors import FoldwiseError
from foldwise.stage import rounded

if TYPE_CHECKING:
    from foldwise.models.tabular import TabularModel

MODEL_FILE = "model.json"
CATBOOST_FILE = "model.cbm"
PIPELINE_FILE = "pipeline.skops"
LEGACY_PIPELINE_FILE = "pipeline.joblib"
# 2: scikit-learn pipelines in skops format (loading runs no code), never pickle/joblib.
SAVE_FORMAT = 2


class PersistenceMixin:
    """:meth:`save` and :meth:`load` of a :class:`~foldwise.models.TabularModel`."""

    def save(self, directory: Path) -> None:
        """Write the fitted model: CatBoost's native file or a skops pipeline, plus JSON."""
        check_is_fitted(self, "estimator_")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        if self.name == "catboost":
            # CatBoost stamps each model with a random GUID and the training time; fix both so
            # the same data, params and seed give a byte-identical file (and DVC hash).
            metadata = self.estimator_.get_metadata()
            metadata["model_guid"] = hashlib.sha256(
                json.dumps(self.get_params(deep=False), sort_keys=True, default=str).encode()
            ).hexdigest()[:32]
            metadata["train_finish_time"] = ""
            self.estimator_.save_model(str(directory / CATBOOST_FILE), format="cbm")
        else:
            from foldwise.production.safe_io import dump_pipeline

            dump_pipeline(self.estimator_, directory / PIPELINE_FILE)
        state = {
            "format": SAVE_FORMAT,
            "params": self.get_params(deep=False),
            # The learning curve's floats rounded like every report (foldwise.stage.rounded).
            "fitted": rounded(
                {
                    "n_classes": getattr(self, "n_classes_", None),
                    "best_iteration": self.best_iteration_,
                    "n_iterations": self.n_iterations_,
                    "learning_curve": self.learning_curve_,
                }
            ),
            "versions": {"scikit-learn": sklearn.__version__, "catboost": catboost.__version__},
        }
        (directory / MODEL_FILE).write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> TabularModel:
        """Read a model written by :meth:`save`."""
        directory = Path(directory)
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
        model = cls(**state["params"])
        if model.name == "catboost":
            estimator = model._catboost_class()()
            estimator.load_model(str(directory / CATBOOST_FILE), format="cbm")
        else:
            from foldwise.production.safe_io import load_pipeline

            estimator = load_pipeline(directory / PIPELINE_FILE)
        fitted = state["fitted"]
        model.estimator_ = estimator
        model.best_iteration_ = fitted["best_iteration"]
        model.n_iterations_ = fitted["n_iterations"]
        model.learning_curve_ = fitted["learning_curve"]
        if fitted["n_classes"] is not None:
            model.n_classes_ = int(fitted["n_classes"])
            model.classes_ = np.arange(model.n_classes_)
        model.feature_names_in_ = np.array([str(f["name"]) for f in model.features], dtype=object)
        model.n_features_in_ = len(model.features)
        return model
