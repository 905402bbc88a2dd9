"""Bad ratings, second trips, scalping (registered agents exempt), 盗号, stalled feeds: on
the hall clock, persons never in an alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.book import ActionError
from alerts.people_rules import BAD_RATING, SECOND_TRIP, TICKET_SCALPING, TICKET_THEFT
from alerts.rules import FEED_STALLED, AlertEngine
from alerts.settings import Scalping, SecondTrip
from alerts.store import AlertStore
from feeds.protocol import (
    CaseClosed,
    CaseSubmitted,
    Heartbeat,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketIssued,
    WindowState,
)
from feeds.source import FeedStatus
from metrics.state import CityState
from tests.factories import H, Hall, ms, only

DAY = 24 * 60
PERSON = "p-4f2a9c"  # what the decoder leaves of an ID number: a keyed hash


def rating(seq: int, minute: float, score: int) -> Rating:
    return Rating(seq=seq, ts=ms(minute), hall=H, window="W3", score=score, channel="device")


def test_bad_rating_waits_for_a_rectification_note_then_urgent_when_overdue() -> None:
    hall = Hall(BAD_RATING)
    hall.feed(rating(1, 0, 5), rating(2, 1, 2))
    (a,) = hall.active()
    assert (a.scope, a.severity, a.fired_ms) == ("W3/2", "notice", ms(1))
    # 5 working days from Monday 2025-11-24: due at the end of Monday 2025-12-01.
    assert "due 2025-12-01" in a.summary and a.due_ms == ms(8 * DAY - 9 * 60)
    hall.feed(Heartbeat(ts=ms(8 * DAY - 9 * 60) - 1, hall=H))
    assert a.severity == "notice"
    hall.feed(Heartbeat(ts=ms(8 * DAY), hall=H))
    assert (a.severity, a.raised_ms) == ("urgent", a.due_ms)
    with pytest.raises(ActionError):
        hall.book.resolve_by_hand(a.id, "zhang", "")
    hall.book.resolve_by_hand(a.id, "zhang", "整改: window W3 retrained on one-time notice")
    assert hall.active() == [] and a.resolve_note.startswith("整改")


def test_bad_rating_turns_urgent_after_a_restart(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.db")
    engine = AlertEngine(rules=only(BAD_RATING), sink=store)
    city = CityState()
    engine.on_batch(city.apply([rating(1, 0, 1)]))
    store.close()
    store = AlertStore(tmp_path / "alerts.db")
    engine = AlertEngine(rules=only(BAD_RATING), sink=store)
    city = CityState()
    city.apply([Heartbeat(ts=ms(10 * DAY), hall=H)])
    engine.on_tick(city.snapshots())
    (a,) = engine.book.active()
    assert (a.id, a.severity, a.raised_ms) == (1, "urgent", ms(8 * DAY - 9 * 60))
    store.close()


def visit(seq: int, minute: float, ticket: str, outcome: str, case: str | None = None) -> list:
    return [
        TicketIssued(
            seq=seq, ts=ms(minute), hall=H, ticket=ticket, zone="biz", item="kj-01", person=PERSON
        ),
        ServiceStarted(seq=seq + 1, ts=ms(minute + 1), hall=H, ticket=ticket, window="W1"),
        ServiceFinished(
            seq=seq + 2,
            ts=ms(minute + 5),
            hall=H,
            ticket=ticket,
            window="W1",
            outcome=outcome,
            case=case,
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
    assert (a.rule, a.scope, a.severity, a.fired_ms) == (FEED_STALLED, "lz-feed", "urgent", ms(0))
    status.last_event_wall = 1040.0
    hall.engine.on_tick(snaps, [status.snapshot()], wall=1041.0)
    assert hall.active() == []


def test_a_silent_feed_is_stalled_only_for_a_hall_with_an_open_window() -> None:
    hall = Hall(FEED_STALLED)
    # lz has W1 paused and W2 closed; qz only a closed window: nobody is being served.
    hall.feed(
        WindowState(seq=1, ts=ms(0), hall=H, window="W1", state="paused"),
        WindowState(seq=2, ts=ms(0), hall=H, window="W2", state="closed"),
        WindowState(seq=3, ts=ms(0), hall="qz", window="W1", state="closed"),
        tick=False,
    )
    status = FeedStatus(name="city-feed", halls=(H, "qz"), connected=True, last_event_wall=1000.0)
    hall.engine.on_tick(hall.city.snapshots(), [status.snapshot()], wall=1100.0)
    assert hall.active() == []  # 100 s of silence, but no hall of the feed is open
    # W1 of lz opens; then the feed falls silent again, for 31 s.
    hall.feed(WindowState(seq=4, ts=ms(1), hall=H, window="W1", state="open"), tick=False)
    status.last_event_wall = 1200.0
    hall.engine.on_tick(hall.city.snapshots(), [status.snapshot()], wall=1229.0)
    assert hall.active() == []
    hall.engine.on_tick(hall.city.snapshots(), [status.snapshot()], wall=1231.0)
    (a,) = hall.active()  # lz only: qz has still no open window
    assert (a.rule, a.hall, a.scope, a.fired_ms) == (FEED_STALLED, H, "city-feed", ms(1))


def test_second_trip_looks_back_thirty_calendar_days() -> None:
    hall = Hall(SECOND_TRIP)
    hall.feed(*visit(1, 0, "B1", "incomplete"))  # finished Monday 2025-11-24 09:05
    # Back exactly 30 days after that visit ended (2025-12-24 09:05): a second trip.
    hall.feed(*visit(4, 30 * DAY + 5, "B2", "rejected"))  # finished 09:10
    (a,) = hall.active()
    assert (a.scope, a.fired_ms) == ("2025-12-24/B2", ms(30 * DAY + 5))
    assert "visit of 2025-11-24 incomplete" in a.summary
    # Back 30 days and a minute after the rejected visit (2026-01-23 09:11): too late.
    hall.feed(*visit(7, 60 * DAY + 11, "B3", "done"))
    assert hall.active() == [a]


def test_second_trip_window_is_configurable() -> None:
    hall = Hall(SECOND_TRIP, settings={"second_trip": SecondTrip(within_days=3)})
    hall.feed(*visit(1, 0, "B1", "incomplete"), *visit(4, 3 * DAY, "B2", "rejected"))
    assert [a.scope for a in hall.active()] == ["2025-11-27/B2"]  # 3 days less 5 min
    hall.feed(*visit(7, 6 * DAY + 6, "B3", "done"))  # 3 days and a minute after B2
    assert len(hall.active()) == 1


def test_a_return_after_a_back_office_denial_is_no_second_trip() -> None:
    """Issue #18: the citizen who got a decision, even a denial (case_closed denied), and
    comes back for the same item makes a new application, not a second trip; only a
    visit that ended incomplete or rejected at the window counts."""
    hall = Hall(SECOND_TRIP)
    case = CaseSubmitted(seq=4, ts=ms(6), hall=H, case="C1", item="kj-01", dept="市场监管",
                         promised_days=1, person=PERSON)  # fmt: skip
    hall.feed(*visit(1, 0, "B1", "to_backend", case="C1"), case)  # Monday 09:00
    hall.feed(CaseClosed(seq=5, ts=ms(2 * DAY), hall=H, case="C1", outcome="denied"))
    hall.feed(*visit(6, 3 * DAY, "B4", "incomplete"))  # Thursday: back, denied on Wednesday
    assert hall.active() == []
    hall.feed(*visit(9, 4 * DAY, "B2", "done"))  # Friday: back after Thursday's incomplete
    (a,) = hall.active()
    assert (a.scope, a.fired_ms) == ("2025-11-28/B2", ms(4 * DAY))
    assert "visit of 2025-11-27 incomplete" in a.summary


AGENT = "p-agent0000000000000a"  # a registered agent's pseudonym (runtime.config makes it)


def own_tickets(person: str, n: int, seq: int = 1, prefix: str = "A") -> list[TicketIssued]:
    return [
        TicketIssued(
            seq=seq + i, ts=ms(i), hall=H, ticket=f"{prefix}{i + 1}", zone="biz", person=person
        )
        for i in range(n)
    ]


def test_a_registered_agent_is_no_scalper_a_citizen_with_four_tickets_is() -> None:
    """Issue #18: more than 3 tickets a day is a 代办员's normal day (seed 002: Anqiu's
    152 agents; seed 003: Luozhuang's 26); 倒号 (seed 004) is for the others."""
    hall = Hall(TICKET_SCALPING, settings={"scalping": Scalping(agents=(AGENT,))})
    hall.feed(*own_tickets(AGENT, 6))
    assert hall.active() == []
    hall.feed(*own_tickets(PERSON, 4, seq=7, prefix="B"))
    (a,) = hall.active()
    assert (a.scope, a.fired_ms) == ("2025-11-24/B1", ms(3))
    assert "B1, B2, B3, B4" in a.summary and PERSON not in a.summary + a.scope


