"""Every figure of docs/figures.md against hand-computed values for one scripted day.

The script (hall-clock minutes after 09:00 CST; W01/W02 open at 0 with staff s1/s2):
  1 B001 biz, 2 B002 biz, 3 E001 estate (priority), 4 B003 biz issued
  5 W01 calls B001 (waited 4 min); 6 starts it (walked 1 min)
  8 W02 calls B002 (waited 6 min); 9 starts it; 10 transfers it back to the queue
  11 W02 calls E001 (waited 8 min); 13 E001 no-show; 14 W02 pauses
  15 W01 finishes B001 (done, 9 min); 16 W01 calls B002, 17 recalls it, 18 starts it
  19 two ratings at W01: 5 and 2; 20 B004 biz issued; 21 B003 leaves (uncalled)
  60 B005 biz issued; 69 heartbeat: the hall clock reads 10:09.
(Built by ``tests.factories.figures_day``.)
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
from metrics.erlang import windows_needed
from metrics.state import CityState, Settings
from tests.factories import H, Script, figures_day, ms

MIN = 60.0


@pytest.fixture(scope="module")
def snap():
    # estate's own limit is 7 minutes: E001's 8-minute wait is outside it.
    city = CityState(Settings(zone_wait_limits={"estate": 7 * MIN}))
    assert city.apply(figures_day()).rejections == []
    return city.snapshot(H)


def zone(s, name):
    return next(z for z in s.zones if z.name == name)


def window(s, name):
    return next(w for w in s.windows if w.name == name)


def test_queue_figures(snap) -> None:
    biz = zone(snap, "biz")
    assert biz.waiting == 2 and biz.oldest_ticket == "B004"
    assert biz.longest_wait_s == 49 * MIN  # B004 since minute 20
    assert biz.called_not_started == 0 and biz.serving == 1  # B002 at W01
    assert (biz.arrivals_15m, biz.arrivals_60m) == (1, 2)  # B005; B004 and B005
    assert (snap.arrivals_15m, snap.arrivals_60m) == (1, 2)


def test_day_waits_percentiles_and_service_level(snap) -> None:
    biz, estate = zone(snap, "biz"), zone(snap, "estate")
    # biz waits 4 and 6 min: p90 = 4 + 0.9·2 min, p99 = 4 + 0.99·2 min.
    assert biz.day.count == 2
    assert biz.day.mean_s == biz.mean_wait_s == 5 * MIN
    assert biz.day.p50_s == 5 * MIN
    assert biz.day.p90_s == pytest.approx(5.8 * MIN) and biz.p90_wait_s == biz.day.p90_s
    assert biz.day.p99_s == pytest.approx(5.98 * MIN)
    assert biz.day.service_level == 1.0 and biz.wait_limit_s == 30 * MIN
    assert estate.day.service_level == 0.0 and estate.wait_limit_s == 7 * MIN
    # The hall: 4, 6, 8 min; each against its own zone's limit.
    hall = snap.day_waits
    assert (hall.count, hall.mean_s, hall.p50_s) == (3, 6 * MIN, 6 * MIN)
    assert hall.p90_s == pytest.approx(7.6 * MIN) and hall.p99_s == pytest.approx(7.96 * MIN)
    assert hall.service_level == pytest.approx(2 / 3)


def test_rolling_hour_waits(snap) -> None:
    # The hour is (09:09, 10:09]: only E001, first called at 09:11.
    assert zone(snap, "biz").hour.count == 0 and zone(snap, "biz").hour.mean_s is None
    estate = zone(snap, "estate").hour
    assert (estate.count, estate.p99_s, estate.service_level) == (1, 8 * MIN, 0.0)
    assert snap.hour_waits.count == 1


def test_no_show_and_abandonment_rates(snap) -> None:
    biz, estate = zone(snap, "biz"), zone(snap, "estate")
    # biz: waits ended = 2 first calls + B003 leaving uncalled = 3; one left.
    assert (biz.no_show_today, biz.left_today, biz.expired_today) == (0, 1, 0)
    assert biz.no_show_rate == 0.0 and biz.abandonment_rate == pytest.approx(1 / 3)
    assert estate.no_show_rate == 1.0 and estate.abandonment_rate == 0.0
    assert snap.no_show_rate == 0.25 and snap.abandonment_rate == 0.25


def test_windows(snap) -> None:
    w1, w2 = window(snap, "W01"), window(snap, "W02")
    assert w1.open_s == 69 * MIN
    assert w1.serving_s == 9 * MIN + 51 * MIN  # B001, and B002 in progress since 18
    assert w1.utilization == pytest.approx(60 / 69)
    assert w1.idle_waiting_s == 1 * MIN  # free 15-16 while B002 and B003 waited
    assert (w1.walks, w1.walk_mean_s) == (2, 1.5 * MIN)  # 1 min; 2 min (recall kept)
    assert (w1.ratings_today, w1.rating_mean, w1.bad_ratings_today) == (2, 3.5, 1)
    assert w1.outcomes["done"] == 1 and w1.services_last_hour == 0 + 1  # B001 at 15
    assert (w1.mean_service_s, w1.p90_service_s) == (9 * MIN, 9 * MIN)
    assert w2.open_s == 14 * MIN and w2.serving_s == 1 * MIN
    assert w2.utilization == pytest.approx(1 / 14)
    assert w2.idle_waiting_s == 2 * MIN  # 10-11 and 13-14, B003 waiting
    assert (w2.walks, w2.walk_mean_s) == (1, 1 * MIN)
    assert w2.outcomes["transferred"] == 1 and w2.zones == ("biz", "estate")


def test_staff(snap) -> None:
    s1, s2 = snap.staff
    assert (s1.name, s1.window, s1.services_today, s1.mean_service_s) == ("s1", "W01", 1, 540)
    assert (s1.walks, s1.walk_mean_s, s1.rating_mean, s1.bad_ratings_today) == (2, 90, 3.5, 1)
    assert (s2.name, s2.window, s2.outcomes["transferred"], s2.ratings_today) == ("s2", "W02", 1, 0)
    assert (s1.open_s, s1.serving_s, s1.idle_waiting_s) == (69 * MIN, 60 * MIN, 1 * MIN)
    assert (s2.open_s, s2.serving_s, s2.idle_waiting_s) == (14 * MIN, 1 * MIN, 2 * MIN)


def test_day_curves(snap) -> None:
    biz, estate = zone(snap, "biz"), zone(snap, "estate")
    assert snap.curve_start_ms == ms(0)
    assert biz.curve_arrivals == (3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0)
    assert biz.curve_waiting == (3, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2)
    assert estate.curve_arrivals == (1,) + (0,) * 13
    assert estate.curve_waiting == (1, 1) + (0,) * 12


def test_forecast_and_windows_needed(snap) -> None:
    biz, estate = zone(snap, "biz"), zone(snap, "estate")
    # Only 2 calls of biz ended (B002 transferred at 10, B001 finished at 15), 1 of
    # estate (E001's no-show): fewer than MIN_CYCLES, no forecast (tests/metrics/
    # test_forecast.py works the forecast out on a longer morning).
    assert biz.expected_wait_s is None and estate.expected_wait_s is None
    # Thin hour (2 arrivals): the day's rate, 5 tickets in 69 min; service (9 + 1) / 2 min.
    assert biz.arrivals_per_hour == pytest.approx(5 / (69 / 60))
    assert biz.mean_service_s == 5 * MIN
    assert biz.windows_needed == windows_needed(5 / (69 / 60), 300, 1800, 0.9) == 1
    assert estate.windows_needed is None  # no service time known
    assert biz.windows_open == 1


def test_busy_hour_needs_erlang_c_windows() -> None:
    """12 arrivals per 5 minutes for an hour after an hour open, 10-minute services."""
    e = Script()
    events = [e(WindowState, ms(0), window="W01", state="open", staff="s1")]
    for i in range(144):  # one every 50 s up to minute 120: 72 per hour
        events.append(e(TicketIssued, ms(seconds=(i + 1) * 50), ticket=f"T{i:03}", zone="biz"))
    for i in range(6):  # six 10-minute services finished at W01 in the last hour
        t = f"T{i:03}"
        events.append(e(ServiceStarted, ms(60 + 10 * i), ticket=t, window="W01"))
        events.append(e(ServiceFinished, ms(70 + 10 * i), ticket=t, window="W01", outcome="done"))
    events.sort(key=lambda ev: ev.ts)
    events.append(e(Heartbeat, ms(120)))
    city = CityState()
    assert city.apply(events).rejections == []
    biz = zone(city.snapshot(H), "biz")
    assert biz.arrivals_60m == 72 and biz.arrivals_per_hour == 72.0
    # 72/h x 600 s = 12 erlangs; 90 % within 30 min.
    assert biz.windows_needed == windows_needed(72, 600, 1800, 0.9) == 13
    assert biz.windows_open == 1


def test_day_change_resets_day_figures_not_counters() -> None:
    e = Script()
    city = CityState()
    day2 = 24 * 60
    city.apply(
        [
            *figures_day(),
            e(TicketIssued, ms(day2 + 10), ticket="B001", zone="biz"),
            e(Heartbeat, ms(day2 + 20)),
        ]
    )
    s = city.snapshot(H)
    biz = zone(s, "biz")
    assert s.day == "2025-11-25" and biz.issued_today == 1 and biz.day.count == 0
    assert s.counters.issued[0] == 6  # five yesterday, one today
    w1 = window(s, "W01")  # open since yesterday: open time counts from midnight
    assert w1.open_s == (9 * 60 + 20) * MIN and w1.serving_s == 0.0
    assert biz.curve_arrivals[0] == 1 and s.curve_start_ms == ms(day2 + 10)


def test_staff_time_follows_the_ab_post_change() -> None:
    """s1 opens W01; at 20 the B post, s2, takes over the open window (AB岗)."""
    e = Script()
    events = [
        e(WindowState, ms(0), window="W01", state="open", staff="s1"),
        e(TicketIssued, ms(1), ticket="T1", zone="biz"),
        e(TicketCalled, ms(2), ticket="T1", window="W01"),
        e(ServiceStarted, ms(3), ticket="T1", window="W01"),
        e(ServiceFinished, ms(13), ticket="T1", window="W01", outcome="done"),
        e(TicketIssued, ms(14), ticket="T2", zone="biz"),  # W01 free: idle from 14
        e(WindowState, ms(20), window="W01", state="open", staff="s2"),
        e(TicketCalled, ms(25), ticket="T2", window="W01"),
        e(ServiceStarted, ms(26), ticket="T2", window="W01"),
        e(Heartbeat, ms(40)),
    ]
    city = CityState()
    assert city.apply(events).rejections == []
    s = city.snapshot(H)
    s1, s2 = s.staff
    assert (s1.name, s1.window, s1.open_s, s1.serving_s) == ("s1", None, 20 * MIN, 10 * MIN)
    assert (s1.idle_waiting_s, s1.utilization) == (6 * MIN, 0.5)
    assert (s2.name, s2.window, s2.open_s, s2.serving_s) == ("s2", "W01", 20 * MIN, 14 * MIN)
    assert (s2.idle_waiting_s, s2.utilization) == (5 * MIN, 0.7)
    w1 = window(s, "W01")
    assert (w1.open_s, w1.serving_s, w1.idle_waiting_s) == (40 * MIN, 24 * MIN, 11 * MIN)
