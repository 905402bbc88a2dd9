"""Live or backlog, by rule (``alerts.topics``): one table that the console, the board,
the shift report and the day report share; every rule the engine runs is in it."""

from __future__ import annotations

from alerts.topics import BACKLOG_TOPICS, LIVE_TOPICS, RULE_TOPIC, TOPIC_NAMES, is_live, topic_of
from runtime.storage import STORAGE_FAILED
from tests.factories import ALL_RULES, ms


def test_every_rule_the_engine_runs_has_a_topic() -> None:
    for rule in (*ALL_RULES, STORAGE_FAILED):
        assert rule in RULE_TOPIC, rule
    assert set(RULE_TOPIC.values()) <= set(TOPIC_NAMES) == {*LIVE_TOPICS, *BACKLOG_TOPICS}


def test_the_issues_split() -> None:
    """Issue 13: live — waiting and service overtime, idle and unattended windows, long
    pauses, today's complaints, stalled feeds; backlog — case deadlines, rectification
    notes, second trips, scalping."""
    now = ms(30)
    live = ("wait_overtime", "service_overtime", "idle_window", "unattended_zone",
            "long_pause", "complaint", "complaint_overdue", "feed_stalled")  # fmt: skip
    backlog = ("case_deadline", "added_materials", "deemed_acceptance", "bad_rating",
               "second_trip", "ticket_scalping")  # fmt: skip
    assert all(is_live(rule, ms(1), now) for rule in live)
    assert not any(is_live(rule, ms(1), now) for rule in backlog)


def test_a_rule_not_in_the_table_is_live_never_hidden() -> None:
    assert topic_of("a_rule_of_tomorrow") == "system"
    assert is_live("a_rule_of_tomorrow", ms(-7 * 24 * 60), ms(0))


def test_a_complaint_is_live_on_the_day_it_is_due() -> None:
    """当日事当日毕 (seed 002): a complaint is today's until its due day is over. T0 is
    Monday 2025-11-24 09:00; a complaint of Friday 10:00 was due Friday 17:30 (the
    ledger's now); one of Sunday 15:00 is due today at 17:30 (the hall is shut on
    Sunday: its "same day" is the next working day) — live."""
    now = ms(0)
    friday, friday_due = ms(-71 * 60), ms(-71 * 60 + 7 * 60 + 30)
    sunday, monday_due = ms(-18 * 60), ms(8 * 60 + 30)
    assert not is_live("complaint", friday, now, friday_due)
    assert not is_live("complaint_overdue", friday_due, now)  # fired at its due time
    assert is_live("complaint", sunday, now, monday_due)
    assert is_live("complaint", ms(-1), now)  # no due time known: the day it came in
    assert not is_live("complaint", ms(-10 * 60), now)  # (yesterday 23:00)
