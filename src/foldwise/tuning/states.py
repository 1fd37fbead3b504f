"""Trial states that count against a study's budget, shared by the journal and database storages."""

from __future__ import annotations

from optuna.trial import TrialState

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
ALIVE = (*FINISHED, TrialState.RUNNING, TrialState.WAITING)


class StudyFullError(Exception):
    """A study already holds its trials: another worker started the last one first."""
