"""The alert lifecycle on the hall clock: pending, rising, ack, timeout, escalation,
resolution by hand, hold time, silences, re-fire links and replayed history."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.book import MAX_OPEN_PER_HALL, ActionError, AlertBook, Timing
from alerts.store import AlertStore
from tests.factories import H, ms


def book() -> AlertBook:
    return AlertBook(Timing(ack_timeout_ms=30 * 60_000, escalate_after_ms=15 * 60_000, max_level=2))


def test_pending_for_then_firing_at_since_plus_for() -> None:
    b = book()
    b.fire("r", H, "z", "yellow", ms(0), "s", for_ms=5 * 60_000)
    assert b.active() == [] and ("r", H, "z") in b.pending
    b.tick(H, ms(4))
    assert b.active() == []
    b.tick(H, ms(7))
    (a,) = b.active()
    assert (a.state, a.fired_ms, a.id) == ("firing", ms(5), 1)


def test_pending_that_clears_leaves_no_alert() -> None:
    b = book()
    b.fire("r", H, "z", "yellow", ms(0), "s", for_ms=5 * 60_000)
    b.resolve("r", H, "z", ms(3))
    b.tick(H, ms(10))
    assert b.active() == [] and not b.pending and not b.resolved


def test_hold_time_keeps_it_firing_until_clear_long_enough() -> None:
    b = book()
    b.fire("r", H, "z", "yellow", ms(0), "s", hold_ms=60_000)
    b.resolve("r", H, "z", ms(1))
    assert b.active()  # still firing: clear for 0 s
    b.fire("r", H, "z", "yellow", ms(0), "s", hold_ms=60_000)  # back before the hold ran out
    b.resolve("r", H, "z", ms(2))
    b.tick(H, ms(2.5))
    assert b.active()
    b.tick(H, ms(3.5))
    (a,) = b.resolved
    assert a.resolved_ms == ms(3) and a.id == 1


def test_severity_only_rises() -> None:
    b = book()
    b.fire("r", H, "t", "red", ms(0), "red one")
    b.fire("r", H, "t", "yellow", ms(1), "yellow later")
    (a,) = b.active()
    assert (a.severity, a.summary) == ("red", "red one")


def test_ack_with_who_and_note_then_timeout_then_escalation() -> None:
    b = book()
    a = b.fire("r", H, "t", "red", ms(0), "s")
    assert a is not None
    b.tick(H, ms(10))
    b.acknowledge(a.id, "zhang", "on my way")
    assert (a.state, a.ack_by, a.ack_ms, a.ack_note) == (
        "acknowledged",
        "zhang",
        ms(10),
        "on my way",
    )
    b.tick(H, ms(39))
    assert a.state == "acknowledged" and a.level == 0
    b.tick(H, ms(41))  # 30 min after the ack: back to firing
    assert a.state == "firing"
    b.tick(H, ms(40 + 15 + 1))
    assert (a.level, a.escalated_ms) == (1, ms(55))
    b.tick(H, ms(200))
    assert a.level == 2  # capped at max_level
    whats = [w for _, w in a.history]
    assert whats == [
        "fired red",
        "acknowledged",
        "acknowledgement expired",
        "escalated to level 1",
        "escalated to level 2",
    ]


def test_unacknowledged_red_escalates_yellow_does_not() -> None:
    b = book()
    red = b.fire("r", H, "a", "red", ms(0), "s")
    yellow = b.fire("r", H, "b", "yellow", ms(0), "s")
    assert red is not None and yellow is not None
    b.tick(H, ms(16))
    assert (red.level, red.escalated_ms, yellow.level) == (1, ms(15), 0)


def test_escalation_counts_from_the_rise_to_red() -> None:
    b = book()
    a = b.fire("r", H, "a", "yellow", ms(0), "s")
    b.fire("r", H, "a", "red", ms(20), "s")
    assert a is not None
    b.tick(H, ms(34))
    assert a.level == 0
    b.tick(H, ms(35))
    assert a.escalated_ms == ms(35)


def test_resolve_by_hand_needs_who_and_note_and_sticks() -> None:
    b = book()
    a = b.fire("r", H, "t", "yellow", ms(0), "s")
    assert a is not None
    b.tick(H, ms(5))
    with pytest.raises(ActionError, match="note"):
        b.resolve_by_hand(a.id, "zhang", "  ")
    with pytest.raises(ActionError, match="identity"):
        b.resolve_by_hand(a.id, "", "done")
    b.resolve_by_hand(a.id, "zhang", "called the citizen back")
    assert (a.state, a.resolved_by, a.resolve_note, a.resolved_ms) == (
        "resolved",
        "zhang",
        "called the citizen back",
        ms(5),
    )
    # The same condition, still true since ms(0), does not reopen what a person settled.
    assert b.fire("r", H, "t", "yellow", ms(0), "s") is None
    # A new crossing later is a new alert linked to the old one.
    again = b.fire("r", H, "t", "red", ms(6), "s")
    assert again is not None and again.id == 2 and again.previous == a.id
    with pytest.raises(ActionError):
        b.acknowledge(99, "zhang")


def test_replayed_history_is_not_fired_twice() -> None:
    b = book()
    b.fire("r", H, "t", "red", ms(1), "s")
    b.resolve("r", H, "t", ms(5))
    assert b.fire("r", H, "t", "red", ms(1), "s") is None  # the same events again
    assert b.fire("r", H, "t", "red", ms(5), "s") is None
    assert b.fire("r", H, "t", "red", ms(6), "s") is not None


def test_silence_needs_who_why_until_and_stops_escalation() -> None:
    b = book()
    a = b.fire("wait", H, "biz/B1", "red", ms(0), "s")
    other = b.fire("wait", "other-hall", "biz/B1", "red", ms(0), "s")
    assert a is not None and other is not None
    b.tick(H, ms(1))
    with pytest.raises(ActionError):
        b.add_silence(H, "zhang", "", ms(60))
    with pytest.raises(ActionError):
        b.add_silence(H, "zhang", "drill", ms(1))
    s = b.add_silence(H, "zhang", "fire drill", ms(60), rule="wait", scope_prefix="biz/")
    assert a.silenced_by == s.id and other.silenced_by is None
    b.tick(H, ms(30))
    assert a.level == 0 and a.state == "firing"  # open and counted, not escalated
    assert b.counts()[(H, "wait", "red")] == 1
    b.tick(H, ms(61))  # the silence ran out at ms(60): the escalation clock restarts there
    assert s.id not in b.silences and s.ended_ms == ms(60)
    assert a.silenced_by is None and a.level == 0
    b.tick(H, ms(76))
    assert (a.level, a.escalated_ms) == (1, ms(75))


def test_a_hall_holds_at_most_its_cap_of_open_alerts_oldest_notice_closed_first(
    tmp_path: Path,
) -> None:
    """A flood of alerts that wait for a person (bad ratings) cannot grow the book without
    bound: past the cap the oldest notice is closed unhandled, recorded in the store; a
    card (a formal sanction, yellow or red) or an urgent warning is never closed so, and
    another hall is not touched."""
    store = AlertStore(tmp_path / "alerts.db")
    b = AlertBook(Timing(), sink=store)
    b.fire("case_deadline", H, "C-1", "yellow", ms(0), "case C-1 due")
    b.fire("case_deadline", H, "C-2", "red", ms(0), "case C-2 overdue")
    b.fire("complaint_overdue", H, "c-1", "urgent", ms(0), "complaint c-1 not settled")
    b.fire("bad_rating", "other", "W1/1", "notice", ms(0), "bad rating")
    extra = 7
    for i in range(MAX_OPEN_PER_HALL - 3 + extra):
        b.fire("bad_rating", H, f"W1/{i}", "notice", ms(1 + i / 60), "bad rating")
    open_here = [a for a in b.open.values() if a.hall == H]
    assert len(open_here) == MAX_OPEN_PER_HALL
    for key in (("case_deadline", H, "C-1"), ("case_deadline", H, "C-2"),
                ("complaint_overdue", H, "c-1"), ("bad_rating", "other", "W1/1")):  # fmt: skip
        assert key in b.open
    assert b.shed == {H: extra}
    closed = sorted(a.scope for a in b.resolved)
    assert closed == sorted(f"W1/{i}" for i in range(extra))  # the oldest first
    assert all(a.resolved_by == "system" and "unhandled" in (a.resolve_note or "")
               for a in b.resolved)  # fmt: skip
    kept = {a.scope for a in store.open_alerts() if a.hall == H}
    assert len(kept) == MAX_OPEN_PER_HALL and "W1/0" not in kept
    store.close()


def test_a_warning_rises_notice_to_urgent_and_never_escalates() -> None:
    """Warnings (预警) rise within their kind like cards, but only a red card escalates:
    seed 001 gives 督办 (supervised follow-up) to red cards alone (对超时未办的事项进行红牌
    警告和督办); an urgent warning stays with the duty director."""
    b = book()
    w = b.fire("wait_overtime", H, "biz/B1", "notice", ms(0), "waiting over 24 min")
    assert w is not None
    b.fire("wait_overtime", H, "biz/B1", "urgent", ms(6), "waiting over 30 min")
    b.fire("wait_overtime", H, "biz/B1", "notice", ms(7), "lower again")
    assert (w.severity, w.raised_ms, w.summary) == ("urgent", ms(6), "waiting over 30 min")
    card = b.fire("case_deadline", H, "C1", "red", ms(0), "overdue")
    b.tick(H, ms(120))
    assert card is not None and card.level == 2 and w.level == 0
    assert [x.severity for x in b.active()] == ["red", "urgent"]  # red cards first
