"""LightGBM: histogram gradient boosting with native categorical splits and missing values.

Why LightGBM rather than XGBoost as the second boosting library: LightGBM splits a
categorical column natively, grouping its levels by gradient statistics (XGBoost's categorical
support is newer and still marked experimental in places), learns where missing values go at
every split, and grows trees leaf-wise on binned histograms, which makes it the fastest of the
boosting libraries on a CPU at the table sizes foldwise meets. It is also what the AutoML peers
lead with: AutoGluon fits LightGBM first in its default portfolio, and FLAML starts every
search with it. Its trees differ from CatBoost's symmetric ones (and its category handling
from CatBoost's ordered target statistics), so it adds variety to an ensemble.

Categories are given to LightGBM as integer codes of the levels seen in training (in sorted
order, missing cells being the level ``__missing__``); a level never seen in training becomes
NaN, which LightGBM sends down the "other categories" side of every categorical split.
Numbers, booleans and dates arrive as floats with NaN for missing values. The booster is kept
as LightGBM's native text model (``lightgbm_model.txt``), the codes in
``lightgbm_categories.json``: no pickle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from foldwise.errors import FoldwiseError
from foldwise.metrics import Task
from foldwise.models.backend import Backend, Fitted
from foldwise.models.deadline import stopper
from foldwise.models.persistence import LIGHTGBM_FILE
from foldwise.models.settings import ModelSpec

CATEGORIES_FILE = "lightgbm_categories.json"
_OBJECTIVE = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
_METRIC = {"binary": "binary_logloss", "multiclass": "multi_logloss", "regression": "rmse"}
# Batches up to this many rows are scored on one thread (thread start-up costs more); the
# predictions do not depend on the number of threads.
_ONE_THREAD_ROWS = 10_000
# The parameters foldwise sets a default for, with the aliases LightGBM also accepts (a
# default is only added when the user set none of them).
_FALLBACK_ALIASES: dict[str, list[str]] = {
    "num_iterations": ["num_iterations", "n_estimators", "num_boost_round", "num_rounds"],
    "learning_rate": ["learning_rate", "shrinkage_rate", "eta"],
    "seed": ["seed", "random_seed", "random_state"],
    "num_threads": ["num_threads", "n_jobs", "nthread", "nthreads"],
    "verbosity": ["verbosity", "verbose"],
    "objective": ["objective", "app", "loss", "application", "objective_type"],
    "metric": ["metric", "metrics", "metric_types"],
    "num_class": ["num_class", "num_classes"],
    "deterministic": ["deterministic"],
    "force_row_wise": ["force_row_wise"],
    "force_col_wise": ["force_col_wise"],
    "early_stopping_round": ["early_stopping_round", "early_stopping_rounds", "n_iter_no_change"],
    "first_metric_only": ["first_metric_only"],
    "early_stopping_min_delta": ["early_stopping_min_delta"],
    "categorical_feature": ["categorical_feature", "cat_feature", "categorical_features"],
}


def _all_aliases() -> dict[str, list[str]]:
    """Every LightGBM parameter with its aliases, as the installed library knows them."""
    try:
        table = lgb.basic._ConfigAliases._get_all_param_aliases()
    except AttributeError:  # a private helper; without it only the key naming is weaker
        return dict(_FALLBACK_ALIASES)
    return {str(k): [str(a) for a in v] for k, v in table.items()}


ALIASES = _all_aliases()
_CANONICAL = {alias: name for name, aliases in ALIASES.items() for alias in aliases}


def _aliases(name: str) -> frozenset[str]:
    return frozenset(ALIASES.get(name, [name])) | {name}


class CategoryCodes:
    """The columns in order and the levels of each categorical one, learnt on training rows."""

    def __init__(self, columns: list[str], categories: dict[str, list[str]]) -> None:
        self.columns = list(columns)
        self.categories = {name: list(levels) for name, levels in categories.items()}
        self._index = {
            name: pd.Index(levels, dtype=object) for name, levels in self.categories.items()
        }

    @classmethod
    def learn(cls, table: pd.DataFrame, spec: ModelSpec) -> CategoryCodes:
        levels = {
            name: sorted({str(v) for v in table[name].to_numpy(dtype=object)})
            for name in spec.categorical
        }
        return cls([str(f["name"]) for f in spec.features], levels)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The booster's input: floats, category codes (NaN for a level never seen)."""
        out = np.empty((len(frame), len(self.columns)), dtype="float64")
        for j, name in enumerate(self.columns):
            values = frame[name]
            index = self._index.get(name)
            if index is None:
                out[:, j] = np.asarray(values, dtype="float64")
                continue
            codes = index.get_indexer(pd.Index(np.asarray(values, dtype=object), dtype=object))
            out[:, j] = np.where(codes < 0, np.nan, codes)
        return out

    @property
    def positions(self) -> list[int]:
        """The positions of the categorical columns."""
        return [j for j, name in enumerate(self.columns) if name in self.categories]


