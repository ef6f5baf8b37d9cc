"""Condition updates keep transition times stable and never drop other writers' conditions."""

from __future__ import annotations

from controllers.conditions import changed, is_true, set_condition


def test_transition_time_moves_only_when_status_changes() -> None:
    conds = set_condition([], "Ready", False, "Pending", at="t1")
    same = set_condition(conds, "Ready", False, "StillPending", "waiting", at="t2")
    assert same[0]["lastTransitionTime"] == "t1" and same[0]["reason"] == "StillPending"
    flipped = set_condition(same, "Ready", True, "Running", at="t3")
    assert flipped[0]["lastTransitionTime"] == "t3" and is_true(flipped, "Ready")


def test_other_conditions_are_kept_and_rewrite_is_a_noop() -> None:
    conds = set_condition([], "Running", True, "Booted", at="t1")
    conds = set_condition(conds, "Scheduled", True, "Placed", observed_generation=2, at="t1")
    assert {c["type"] for c in conds} == {"Running", "Scheduled"}
    again = set_condition(conds, "Scheduled", True, "Placed", observed_generation=2, at="t9")
    assert not changed(conds, again)
    assert changed(conds, set_condition(conds, "Scheduled", True, "Placed", observed_generation=3))
