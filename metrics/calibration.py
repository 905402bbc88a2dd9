"""How well the expected wait forecasts: each ticket's forecast at its issue against the
wait it then had, and the same for the naive forecast "the last hour's mean wait".

For every ticket of a day: the zone's expected wait as it stood just before the ticket
was issued (``HallState.expected_wait``, recorded at every issue in the day column
``d_issued_forecast`` by a state replaying the day with ``record_forecasts``: the same
function over the same state as the console's, so what it showed for "a ticket issued
now" at that moment) and the
baseline, the mean wait of the zone's tickets first called in the hour before the issue
(``ZoneSnapshot.hour.mean_s`` just before), each against the ticket's realized wait
(issue to first call, as ``hall_wait_seconds``). Tickets never called (they left or
expired, or still wait) have no realized wait: they are counted, not measured. Both
forecasts are measured on the same tickets, those where both have a value; tickets
without one are counted. The figures are the bias (mean of forecast − realized), the
mean absolute error and the share within ±5 minutes (docs/figures.md, "Calibration").

Errors are kept as sums (``Accuracy``) so zones make the hall and days make a month.
The day report (``reports``) and ``bench/calibration.py`` read them; vectorized over the
day's columns, one call per hall and day.

Imports: feeds (hall clock, protocol), metrics.hall, numpy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from feeds.hallclock import day_start_ms
from feeds.protocol import Event
from metrics.hall import HallState

if TYPE_CHECKING:  # (metrics.state imports this module)
    from metrics.state import CityState

Array = npt.NDArray[Any]

HOUR_MS: Final = 3_600_000
WITHIN_S: Final = 300.0
"""A forecast within this many seconds of the realized wait (either way) is on target."""


class Accuracy(NamedTuple):
    """The errors (forecast − realized wait) of one forecast over some tickets, as sums."""

    tickets: int = 0
    error_s: float = 0.0
    """Errors added up (seconds): positive when the forecast said longer."""
    abs_error_s: float = 0.0
    within: int = 0
    """Errors within ±``WITHIN_S``."""

    @property
    def bias_s(self) -> float | None:
        """Mean error; None over no ticket."""
        return self.error_s / self.tickets if self.tickets else None

    @property
    def mae_s(self) -> float | None:
        """Mean absolute error; None over no ticket."""
        return self.abs_error_s / self.tickets if self.tickets else None

    @property
    def within_share(self) -> float | None:
        """Share of the errors within ±5 minutes; None over no ticket."""
        return self.within / self.tickets if self.tickets else None

    def plus(self, other: Accuracy) -> Accuracy:
        """Both sets of tickets together."""
        return Accuracy(
            self.tickets + other.tickets,
            self.error_s + other.error_s,
            self.abs_error_s + other.abs_error_s,
            self.within + other.within,
        )


class Calibration(NamedTuple):
    """The calibration of one zone (or hall) over one day (or more, added up)."""

    issued: int = 0
    called: int = 0
    """Tickets with a realized wait (first called, a no-show too)."""
    not_called: int = 0
    """Tickets never called (left, expired, or waiting still): no realized wait."""
    no_forecast: int = 0
    """Called tickets without an expected wait at their issue (no open window calling
    the zone, or too few calls of it ended yet): left out of both measures."""
    no_baseline: int = 0
    """Called tickets whose zone had no wait ended in the hour before their issue
    (the baseline had nothing to say): left out of both measures."""
    forecast: Accuracy = Accuracy()
    """The expected wait, over the tickets with both forecasts."""
    baseline: Accuracy = Accuracy()
    """The last hour's mean wait, over the same tickets."""

    def plus(self, other: Calibration) -> Calibration:
        """Both sets of tickets together (zones into a hall, days into a month)."""
        return Calibration(
            self.issued + other.issued,
            self.called + other.called,
            self.not_called + other.not_called,
            self.no_forecast + other.no_forecast,
            self.no_baseline + other.no_baseline,
            self.forecast.plus(other.forecast),
            self.baseline.plus(other.baseline),
        )

    @property
    def beats_baseline(self) -> bool | None:
        """The forecast's mean absolute error is below the baseline's and its share within
        ±5 minutes not below; None over no ticket."""
        f, b = self.forecast, self.baseline
        if not f.tickets or f.mae_s is None or b.mae_s is None:
            return None
        return f.mae_s < b.mae_s and f.within >= b.within


@dataclass(frozen=True, slots=True)
class HallCalibration:
    """One hall's calibration: per zone (by name, zones with tickets), and the hall."""

    zones: dict[str, Calibration]
    hall: Calibration


