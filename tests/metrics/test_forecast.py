"""The expected wait of a ticket issued now (docs/figures.md, "Forecast and staffing"):
the formula by hand, then a scripted morning through the real state.

The morning (hall minutes after 09:00 CST; estate's windows W1 and W2 open at 0):
  0 E1…E6 issued; W1 calls E1, W2 calls E2
  6 W1 finishes E1 (6 min from its call), calls E3
  10 W2 finishes E2 (10 min), calls E4
  14 W1 finishes E3 (8 min), calls E5
  15 E7 issued
  16 W2 finishes E4 (6 min) and calls nobody: E6 waits (its staff walked off)
  16.5 E8 issued; 20 heartbeat; 21 E5 finishes, W1 calls E6; 22 both windows pause.
"""

from __future__ import annotations

import pytest

from feeds.protocol import (
    Heartbeat,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from metrics.figures import IDLE_GRACE_MS, MIN_CYCLES, expected_wait
from metrics.state import CityState
from tests.factories import H, Script, ms

MIN = 60.0


def test_the_formula_by_hand() -> None:
    # No window calling the zone, or no cycle known yet: no figure (not 9:37 out of
    # nowhere, as issue 13 saw for a zone with nobody waiting).
    assert expected_wait(0, 0, 0, 577.0) is None
    assert expected_wait(3, 2, 0, None) is None
    # A free window is left for the ticket: called at once.
    assert expected_wait(0, 2, 1, 600.0) == 0.0
    assert expected_wait(1, 3, 2, 600.0) == 0.0
    # Issue 13's estate: 11 waiting, 4 windows busy, an 8-minute cycle: the ticket's turn
    # is the 12th call, 4 windows call once every 8 min each: 12 × 8 / 4 = 24 min (not 1:02).
    assert expected_wait(11, 4, 0, 8 * MIN) == 24 * MIN
    # Nobody waiting, the zone's one window busy: its next call, a cycle away on average.
    assert expected_wait(0, 1, 0, 9.5 * MIN) == 9.5 * MIN
    # 2 ahead, one of 2 windows free: the free one takes the first, the ticket is the 2nd
    # call after it: 2 × 10 / 2 = 10 min.
    assert expected_wait(2, 2, 1, 10 * MIN) == 10 * MIN


def morning() -> list:
    e = Script(H)
    out = [e(WindowState, ms(0), window=w, state="open", staff=f"s{w}") for w in ("W1", "W2")]
    out += [e(TicketIssued, ms(0), ticket=f"E{i}", zone="estate") for i in range(1, 7)]

    def serve(ticket: str, window: str, called: float, finished: float | None) -> None:
        out.append(e(TicketCalled, ms(called), ticket=ticket, window=window))
        out.append(e(ServiceStarted, ms(called, 30), ticket=ticket, window=window))
        if finished is not None:
            out.append(
                e(ServiceFinished, ms(finished), ticket=ticket, window=window, outcome="done")
            )

    serve("E1", "W1", 0, 6)
    serve("E2", "W2", 0, 10)
    serve("E3", "W1", 6, 14)
    serve("E4", "W2", 10, 16)
    serve("E5", "W1", 14, None)
    out.sort(key=lambda ev: ev.ts)  # the feed sends in time order
    return out


def upto(events: list, minute: float) -> list:
    return [ev for ev in events if ev.ts <= ms(minute)]


@pytest.fixture()
def city() -> CityState:
    return CityState(record_forecasts=True)


def estate(city: CityState):
    return next(z for z in city.snapshot(H).zones if z.name == "estate")


def test_none_until_three_calls_ended(city: CityState) -> None:
    day = morning()
    city.apply(upto(day, 13))  # E1 (6 min) and E2 (10 min) ended: 2 < MIN_CYCLES
    assert MIN_CYCLES == 3
    assert estate(city).expected_wait_s is None
    city.apply([ev for ev in day if ms(13) < ev.ts <= ms(14)])  # E3 ends at 14
    assert estate(city).expected_wait_s is not None


def test_the_morning_by_hand(city: CityState) -> None:
    day = morning()
    city.apply([*upto(day, 15), Heartbeat(ts=ms(15), hall=H)])
    # 15:00, before E7: E6 waits (1 ahead); W1 (E5) and W2 (E4) busy, none free. Cycle:
    # the 3 calls ended took 6 + 10 + 8 = 24 min, and the two in progress so far E4 5 min
    # (since 10) and E5 1 min (since 14): 30 / 3 = 10 min (the ended ones alone would say
    # 8: the first calls to end are the short ones). (1 + 1 − 0) × 10 / 2 = 10 min.
    assert estate(city).expected_wait_s == pytest.approx(10 * MIN)
    e = Script(H, seq=100)
    city.apply([e(TicketIssued, ms(15), ticket="E7", zone="estate")])
    # What the console showed for "a ticket issued now" is recorded with E7.
    hall = city.halls[H]
    hall.flush()
    assert hall.d_issued_forecast.view().tolist() == [-1.0] * 6 + [pytest.approx(600.0)]

    city.apply([ev for ev in day if ms(15) < ev.ts <= ms(16)])  # E4 ends: W2 free
    # 16:30: W2 free 30 s while E6 and E7 wait: within IDLE_GRACE_MS, it may be about to
    # call. Cycles: 24 + 6 (E4) = 30 min over 4, plus E5's 2.5 min: 32.5 / 4 = 8.125 min.
    # 2 ahead, 2 windows, 1 free: (2 + 1 − 1) × 8.125 / 2.
    city.apply([Heartbeat(ts=ms(16.5), hall=H)])
    assert IDLE_GRACE_MS == 60_000
    assert estate(city).expected_wait_s == pytest.approx(8.125 * MIN)
    city.apply([e(TicketIssued, ms(16.5), ticket="E8", zone="estate")])

    # 20:00: W2 has been free 4 min while people wait: it is not calling, so it is left
    # out (the old forecast counted it free and said 0:00, issue 13's police zone). Cycle
    # (30 + 6) / 4 = 9 min; 3 ahead, W1 alone: (3 + 1) × 9 / 1 = 36 min.
    city.apply([Heartbeat(ts=ms(20), hall=H)])
    assert estate(city).expected_wait_s == pytest.approx(36 * MIN)
    assert estate(city).windows_open == 2  # both are open: only the forecast leaves W2 out


def test_nobody_waiting_and_no_open_window_says_nothing(city: CityState) -> None:
    day = morning()
    e = Script(H, seq=100)
    city.apply(upto(day, 16))
    city.apply(
        [
            e(TicketCalled, ms(16, 10), ticket="E6", window="W2"),
            e(ServiceFinished, ms(21), ticket="E5", window="W1", outcome="done"),
            e(WindowState, ms(21, 5), window="W1", state="paused", reason="午休"),
        ]
    )
    # 21:05: nobody waits; W2 (E6 since 16:10) is busy, W1 paused: the next call is W2's,
    # a cycle away. Cycles ended: 6, 10, 8, 6, 7 (E5: 14 to 21) = 37 min over 5, plus
    # E6's 4 min 55 s: 41 min 55 s / 5 = 8.383 min.
    assert estate(city).waiting == 0
    assert estate(city).expected_wait_s == pytest.approx((37 * MIN + 295) / 5)
    city.apply([e(WindowState, ms(22), window="W2", state="paused", reason="午休")])
    assert estate(city).expected_wait_s is None  # nobody waits, no window open: no figure
