"""Stage ``generate``: write the built-in demo datasets into ``data/builtin``."""

from __future__ import annotations

from pathlib import Path

from foldwise.demo import write_builtin_datasets
from foldwise.model_settings import load_config


def main() -> None:
    """Write churn (sized by ``demo.rows``/``demo.seed``) and the three sklearn sets."""
    cfg = load_config("params.yaml")
    paths = write_builtin_datasets(Path("data/builtin"), cfg.demo.rows, cfg.demo.seed)
    for name, path in paths.items():
        print(f"generate: wrote {name} -> {path}")


if __name__ == "__main__":
    from foldwise.stage import run_stage

    run_stage(main)