class LightGBMModel:
    """A fitted LightGBM booster and the category codes it was trained on.

    Takes the model frame (floats, and text categories) like every foldwise estimator;
    ``predict_proba`` gives one column per class code, ``contributions`` the booster's exact
    TreeSHAP values (``pred_contrib``) on the raw-score scale.
    """

    def __init__(
        self, booster: lgb.Booster, codes: CategoryCodes, task: Task, n_classes: int | None
    ) -> None:
        self.booster = booster
        self.codes = codes
        self.task = task
        self.n_classes = n_classes
        if task != "regression":
            self.classes_ = np.arange(int(n_classes or 2))

    def _predict(self, frame: pd.DataFrame, **kwargs: Any) -> np.ndarray:
        threads = 1 if len(frame) <= _ONE_THREAD_ROWS else 0
        matrix = self.codes.matrix(frame)
        return np.asarray(self.booster.predict(matrix, num_threads=threads, **kwargs), "float64")

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        proba = self._predict(frame)
        if self.task == "binary":
            return np.column_stack([1.0 - proba, proba])
        return proba.reshape(len(frame), -1)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self.task == "regression":
            return self._predict(frame)
        return self.predict_proba(frame).argmax(axis=1)

    def contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """TreeSHAP values (n, outputs, p + 1), the last column each output's base value.

        They sum to the raw score: log-odds (binary), per-class logits, or the value.
        """
        raw = self._predict(frame, pred_contrib=True)
        return raw.reshape(len(frame), -1, len(self.codes.columns) + 1)

    def state(self) -> dict[str, Any]:
        return {
            "columns": self.codes.columns,
            "categories": self.codes.categories,
            "task": self.task,
            "n_classes": self.n_classes,
        }


class LightGBMBackend(Backend):
    """LightGBM's native training API (``lgb.train``) on category codes."""

    model_file = LIGHTGBM_FILE
    early_stopping_keys = (
        _aliases("early_stopping_round")
        | _aliases("first_metric_only")
        | _aliases("early_stopping_min_delta")
    )
    categorical_keys = _aliases("categorical_feature")
    time_limited = True

    @property
    def supports_early_stopping(self) -> bool:
        return True

    def setting_keys(self, task: Task) -> tuple[str, list[str]]:
        return "LightGBM", sorted(_CANONICAL)

    def check_keys(self, task: Task, settings: dict[str, Any]) -> None:
        super().check_keys(task, settings)
        if _aliases("num_class") & settings.keys():
            key = sorted(_aliases("num_class") & settings.keys())[0]
            raise FoldwiseError(
                f"model.lightgbm.{key} is set by foldwise from the target's classes; remove it"
            )
        seen: dict[str, str] = {}
        for key in sorted(settings):
            canonical = _CANONICAL.get(key, key)
            if canonical in seen:
                raise FoldwiseError(
                    f"model.lightgbm.{key} and model.lightgbm.{seen[canonical]} both set "
                    f"LightGBM's {canonical!r}; keep one"
                )
            seen[canonical] = key

    def params(self, spec: ModelSpec, n_classes: int | None) -> dict[str, Any]:
        """LightGBM's parameters: foldwise's defaults, then the checked settings."""
        settings = dict(spec.settings)
        self.check_keys(spec.task, settings)
        return _with_defaults(settings, spec.task, spec.seed, n_classes)

    def check(self, spec: ModelSpec) -> None:
        self.params(spec, None)

    def check_values(self, task: Task, settings: dict[str, Any]) -> None:
        """LightGBM's own parameter checks, run on a booster over four made-up rows."""
        if not settings:
            return
        params = _with_defaults(dict(settings), task, 0, 3 if task == "multiclass" else None)
        label = [0, 1, 2, 1] if task == "multiclass" else [0, 1, 0, 1]
        rows = lgb.Dataset(np.arange(8.0).reshape(4, 2), label=label, params=params)
        try:
            lgb.Booster(params=params, train_set=rows)
        except lgb.basic.LightGBMError as exc:
            raise _refused(settings, exc) from None

    def with_rounds(self, settings: dict[str, Any], n: int) -> dict[str, Any]:
        kept = {k: v for k, v in settings.items() if k not in _aliases("num_iterations")}
        return {**kept, "n_estimators": int(n)}

    def fit(
        self,
        spec: ModelSpec,
        table: pd.DataFrame,
        y: np.ndarray,
        validation: tuple[pd.DataFrame, np.ndarray] | None,
        n_classes: int | None,
    ) -> Fitted:
        params = self.params(spec, n_classes)
        codes = CategoryCodes.learn(table, spec)
        names = [f"f{j}" for j in range(len(codes.columns))]  # LightGBM refuses some characters
        train = lgb.Dataset(
            codes.matrix(table), label=y, feature_name=names, categorical_feature=codes.positions
        )
        sets, labels = [train], ["train"]
        evals: dict[str, Any] = {}
        callbacks: list[Any] = [lgb.record_evaluation(evals)]
        if validation is not None:
            sets.append(lgb.Dataset(codes.matrix(validation[0]), validation[1], reference=train))
            labels.append("validation")
            stop = lgb.early_stopping(
                spec.early_stopping_rounds, first_metric_only=True, verbose=False
            )
            callbacks.append(stop)
        limit = stopper(len(table))  # time_budget_s: stop at this fit's share of the time left
        if limit is not None:
            if validation is not None:  # keep early stopping's best round when stopped
                limit.best_round = lambda: int(stop.best_iter[0]) if stop.best_iter else 0
            callbacks.append(limit)
        try:
            booster = lgb.train(
                params, train, valid_sets=sets, valid_names=labels, callbacks=callbacks
            )
        except lgb.basic.LightGBMError as exc:
            raise _refused(spec.settings, exc) from None
        best = int(booster.best_iteration) if validation is not None else None
        # Keep exactly the best rounds, and the booster exactly as its saved text reads back.
        text = booster.model_to_string(num_iteration=best or None)
        model = LightGBMModel(lgb.Booster(model_str=text), codes, spec.task, n_classes)
        metric = next(iter(evals.get("train", {})), None)
        curve = {
            "train": [float(v) for v in evals.get("train", {}).get(metric, [])],
            "validation": None
            if validation is None
            else [float(v) for v in evals["validation"][metric]],
            "metric": metric,
        }
        stopped = None if limit is None else limit.stopped_at
        return Fitted(model, int(model.booster.current_iteration()), best, curve, stopped)

    def save(self, estimator: Any, directory: Path, params: dict[str, Any]) -> None:
        estimator.booster.save_model(str(directory / LIGHTGBM_FILE))
        text = json.dumps(estimator.state(), indent=1, sort_keys=True)
        (directory / CATEGORIES_FILE).write_text(text + "\n", encoding="utf-8")

    def load(self, directory: Path, spec: ModelSpec) -> Any:
        for name in (LIGHTGBM_FILE, CATEGORIES_FILE):
            if not (directory / name).is_file():
                raise FoldwiseError(f"{directory / name}: missing; the model folder is incomplete")
        state = json.loads((directory / CATEGORIES_FILE).read_text(encoding="utf-8"))
        booster = lgb.Booster(model_file=str(directory / LIGHTGBM_FILE))
        codes = CategoryCodes(state["columns"], state["categories"])
        return LightGBMModel(booster, codes, state["task"], state["n_classes"])

    def versions(self) -> dict[str, str]:
        return {"lightgbm": str(lgb.__version__)}


