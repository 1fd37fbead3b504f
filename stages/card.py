"""card: the model card, from the bundle and the reports of every stage before it."""

from __future__ import annotations

from foldwise.bundle import Bundle
from foldwise.model_settings import load_config
from foldwise.paths import ProjectPaths
from foldwise.production.card import render_card
from foldwise.stage import run_stage, write_text_atomic


def main() -> None:
    paths = ProjectPaths.from_cwd()
    load_config(paths.params, fitted=())
    bundle = Bundle.load(paths.models_dir / "model")
    card = render_card(paths, bundle)
    write_text_atomic(paths.report_dir("validate") / "model_card.md", card)
    print(f"card: {paths.report_dir('validate') / 'model_card.md'}")


if __name__ == "__main__":
    run_stage(main)
