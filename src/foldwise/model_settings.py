"""Check model settings and the search space against the estimators, without fitting.

Names are checked against :mod:`foldwise.models.known_settings` (the estimators' parameter
names, generated from the installed libraries), which imports no model library; values are
checked by the libraries themselves, so only for the models a process is about to fit: a
stage that fits no model imports neither scikit-learn, CatBoost nor LightGBM to validate
params.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from foldwise.config import ChoiceSpec, Config, RangeSpec, read_config
from foldwise.errors import FoldwiseError
from foldwise.metrics import TASKS, Task
from foldwise.models.registry import MODEL_NAMES, backend_for
from foldwise.models.setting_names import allowed_settings, reserved_settings
from foldwise.models.settings import check_reserved, unknown_setting


def _catboost_value_error(settings: dict[str, Any], task: str) -> str | None:
    """CatBoost's own check of parameter values (no fit); None when it finds nothing."""
    from catboost import CatBoostError  # imported here: only value checks need CatBoost

    try:
        from catboost import _catboost as native
    except ImportError:  # a private module; without it values are checked when fitting
        return None
    check = getattr(native, "_check_train_params", None)
    if check is None:
        return None
    loss = {"binary": "Logloss", "multiclass": "MultiClass", "regression": "RMSE"}[task]
    try:
        check({"loss_function": loss, **settings})
    except CatBoostError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        # Names are checked against the signature; only value errors are CatBoost's to report.
        if "Unknown option" in text:
            return None
        return text.split(": ", 1)[-1]
    return None


def _check_values(name: str, task: str, settings: dict[str, Any], where: str) -> None:
    """Values the estimator itself refuses, checked without fitting."""
    if name == "catboost":
        problem = _catboost_value_error(settings, task)
        if problem:
            named = re.search(r'parameter "(\w+)"', problem)
            if named and named.group(1) in settings and where.startswith("model."):
                where = f"{where}.{named.group(1)}"
            raise FoldwiseError(f"{where}: CatBoost refuses the value ({problem})")
        return
    backend_for(name).check_values(task, settings)  # type: ignore[arg-type]


def _check_keys(name: str, keys: list[str], tasks: list[Task], prefix: str) -> None:
    known = [allowed_settings(name, task) for task in tasks]
    for key in sorted(keys):
        if all(key not in allowed for _, allowed in known):
            estimator, allowed = known[0]
            error = unknown_setting(name, key, estimator, allowed)
            raise FoldwiseError(str(error).replace(f"model.{name}.{key}", f"{prefix}.{key}", 1))
    check_reserved(name, keys, *reserved_settings(name))


def check_model_settings(
    config: Config, task: str | None = None, fitted: Collection[str] | None = None
) -> None:
    """Check every model's settings and ``tune.search_space`` by name, and values; fit nothing.

    Called when params.yaml is validated, in every stage, so an unknown setting stops
    ``prepare`` with the same line as ``tune``. With ``task`` unknown (``problem.task: auto``)
    a key is accepted when the classifier or the regressor takes it. Values are checked by
    the models' libraries for the models in ``fitted`` (all of them when None; their search
    space too when it is ``model.name``'s), so a stage that fits no model (``fitted=()``)
    imports no model library.
    """
    tasks: list[Task] = [task] if task in TASKS else ["binary", "regression"]
    for name in MODEL_NAMES:
        settings = config.model.settings(name)
        _check_keys(name, list(settings), tasks, f"model.{name}")
        if fitted is not None and name not in fitted:
            continue
        for each in tasks:
            allowed = allowed_settings(name, each)[1]
            mine = {k: v for k, v in settings.items() if k in allowed}
            if mine:  # an estimator's defaults are valid: no library to import for them
                _check_values(name, each, mine, f"model.{name}")
    name = config.model.name
    space = config.tune.search_space
    if name == "ensemble":
        if space:
            raise FoldwiseError(
                f"tune.search_space.{next(iter(space))}: search spaces are per model; with "
                "model.name ensemble each member is searched in its default space (set "
                "tune.search_space: {})"
            )
        return
    _check_search_space(config, name, tasks, values=fitted is None or name in fitted)


def _check_search_space(config: Config, name: str, tasks: list[Task], values: bool) -> None:
    """``tune.search_space``: known keys of model ``name``, and every bound a valid value."""
    space = config.tune.search_space
    _check_keys(name, list(space), tasks, "tune.search_space")
    if not values:
        return
    settings = config.model.settings(name)
    for key, spec in space.items():
        candidates: list[Any]
        if isinstance(spec, ChoiceSpec):
            candidates = list(spec.choices)
        elif isinstance(spec, RangeSpec):
            cast = int if spec.type == "int" else float
            candidates = [cast(spec.low), cast(spec.high)]
        else:
            candidates = [spec]
        for each in tasks:
            if key not in allowed_settings(name, each)[1]:
                continue
            allowed = allowed_settings(name, each)[1]
            base = {k: v for k, v in settings.items() if k in allowed}
            for value in candidates:
                try:
                    _check_values(name, each, {**base, key: value}, f"tune.search_space.{key}")
                except FoldwiseError as exc:
                    text = str(exc).removeprefix(f"model.{name}.{key}: ")
                    if not text.startswith("tune.search_space"):
                        text = f"tune.search_space.{key} = {value!r}: {text}"
                    raise FoldwiseError(text) from None


def load_config(path: str | Path = "params.yaml", fitted: Collection[str] | None = None) -> Config:
    """Read and validate ``params.yaml``, model settings and search space included.

    Every stage calls it first, so an unknown or refused setting stops any stage with one line.
    Setting names are checked for every model; values for the models in ``fitted`` (every
    model when None), which a stage passes as the models it fits: ``()`` when it fits none,
    ``config.model.members`` when it fits the chosen one (see :func:`check_model_settings`).
    """
    config = read_config(path)
    task = config.problem.task
    check_model_settings(config, None if task == "auto" else task, fitted)
    return config
