"""The expected wait's calibration (``metrics.calibration``; docs/figures.md,
"Calibration"): a small day by hand, the forecasts it measures are the ones the console
showed, and on the demo city and the M/M/c hall the forecast beats the last hour's mean.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from feeds.demo.city import city
from feeds.demo.hall import simulate_days
from feeds.demo.mmc import MMC, simulate_mmc
from feeds.protocol import Event, Heartbeat, TicketIssued
from metrics.calibration import (
    Accuracy,
    Calibration,
    calibrate,
    calibrate_days,
    day_calibration,
    hour_mean_wait,
)
from metrics.snapshot import ZoneSnapshot
from metrics.state import CityState
from tests.factories import T0

M = 60_000  # a minute in ms
DAY = dt.date(2025, 11, 24)


def at(minutes: float) -> int:
    return T0 + int(minutes * M)


def test_a_day_by_hand() -> None:
    # zone 0 unless said; (issued min, forecast s or -1 for none, first call min or None).
    # The baseline: the mean wait of the zone's waits ended in [issue − 1 h, issue).
    #   t1   0, none, 5     realized 300 s; no wait ended before: no baseline either
    #   t2  10, 240, 16     realized 360; baseline: t1's 300 (ended at 5)
    #   t3  20, 900, 22     realized 120; baseline: t1 300, t2 360 → 330
    #   t4  30,  60, never  left: not called
    #   t5  70,   0, 71     zone 1: realized 60; zone 1 had no wait ended: no baseline
    #   t6  80, 100, 90     realized 600; baseline [20, 80): t3's 120 only
    #   t7  82,  50, 95     realized 780; baseline [22, 82): t3's, ended exactly an hour before
    #   t8 100,   0, 100    called at once: realized 0; baseline [40, 100): t6 600, t7 780 →
    #                       690 (its own wait, ended at 100, is not its forecast)
    issued = [at(m) for m in (0, 10, 20, 30, 70, 80, 82, 100)]
    zone = [0, 0, 0, 0, 1, 0, 0, 0]
    forecast = [-1.0, 240.0, 900.0, 60.0, 0.0, 100.0, 50.0, 0.0]
    first_call = [at(5), at(16), at(22), -1, at(71), at(90), at(95), at(100)]
    ended = [(t, z, c - t) for t, z, c in zip(issued, zone, first_call, strict=True) if c >= 0]
    ended.sort(key=lambda w: w[0] + w[2])
    wait_ts = [t + w for t, _, w in ended]
    wait_zone = [z for _, z, _ in ended]
    wait_ms = [w for _, _, w in ended]
    z0, z1 = calibrate(issued, zone, forecast, first_call, wait_ts, wait_zone, wait_ms, 2)
    # Compared: t2, t3, t6, t7, t8. Forecast errors −120, +780, −500, −730, 0: sum −570,
    # absolute 2130, within ±5 min t2 and t8. Baseline errors 300 − 360 = −60, 330 − 120
    # = +210, 120 − 600 = −480, 120 − 780 = −660, 690 − 0 = +690: sum −300, absolute 2100,
    # within t2 and t3.
    assert z0 == Calibration(
        issued=7, called=6, not_called=1, no_forecast=1, no_baseline=1,
        forecast=Accuracy(5, -570.0, 2130.0, 2), baseline=Accuracy(5, -300.0, 2100.0, 2),
    )  # fmt: skip
    assert z0.forecast.bias_s == -114.0 and z0.baseline.bias_s == -60.0
    assert (z0.forecast.mae_s, z0.baseline.mae_s) == (426.0, 420.0)
    assert z0.forecast.within_share == z0.baseline.within_share == 0.4
    assert z0.beats_baseline is False  # on this day the naive forecast did (just) better
    assert z1 == Calibration(issued=1, called=1, no_baseline=1)
    assert z1.beats_baseline is None and z1.forecast.bias_s is None
    # Zones add up into the hall.
    hall = z0.plus(z1)
    assert (hall.issued, hall.called, hall.no_baseline, hall.forecast) == (8, 7, 2, z0.forecast)


def test_the_baseline_window_is_the_hour_before_the_moment() -> None:
    # Waits of zone 0 ended at 0, 30 and 60 min (300, 600, 900 s); one of zone 1 at 30.
    wait_ts, wait_zone = [at(0), at(30), at(30), at(60)], [0, 1, 0, 0]
    wait_ms = [300_000, 60_000, 600_000, 900_000]
    moments = [at(-1), at(0), at(1), at(59), at(60), at(60), at(90), at(121)]
    got = hour_mean_wait(moments, [0, 0, 0, 0, 0, 1, 0, 0], wait_ts, wait_zone, wait_ms)
    # [−61, −1): none; [−60, 0): none (the wait ended at 0 is not before 0); [−59, 1): 300;
    # [−1, 59): 300, 600; [0, 60): 300 (exactly an hour before), 600, not 900 (at 60);
    # zone 1 [0, 60): 60; [30, 90): 600, 900; [61, 121): none.
    assert np.isnan(got[[0, 1, 7]]).all()
    assert got[2:7].tolist() == [300.0, 450.0, 450.0, 60.0, 750.0]


def feed_days(events: list[Event], days: list[dt.date]) -> list[dict]:
    """Each day's calibration per hall, the events applied 1000 at a time (as serve)."""
    return [
        per_hall for _, per_hall in calibrate_days(CityState(record_forecasts=True), events, days)
    ]


