"""What a study searches: the search spaces, trial 0 (the defaults) and trial-only settings.

Boosting rounds are never searched: early stopping learns them. ``tune.search_space`` widens,
narrows or fixes dimensions; ``tune.trial_settings`` are added to the inner-fold trial fits
only, never to the refits that are scored or shipped.
"""

from __future__ import annotations

from typing import Any

import optuna

from foldwise.config import ChoiceSpec, Config, RangeSpec
from foldwise.errors import FoldwiseError
from foldwise.training.data import TrainingData
from foldwise.training.fitting import model_for

# Default search spaces. Boosting rounds are not searched: early stopping learns them.
SEARCH_SPACES: dict[str, dict[str, RangeSpec | ChoiceSpec]] = {
    "catboost": {
        # Below ~0.05 fits need many more rounds (time grows as 1/lr) for little gain with
        # early stopping; each extra level of depth doubles a round's cost, and 5k-30k-row
        # tables rarely want 256 leaves. Wider ranges: tune.search_space.
        "learning_rate": RangeSpec(low=0.05, high=0.3, log=True),
        "depth": RangeSpec(low=4, high=7, type="int"),
        "l2_leaf_reg": RangeSpec(low=1.0, high=30.0, log=True),
        "random_strength": RangeSpec(low=0.1, high=10.0, log=True),
        "bagging_temperature": RangeSpec(low=0.0, high=1.0),
    },
    "hist_gradient_boosting": {
        "learning_rate": RangeSpec(low=0.02, high=0.3, log=True),
        "max_leaf_nodes": RangeSpec(low=8, high=64, log=True, type="int"),
        "min_samples_leaf": RangeSpec(low=5, high=100, log=True, type="int"),
        "l2_regularization": RangeSpec(low=1e-4, high=10.0, log=True),
    },
    "random_forest": {
        "min_samples_leaf": RangeSpec(low=1, high=20, log=True, type="int"),
        "max_features": RangeSpec(low=0.2, high=1.0),
        "max_depth": RangeSpec(low=4, high=24, type="int"),
    },
    "logistic_regression": {"C": RangeSpec(low=1e-3, high=100.0, log=True)},
    "dummy": {},
    # FLAML's LightGBM dimensions, narrowed to where early-stopped fits of 1k-100k rows land
    # (FLAML also searches the rounds, which early stopping learns here).
    "lightgbm": {
        "learning_rate": RangeSpec(low=0.02, high=0.3, log=True),
        "num_leaves": RangeSpec(low=8, high=256, log=True, type="int"),
        "min_child_samples": RangeSpec(low=2, high=100, log=True, type="int"),
        "colsample_bytree": RangeSpec(low=0.4, high=1.0),
        "reg_lambda": RangeSpec(low=1e-3, high=10.0, log=True),
    },
    # FLAML's extra-trees dimensions (features per split, leaf size); trees stay at 300.
    "extra_trees": {
        "max_features": RangeSpec(low=0.1, high=1.0),
        "min_samples_leaf": RangeSpec(low=1, high=20, log=True, type="int"),
    },
}
# The linear model's regression twin (ridge) is tuned on alpha instead of C.
RIDGE_SPACE: dict[str, RangeSpec | ChoiceSpec] = {
    "alpha": RangeSpec(low=1e-3, high=100.0, log=True)
}


def search_space(
    config: Config, task: str, name: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The searched dimensions and the fixed values of model ``name`` (default: the chosen one).

    ``tune.search_space`` overrides apply to a single chosen model (an ensemble's members are
    searched in their default spaces; params.yaml validation refuses overrides there).
    """
    name = name or config.model.name
    base = RIDGE_SPACE if name == "logistic_regression" and task == "regression" else None
    space: dict[str, Any] = dict(base if base is not None else SEARCH_SPACES.get(name, {}))
    fixed: dict[str, Any] = {}
    if name != config.model.name:
        return space, fixed
    for key, spec in config.tune.search_space.items():
        if isinstance(spec, RangeSpec | ChoiceSpec):
            space[key] = spec
        else:
            space.pop(key, None)
            fixed[key] = spec
    return space, fixed


def trial_settings(config: Config, name: str | None = None) -> dict[str, Any]:
    """``tune.trial_settings`` of model ``name``: added for the inner-fold trial fits only."""
    return dict(config.tune.trial_settings.get(name or config.model.name, {}))  # type: ignore[call-overload]


def check_trial_settings(config: Config, data: TrainingData) -> None:
    """Refuse ``tune.trial_settings`` a fitted model does not know, naming the key."""
    for name in config.model.members:
        extra = trial_settings(config, name)
        if not extra:
            continue
        try:
            model_for(name, data, config, extra)
        except FoldwiseError as exc:
            text = str(exc).replace(f"model.{name}.", f"tune.trial_settings.{name}.", 1)
            raise FoldwiseError(text) from None


def default_trial(config: Config, space: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """Trial 0: exactly the configured settings of model ``name`` for the searched keys.

    Only the keys params.yaml sets (``model.<name>``) are given, unclipped even when outside
    the search range; trial 0 suggests nothing else, so every other key keeps the
    estimator's own default and one trial is exactly the configured model
    (:func:`is_default_trial`).
    """
    settings = config.model.settings(name or config.model.name)
    return {key: settings[key] for key in space if settings.get(key) is not None}


DEFAULTS_ATTR = "defaults"


def is_default_trial(trial: optuna.Trial) -> bool:
    """Whether ``trial`` is trial 0, the configured settings (see :func:`default_trial`)."""
    return bool(trial.user_attrs.get(DEFAULTS_ATTR))


def suggest(trial: optuna.Trial, space: dict[str, Any]) -> dict[str, Any]:
    """Ask the trial for one value per dimension of the space."""
    params: dict[str, Any] = {}
    for key, spec in space.items():
        if isinstance(spec, ChoiceSpec):
            params[key] = trial.suggest_categorical(key, spec.choices)
        elif spec.type == "int":
            params[key] = trial.suggest_int(key, int(spec.low), int(spec.high), log=spec.log)
        else:
            params[key] = trial.suggest_float(key, spec.low, spec.high, log=spec.log)
    return params
