"""ONNX export where the model type allows it, kept only when it matches the bundle on raw rows.

CatBoost exports itself (``save_model(format="onnx")``) when it has no categorical features:
its ONNX export has no way to carry the hashed categories and their statistics (CTRs), so a
model with categorical features stays in the native ``model.cbm``. scikit-learn pipelines go
through skl2onnx, which covers imputers, scalers, one-hot encoding, linear models and forests
but not ``TargetEncoder`` (high-cardinality columns) nor every estimator. LightGBM models are
not exported (see :data:`LIGHTGBM_REASON`). The parity check
scores thousands of raw rows both ways; the file is kept only when the largest absolute
difference of probabilities (or values) is at most ``PARITY_TOLERANCE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from foldwise.bundle import Bundle
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel

PARITY_TOLERANCE = 1e-5
LIGHTGBM_REASON = (
    "LightGBM models are not exported to ONNX: skl2onnx has no converter for a LightGBM "
    "booster (onnxmltools has one, but it is not a foldwise dependency and does not carry the "
    "bundle's category codes); the native lightgbm_model.txt with lightgbm_categories.json "
    "stays the deployable artifact"
)


def ensemble_reason(model: EnsembleModel) -> str:
    """Why an ensemble bundle has no ONNX file (one line, naming its members)."""
    members = ", ".join(f"{m.name} {m.weight:.3g}" for m in model.members)
    return (
        f"an ensemble ({members}) is not exported to ONNX: foldwise exports one model per "
        "file and builds no ONNX graph that weights its members' outputs; the bundle's "
        "model/ folder (ensemble.json and each member's model.cbm or skops file) stays the "
        "deployable artifact"
    )


def _catboost_onnx(bundle: Bundle, model: TabularModel, path: Path) -> str | None:
    categorical = [f["name"] for f in bundle.features if f["kind"] == "categorical"]
    if categorical:
        return (
            f"CatBoost with categorical features ({', '.join(map(str, categorical[:5]))}) "
            "cannot be exported to ONNX: the export does not support categorical features "
            "(their hashes and target statistics have no ONNX operator); model.cbm stays "
            "the deployable artifact"
        )
    model.estimator_.save_model(str(path), format="onnx")
    return None


def _catboost_scores(bundle: Bundle, session: Any, rows: pd.DataFrame) -> np.ndarray:
    matrix = bundle.scorer.model_frame(rows).to_numpy(dtype="float32")
    outputs = session.run(None, {session.get_inputs()[0].name: matrix})
    if bundle.problem.task == "regression":
        return np.asarray(outputs[0], dtype="float64").reshape(-1)
    proba = outputs[1]
    if isinstance(proba, list):  # a sequence of {class: probability} maps
        k = int(bundle.model.n_classes_)
        return np.array([[row[c] for c in range(k)] for row in proba], dtype="float64")
    return np.asarray(proba, dtype="float64")


def _sklearn_onnx(bundle: Bundle, model: TabularModel, path: Path) -> str | None:
    try:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    except ImportError:
        return "skl2onnx is not installed (pip install 'foldwise[onnx]')"
    inputs = [
        (
            str(f["name"]),
            StringTensorType([None, 1])
            if f["kind"] == "categorical"
            else FloatTensorType([None, 1]),
        )
        for f in bundle.features
    ]
    options = None
    if bundle.problem.task != "regression":
        options = {id(model.estimator_.steps[-1][1]): {"zipmap": False}}
    try:
        onx = to_onnx(model.estimator_, initial_types=inputs, options=options)
    except Exception as exc:  # skl2onnx raises many kinds for unsupported parts
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"{model.name} cannot be converted by skl2onnx: {first[:300]}"
    path.write_bytes(onx.SerializeToString())
    return None


def _sklearn_scores(bundle: Bundle, session: Any, rows: pd.DataFrame) -> np.ndarray:
    matrix = bundle.scorer.model_frame(rows)
    feed = {}
    for f in bundle.features:
        name = str(f["name"])
        values = matrix[name].to_numpy()
        dtype = object if f["kind"] == "categorical" else "float32"
        feed[name] = values.astype(dtype).reshape(-1, 1)
    outputs = session.run(None, feed)
    if bundle.problem.task == "regression":
        return np.asarray(outputs[0], dtype="float64").reshape(-1)
    return np.asarray(outputs[1], dtype="float64")


def export_onnx(bundle: Bundle, rows: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Export to ``path`` if possible and check parity on ``rows``; say what happened."""
    path.unlink(missing_ok=True)
    model = bundle.model
    if isinstance(model, EnsembleModel):
        return {"exported": False, "reason": ensemble_reason(model)}
    catboost = model.name == "catboost"
    try:
        import onnxruntime as ort
    except ImportError:
        return {"exported": False, "reason": "onnxruntime is not installed"}
    if model.name == "lightgbm":
        return {"exported": False, "reason": LIGHTGBM_REASON}
    export = _catboost_onnx if catboost else _sklearn_onnx
    reason = export(bundle, model, path)
    if reason is not None:
        return {"exported": False, "reason": reason}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    try:
        scores = (_catboost_scores if catboost else _sklearn_scores)(bundle, session, rows)
    except Exception as exc:  # an export onnxruntime cannot run is no export
        path.unlink(missing_ok=True)
        return {"exported": False, "reason": f"the exported model does not run: {exc}"}
    expected = bundle.predict_scores(rows)
    diff = float(np.max(np.abs(scores - expected))) if len(rows) else 0.0
    ok = scores.shape == expected.shape and diff <= PARITY_TOLERANCE
    result = {
        "exported": ok,
        "path": str(path) if ok else None,
        "parity_rows": len(rows),
        "max_abs_diff": diff,
        "tolerance": PARITY_TOLERANCE,
    }
    if not ok:
        path.unlink(missing_ok=True)
        result["reason"] = (
            f"exported, but the largest difference on {len(rows):,} raw rows is {diff:.2e} "
            f"(> {PARITY_TOLERANCE:g}); the file was removed"
        )
    return result
