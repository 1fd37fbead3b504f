"""Rollback walks backwards through the stage's assignments, never forwards (pure logic)."""

from __future__ import annotations

from foldwise.production.assignments import (
    ROLLBACK_MESSAGE,
    assignment_chain,
    rollback_target,
    stage_events,
    stage_holders,
)


def history(*tags: tuple[str, str, str]) -> list[dict[str, str]]:
    """GTO history() entries from (ref, version, message) triples, in a shuffled order."""
    events = [
        {
            "event": "unassignment" if "!" in ref else "assignment",
            "ref": ref,
            "version": version,
            "message": message,
        }
        for ref, version, message in tags
    ]
    events.append({"event": "registration", "ref": "model@v1", "version": "v1", "message": ""})
    return events[::-1]  # GTO lists newest first; the numbers give the order


def walk(tags, registered=("v1", "v2", "v3")):
    events = stage_events(history(*tags))
    holder = stage_holders(events, registered).get("prod")
    chain = assignment_chain(events, "prod")
    return holder, chain, rollback_target(chain, holder, registered) if holder else None


RB = ROLLBACK_MESSAGE + " of prod"


def test_three_versions_roll_back_v3_v2_v1_then_refuse():
    tags = [("model#prod#1", "v1", ""), ("model#prod#2", "v2", ""), ("model#prod#3", "v3", "")]
    assert walk(tags) == ("v3", ["v1", "v2", "v3"], "v2")
    tags.append(("model#prod#4", "v2", RB))
    assert walk(tags) == ("v2", ["v1", "v2"], "v1")
    tags.append(("model#prod#5", "v1", RB))
    assert walk(tags) == ("v1", ["v1"], None)


def test_a_version_rolled_back_from_is_never_returned_to():
    tags = [("model#prod#1", "v1", ""), ("model#prod#2", "v2", ""), ("model#prod#3", "v1", RB)]
    tags.append(("model#prod#4", "v3", ""))
    assert walk(tags) == ("v3", ["v1", "v3"], "v1")


def test_order_comes_from_the_tag_numbers_not_the_listing():
    # #10 sorts before #9 as text; the numbers decide.
    tags = [(f"model#prod#{n}", v, "") for n, v in ((9, "v1"), (10, "v2"))]
    assert walk(tags) == ("v2", ["v1", "v2"], "v1")


def test_deregistered_versions_are_skipped():
    tags = [("model#prod#1", "v1", ""), ("model#prod#2", "v2", ""), ("model#prod#3", "v3", "")]
    assert walk(tags, registered=("v1", "v3"))[2] == "v1"
    # A rollback that skipped v2 takes v2 out of the chain too.
    tags.append(("model#prod#4", "v1", RB))
    assert walk(tags)[1] == ["v1"]


def test_an_unassignment_hands_the_stage_back_and_leaves_the_chain():
    tags = [("model#prod#1", "v1", ""), ("model#prod#2", "v2", ""), ("model#prod!#3", "v2", "")]
    assert walk(tags) == ("v1", ["v1"], None)


def test_reassigning_the_current_version_is_not_a_new_step():
    tags = [("model#prod#1", "v1", ""), ("model#prod#2", "v2", ""), ("model#prod#3", "v2", "")]
    assert walk(tags) == ("v2", ["v1", "v2"], "v1")


def test_a_manual_reassignment_of_an_older_version_is_an_ordinary_step():
    tags = [("model#prod#1", "v1", ""), ("model#prod#2", "v2", ""), ("model#prod#3", "v1", "")]
    assert walk(tags) == ("v1", ["v1", "v2", "v1"], "v2")


def test_stages_are_independent():
    tags = [("model#prod#1", "v1", ""), ("model#staging#1", "v3", ""), ("model#prod#2", "v2", "")]
    events = stage_events(history(*tags))
    assert stage_holders(events, ["v1", "v2", "v3"]) == {"prod": "v2", "staging": "v3"}
    assert assignment_chain(events, "staging") == ["v3"]
