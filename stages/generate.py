"""Stage ``generate``: write the built-in demo datasets into ``data/builtin``."""

from __future__ import annotations

from foldwise.demo import write_builtin_datasets
from foldwise.model_settings import load_config
from foldwise.paths import ProjectPaths


def main() -> None:
    """Write churn (sized by ``demo.rows``/``demo.seed``) and the three sklearn sets."""
    project = ProjectPaths.from_cwd()
    cfg = load_config(project.params, fitted=())
    paths = write_builtin_datasets(project.builtin_dir, cfg.demo.rows, cfg.demo.seed)
    for name, path in paths.items():
        print(f"generate: wrote {name} -> {path.relative_to(project.root)}")


if __name__ == "__main__":
    from foldwise.stage import run_stage

    run_stage(main)