def _with_defaults(
    settings: dict[str, Any], task: Task, seed: int, n_classes: int | None
) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "objective": _OBJECTIVE[task],
        "num_iterations": 2000,  # an upper bound: early stopping finds the rounds
        "learning_rate": 0.05,
        # Smoother categorical splits than LightGBM's 10 and 100 (rare levels join the rest):
        # on the demo's 498-level city column +0.007 CV AUC; no effect without categories.
        "cat_smooth": 50,
        "min_data_per_group": 200,
        "seed": seed,
        # One thread: measured on the demo's 16,000 rows on a busy 2-core machine, 4.1 s
        # against 73 s with two (OpenMP threads spin while waiting for each other), and the
        # histogram sums run in one order on every machine. Large tables: set num_threads.
        "num_threads": 1,
        "verbosity": -1,
        # Same data, params and seed: the same trees on any run (row-wise histograms chosen
        # up front rather than by timing both).
        "deterministic": True,
    }
    if not (_aliases("objective") & settings.keys()):
        defaults["metric"] = _METRIC[task]
    if not ((_aliases("force_col_wise") | _aliases("force_row_wise")) & settings.keys()):
        defaults["force_row_wise"] = True
    params = {k: v for k, v in defaults.items() if not (_aliases(k) & settings.keys())}
    if task == "multiclass":
        params["num_class"] = int(n_classes or 3)
    params.update(settings)
    return params


def _refused(settings: dict[str, Any], exc: Exception) -> FoldwiseError:
    """LightGBM's message, naming the params.yaml key it is about when it can tell."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r" at \S+, line \d+ \.?$", "", text)
    named = [k for k in sorted(settings) if re.search(rf"\b{_CANONICAL.get(k, k)}\b", text)]
    # A value LightGBM cannot read as a number: "Unknown token fast in data file".
    token = re.search(r"Unknown token (\S+)", text)
    named += [k for k in sorted(settings) if token and str(settings[k]) == token.group(1)]
    where = f"model.lightgbm.{named[0]}" if named else "model.lightgbm"
    return FoldwiseError(f"{where}: LightGBM refuses the settings ({text})")
