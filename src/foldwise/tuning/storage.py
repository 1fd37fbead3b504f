"""Where studies live: an embedded journal file by default, or a shared database.

A killed run resumes from the journal without losing finished trials; with a database
(``tune.storage``) several workers share one study, never starting more than
``tune.n_trials`` trials between them. Every study is named by :func:`study_key`, a hash of
its setup, so a changed setup never resumes an old study.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from optuna.storages import BaseStorage, JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from foldwise.config import Config
from foldwise.errors import FoldwiseError
from foldwise.training.data import TrainingData
from foldwise.tuning.space import trial_settings
from foldwise.tuning.states import ALIVE, FINISHED, StudyFullError

__all__ = ["ALIVE", "FINISHED", "StudyFullError", "check_journal", "open_storage", "study_key"]


def check_journal(journal: Path) -> None:
    """Drop a record cut off by a kill mid-write; refuse a journal damaged elsewhere.

    Optuna appends one JSON record per line. A run killed while writing leaves a last line
    without its newline: that record never completed, so it is removed (Optuna would append
    the next record to it and then fail on every read). Any other unreadable line is an error.
    """
    if not journal.is_file():
        return
    data = journal.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        with journal.open("r+b") as fh:
            fh.truncate(len(data))
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            json.loads(line)
        except ValueError:
            raise FoldwiseError(
                f"{journal}: line {number} is damaged, so the tuning studies cannot be resumed; "
                "delete the file to start them afresh (or `dvc checkout` to restore it)"
            ) from None


def open_storage(config: Config, journal: Path) -> BaseStorage:
    """The study storage: a journal file by default, or the database in ``tune.storage``."""
    url = config.tune.storage
    if url is None:
        journal.parent.mkdir(parents=True, exist_ok=True)
        # The embedded journal has one writer, the stage (see fail_orphans): a lock file
        # found now was left by a run killed mid-write, and Optuna would stall 30 s on it.
        Path(f"{journal}.lock").unlink(missing_ok=True)
        check_journal(journal)
        return JournalStorage(JournalFileBackend(str(journal)))
    # SQLAlchemy and Optuna's database models cost a tune stage about 0.4 s of imports;
    # only a database storage needs them.
    from foldwise.tuning.database import open_database

    return open_database(url, config.tune.n_trials)


def data_fingerprint(data: TrainingData) -> str:
    """A hash of the features (names and kinds), every feature value and the target."""
    digest = hashlib.sha256(json.dumps(data.features, sort_keys=True, default=str).encode())
    digest.update(pd.util.hash_pandas_object(data.X, index=False).to_numpy().tobytes())
    digest.update(np.ascontiguousarray(data.y).tobytes())
    return digest.hexdigest()


def study_key(
    config: Config,
    data: TrainingData,
    fingerprint: str,
    space: dict,
    name: str | None = None,
    threads: int | None = None,
) -> str:
    """A hash of everything that defines a study, so a changed setup never resumes an old one.

    ``name``: the model searched (an ensemble member); default ``model.name``. ``threads``:
    the threads of every fit, when the stage fixes them (CatBoost's trees depend on its
    thread count on tables of about 10,000 rows or more).
    """
    name = name or config.model.name
    payload = {
        "seed": config.seed,
        "model": name,
        "settings": config.model.settings(name),
        "trial_settings": trial_settings(config, name),
        # Trial 0 is the configured keys only (no longer clipped estimator defaults).
        "trial0": "configured",
        "space": {k: v.model_dump() if hasattr(v, "model_dump") else v for k, v in space.items()},
        "fixed": {k: v for k, v in config.tune.search_space.items() if not hasattr(v, "low")},
        "metric": data.problem.metric,
        "folds": fingerprint,
        "train": config.train.model_dump(),
        "pruning": config.tune.pruning,
        # The budget shapes the search (TPE starts after half of it) and the best of a study
        # with more trials is not the best of fewer: a run's result depends on its own params
        # only, so another budget is another study.
        "n_trials": config.tune.n_trials,
        "time_budget_s": config.time_budget_s,
        "rows": len(data.y),
        # The rows themselves: another table, a dropped column or a corrected value is
        # another study (the row count and folds alone let a changed table resume old trials).
        "data": data_fingerprint(data),
    }
    if threads is not None:
        payload["fit_threads"] = threads
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fail_orphans(storage: BaseStorage, study_name: str) -> None:
    """With one embedded worker, a trial still RUNNING at start was cut off by a kill."""
    study_id = storage.get_study_id_from_name(study_name)
    for t in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        storage.set_trial_state_values(trial_id, TrialState.FAIL)
