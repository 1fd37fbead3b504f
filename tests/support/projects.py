"""A prepared project folder whose rows carry a ``marker``, for tests that trace what each fit saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from foldwise.config import Config
from foldwise.model_settings import load_config
from foldwise.paths import ProjectPaths
from foldwise.prepare import Prepared, prepare_tables
from foldwise.stage import write_json_atomic, write_parquet_atomic
from tests.conftest import make_table


def write_marked_project(
    root: Path, params: dict, *, task: str = "binary", n: int = 240, seed: int = 0
) -> tuple[Config, Prepared]:
    """Write a ``task`` table with ``marker`` and ``params``; prepare it as the prepare stage does.

    ``marker`` is a numeric feature unique per row, so the rows any fit received can be read
    back from the frame it was given. The prepared train/test tables and schema are written
    where the later stages read them.
    """
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    table = make_table(task, n=n, seed=seed)
    table["marker"] = np.arange(n) + 0.5
    table.to_csv(root / "data" / "raw" / "table.csv", index=False)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    config = load_config(root / "params.yaml")
    prepared = prepare_tables(config, root)
    paths = ProjectPaths(root)
    write_parquet_atomic(paths.train_table, prepared.train)
    write_parquet_atomic(paths.test_table, prepared.test)
    write_json_atomic(paths.schema, prepared.schema)
    return config, prepared
