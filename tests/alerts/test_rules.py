"""Waiting-overtime and complaint alerts, on the hall clock, deterministic."""

from __future__ import annotations

from alerts.rules import COMPLAINT, WAIT_OVERTIME, AlertEngine, WaitLimits
from feeds.protocol import Complaint, ComplaintClosed, Heartbeat, TicketCalled
from metrics.state import CityState
from tests.factories import H, issued, ms, only

BASIC = only(WAIT_OVERTIME, COMPLAINT)


def run(events, ticks):
    """Apply ``events`` one by one, ticking the engine at the given hall minutes."""
    city, engine = (
        CityState(),
        AlertEngine(WaitLimits(limit_s=30 * 60, yellow_share=0.8), rules=BASIC),
    )
    pending = sorted(events, key=lambda e: e.ts)
    for ev in pending:
        engine.on_batch(city.apply([ev]))
        if ev.ts in ticks:
            engine.on_tick(city.snapshots())
    return city, engine


def test_notice_at_80_percent_then_urgent_then_resolved_on_call() -> None:
    """A long wait is a warning (预警), never a card: no seed sets a waiting limit, and seed
    001 keeps its cards for case deadlines and added materials."""
    events = [
        issued(1, 0),
        Heartbeat(ts=ms(25), hall=H),
        Heartbeat(ts=ms(31), hall=H),
        TicketCalled(seq=2, ts=ms(40), hall=H, ticket="B1", window="W1"),
    ]
    city, engine = CityState(), AlertEngine(rules=BASIC)
    book = engine.book
    engine.on_batch(city.apply(events[:2]))
    engine.on_tick(city.snapshots())
    (alert,) = book.active()
    assert (alert.rule, alert.severity, alert.fired_ms) == (WAIT_OVERTIME, "notice", ms(24))
    engine.on_batch(city.apply(events[2:3]))
    engine.on_tick(city.snapshots())
    (alert,) = book.active()
    assert (alert.severity, alert.raised_ms, alert.id) == ("urgent", ms(30), 1)  # one, rising
    engine.on_batch(city.apply(events[3:]))
    assert book.active() == []
    (done,) = book.resolved
    assert (done.state, done.resolved_ms, done.severity) == ("resolved", ms(40), "urgent")
    assert [what for _, what in done.history] == ["fired notice", "raised to urgent", "resolved"]


def test_same_alerts_whether_the_engine_looks_often_or_never() -> None:
    """A ticket crossing thresholds between two ticks is still alerted, at the same times."""
    events = [
        issued(1, 0),
        issued(2, 1, "B2"),
        issued(3, 2, "B3"),
        TicketCalled(seq=4, ts=ms(20), hall=H, ticket="B1", window="W1"),
        TicketCalled(seq=5, ts=ms(26), hall=H, ticket="B2", window="W1"),
        TicketCalled(seq=6, ts=ms(45), hall=H, ticket="B3", window="W1"),
        Heartbeat(ts=ms(60), hall=H),
    ]
    every = {e.ts for e in events}
    outcomes = []
    for ticks in (every, set(), {ms(30)}):
        _, engine = run(events, ticks)
        outcomes.append(
            [
                (a.scope, a.severity, a.fired_ms, a.raised_ms, a.resolved_ms)
                for a in engine.book.resolved
            ]
        )
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0] == [
        ("biz/B2", "notice", ms(1 + 24), None, ms(26)),
        ("biz/B3", "urgent", ms(2 + 24), ms(2 + 30), ms(45)),
    ]


def test_zone_limit_overrides_default() -> None:
    city, engine = CityState(), AlertEngine(WaitLimits(zones={"estate": 600}), rules=BASIC)
    engine.on_batch(
        city.apply(
            [issued(1, 0, "E1", "estate"), issued(2, 0, "B1", "biz"), Heartbeat(ts=ms(10), hall=H)]
        )
    )
    engine.on_tick(city.snapshots())
    assert [(a.scope, a.severity) for a in engine.book.active()] == [("estate/E1", "urgent")]


def test_complaint_is_a_warning_until_closed_and_refire_links() -> None:
    city, engine = CityState(), AlertEngine(rules=BASIC)
    engine.on_batch(
        city.apply(
            [Complaint(seq=1, ts=ms(1), hall=H, complaint="K1", channel="hotline", window="W3")]
        )
    )
    (alert,) = engine.book.active()
    assert (alert.rule, alert.severity, alert.fired_ms) == (COMPLAINT, "notice", ms(1))
    assert "W3" in alert.summary
    assert engine.book.counts() == {(H, COMPLAINT, "notice"): 1}
    engine.on_batch(city.apply([ComplaintClosed(seq=2, ts=ms(5), hall=H, complaint="K1")]))
    assert engine.book.active() == []
    engine.on_batch(
        city.apply([Complaint(seq=3, ts=ms(9), hall=H, complaint="K1", channel="desk")])
    )
    (again,) = engine.book.active()
    assert again.id != alert.id and again.previous == alert.id


def test_ticket_vanishing_at_day_change_resolves_its_alert() -> None:
    city, engine = CityState(), AlertEngine(rules=BASIC)
    engine.on_batch(city.apply([issued(1, 0), Heartbeat(ts=ms(40), hall=H)]))
    engine.on_tick(city.snapshots())
    assert len(engine.book.active()) == 1
    engine.on_batch(city.apply([Heartbeat(ts=ms(24 * 60), hall=H)]))
    engine.on_tick(city.snapshots())
    assert engine.book.active() == []
