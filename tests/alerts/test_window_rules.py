"""Window rules on the hall clock: service overtime, unattended zone, 空岗, long pause."""

from __future__ import annotations

from alerts.staffing_rules import IDLE_WINDOW, UNATTENDED_ZONE
from alerts.window_rules import LONG_PAUSE, SERVICE_OVERTIME
from feeds.protocol import (
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    WindowState,
)
from tests.factories import H, Hall, beat, issued, ms, opened

SERVICE = [
    opened(1, 0),
    issued(2, 0, "B1", item="x"),
    ServiceStarted(seq=3, ts=ms(1), hall=H, ticket="B1", window="W1"),
]
FINISH = ServiceFinished(seq=4, ts=ms(25), hall=H, ticket="B1", window="W1", outcome="done")


def test_service_overtime_notice_urgent_resolved_at_finish() -> None:
    hall = Hall(SERVICE_OVERTIME, item_minutes={"x": 10})  # notice 1.5x = 15, urgent 2x = 20
    hall.feed(*SERVICE, beat(15.5))
    assert hall.active() == []
    hall.feed(beat(17))
    (a,) = hall.active()
    assert (a.scope, a.severity, a.fired_ms) == ("W1/B1", "notice", ms(16))
    hall.feed(beat(22))
    assert (a.severity, a.raised_ms, a.level) == ("urgent", ms(21), 0)
    hall.feed(FINISH)
    assert hall.active() == [] and a.resolved_ms == ms(25)


def test_service_overtime_seen_without_any_tick() -> None:
    hall = Hall(SERVICE_OVERTIME, item_minutes={"x": 10})
    hall.feed(*SERVICE, FINISH, tick=False)
    (a,) = hall.book.resolved
    assert (a.fired_ms, a.raised_ms, a.resolved_ms) == (ms(16), ms(21), ms(25))


def test_unattended_zone_after_five_minutes_then_hold() -> None:
    hall = Hall(UNATTENDED_ZONE)
    hall.feed(issued(1, 0, "B1"), beat(3))
    assert hall.active() == []
    hall.feed(beat(6))
    (a,) = hall.active()
    assert (a.scope, a.fired_ms) == ("biz", ms(5))
    hall.feed(opened(2, 8), TicketCalled(seq=3, ts=ms(8), hall=H, ticket="B1", window="W1"))
    assert hall.active()  # clear, but held for a minute
    hall.feed(beat(9.5))
    assert hall.active() == [] and a.resolved_ms == ms(9)


def test_idle_window_while_people_wait_then_resolved_when_it_calls() -> None:
    hall = Hall(IDLE_WINDOW)
    hall.feed(
        opened(1, 0),
        issued(2, 0, "B1"),
        TicketCalled(seq=3, ts=ms(1), hall=H, ticket="B1", window="W1"),
        issued(4, 2, "B2"),
        ServiceFinished(seq=5, ts=ms(3), hall=H, ticket="B1", window="W1", outcome="done"),
        beat(12),
    )
    assert hall.active() == []
    hall.feed(beat(14))
    (a,) = hall.active()
    assert (a.scope, a.fired_ms) == ("W1", ms(13))
    hall.feed(TicketCalled(seq=6, ts=ms(15), hall=H, ticket="B2", window="W1"))
    assert hall.active() == [] and a.resolved_ms == ms(15)


def test_long_pause_notice_urgent_stays_with_the_duty_director() -> None:
    """An urgent warning does not escalate (督办 is for red cards, seed 001); an
    acknowledgement that lapses brings it back to firing."""
    hall = Hall(LONG_PAUSE)
    hall.feed(opened(1, 0), opened(2, 1, state="paused"), beat(17))
    (a,) = hall.active()
    assert (a.severity, a.fired_ms) == ("notice", ms(16))
    hall.feed(beat(32))
    assert (a.severity, a.raised_ms) == ("urgent", ms(31))
    hall.feed(beat(47))
    assert (a.level, a.escalated_ms) == (0, None)
    hall.book.acknowledge(a.id, "zhang", "staff at lunch, replacement coming")
    hall.feed(beat(70))
    assert a.level == 0 and a.state == "acknowledged"
    hall.feed(beat(78))
    assert (a.state, a.level) == ("firing", 0)  # acknowledged at 47, unresolved by 77
    hall.feed(opened(3, 80))
    assert hall.active() == [] and (a.resolved_ms, a.resolved_by) == (ms(80), "system")


def test_idle_episode_between_two_looks_is_still_alerted() -> None:
    hall = Hall(IDLE_WINDOW, UNATTENDED_ZONE)
    hall.feed(
        opened(1, 0),
        issued(2, 0, "B1"),
        TicketCalled(seq=3, ts=ms(1), hall=H, ticket="B1", window="W1"),
        issued(4, 2, "B2"),
        ServiceFinished(seq=5, ts=ms(3), hall=H, ticket="B1", window="W1", outcome="done"),
        TicketCalled(seq=6, ts=ms(20), hall=H, ticket="B2", window="W1"),
        opened(7, 21, state="closed"),
        issued(8, 22, "B3"),
        beat(40),
        tick=False,
    )
    idle = hall.book.resolved
    assert [(a.rule, a.fired_ms, a.resolved_ms) for a in idle] == [("idle_window", ms(13), ms(20))]
    hall.tick()  # B3 waits from 22 with no open window for its zone: unattended from 27
    (alone,) = hall.active()
    assert (alone.rule, alone.fired_ms) == ("unattended_zone", ms(27))


def test_lunch_pause_is_a_scheduled_break_with_its_own_limit() -> None:
    """A window paused for 午休 is not a long pause at 15 or 30 minutes; past two hours
    (the scheduled limit) it is, a notice, then urgent at three hours."""
    hall = Hall(LONG_PAUSE)
    lunch = WindowState(seq=2, ts=ms(1), hall=H, window="W1", state="paused", reason="午休")
    hall.feed(opened(1, 0), lunch, beat(100))
    assert hall.active() == []
    hall.feed(beat(122))
    (a,) = hall.active()
    assert (a.severity, a.fired_ms) == ("notice", ms(121))
    hall.feed(beat(190))
    assert (a.severity, a.raised_ms) == ("urgent", ms(181))
    hall.feed(opened(3, 200))
    assert hall.active() == []
    # The next pause, with no reason, is judged by the ordinary limits again.
    hall.feed(opened(4, 201, state="paused"), beat(217))
    (b,) = hall.active()
    assert (b.severity, b.fired_ms) == ("notice", ms(216))
