"""The model registry: one scikit-learn-style wrapper that owns preprocessing, model and rounds.

:class:`TabularModel` takes the typed feature frame of :func:`feature_frame` and fits its
preprocessing inside :meth:`TabularModel.fit` only, so within cross-validation every encoder,
imputer and scaler sees the training fold and nothing else.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
from pathlib import Path
from typing import Any

import catboost
import numpy as np
import pandas as pd
import sklearn
from catboost import CatBoostClassifier, CatBoostError, CatBoostRegressor
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder
from sklearn.utils.validation import check_is_fitted

try:
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # a private module; without it only the key naming is lost
    InvalidParameterError = TypeError  # type: ignore[misc,assignment]

from foldwise.data import BOOLEAN_PAIRS, MISSING_TOKENS, TRUE_TOKENS
from foldwise.errors import FoldwiseError
from foldwise.metrics import TASKS, Task
from foldwise.numbers import parse_numbers

MODEL_NAMES = (
    "catboost",
    "logistic_regression",
    "random_forest",
    "hist_gradient_boosting",
    "dummy",
)
EARLY_STOPPING_MODELS = frozenset({"catboost", "hist_gradient_boosting"})
KINDS = ("numeric", "categorical", "boolean", "datetime")
MISSING_CATEGORY = "__missing__"
# Category values that look like the missing token (``__missing__``, ``\__missing__``, ...)
# get one more leading backslash, so a real value never merges with missing cells.
_MISSING_LIKE = r"\\*" + MISSING_CATEGORY
MODEL_FILE = "model.json"
CATBOOST_FILE = "model.cbm"
PIPELINE_FILE = "pipeline.skops"
LEGACY_PIPELINE_FILE = "pipeline.joblib"
# 2: scikit-learn pipelines in skops format (loading runs no code), never pickle/joblib.
SAVE_FORMAT = 2
# HistGradientBoosting encodes at most this many categories per feature natively.
HGB_MAX_CATEGORIES = 255

_EPOCH = pd.Timestamp("1970-01-01")
_FALSE_TOKENS = frozenset().union(*BOOLEAN_PAIRS) - TRUE_TOKENS
_TRUE_TEXT = TRUE_TOKENS | {"1", "1.0"}
_FALSE_TEXT = _FALSE_TOKENS | {"0", "0.0"}

# CatBoost accepts several names for one parameter and rejects two names set at once, so a
# default is only added when the user set none of its aliases.
_CATBOOST_ALIASES: dict[str, frozenset[str]] = {
    "iterations": frozenset({"iterations", "num_boost_round", "n_estimators", "num_trees"}),
    "learning_rate": frozenset({"learning_rate", "eta"}),
    "random_seed": frozenset({"random_seed", "random_state"}),
    "thread_count": frozenset({"thread_count"}),
    "verbose": frozenset({"verbose", "logging_level", "silent", "verbose_eval"}),
    "allow_writing_files": frozenset({"allow_writing_files"}),
    "loss_function": frozenset({"loss_function", "objective"}),
}
_ITERATION_KEY = {"catboost": "iterations", "hist_gradient_boosting": "max_iter"}
_EARLY_STOPPING_KEYS = {
    "catboost": frozenset(
        {"early_stopping_rounds", "od_wait", "od_type", "od_pval", "use_best_model"}
    ),
    "hist_gradient_boosting": frozenset(
        {"early_stopping", "n_iter_no_change", "validation_fraction", "scoring"}
    ),
}
_CATEGORICAL_KEYS = {
    "catboost": frozenset({"cat_features"}),
    "hist_gradient_boosting": frozenset({"categorical_features"}),
}
# HGB's internal losses are the "half" variants; name what the stored curve really holds.
_HGB_LOSS_NAMES = {
    "squared_error": "half_squared_error",
    "poisson": "half_poisson_deviance",
    "gamma": "half_gamma_deviance",
}


def _sklearn_at_least(major: int, minor: int) -> bool:
    parts = sklearn.__version__.split(".")
    return (int(parts[0]), int(parts[1])) >= (major, minor)


# scikit-learn 1.9 deprecated TargetEncoder(shuffle, random_state) in favour of a cv splitter.
_TARGET_ENCODER_TAKES_SPLITTER = _sklearn_at_least(1, 9)


# --------------------------------------------------------------------------- feature frame


def _clean_text(values: pd.Series) -> pd.Series:
    """Stripped text with missing tokens as NaN, the way :mod:`foldwise.data` reads tables."""
    text = values.astype("str").str.strip()
    return text.mask(text.str.lower().isin(MISSING_TOKENS))


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values) or values.dtype == object


def _as_float(values: pd.Series) -> pd.Series:
    return pd.Series(
        values.to_numpy(dtype="float64", na_value=np.nan), index=values.index, name=values.name
    )


def _coerce_numeric(values: pd.Series, name: str) -> pd.Series:
    """Numbers as float64; infinities become missing, as when the training table was read."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        out = _as_float(values)
        return out.mask(np.isinf(out.to_numpy()))
    if not _is_text(values):
        raise FoldwiseError(
            f"column {name!r} has dtype {values.dtype} but the model expects numbers"
        )
    text = _clean_text(values)
    # The decimal point and proven thousands separators of foldwise.numbers: "1,5" is refused,
    # never read as 15.
    parsed = parse_numbers(text)
    bad = text[parsed.not_numbers.to_numpy()]
    if len(bad):
        raise FoldwiseError(
            f"column {name!r}: {len(bad)} value(s) are not numbers (e.g. {bad.iloc[0]!r}); "
            "the model expects a numeric column"
        )
    return parsed.values


