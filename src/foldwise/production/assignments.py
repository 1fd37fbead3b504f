"""Who holds a stage, and where a rollback goes, from GTO's assignment tags.

GTO records every assignment as a numbered git tag, ``model#prod#N`` (an unassignment, e.g.
``gto deprecate model v1.2.0 prod``, as ``model#prod!#N``); ``N`` grows with every tag, so it
orders the events exactly, where the tags' timestamps (seconds) can tie.

A rollback must walk backwards through the versions that were deployed, never forwards. So
``foldwise model rollback`` writes its assignment with a message starting with
:data:`ROLLBACK_MESSAGE`, and the history is read as a stack (the *chain*):

- an ordinary assignment of a version pushes it (unless it is already on top);
- an assignment made by a rollback pops back down to the version it assigns (the versions
  rolled back from leave the chain for good);
- an unassignment removes the version's latest place in the chain.

The version to roll back to is the one below the current holder in the chain, skipping versions
that are no longer registered. So after v1, v2, v3 were assigned in turn, rollbacks go
v3 → v2 → v1 and then refuse; and after v1, v2, rollback (→ v1), v3, a rollback returns to v1,
not to v2, which was rolled back from. An assignment made by hand (``gto assign``) is an
ordinary assignment, even of an older version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ROLLBACK_MESSAGE = "foldwise rollback"
_STAGE_TAG = re.compile(r"#(?P<stage>[^#!]+)(?P<unassign>!)?#(?P<number>\d+)$")


@dataclass(frozen=True)
class StageEvent:
    """One numbered stage tag of an artifact: an assignment or an unassignment."""

    number: int
    version: str
    stage: str
    assigned: bool
    by_rollback: bool = False


def stage_events(history: Iterable[Mapping[str, Any]]) -> list[StageEvent]:
    """The numbered (un)assignment events of GTO's ``history()``, oldest first."""
    events = []
    for event in history:
        kind = event.get("event")
        if kind not in ("assignment", "unassignment"):
            continue
        match = _STAGE_TAG.search(str(event.get("ref", "")))
        if match is None:  # GTO's "simple" tags (model#prod) carry no order; not written here
            continue
        events.append(
            StageEvent(
                number=int(match["number"]),
                version=str(event["version"]),
                stage=match["stage"],
                assigned=kind == "assignment",
                by_rollback=str(event.get("message") or "").startswith(ROLLBACK_MESSAGE),
            )
        )
    return sorted(events, key=lambda e: e.number)


def stage_holders(events: Iterable[StageEvent], registered: Iterable[str]) -> dict[str, str]:
    """Stage -> the registered version assigned to it most recently and not unassigned since."""
    known = set(registered)
    latest: dict[tuple[str, str], StageEvent] = {}
    for event in events:
        latest[(event.stage, event.version)] = event
    holders: dict[str, StageEvent] = {}
    for (stage, version), event in latest.items():
        if not event.assigned or version not in known:
            continue
        if stage not in holders or event.number > holders[stage].number:
            holders[stage] = event
    return {stage: event.version for stage, event in holders.items()}


def assignment_chain(events: Iterable[StageEvent], stage: str) -> list[str]:
    """The versions deployed to ``stage`` and not rolled back from, oldest first."""
    chain: list[str] = []
    for event in events:
        if event.stage != stage:
            continue
        if not event.assigned:
            if event.version in chain:
                del chain[_last_index(chain, event.version)]
        elif event.by_rollback:
            if event.version in chain:
                del chain[_last_index(chain, event.version) + 1 :]
            else:
                chain[-1:] = [event.version]
        elif not chain or chain[-1] != event.version:
            chain.append(event.version)
    return chain


def rollback_target(chain: list[str], current: str, registered: Iterable[str]) -> str | None:
    """The registered version below ``current`` in the chain, or None if there is none."""
    known = set(registered)
    below = chain[: _last_index(chain, current)] if current in chain else chain
    for version in reversed(below):
        if version != current and version in known:
            return version
    return None


def _last_index(items: list[str], value: str) -> int:
    return len(items) - 1 - items[::-1].index(value)
