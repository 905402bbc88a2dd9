"""What fires never depends on how often the engine looks (alerts/rules.py): two demo
days applied with a publish after every batch, and with one publish at the very end,
leave the same alert history, change for change, with the same hall-time stamps.

A restart changes the cadence (a replay of the journal ticks once per chunk), so this is
also what makes a restarted run's alerts equal an uninterrupted one's (tests/e2e/
test_chaos.py). It caught case deadlines judged only on ticks (a case opened and closed
between two ticks had no card), hold times ended only on ticks, and the staffing rules'
day end stamped with the tick's clock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from alerts.book import Change
from feeds.demo.city import city
from feeds.demo.play import demo_events
from feeds.protocol import Event
from feeds.replay import renumber
from feeds.source import Batch, FeedStatus
from runtime.pipeline import Pipeline


@pytest.fixture(scope="module")
def two_days() -> list[Event]:
    return renumber(demo_events(city(3), dt.date(2025, 11, 24), 7, days=2))


def _history(events: list[Event], publish_every: int) -> list[tuple[object, ...]]:
    sup = Pipeline()
    status = FeedStatus("f")
    changes: list[tuple[object, ...]] = []

    def record(ch: Change) -> None:
        a = ch.alert
        changes.append((a.rule, a.hall, a.scope, ch.what, ch.at_ms))

    sup.alerts.book.listeners.append(record)
    for k, i in enumerate(range(0, len(events), 200)):
        sup.apply(status, Batch("f", events[i : i + 200]))
        if k % publish_every == 0:
            sup.publish()
    sup.publish()
    return sorted(changes, key=repr)


def test_the_alert_history_is_the_same_however_often_the_engine_looks(
    two_days: list[Event],
) -> None:
    often = _history(two_days, 1)
    rules = Counter(c[0] for c in often)
    assert {"case_deadline", "deemed_acceptance", "unattended_zone"} <= rules.keys(), rules
    assert _history(two_days, 10**9) == often
    assert _history(two_days, 37) == often
