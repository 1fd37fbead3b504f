"""``foldwise simulate``: production batches with planted changes (and a prediction log)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """The ``simulate`` subcommand."""
    sim = subparsers.add_parser(
        "simulate", help="months of production batches with a planted covariate and concept change"
    )
    sim.add_argument("--out", type=Path, default=Path("data/simulated"))
    sim.add_argument("--months", type=int, default=12)
    sim.add_argument("--rows", type=int, default=2000, help="rows per month")
    sim.add_argument("--train-rows", type=int, default=20000, help="rows of train.csv")
    sim.add_argument("--shift-month", type=int, default=5, help="0: no covariate shift")
    sim.add_argument("--concept-month", type=int, default=9, help="0: no concept change")
    sim.add_argument("--label-delay", type=int, default=1, help="months until labels arrive")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--log", type=Path, help="also score the batches into a prediction log here")
    sim.add_argument("--model", type=Path, default=Path("models/model"), help="bundle for --log")
    sim.add_argument(
        "--params", type=Path, default=Path("params.yaml"), help="demo: the population drawn"
    )
    sim.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Write the monthly batches and labels (and, with --log, a scored prediction log)."""
    from foldwise.config import Config
    from foldwise.model_settings import load_config
    from foldwise.monitor.simulate import Scenario, write_simulation

    params = args.params
    config = Config()
    if params.is_file() or params != Path("params.yaml"):
        config = load_config(params, fitted=())  # fits no model: its settings' names checked
    scenario = Scenario(
        months=args.months,
        rows_per_month=args.rows,
        train_rows=args.train_rows,
        shift_month=args.shift_month or None,
        concept_month=args.concept_month or None,
        label_delay=args.label_delay,
        seed=args.seed,
        demo_rows=config.demo.rows,
        demo_seed=config.demo.seed,
    )
    manifest = write_simulation(scenario, args.out)
    if args.log is not None:
        from foldwise.monitor.simulate import write_log

        write_log(manifest, args.model, args.log)
    print(
        f"simulate: {len(manifest['batches'])} monthly batches in {args.out}/batches, "
        f"labels in {args.out}/labels (delay {args.label_delay} month(s))"
        + (f", prediction log in {args.log}" if args.log is not None else "")
    )
    return 0
