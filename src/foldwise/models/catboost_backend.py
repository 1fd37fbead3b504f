"""CatBoost: native categorical features (ordered target statistics) and missing values.

CatBoost takes the model frame as is (text categories, floats with NaN), stops on a
validation part after ``early_stopping_rounds`` rounds without improvement and keeps exactly
the best rounds. Saved in CatBoost's native ``model.cbm``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, CatBoostError, CatBoostRegressor

from foldwise.errors import FoldwiseError
from foldwise.metrics import Task
from foldwise.models.backend import Backend, Fitted
from foldwise.models.deadline import stopper
from foldwise.models.persistence import CATBOOST_FILE
from foldwise.models.settings import ModelSpec

# CatBoost accepts several names for one parameter and rejects two names set at once, so a
# default is only added when the user set none of its aliases.
CATBOOST_ALIASES: dict[str, frozenset[str]] = {
    "iterations": frozenset({"iterations", "num_boost_round", "n_estimators", "num_trees"}),
    "learning_rate": frozenset({"learning_rate", "eta"}),
    "random_seed": frozenset({"random_seed", "random_state"}),
    "thread_count": frozenset({"thread_count"}),
    "verbose": frozenset({"verbose", "logging_level", "silent", "verbose_eval"}),
    "allow_writing_files": frozenset({"allow_writing_files"}),
    "loss_function": frozenset({"loss_function", "objective"}),
}
_LOSS = {"binary": "Logloss", "multiclass": "MultiClass", "regression": "RMSE"}
# CatBoost's trees depend on its thread count (from about 10,000 rows; not on the cores: two
# threads give the same model on one core or two), so a fixed count, not every core, makes a
# run give the same model on every machine. Two threads on one core, or four on two, cost
# about 3 % (docs/model-families.md). `model.catboost.thread_count: -1` uses every core.
THREAD_COUNT = 2


class CatBoostBackend(Backend):
    """CatBoostClassifier or CatBoostRegressor on the model frame."""

    model_file = CATBOOST_FILE
    early_stopping_keys = frozenset(
        {"early_stopping_rounds", "od_wait", "od_type", "od_pval", "use_best_model"}
    )
    categorical_keys = frozenset({"cat_features"})
    time_limited = True

    @property
    def supports_early_stopping(self) -> bool:
        return True

    @staticmethod
    def estimator_class(task: Task) -> type:
        return CatBoostRegressor if task == "regression" else CatBoostClassifier

    def setting_keys(self, task: Task) -> tuple[str, list[str]]:
        cls = self.estimator_class(task)
        keys = [p for p in inspect.signature(cls).parameters if p != "self"]
        return cls.__name__, keys

    def params(self, spec: ModelSpec) -> dict[str, Any]:
        """The estimator's parameters: foldwise's defaults, then the checked settings."""
        settings = dict(spec.settings)
        self.check_keys(spec.task, settings)
        defaults = {
            "iterations": 1000,
            "learning_rate": 0.05,
            "random_seed": spec.seed,
            "thread_count": THREAD_COUNT,
            "verbose": False,
            "allow_writing_files": False,
            "loss_function": _LOSS[spec.task],
        }
        params = {
            key: value
            for key, value in defaults.items()
            if not (CATBOOST_ALIASES[key] & settings.keys())
        }
        params.update(settings)
        return params

    def check(self, spec: ModelSpec) -> None:
        self.params(spec)

    def with_rounds(self, settings: dict[str, Any], n: int) -> dict[str, Any]:
        kept = {k: v for k, v in settings.items() if k not in CATBOOST_ALIASES["iterations"]}
        return {**kept, "iterations": int(n)}

    def fit(
        self,
        spec: ModelSpec,
        table: pd.DataFrame,
        y: np.ndarray,
        validation: tuple[pd.DataFrame, np.ndarray] | None,
        n_classes: int | None,
    ) -> Fitted:
        model = self.estimator_class(spec.task)(**self.params(spec))
        fit_args: dict[str, Any] = {"cat_features": spec.categorical}
        stop = stopper(len(table))  # time_budget_s: stop at this fit's share of the time left
        if stop is not None:
            fit_args["callbacks"] = [stop]
        if validation is not None:
            fit_args.update(
                eval_set=validation,
                early_stopping_rounds=spec.early_stopping_rounds,
                use_best_model=True,
            )
        try:
            model.fit(table, y, **fit_args)
        except CatBoostError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
            raise FoldwiseError(
                f"CatBoost could not train (check the model.catboost settings): {first}"
            ) from None
        evals = model.get_evals_result()
        learn = evals.get("learn", {})
        metric = next(iter(learn), None)
        best = int(model.get_best_iteration()) + 1 if validation is not None else None
        curve = evals.get("validation", {}).get(metric) if validation is not None else None
        learning_curve = {
            "train": [float(v) for v in learn.get(metric, [])],
            "validation": None if curve is None else [float(v) for v in curve],
            "metric": metric,
        }
        stopped = None if stop is None else stop.stopped_at
        return Fitted(model, int(model.tree_count_), best, learning_curve, stopped)

    def save(self, estimator: Any, directory: Path, params: dict[str, Any]) -> None:
        # CatBoost stamps each model with a random GUID and the training time; fix both so
        # the same data, params and seed give a byte-identical file (and DVC hash).
        metadata = estimator.get_metadata()
        metadata["model_guid"] = hashlib.sha256(
            json.dumps(params, sort_keys=True, default=str).encode()
        ).hexdigest()[:32]
        metadata["train_finish_time"] = ""
        estimator.save_model(str(directory / CATBOOST_FILE), format="cbm")

    def load(self, directory: Path, spec: ModelSpec) -> Any:
        estimator = self.estimator_class(spec.task)()
        estimator.load_model(str(directory / CATBOOST_FILE), format="cbm")
        return estimator
