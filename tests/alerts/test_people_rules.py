"""Bad ratings, second trips, scalping, stalled feeds: on the hall clock, persons never in
an alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.book import ActionError
from alerts.people_rules import BAD_RATING, SECOND_TRIP, TICKET_SCALPING
from alerts.rules import FEED_STALLED, AlertEngine
from alerts.store import AlertStore
from feeds.protocol import (
    Heartbeat,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketIssued,
    WindowState,
)
from feeds.source import FeedStatus
from metrics.state import CityState
from tests.alerts._helpers import H, Hall, only
from tests.conftest import ms

DAY = 24 * 60
PERSON = "p-4f2a9c"  # what the decoder leaves of an ID number: a keyed hash


def rating(seq: int, minute: float, score: int) -> Rating:
    return Rating(seq=seq, ts=ms(minute), hall=H, window="W3", score=score, channel="device")


def test_bad_rating_waits_for_a_rectification_note_then_red_when_overdue() -> None:
    hall = Hall(BAD_RATING)
    hall.feed(rating(1, 0, 5), rating(2, 1, 2))
    (a,) = hall.active()
    assert (a.scope, a.severity, a.fired_ms) == ("W3/2", "yellow", ms(1))
    # 5 working days from Monday 2025-11-24: due at the end of Monday 2025-12-01.
    assert "due 2025-12-01" in a.summary and a.due_ms == ms(8 * DAY - 9 * 60)
    hall.feed(Heartbeat(ts=ms(8 * DAY - 9 * 60) - 1, hall=H))
    assert a.severity == "yellow"
    hall.feed(Heartbeat(ts=ms(8 * DAY), hall=H))
    assert (a.severity, a.raised_ms) == ("red", a.due_ms)
    with pytest.raises(ActionError):
        hall.book.resolve_by_hand(a.id, "zhang", "")
    hall.book.resolve_by_hand(a.id, "zhang", "整改: window W3 retrained on one-time notice")
    assert hall.active() == [] and a.resolve_note.startswith("整改")


def test_bad_rating_turns_red_after_a_restart(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.db")
    engine = AlertEngine(rules=only(BAD_RATING), sink=store)
    city = CityState()
    engine.on_batch(city.apply([rating(1, 0, 1)]), [rating(1, 0, 1)])
    store.close()
    store = AlertStore(tmp_path / "alerts.db")
    engine = AlertEngine(rules=only(BAD_RATING), sink=store)
    city = CityState()
    city.apply([Heartbeat(ts=ms(10 * DAY), hall=H)])
    engine.on_tick(city.snapshots())
    (a,) = engine.book.active()
    assert (a.id, a.severity, a.raised_ms) == (1, "red", ms(8 * DAY - 9 * 60))
    store.close()


def visit(seq: int, minute: float, ticket: str, outcome: str) -> list:
    return [
        TicketIssued(
            seq=seq, ts=ms(minute), hall=H, ticket=ticket, zone="biz", item="kj-01", person=PERSON
        ),
        ServiceStarted(seq=seq + 1, ts=ms(minute + 1), hall=H, ticket=ticket, window="W1"),
        ServiceFinished(
            seq=seq + 2, ts=ms(minute + 5), hall=H, ticket=ticket, window="W1", outcome=outcome
        ),
    ]


def test_second_trip_after_an_incomplete_visit() -> None:
    hall = Hall(SECOND_TRIP)
    hall.feed(*visit(1, 0, "B1", "incomplete"))
    assert hall.active() == []
    hall.feed(*visit(4, DAY, "B7", "done"))  # back the next day for the same item
    (a,) = hall.active()
    assert (a.scope, a.fired_ms) == ("2025-11-25/B7", ms(DAY))
    assert "visit of 2025-11-24 incomplete" in a.summary and PERSON not in a.summary
    hall.feed(*visit(7, 2 * DAY, "B9", "done"))  # a later visit after a done one: fine
    assert len(hall.active()) == 1


def test_scalping_more_than_three_tickets_a_day() -> None:
    hall = Hall(TICKET_SCALPING)
    tickets = [
        TicketIssued(seq=i, ts=ms(i), hall=H, ticket=f"A{i}", zone="biz", person=PERSON)
        for i in range(1, 5)
    ]
    hall.feed(*tickets[:3])
    assert hall.active() == []
    hall.feed(tickets[3])
    (a,) = hall.active()
    assert (a.scope, a.fired_ms) == ("2025-11-24/A1", ms(4))
    assert "A1, A2, A3, A4" in a.summary and PERSON not in a.summary + a.scope


def test_stalled_feed_raises_its_own_alert_and_hides_nothing() -> None:
    hall = Hall(FEED_STALLED, "complaint")
    hall.feed(WindowState(seq=1, ts=ms(0), hall=H, window="W1", state="open"), tick=False)
    status = FeedStatus(name="lz-feed", halls=(H,), connected=True, last_event_wall=1000.0)
    snaps = hall.city.snapshots()
    hall.engine.on_tick(snaps, [status.snapshot()], wall=1029.0)
    assert hall.active() == []
    hall.engine.on_tick(snaps, [status.snapshot()], wall=1031.0)
    (a,) = hall.active()
    assert (a.rule, a.scope, a.severity, a.fired_ms) == (FEED_STALLED, "lz-feed", "red", ms(0))
    status.last_event_wall = 1040.0
    hall.engine.on_tick(snaps, [status.snapshot()], wall=1041.0)
    assert hall.active() == []
