"""train: cross-validate the tuned model, pick the threshold out of fold, fit the final bundle.

Reads params.yaml, the prepared training table, models/best_params.json and the baselines'
per-fold scores; writes models/model (the bundle), models/folds, reports/train/ (metrics,
ensemble, out-of-fold predictions, learning curve). The work is :func:`foldwise.train_stage.train`.
"""

from __future__ import annotations

from foldwise.paths import ProjectPaths
from foldwise.stage import run_stage
from foldwise.train_stage import read_train_inputs, summary_lines, train, write_outputs


def main() -> dict[str, float]:
    paths = ProjectPaths.from_cwd()
    result = train(read_train_inputs(paths))
    write_outputs(result, paths)
    print("\n".join(summary_lines(result)))
    return result.seconds


if __name__ == "__main__":
    run_stage(main)
