"""Utilization when a window pauses or closes in the middle of a service: the window stays
staffed (its open time runs) until that service ends, so utilization never exceeds 1."""

from __future__ import annotations

import pytest

from feeds.protocol import Heartbeat, ServiceFinished, ServiceStarted, TicketIssued, WindowState
from metrics.state import CityState
from tests.factories import ms

H = "lz"


def test_pause_mid_service_keeps_the_window_staffed_until_the_service_ends() -> None:
    city = CityState()
    city.apply(
        [
            WindowState(seq=1, ts=ms(0), hall=H, window="W1", state="open", staff="s1"),
            TicketIssued(seq=2, ts=ms(0), hall=H, ticket="A1", zone="biz"),
            ServiceStarted(seq=3, ts=ms(1), hall=H, ticket="A1", window="W1"),
            # W1 pauses at 09:05 while A1 is served until 09:40 (a long case at the desk).
            WindowState(seq=4, ts=ms(5), hall=H, window="W1", state="paused"),
            ServiceFinished(seq=5, ts=ms(40), hall=H, ticket="A1", window="W1", outcome="done"),
            WindowState(seq=6, ts=ms(50), hall=H, window="W1", state="open"),
            # W2: paused and reopened before its service ended: one open stretch.
            WindowState(seq=7, ts=ms(0), hall=H, window="W2", state="open", staff="s2"),
            TicketIssued(seq=8, ts=ms(0), hall=H, ticket="A2", zone="biz"),
            ServiceStarted(seq=9, ts=ms(2), hall=H, ticket="A2", window="W2"),
            WindowState(seq=10, ts=ms(10), hall=H, window="W2", state="paused"),
            WindowState(seq=11, ts=ms(12), hall=H, window="W2", state="open"),
            ServiceFinished(seq=12, ts=ms(30), hall=H, ticket="A2", window="W2", outcome="done"),
            Heartbeat(ts=ms(60), hall=H),
        ]
    )
    w1, w2 = city.snapshot(H).windows
    # W1 staffed 09:00-09:40 and 09:50-10:00 = 50 min; served 09:01-09:40 = 39 min.
    assert w1.open_s == 50 * 60
    assert w1.serving_s == 39 * 60
    assert w1.utilization == pytest.approx(39 / 50)
    # W2 open 09:00-10:00 without a break in its stretch; served 09:02-09:30 = 28 min.
    assert w2.open_s == 60 * 60
    assert w2.utilization == pytest.approx(28 / 60)
    staff = {s.name: s for s in city.snapshot(H).staff}
    assert staff["s1"].open_s == 50 * 60


def test_pause_without_a_service_ends_the_open_stretch_at_once() -> None:
    city = CityState()
    city.apply(
        [
            WindowState(seq=1, ts=ms(0), hall=H, window="W1", state="open"),
            WindowState(seq=2, ts=ms(20), hall=H, window="W1", state="paused"),
            WindowState(seq=3, ts=ms(30), hall=H, window="W1", state="open"),
            Heartbeat(ts=ms(40), hall=H),
        ]
    )
    (w1,) = city.snapshot(H).windows
    assert w1.open_s == 30 * 60


def test_no_window_is_needed_when_nobody_came_in_the_last_hour() -> None:
    """After closing the last hour is empty: the day's average must not ask for windows."""
    from metrics import figures as fig

    day_open = ms(0)
    assert fig.arrival_rate(0, 300, day_open, ms(9 * 60)) == 0.0  # 18:00, nobody since 17:00
    assert fig.arrival_rate(4, 300, day_open, ms(9 * 60)) == pytest.approx(300 / 9)  # thin
    assert fig.arrival_rate(40, 300, day_open, ms(9 * 60)) == 40.0
    assert fig.arrival_rate(0, 5, day_open, ms(30)) == pytest.approx(10.0)  # first half hour