def test_it_measures_what_the_console_showed_at_each_issue() -> None:
    # A demo hall's first 90 minutes. At each ticket's issue, two snapshots: a millisecond
    # before (the events of earlier milliseconds applied): its last-hour mean wait
    # (ZoneSnapshot.hour) is the baseline; then at the issue (the events before it
    # applied, the hall clock at its ts): its expected wait is the recorded forecast.
    profile = city(3)[1]  # county-a, Luozhuang's shape
    events = [e for e in simulate_days([profile], DAY, 1, 3) if e.ts < T0 + 90 * M]
    state = CityState(record_forecasts=True)
    shown: list[tuple[float, float]] = []
    start = 0

    def zone(name: str, hall: str) -> ZoneSnapshot | None:
        return next((z for z in state.snapshot(hall).zones if z.name == name), None)

    for i, ev in enumerate(events):
        if not isinstance(ev, TicketIssued):
            continue
        same_ms = start
        while events[same_ms].ts < ev.ts:
            same_ms += 1
        state.apply([*events[start:same_ms], Heartbeat(ts=ev.ts - 1, hall=ev.hall)])
        before = zone(ev.zone, ev.hall)
        state.apply([*events[same_ms:i], Heartbeat(ts=ev.ts, hall=ev.hall)])
        start = i
        now = zone(ev.zone, ev.hall)
        if before is None or now is None:  # the zone's first ticket: nothing known of it
            shown.append((-1.0, np.nan))
            continue
        wait, mean = now.expected_wait_s, before.hour.mean_s
        shown.append((-1.0 if wait is None else wait, np.nan if mean is None else mean))
    state.apply(events[start:])
    h = state.halls[profile.hall]
    h.flush()
    assert len(shown) == len(h.d_issued_forecast) > 100
    assert h.d_issued_forecast.view().tolist() == pytest.approx([f for f, _ in shown])
    baseline = hour_mean_wait(
        h.d_issued_ts.view(), h.d_issued_zone.view(),
        h.d_wait_ts.view(), h.d_wait_zone.view(), h.d_wait_ms.view(),
    )  # fmt: skip
    np.testing.assert_allclose(baseline, [b for _, b in shown], rtol=1e-12)
    assert sum(f > 0 for f, _ in shown) > 50 and sum(b >= 0 for _, b in shown) > 50


@pytest.mark.parametrize("spec", ["2,0.25,10", "2.4,0.25,10"])
def test_it_beats_the_last_hours_mean_on_the_mmc_hall(spec: str) -> None:
    (day,) = feed_days(simulate_mmc(MMC.parse(spec), DAY, 3), [DAY])
    c = day["mmc"].hall
    assert c.forecast.tickets > 2500 and c.no_forecast < 20
    assert c.beats_baseline is True
    assert c.forecast.mae_s is not None and c.forecast.mae_s < 90  # ρ 0.8: ~13 s, 0.96: ~55 s
    assert abs(c.forecast.bias_s or 0) < 15


def test_it_beats_the_last_hours_mean_on_the_demo_city() -> None:
    days = [DAY, DAY + dt.timedelta(days=1)]
    per_day = feed_days(simulate_days(city(3), DAY, 2, 3), days)
    total = Calibration()
    for day in per_day:
        for cal in day.values():
            total = total.plus(cal.hall)
            assert sum(z.issued for z in cal.zones.values()) == cal.hall.issued
    assert total.forecast.tickets > 3500
    assert total.beats_baseline is True
    f, b = total.forecast, total.baseline
    assert f.mae_s is not None and b.mae_s is not None and f.mae_s < 0.75 * b.mae_s
    assert abs(f.bias_s or 0) < abs(b.bias_s or 0)


def test_serve_records_no_forecast_and_says_so() -> None:
    # A state as serve makes it records nothing at each issue (the forecast costs ~1 µs a
    # ticket); the calibration of such a day is refused, not made up.
    state = CityState()
    state.apply(simulate_days(city(3)[1:2], DAY, 1, 3)[:500])
    (h,) = state.halls.values()
    h.flush()
    assert len(h.d_issued_ts) > 50 and len(h.d_issued_forecast) == 0
    with pytest.raises(ValueError, match="record_forecasts=True"):
        day_calibration(h)