def _coerce_boolean(values: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isnan(numbers) | np.isin(numbers, (0.0, 1.0))
        if not ok.all():
            raise FoldwiseError(
                f"column {name!r}: value {float(numbers[~ok][0])!r} is not a boolean; "
                "the model expects true/false, yes/no or 0/1"
            )
        flags = pd.array(numbers == 1.0, dtype="boolean")
        flags[np.isnan(numbers)] = pd.NA
        return pd.Series(flags, index=values.index, name=values.name)
    if not _is_text(values):
        raise FoldwiseError(
            f"column {name!r} has dtype {values.dtype} but the model expects booleans"
        )
    lowered = _clean_text(values).str.lower()
    present = lowered.dropna()
    bad = present[~present.isin(_TRUE_TEXT | _FALSE_TEXT)]
    if len(bad):
        raise FoldwiseError(
            f"column {name!r}: {len(bad)} value(s) are not booleans (e.g. {bad.iloc[0]!r}); "
            "the model expects true/false, yes/no or 0/1"
        )
    return lowered.isin(_TRUE_TEXT).astype("boolean").mask(lowered.isna())


def _naive_utc(values: pd.Series) -> pd.Series:
    if getattr(values.dt, "tz", None) is not None:
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values


def _coerce_datetime(values: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return _naive_utc(values)
    if not _is_text(values):
        raise FoldwiseError(f"column {name!r} has dtype {values.dtype} but the model expects dates")
    text = _clean_text(values)
    present = text.dropna()
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    except (ValueError, TypeError) as exc:
        raise FoldwiseError(f"column {name!r}: cannot read the values as dates ({exc})") from None
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        raise FoldwiseError(
            f"column {name!r}: dates mix time zones; the model expects one kind of date"
        )
    bad = present[parsed[present.index].isna()]
    if len(bad):
        raise FoldwiseError(
            f"column {name!r}: {len(bad)} value(s) are not dates (e.g. {bad.iloc[0]!r}); "
            "the model expects dates such as 2024-01-31"
        )
    return _naive_utc(parsed)


def _integral_text(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def _coerce_categorical(values: pd.Series) -> pd.Series:
    # 7.0 read from a CSV means the category "7", as a text column would have said.
    if pd.api.types.is_float_dtype(values) or values.dtype == object:
        values = values.map(_integral_text, na_action="ignore")
    return _clean_text(values).astype("str")


def feature_frame(frame: pd.DataFrame, features: list[dict]) -> pd.DataFrame:
    """A new frame of the schema's feature columns, in schema order, with the schema's dtypes.

    Extra columns are ignored. Columns given in another form (numbers or dates as text, booleans
    as 0/1 or yes/no, as when scoring rows read from a CSV) are converted; values that cannot
    be converted raise :class:`FoldwiseError` naming the column.
    """
    names = [str(feature["name"]) for feature in features]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise FoldwiseError(f"input is missing feature column(s) {missing} expected by the model")
    duplicated = sorted({name for name in names if list(frame.columns).count(name) > 1})
    if duplicated:
        raise FoldwiseError(f"input has duplicate column name(s) {duplicated}")
    columns: dict[str, pd.Series] = {}
    for feature in features:
        name, kind = str(feature["name"]), feature["kind"]
        values = frame[name]
        if kind == "numeric":
            columns[name] = _coerce_numeric(values, name)
        elif kind == "boolean":
            columns[name] = _coerce_boolean(values, name)
        elif kind == "datetime":
            columns[name] = _coerce_datetime(values, name)
        elif kind == "categorical":
            columns[name] = _coerce_categorical(values)
        else:
            raise FoldwiseError(
                f"schema feature {name!r} has kind {kind!r}; expected one of {', '.join(KINDS)}"
            )
    return pd.DataFrame(columns, index=frame.index)


def _category_values(values: pd.Series) -> np.ndarray:
    """Category cells as objects, missing ones as the missing token, never confused with it."""
    hit = values.astype("str").str.fullmatch(_MISSING_LIKE).fillna(False).astype(bool)
    if hit.any():
        values = values.astype(object).where(~hit, "\\" + values.astype("str"))
    return values.to_numpy(dtype=object, na_value=MISSING_CATEGORY)


def _model_frame(frame: pd.DataFrame, features: list[dict]) -> pd.DataFrame:
    """Floats for numbers, booleans and dates (days since 1970); plain text for categories."""
    columns: dict[str, Any] = {}
    for feature in features:
        name = str(feature["name"])
        values = frame[name]
        if feature["kind"] == "categorical":
            columns[name] = _category_values(values)
        elif feature["kind"] == "datetime":
            days = (values - _EPOCH) / pd.Timedelta(days=1)
            columns[name] = days.to_numpy(dtype="float64", na_value=np.nan)
        else:
            columns[name] = values.to_numpy(dtype="float64", na_value=np.nan)
    return pd.DataFrame(columns, index=frame.index)


# --------------------------------------------------------------------------- settings


def _unknown_setting(name: str, key: str, estimator: str, allowed: list[str]) -> FoldwiseError:
    hint = difflib.get_close_matches(key, allowed, n=1)
    tip = f"; did you mean {hint[0]!r}?" if hint else ""
    listing = f" (allowed: {', '.join(sorted(allowed))})" if len(allowed) <= 30 else ""
    return FoldwiseError(f"model.{name}.{key} is not a setting of {estimator}{tip}{listing}")


def _check_reserved(name: str, settings: dict[str, Any]) -> None:
    for key in sorted(settings):
        if key in _EARLY_STOPPING_KEYS.get(name, ()):
            raise FoldwiseError(
                f"model.{name}.{key} is set by foldwise (early stopping on a validation part, "
                "rounds from train.early_stopping_rounds); remove it"
            )
        if key in _CATEGORICAL_KEYS.get(name, ()):
            raise FoldwiseError(
                f"model.{name}.{key} is set by foldwise from the schema's categorical "
                "columns; remove it"
            )


def _invalid_parameter(name: str, exc: Exception) -> FoldwiseError:
    """Name the params.yaml key in scikit-learn's parameter-validation message."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    marker = text.split("'")
    key = marker[1] if text.startswith("The '") and len(marker) > 2 else None
    where = f"model.{name}.{key}" if key else f"model.{name}"
    return FoldwiseError(f"{where}: {text}")


def _target_encoder(task: Task, y: np.ndarray, seed: int) -> TargetEncoder:
    """A cross-fitted target encoder with seeded folds.

    The target type follows the classes present in ``y``: a multiclass fold that lacks a class
    may hold only two.
    """
    if task == "regression":
        target_type = "continuous"
    else:
        target_type = "multiclass" if len(np.unique(y)) > 2 else "binary"
    if _TARGET_ENCODER_TAKES_SPLITTER:
        splitter = (
            KFold(5, shuffle=True, random_state=seed)
            if task == "regression"
            else StratifiedKFold(5, shuffle=True, random_state=seed)
        )
        return TargetEncoder(target_type=target_type, cv=splitter)
    return TargetEncoder(target_type=target_type, shuffle=True, random_state=seed)


# --------------------------------------------------------------------------- the wrapper


class TabularModel(BaseEstimator):
    """One registry model with its preprocessing, fitted together on raw feature frames.

    ``n_classes`` is the number of classes of a classification task; when ``None`` it is taken
    from the highest class code seen in ``fit`` (give it when a fold may lack the last class).
    """

    def __init__(
        self,
        name: str,
        task: Task,
        features: list[dict],
        settings: dict | None = None,
        seed: int = 0,
        max_onehot_categories: int = 20,
        early_stopping_rounds: int = 50,
        n_classes: int | None = None,
    ) -> None:
        self.name = name
        self.task = task
        self.features = features
        self.settings = settings
        self.seed = seed
        self.max_onehot_categories = max_onehot_categories
        self.early_stopping_rounds = early_stopping_rounds
        self.n_classes = n_classes

    # ----------------------------------------------------------------- public helpers

    @property
    def supports_early_stopping(self) -> bool:
        return self.name in EARLY_STOPPING_MODELS

    @property
    def is_classifier(self) -> bool:
        return self.task != "regression"

    def check_settings(self) -> None:
        """Raise FoldwiseError for an unknown model, task, or setting; fits nothing."""
        if self.name not in MODEL_NAMES:
            raise FoldwiseError(
                f"model.name {self.name!r} is not known; allowed: {', '.join(MODEL_NAMES)}"
            )
        if self.task not in TASKS:
            raise FoldwiseError(f"task {self.task!r} is not one of {', '.join(TASKS)}")
        if self.name == "catboost":
            self._catboost_params()
        else:
            self._sklearn_estimator()

    def with_iterations(self, n: int) -> TabularModel:
        """An unfitted copy that trains exactly ``n`` boosting rounds."""
        if not self.supports_early_stopping:
            raise ValueError(f"model {self.name!r} has no boosting rounds to fix")
        if int(n) < 1:
            raise ValueError(f"the number of rounds must be at least 1, got {n}")
        key = _ITERATION_KEY[self.name]
        aliases = _CATBOOST_ALIASES["iterations"] if self.name == "catboost" else {key}
        settings = {k: v for k, v in (self.settings or {}).items() if k not in aliases}
        settings[key] = int(n)
        copy = clone(self)
        copy.set_params(settings=settings)
        return copy

    # ----------------------------------------------------------------- fitting

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        *,
        X_val: pd.DataFrame | None = None,
        y_val: np.ndarray | None = None,
    ) -> TabularModel:
        """Fit preprocessing and model on ``X``; early-stop on (X_val, y_val) when supported.

        ``best_iteration_`` is the number of rounds early stopping chose (the fitted model keeps
        exactly that many), or ``None`` when no early stopping ran. ``learning_curve_`` holds the
        loss (lower is better) per round for boosting models, ``validation`` being ``None``
        without a validation part.
        """
        self.check_settings()
        if not self.features:
            raise FoldwiseError("the schema lists no features; a model needs at least one")
        if (X_val is None) != (y_val is None):
            raise ValueError("X_val and y_val must be given together")
        early_stop = X_val is not None and self.supports_early_stopping
        table = _model_frame(feature_frame(X, self.features), self.features)
        y = self._check_target(y, len(table))
        table_val = None
        if early_stop:
            table_val = _model_frame(feature_frame(X_val, self.features), self.features)
            y_val = self._check_target(y_val, len(table_val))
        self._set_classes(y, y_val if early_stop else None)

        self.best_iteration_: int | None = None
        self.learning_curve_: dict[str, Any] | None = None
        self.n_iterations_: int | None = None
        if self.name == "catboost":
            self._fit_catboost(table, y, table_val, y_val)
        else:
            self._fit_sklearn(table, y, table_val, y_val)
        self.feature_names_in_ = np.array([str(f["name"]) for f in self.features], dtype=object)
        self.n_features_in_ = len(self.features)
        return self

    def _check_target(self, y: Any, n_rows: int) -> np.ndarray:
        values = np.asarray(y)
        if values.ndim != 1 or len(values) != n_rows:
            raise ValueError(f"y has shape {values.shape}; expected ({n_rows},)")
        if n_rows == 0:
            raise FoldwiseError("cannot fit a model on zero rows")
        if not self.is_classifier:
            return values.astype("float64")
        codes = values.astype("int64")
        if not np.array_equal(codes, values) or codes.min() < 0:
            raise ValueError("classification targets must be class codes 0..k-1")
        return codes

    def _set_classes(self, y: np.ndarray, y_val: np.ndarray | None) -> None:
        if not self.is_classifier:
            return
        if len(np.unique(y)) < 2:
            raise FoldwiseError(
                f"the training rows hold a single class ({int(y[0])}); a classifier needs two"
            )
        seen = max(int(y.max()), int(y_val.max()) if y_val is not None else 0) + 1
        minimum = {"binary": 2, "multiclass": 3}[self.task]
        k = self.n_classes if self.n_classes is not None else max(seen, minimum)
        if seen > k:
            raise ValueError(f"class code {seen - 1} is out of range for {k} classes")
        self.n_classes_ = int(k)
        self.classes_ = np.arange(k)

    # catboost -----------------------------------------------------------------

    def _catboost_class(self) -> type:
        return CatBoostClassifier if self.is_classifier else CatBoostRegressor

    def _catboost_params(self) -> dict[str, Any]:
        settings = dict(self.settings or {})
        cls = self._catboost_class()
        allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        for key in sorted(settings):
            if key not in allowed:
                raise _unknown_setting("catboost", key, cls.__name__, allowed)
        _check_reserved("catboost", settings)
        loss = {"binary": "Logloss", "multiclass": "MultiClass", "regression": "RMSE"}[self.task]
        defaults = {
            "iterations": 1000,
            "learning_rate": 0.05,
            "random_seed": self.seed,
            "thread_count": -1,
            "verbose": False,
            "allow_writing_files": False,
            "loss_function": loss,
        }
        params = {
            key: value
            for key, value in defaults.items()
            if not (_CATBOOST_ALIASES[key] & settings.keys())
        }
        params.update(settings)
        return params

    def _fit_catboost(
        self,
        table: pd.DataFrame,
        y: np.ndarray,
        table_val: pd.DataFrame | None,
        y_val: np.ndarray | None,
    ) -> None:
        model = self._catboost_class()(**self._catboost_params())
        cat_features = [str(f["name"]) for f in self.features if f["kind"] == "categorical"]
        fit_args: dict[str, Any] = {"cat_features": cat_features}
        if table_val is not None:
            fit_args.update(
                eval_set=(table_val, y_val),
                early_stopping_rounds=self.early_stopping_rounds,
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
        if table_val is not None:
            self.best_iteration_ = int(model.get_best_iteration()) + 1
        validation = evals.get("validation", {}).get(metric) if table_val is not None else None
        self.learning_curve_ = {
            "train": [float(v) for v in learn.get(metric, [])],
            "validation": None if validation is None else [float(v) for v in validation],
            "metric": metric,
        }
        self.n_iterations_ = int(model.tree_count_)
        self.estimator_ = model

    # scikit-learn -------------------------------------------------------------

    def _sklearn_estimator(self) -> BaseEstimator:
        """The unfitted estimator with defaults, then the user's settings."""
        classify = self.is_classifier
        seed = self.seed
        if self.name == "logistic_regression":
            estimator = (
                LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
                if classify
                else Ridge(alpha=1.0, random_state=seed)
            )
        elif self.name == "random_forest":
            cls = RandomForestClassifier if classify else RandomForestRegressor
            estimator = cls(n_estimators=300, min_samples_leaf=2, n_jobs=-1, random_state=seed)
        elif self.name == "hist_gradient_boosting":
            cls = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
            estimator = cls(max_iter=500, learning_rate=0.05, random_state=seed)
        elif self.name == "dummy":
            estimator = (
                DummyClassifier(strategy="prior", random_state=seed)
                if classify
                else DummyRegressor(strategy="mean")
            )
        else:
            raise FoldwiseError(
                f"model.name {self.name!r} is not known; allowed: {', '.join(MODEL_NAMES)}"
            )
        settings = dict(self.settings or {})
        allowed = list(estimator.get_params(deep=False))
        for key in sorted(settings):
            if key not in allowed:
                raise _unknown_setting(self.name, key, type(estimator).__name__, allowed)
        _check_reserved(self.name, settings)
        return estimator.set_params(**settings)

    def _categorical_groups(self, table: pd.DataFrame, limit: int) -> tuple[list[str], list[str]]:
        """Categorical columns with at most ``limit`` categories, and the rest."""
        low: list[str] = []
        high: list[str] = []
        for feature in self.features:
            if feature["kind"] != "categorical":
                continue
            name = str(feature["name"])
            count = feature.get("n_categories")
            if count is None:
                count = table[name].nunique()
            (low if int(count) <= limit else high).append(name)
        return low, high

    def _preprocessor(
        self, table: pd.DataFrame, y: np.ndarray, estimator: BaseEstimator
    ) -> ColumnTransformer | None:
        if self.name == "dummy":
            return None
        numeric = [str(f["name"]) for f in self.features if f["kind"] != "categorical"]
        parts: list[tuple[str, Any, list[str]]] = []
        if self.name == "hist_gradient_boosting":
            limit = min(HGB_MAX_CATEGORIES, int(estimator.get_params()["max_bins"]))
            low, high = self._categorical_groups(table, limit)
            # Native categories first: the model's categorical mask relies on this order.
            if low:
                encoder = OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    max_categories=limit,
                )
                parts.append(("native_categories", encoder, low))
            if numeric:
                parts.append(("numeric", "passthrough", numeric))
            if high:
                parts.append(("target_encoded", _target_encoder(self.task, y, self.seed), high))
        else:
            low, high = self._categorical_groups(table, self.max_onehot_categories)
            scale = self.name == "logistic_regression"
            if numeric:
                imputer = SimpleImputer(strategy="median", add_indicator=True)
                steps = [("impute", imputer)] + ([("scale", StandardScaler())] if scale else [])
                parts.append(("numeric", Pipeline(steps), numeric))
            if low:
                onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
                parts.append(("one_hot", onehot, low))
            if high:
                encoder = _target_encoder(self.task, y, self.seed)
                steps = [("encode", encoder)] + ([("scale", StandardScaler())] if scale else [])
                parts.append(("target_encoded", Pipeline(steps), high))
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)

    def _fit_sklearn(
        self,
        table: pd.DataFrame,
        y: np.ndarray,
        table_val: pd.DataFrame | None,
        y_val: np.ndarray | None,
    ) -> None:
        estimator = self._sklearn_estimator()
        preprocessor = self._preprocessor(table, y, estimator)
        try:
            matrix = table if preprocessor is None else preprocessor.fit_transform(table, y)
            if self.name == "hist_gradient_boosting":
                estimator = self._fit_hgb(estimator, preprocessor, matrix, y, table_val, y_val)
            else:
                estimator.fit(matrix, y)
        except InvalidParameterError as exc:
            raise _invalid_parameter(self.name, exc) from None
        if self.name == "random_forest":
            # Parallel prediction sums the trees in thread order, which changes the last bits;
            # one thread keeps predictions bit-identical across runs and processes.
            estimator.set_params(n_jobs=1)
        steps = [("model", estimator)]
        if preprocessor is not None:
            steps.insert(0, ("preprocess", preprocessor))
        self.estimator_ = Pipeline(steps)

    def _fit_hgb(
        self,
        estimator: BaseEstimator,
        preprocessor: ColumnTransformer,
        matrix: np.ndarray,
        y: np.ndarray,
        table_val: pd.DataFrame | None,
        y_val: np.ndarray | None,
    ) -> BaseEstimator:
        n_native = sum(
            len(cols)
            for label, _, cols in preprocessor.transformers
            if label == "native_categories"
        )
        mask = np.zeros(matrix.shape[1], dtype=bool)
        mask[:n_native] = True
        estimator.set_params(categorical_features=mask if n_native else None, scoring="loss")
        loss_param = str(estimator.get_params()["loss"])
        metric = _HGB_LOSS_NAMES.get(loss_param, loss_param)
        if table_val is None:
            # "Early stopping" on the training rows with more patience than rounds never stops
            # but makes HGB record the training loss of every round.
            max_iter = int(estimator.get_params()["max_iter"])
            estimator.set_params(
                early_stopping=True, validation_fraction=None, n_iter_no_change=max_iter + 1
            )
            estimator.fit(matrix, y)
            self.learning_curve_ = {
                "train": [-float(s) for s in estimator.train_score_[1:]],
                "validation": None,
                "metric": metric,
            }
            self.n_iterations_ = int(estimator.n_iter_)
            return estimator
        estimator.set_params(early_stopping=True, n_iter_no_change=self.early_stopping_rounds)
        estimator.fit(matrix, y, X_val=preprocessor.transform(table_val), y_val=y_val)
        # sklearn stores scores (negative loss); index 0 is the model before any round.
        train = [-float(s) for s in estimator.train_score_[1:]]
        validation = [-float(s) for s in estimator.validation_score_[1:]]
        best = int(np.argmin(validation)) + 1
        self.best_iteration_ = best
        self.learning_curve_ = {"train": train, "validation": validation, "metric": metric}
        if best < estimator.n_iter_:
            # HGB keeps the rounds after the best one; refit so the model matches best_iteration_.
            estimator = clone(estimator).set_params(max_iter=best, early_stopping=False)
            estimator.fit(matrix, y)
        self.n_iterations_ = int(estimator.n_iter_)
        return estimator

    # ----------------------------------------------------------------- predicting

    def _model_input(self, frame: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "estimator_")
        return _model_frame(feature_frame(frame, self.features), self.features)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities of shape (n, k), one column per class code."""
        if not self.is_classifier:
            raise ValueError("predict_proba is for classification; this model is a regressor")
        proba = np.asarray(self.estimator_.predict_proba(self._model_input(X)), dtype="float64")
        known = np.asarray(self.estimator_.classes_).astype("int64")
        if proba.shape[1] == self.n_classes_ and np.array_equal(known, self.classes_):
            return proba
        full = np.zeros((proba.shape[0], self.n_classes_), dtype="float64")
        full[:, known] = proba
        return full

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class codes (argmax of the probabilities) for classification, values for regression."""
        if self.is_classifier:
            return self.predict_proba(X).argmax(axis=1).astype("int64")
        values = self.estimator_.predict(self._model_input(X))
        return np.asarray(values, dtype="float64").reshape(-1)

    # ----------------------------------------------------------------- persistence

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
            "fitted": {
                "n_classes": getattr(self, "n_classes_", None),
                "best_iteration": self.best_iteration_,
                "n_iterations": self.n_iterations_,
                "learning_curve": self.learning_curve_,
            },
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


def build_model(
    name: str,
    *,
    task: Task,
    features: list[dict],
    settings: dict | None = None,
    seed: int = 0,
    max_onehot_categories: int = 20,
    early_stopping_rounds: int = 50,
    n_classes: int | None = None,
) -> TabularModel:
    """An unfitted registry model whose name and settings were checked."""
    model = TabularModel(
        name=name,
        task=task,
        features=features,
        settings=dict(settings or {}),
        seed=seed,
        max_onehot_categories=max_onehot_categories,
        early_stopping_rounds=early_stopping_rounds,
        n_classes=n_classes,
    )
    model.check_settings()
    return model
