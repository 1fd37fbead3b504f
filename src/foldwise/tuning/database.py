"""Studies in a shared database (``tune.storage``): several workers, never more trials than asked.

Imported only when ``tune.storage`` names a database, so the default tune stage (an embedded
journal file) does not import SQLAlchemy and Optuna's database models.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy
import sqlalchemy.exc
from optuna.storages import RDBStorage
from optuna.storages._rdb import models as rdb_models

from foldwise.errors import FoldwiseError
from foldwise.tuning.states import ALIVE, StudyFullError


class CappedRDBStorage(RDBStorage):
    """An RDBStorage that never gives a study more than ``cap`` live or finished trials.

    Optuna inserts a trial while holding a lock on its study's row, so this count and the
    insert are one atomic step across processes: two workers can never both start the last
    trial. A trial of a dead worker, failed by the heartbeat, no longer counts.
    """

    def __init__(self, url: str, cap: int, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.cap = cap

    def _get_prepared_new_trial(
        self, study_id: int, template_trial: Any, session: Any
    ) -> rdb_models.TrialModel:
        table = rdb_models.TrialModel
        live = (
            session.query(sqlalchemy.func.count(table.trial_id))
            .filter(table.study_id == study_id, table.state.in_(ALIVE))
            .scalar()
        )
        if live >= self.cap:
            raise StudyFullError(f"study {study_id} already holds {live} trial(s)")
        return super()._get_prepared_new_trial(study_id, template_trial, session)


def open_database(url: str, cap: int) -> CappedRDBStorage:
    """The study storage in the database at ``url``, capped at ``cap`` trials per study."""
    # The driver foldwise installs; SQLAlchemy 2.1 would pick psycopg 3 for postgresql://.
    engine_url = (
        "postgresql+psycopg2://" + url.removeprefix("postgresql://")
        if url.startswith("postgresql://")
        else url
    )
    attempts = 5
    for attempt in range(1, attempts + 1):
        try:
            # A heartbeat lets other workers see that a trial's worker died and fail it.
            return CappedRDBStorage(engine_url, cap, heartbeat_interval=30, grace_period=120)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as exc:
            # Workers starting together on an empty database all create Optuna's tables;
            # the losers of that race find the tables made when they try again.
            error: Exception = exc
            if attempt < attempts:
                time.sleep(0.5 * attempt)
                continue
        except Exception as exc:  # any driver error: the user's URL or server
            error = exc
        break
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise FoldwiseError(f"tune.storage: cannot open {redact(url)}: {first}") from None


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url
