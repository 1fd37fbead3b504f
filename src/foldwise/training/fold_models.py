"""Each fold's fitted model on disk: the train stage writes them, the explain stage reads them.

:func:`save_fold_models` replaces ``directory`` as a whole (no half-written folder is left);
:func:`load_fold_models` reads them back in fold order, single models and ensembles alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from foldwise.errors import FoldwiseError
from foldwise.models import TabularModel
from foldwise.models.ensemble import EnsembleModel, load_model
from foldwise.stage import staged_folder


def save_fold_models(models: Sequence[TabularModel | EnsembleModel], directory: Path) -> None:
    """Write each fold's model to ``directory/fold_<i>`` (the folder is replaced as a whole)."""
    with staged_folder(directory) as staging:
        for i, model in enumerate(models):
            model.save(staging / f"fold_{i}")


def load_fold_models(directory: Path) -> list[TabularModel | EnsembleModel]:
    """The fold models written by :func:`save_fold_models`, in fold order (ensembles too)."""
    folders = sorted(directory.glob("fold_*"), key=lambda p: int(p.name.removeprefix("fold_")))
    if not folders:
        raise FoldwiseError(f"{directory}: no fold models; run dvc repro so train writes them")
    return [load_model(folder) for folder in folders]
