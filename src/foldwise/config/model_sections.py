"""The params.yaml ``model`` section: which model, its fixed settings, and the ensemble's members.

Every section is a frozen, strict pydantic model that refuses unknown keys
(:class:`foldwise.config.base.Section`).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from foldwise.config.base import Scalar, Section

ModelName = Literal[
    "catboost",
    "logistic_regression",
    "random_forest",
    "hist_gradient_boosting",
    "dummy",
    "lightgbm",
    "extra_trees",
]

# The default members of model.name ensemble: fast, different families (docs: Ensembles).
ENSEMBLE_MEMBERS = ["catboost", "hist_gradient_boosting", "random_forest", "logistic_regression"]


def fixed_settings(**settings: Scalar) -> dict[str, Scalar]:
    """A model-settings default, typed as the field is."""
    return settings


class EnsembleConfig(Section):
    """``model.ensemble``: members (any registry name, each with its ``model.<name>`` block)."""

    members: list[str] = Field(
        default_factory=lambda: list(ENSEMBLE_MEMBERS),
        description="The models blended when model.name is ensemble; each is fitted with its own "
        "model.<name> settings, and the weights are chosen on out-of-fold predictions.",
    )
    rounds: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=25,
        description="Rounds of greedy ensemble selection with replacement (Caruana et al. "
        "2004): a member chosen k times of the rounds gets weight k / rounds.",
    )

    @model_validator(mode="after")
    def _known_members(self) -> EnsembleConfig:
        known = list(get_args(ModelName))
        if not self.members:
            raise ValueError("model.ensemble.members is empty; name at least one model")
        for name in self.members:
            if name not in known:
                raise ValueError(
                    f"model.ensemble.members: {name!r} is not a model; allowed: {', '.join(known)}"
                )
        dupes = sorted({m for m in self.members if self.members.count(m) > 1})
        if dupes:
            raise ValueError(f"model.ensemble.members lists {dupes} more than once")
        return self


class ModelConfig(Section):
    name: Literal[ModelName, "ensemble"] = Field(
        default="catboost",
        description="The model the tune and train stages fit (`logistic_regression` is ridge "
        "for regression; `ensemble`: a weighted blend of model.ensemble.members, weights "
        "chosen out of fold).",
        json_schema_extra={"comment": "{choices}"},
    )
    ensemble: EnsembleConfig = Field(
        default_factory=EnsembleConfig,
        description="The members and selection rounds of model.name ensemble.",
    )
    catboost: dict[str, Scalar] = Field(
        default_factory=lambda: fixed_settings(
            iterations=1000, learning_rate=0.05, depth=6, max_ctr_complexity=2
        ),
        description="Fixed CatBoost settings, passed to the estimator (unknown keys are refused "
        "by name). Unset keys keep CatBoost's library defaults (e.g. border_count 254), but "
        "thread_count is 2: the trees depend on it, so the same on every machine (-1: every "
        "core, faster on many cores, machine-dependent). The "
        "shipped model needs them: border_count 64 and no feature combinations cost 0.008 AUC "
        "on the demo and 1% RMSE on a house-price table; tune.trial_settings keeps those for "
        "the trial fits only.",
        json_schema_extra={
            "notes": {
                "iterations": "an upper bound: early stopping finds the rounds",
                "learning_rate": "0.1 stopped early on the demo: 0.007 CV AUC lower "
                "(docs: model families)",
                "max_ctr_complexity": "CTRs of feature pairs: on the house-price table as "
                "accurate as the library default (4), and cheaper",
            }
        },
    )
    logistic_regression: dict[str, Scalar] = Field(
        default_factory=dict,
        description="Fixed settings of the linear model, e.g. C: 1.0 (classification) or "
        "alpha: 1.0 (ridge, regression).",
    )
    random_forest: dict[str, Scalar] = Field(
        default_factory=lambda: fixed_settings(n_estimators=300, min_samples_leaf=2),
        description="Fixed random-forest settings (e.g. n_estimators, min_samples_leaf).",
    )
    hist_gradient_boosting: dict[str, Scalar] = Field(
        default_factory=lambda: fixed_settings(max_iter=500, learning_rate=0.05),
        description="Fixed settings of scikit-learn's histogram gradient boosting.",
    )
    dummy: dict[str, Scalar] = Field(
        default_factory=dict,
        description="Settings of the dummy baseline, e.g. strategy: prior (classification) or "
        "mean (regression).",
    )
    lightgbm: dict[str, Scalar] = Field(
        default_factory=lambda: fixed_settings(
            n_estimators=2000, learning_rate=0.05, cat_smooth=50, min_data_per_group=200
        ),
        description="Fixed LightGBM settings (LightGBM's own names or their scikit-learn "
        "aliases). LightGBM splits categories natively and learns where missing values go.",
        json_schema_extra={
            "comment": "LightGBM's own names or their scikit-learn aliases",
            "notes": {
                "n_estimators": "an upper bound: early stopping finds the rounds",
                "learning_rate": "AutoGluon's; num_leaves 31, min_child_samples 20: LightGBM's",
                "cat_smooth": "smoother categorical splits than LightGBM's 10 and 100: on the",
                "min_data_per_group": "demo's city column +0.007 CV AUC (no categories: no effect)",
            },
        },
    )
    extra_trees: dict[str, Scalar] = Field(
        default_factory=lambda: fixed_settings(
            n_estimators=300, max_leaf_nodes=15000, max_features=0.5
        ),
        description="Fixed extra-trees settings: AutoGluon's extra trees (its zero-shot "
        "portfolio's XT), 300 trees of at most 15,000 leaves (bounded memory on big tables), "
        "half the features tried at each split.",
        json_schema_extra={"comment": "AutoGluon's extra trees (its zero-shot portfolio's XT)"},
    )
    max_onehot_categories: Annotated[int, Field(ge=2, le=1000)] = Field(
        default=20,
        description="Categorical columns with more levels than this get target encoding "
        "instead of one-hot (models other than CatBoost).",
        json_schema_extra={"comment": "more levels than this: target encoding instead of one-hot"},
    )

    def settings(self, name: str | None = None) -> dict[str, Scalar]:
        """The fixed settings from params.yaml for model ``name`` (default: the chosen one)."""
        name = name or self.name
        if name == "ensemble":
            raise ValueError("model.ensemble has members, not estimator settings")
        return dict(getattr(self, name))

    @property
    def members(self) -> list[str]:
        """The models fitted: the ensemble's members, or the one chosen model."""
        return list(self.ensemble.members) if self.name == "ensemble" else [self.name]