def started(seq: int, minute: float, ticket: str, person: str | None) -> ServiceStarted:
    return ServiceStarted(seq=seq, ts=ms(minute), hall=H, ticket=ticket, window="W2", person=person)


def test_ticket_theft_when_the_window_serves_another_person_than_the_holder() -> None:
    """盗号 (seed 004: 对倒号、盗号…予以严厉打击): the feed names whom the window serves
    (``service_started.person``) and it is not the ticket's holder."""
    hall = Hall(TICKET_THEFT)
    thief = "p-0ther00000000000000"
    hall.feed(
        TicketIssued(seq=1, ts=ms(0), hall=H, ticket="A1", zone="biz", person=PERSON),
        TicketIssued(seq=2, ts=ms(1), hall=H, ticket="A2", zone="biz", person=PERSON),
        TicketIssued(seq=3, ts=ms(2), hall=H, ticket="A3", zone="biz"),  # no holder known
        TicketIssued(seq=4, ts=ms(3), hall=H, ticket="A4", zone="biz", person=PERSON),
        started(5, 10, "A1", PERSON),  # the holder: fine
        started(6, 20, "A3", thief),  # nobody to compare with: silent
        started(7, 30, "A4", None),  # the feed does not say: silent
    )
    assert hall.active() == []
    hall.feed(ServiceFinished(seq=8, ts=ms(39), hall=H, ticket="A1", window="W2", outcome="done"))
    hall.feed(started(9, 40, "A2", thief))
    (a,) = hall.active()
    assert (a.rule, a.scope, a.severity, a.fired_ms) == (
        TICKET_THEFT,
        "2025-11-24/A2",
        "notice",
        ms(40),
    )
    assert a.summary == "ticket A2 served at window W2 for another person than its holder (盗号?)"
    assert thief not in a.summary and PERSON not in a.summary
