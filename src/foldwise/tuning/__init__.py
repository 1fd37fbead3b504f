"""Honest tuning: Optuna searches on inner folds only; an outer loop estimates the procedure.

Every trial is scored by the mean of its inner folds; the outer fold it will be judged on,
and the test table, are never passed in. Each study lives in storage (an embedded journal
file by default, or a shared database), so a killed run resumes without losing finished
trials and several workers can share one study.

The code lives in the submodules: ``space`` (search spaces, trial 0, trial settings),
``storage`` (journal or database, study keys), ``tuner`` (the inner-fold objective and the
study loop), ``nested`` (the run's studies, the outer folds), ``run`` (the tune stage's work:
:func:`~foldwise.tuning.run.tune` returns a frozen ``TuneResult``), ``report`` (the nested
summary, parameter stability, trials, importances; the reports rendered from a
``TuneResult``) and ``outputs`` (the tune stage's files and console summary).
"""

from foldwise.tuning.nested import (
    OuterFold,
    PlannedStudy,
    inner_folds,
    make_tuner,
    plan_studies,
    score_outer,
    study_exists,
)
from foldwise.tuning.report import importances, nested_summary, param_stability, trials_table
from foldwise.tuning.space import (
    RIDGE_SPACE,
    SEARCH_SPACES,
    check_trial_settings,
    default_trial,
    is_default_trial,
    search_space,
    suggest,
    trial_settings,
)
from foldwise.tuning.storage import (
    ALIVE,
    FINISHED,
    StudyFullError,
    check_journal,
    open_storage,
    study_key,
)
from foldwise.tuning.tuner import StudyResult, Tuner, startup_trials

__all__ = [
    "ALIVE",
    "FINISHED",
    "RIDGE_SPACE",
    "SEARCH_SPACES",
    "OuterFold",
    "PlannedStudy",
    "StudyFullError",
    "StudyResult",
    "Tuner",
    "check_journal",
    "check_trial_settings",
    "default_trial",
    "importances",
    "inner_folds",
    "is_default_trial",
    "make_tuner",
    "nested_summary",
    "open_storage",
    "param_stability",
    "plan_studies",
    "score_outer",
    "search_space",
    "startup_trials",
    "study_exists",
    "study_key",
    "suggest",
    "trial_settings",
    "trials_table",
]