def calibrate(
    issued_ts: Array,
    zone: Array,
    forecast_s: Array,
    first_call_ts: Array,
    wait_ts: Array,
    wait_zone: Array,
    wait_ms: Array,
    zones: int,
) -> list[Calibration]:
    """Per zone ``0..zones-1``, the calibration of the tickets of one day.

    Args:
        issued_ts: Per ticket, its issue (ms, hall clock).
        zone: Per ticket, its zone.
        forecast_s: Per ticket, the expected wait at its issue (seconds; < 0: none).
        first_call_ts: Per ticket, its first call (ms); < 0 when never called.
        wait_ts: Per wait ended (first call), when (ms): the baseline's input.
        wait_zone: Per wait ended, its zone.
        wait_ms: Per wait ended, issue to first call (ms).
        zones: How many zones.
    """
    issued_ts = np.asarray(issued_ts, np.int64)
    zone = np.asarray(zone, np.int64)
    called = np.asarray(first_call_ts, np.int64) >= 0
    realized_s = np.maximum(np.asarray(first_call_ts, np.int64) - issued_ts, 0) / 1000.0
    forecast_s = np.asarray(forecast_s, np.float64)
    baseline_s = hour_mean_wait(issued_ts, zone, wait_ts, wait_zone, wait_ms)
    has_forecast = forecast_s >= 0
    has_baseline = ~np.isnan(baseline_s)
    both = called & has_forecast & has_baseline

    def count(mask: Array) -> list[int]:
        return np.bincount(zone[mask], minlength=zones).tolist()  # type: ignore[no-any-return]

    def accuracy(predicted: Array) -> list[Accuracy]:
        error = predicted[both] - realized_s[both]
        at = zone[both]
        sums = np.bincount(at, weights=error, minlength=zones).tolist()
        abs_sums = np.bincount(at, weights=np.abs(error), minlength=zones).tolist()
        within = np.bincount(at[np.abs(error) <= WITHIN_S], minlength=zones).tolist()
        return [Accuracy(n, s, a, w) for n, s, a, w in
                zip(count(both), sums, abs_sums, within, strict=True)]  # fmt: skip

    all_tickets = np.ones(len(zone), bool)
    return [
        Calibration(*row)
        for row in zip(
            count(all_tickets),
            count(called),
            count(~called),
            count(called & ~has_forecast),
            count(called & ~has_baseline),
            accuracy(forecast_s),
            accuracy(baseline_s),
            strict=True,
        )
    ]


def hour_mean_wait(
    at_ms: Array, zone: Array, wait_ts: Array, wait_zone: Array, wait_ms: Array
) -> Array:
    """Per (moment, zone), the mean wait (seconds) of the zone's waits that ended in the
    hour before the moment, ``[at - 1 h, at)`` in ms: ``ZoneSnapshot.hour`` a millisecond
    before (a call at the moment itself may be of the very ticket issued then: its own
    wait is no forecast of it). NaN where none did. One sort of the waits by (zone, end),
    two binary searches."""
    at_ms = np.asarray(at_ms, np.int64)
    zone = np.asarray(zone, np.int64)
    wait_ts = np.asarray(wait_ts, np.int64)
    wait_zone = np.asarray(wait_zone, np.int64)
    wait_ms = np.asarray(wait_ms, np.int64)
    out = np.full(len(at_ms), np.nan)
    if not len(wait_ts) or not len(at_ms):
        return out
    low = min(int(wait_ts.min()), int(at_ms.min()) - HOUR_MS)
    span = max(int(wait_ts.max()), int(at_ms.max())) - low + 1
    key = wait_zone * span + (wait_ts - low)
    order = np.argsort(key, kind="stable")
    key = key[order]
    sums = np.concatenate(([0], np.cumsum(wait_ms[order])))  # exact: int64
    base = zone * span - low
    lo = np.searchsorted(key, base + at_ms - HOUR_MS, side="left")
    hi = np.searchsorted(key, base + at_ms, side="left")
    n = hi - lo
    some = n > 0
    out[some] = (sums[hi[some]] - sums[lo[some]]) / n[some] / 1000.0
    return out


def day_calibration(h: HallState) -> HallCalibration:
    """The calibration of ``h``'s service day so far (its tickets and waits till now).

    Raises:
        ValueError: ``h`` does not record forecasts (``CityState(record_forecasts=True)``),
            did not from the day's first ticket, or its columns disagree.
    """
    h.flush()
    names = h.zones.names
    tickets = h.tickets
    first_call = np.fromiter((t.first_call for t in tickets.values()), np.int64, len(tickets))
    issued_ts, zone = h.d_issued_ts.view(), h.d_issued_zone.view()
    forecast = h.d_issued_forecast.view()
    if not len(first_call) == len(issued_ts) == len(forecast):
        raise ValueError(
            f"hall {h.hall}: {len(tickets)} tickets, {len(issued_ts)} issues, "
            f"{len(forecast)} forecasts recorded (a state made with "
            "CityState(record_forecasts=True) before the day's first ticket)"
        )
    per_zone = calibrate(
        issued_ts, zone, forecast, first_call,
        h.d_wait_ts.view(), h.d_wait_zone.view(), h.d_wait_ms.view(), len(names),
    )  # fmt: skip
    total = Calibration()
    for c in per_zone:
        total = total.plus(c)
    return HallCalibration(
        {name: c for name, c in zip(names, per_zone, strict=True) if c.issued}, total
    )


def calibrate_days(
    state: CityState, events: Sequence[Event], days: Iterable[dt.date]
) -> list[tuple[dt.date, dict[str, HallCalibration]]]:
    """Apply ``events`` (sorted by ts) day by day to ``state`` (made with
    ``record_forecasts``), 1000 a batch as ``serve`` does; each day's calibration per hall
    that is on that day, taken after its last event (before the next day starts). The
    replay of ``bench/calibration.py`` and of the tests."""
    out = []
    i = 0
    for day in days:
        end = day_start_ms(day + dt.timedelta(days=1))
        j = i
        while j < len(events) and events[j].ts < end:
            j += 1
        for k in range(i, j, 1000):
            state.apply(events[k : min(k + 1000, j)])
        halls = sorted(state.halls.items())
        out.append(
            (day, {name: day_calibration(h) for name, h in halls if h.day == day.isoformat()})
        )
        i = j
    return out
