"""The built-in datasets ``data/builtin/*.csv``: the churn table and three scikit-learn sets.

``write_builtin_datasets`` is what the ``generate`` stage runs; each file is written
atomically, so an interrupted run leaves the previous file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from foldwise.demo.churn import CHURN_TARGET, as_written, generate_churn

BUILTIN_DATASETS: dict[str, str] = {
    "churn": CHURN_TARGET,
    "breast_cancer": "diagnosis",
    "wine": "cultivar",
    "diabetes": "progression",
}


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def load_sklearn_dataset(name: str) -> pd.DataFrame:
    """Load one of scikit-learn's bundled datasets (no network) with a named target column.

    breast_cancer -> ``diagnosis`` ("malignant"/"benign"), wine -> ``cultivar``
    ("class_0".."class_2"), diabetes -> ``progression`` (float, unscaled features).
    """
    from sklearn import datasets as skd  # imported here: scikit-learn is slow to import

    if name == "breast_cancer":
        bunch = skd.load_breast_cancer(as_frame=True)
    elif name == "wine":
        bunch = skd.load_wine(as_frame=True)
    elif name == "diabetes":
        bunch = skd.load_diabetes(scaled=False, as_frame=True)
    else:
        allowed = ", ".join(k for k in BUILTIN_DATASETS if k != "churn")
        raise ValueError(f"unknown sklearn dataset {name!r}; allowed: {allowed}")
    frame = bunch.data.rename(columns=_snake)
    target = BUILTIN_DATASETS[name]
    if name == "diabetes":
        frame[target] = bunch.target.astype(np.float64).to_numpy()
    else:
        labels = np.asarray(bunch.target_names, dtype=object)
        frame[target] = pd.Series(labels[bunch.target.to_numpy()], index=frame.index).astype("str")
    return frame


def _write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV via a temp file in the same directory and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            frame.to_csv(fh, index=False, na_rep="")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_builtin_datasets(out_dir: Path, rows: int, seed: int) -> dict[str, Path]:
    """Write ``churn.csv`` and the three sklearn sets into ``out_dir``; return name -> path.

    Whole-number float columns of the churn table are written as integers ("34", not "34.0").
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    churn = as_written(generate_churn(rows, seed))
    frames = {"churn": churn} | {
        name: load_sklearn_dataset(name) for name in BUILTIN_DATASETS if name != "churn"
    }
    paths: dict[str, Path] = {}
    for name, frame in frames.items():
        path = out_dir / f"{name}.csv"
        _write_csv_atomic(frame, path)
        paths[name] = path
    return paths
