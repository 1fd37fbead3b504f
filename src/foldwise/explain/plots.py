"""PNG plots of the explanation: importance bar, beeswarm, dependence, waterfall."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.explain.attribution import Attribution

MAX_CATEGORIES_SHOWN = 12


def _safe(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", str(name)).strip("_") or "x"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: object, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")  # type: ignore[attr-defined]
    tmp.replace(path)
    _pyplot().close(fig)
    return path.name


def numeric_view(X: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Feature values as numbers for colouring: category codes by frequency, 0/1, dates as days."""
    out: dict[str, Any] = {}
    for name, kind in kinds.items():
        values = X[name]
        if kind == "categorical":
            order = {v: i for i, v in enumerate(values.value_counts().index)}
            out[name] = values.map(order).astype("float64")
        elif kind == "datetime":
            out[name] = ((values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).astype(
                "float64"
            )
        else:
            out[name] = values.astype("Float64").to_numpy("float64", na_value=np.nan)
    return pd.DataFrame(out, index=X.index)


def importance_bar(
    features: list[str], final: np.ndarray, folds: np.ndarray, units: str, path: Path, top: int
) -> str:
    """Mean |SHAP| of the final model, with the fold models' mean and min-max as whiskers."""
    plt = _pyplot()
    order = np.argsort(-final)[:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(order) + 1.5))
    y = np.arange(len(order))
    ax.barh(y, final[order], color="#1f77b4", label="final model (training rows)")
    if folds.size:
        fm = np.nanmean(folds, axis=0)[order]
        lo = fm - np.nanmin(folds, axis=0)[order]
        hi = np.nanmax(folds, axis=0)[order] - fm
        ax.errorbar(
            fm,
            y,
            xerr=[lo, hi],
            fmt="o",
            color="#333333",
            ms=4,
            capsize=3,
            label="fold models, out of fold (mean, min-max)",
        )
    ax.set_yticks(y, [features[j] for j in order])
    ax.set_xlabel(f"mean |SHAP| ({units})")
    ax.set_title("Feature importance")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def beeswarm(attr: Attribution, output: int, X_num: pd.DataFrame, path: Path, top: int) -> str:
    """shap's beeswarm of one output (class)."""
    import shap

    plt = _pyplot()
    explanation = shap.Explanation(
        values=attr.values[:, :, output],
        base_values=np.full(len(attr.values), attr.base[output]),
        data=X_num[attr.features].to_numpy(dtype="float64"),
        feature_names=attr.features,
    )
    plt.figure()
    # shap jitters the swarm with numpy's global RNG: a fixed draw (the caller's state put
    # back afterwards) makes the PNG, a DVC output, the same on every run.
    state = np.random.get_state()
    np.random.seed(0)
    try:
        shap.plots.beeswarm(explanation, max_display=top, show=False)
    finally:
        np.random.set_state(state)
    fig = plt.gcf()
    title = "SHAP values" + ("" if len(attr.outputs) == 1 else f": class {attr.outputs[output]}")
    fig.axes[0].set_title(title)
    fig.axes[0].set_xlabel(f"SHAP value ({attr.units})")
    return _save(fig, path)


def dependence(
    attr: Attribution, output: int, X: pd.DataFrame, feature: str, kind: str, path: Path
) -> str:
    """SHAP value against the feature's value (numbers: scatter; categories: one box each)."""
    plt = _pyplot()
    j = attr.features.index(feature)
    shap_values = attr.values[:, j, output]
    values = X[feature].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    if kind in ("categorical", "boolean"):
        text = values.astype(object).where(values.notna(), "(missing)").map(str)
        top = text.value_counts().index[:MAX_CATEGORIES_SHOWN]
        groups = [shap_values[(text == level).to_numpy()] for level in top]
        ax.boxplot(groups, tick_labels=list(top), showfliers=False)
        ax.tick_params(axis="x", rotation=45)
    else:
        ax.scatter(values, shap_values, s=6, alpha=0.4, color="#1f77b4")
    ax.axhline(0, color="#999999", linewidth=1, linestyle="--")
    ax.set_xlabel(feature)
    ax.set_ylabel(f"SHAP value ({attr.units})")
    title = f"Dependence on {feature}"
    if len(attr.outputs) > 1:
        title += f": class {attr.outputs[output]}"
    ax.set_title(title)
    return _save(fig, path)


def waterfall(
    values: np.ndarray, base: float, features: list[str], shown: list[str], title: str, path: Path
) -> str:
    """shap's waterfall plot of one row's contributions."""
    import shap

    plt = _pyplot()
    explanation = shap.Explanation(
        values=values,
        base_values=base,
        data=np.asarray(shown, dtype=object),
        feature_names=features,
    )
    plt.figure()
    shap.plots.waterfall(explanation, max_display=12, show=False)
    fig = plt.gcf()
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def all_plots(
    attr: Attribution,
    X: pd.DataFrame,
    kinds: dict[str, str],
    fold_importance: np.ndarray,
    out: Path,
    top: int,
    dependence_top: int = 3,
) -> list[str]:
    """Bar, beeswarm and dependence plots (per class for multiclass) into ``out``."""
    for old in out.glob("*.png"):
        old.unlink()
    files = [
        importance_bar(
            attr.features,
            attr.mean_abs(),
            fold_importance,
            attr.units,
            out / "importance_bar.png",
            top,
        )
    ]
    if attr.rows is not None:  # a capped explainer (fallback, forest) explained a sample
        X = X.iloc[attr.rows]
    X_num = numeric_view(X, kinds)
    per_output = attr.mean_abs_per_output()
    for k, name in enumerate(attr.outputs):
        suffix = "" if len(attr.outputs) == 1 else f"_{_safe(name)}"
        files.append(beeswarm(attr, k, X_num, out / f"beeswarm{suffix}.png", top))
        for j in np.argsort(-per_output[:, k])[:dependence_top]:
            feature = attr.features[j]
            path = out / f"dependence{suffix}_{_safe(feature)}.png"
            files.append(dependence(attr, k, X, feature, kinds[feature], path))
    return files
