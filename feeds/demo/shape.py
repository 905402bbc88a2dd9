"""The shape of a demo hall's day: opening periods, phases, arrivals, fake visitors.

``DayShape`` knows a day's opening periods and answers what the simulation asks of the
clock: the phase at a moment (before opening, open, draining the queue after a period,
lunch, closed), the n-th second of opening hours, the relative arrival rate (an opening
surge, a morning peak, a lunch dip, an afternoon peak) and the arrival times of a
non-homogeneous Poisson day; it also draws fake resident ID numbers (valid check digit)
for the visitors. ``feeds.demo.hall`` builds on it.

Imports: the standard library only.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Final

#: After a non-final opening period ends, windows keep calling for at most this long.
DRAIN_S: Final = 30 * 60
#: Windows may open this much before the opening time (staff are at their desks).
_EARLY_S: Final = 120.0
_MIN: Final = 60.0
_HOUR: Final = 3600.0
#: Relative arrival rate over the day (hour, weight), interpolated linearly.
_RATE_KNOTS: Final = (
    (7.0, 0.3), (9.0, 0.9), (10.0, 1.5), (11.0, 1.25), (12.0, 0.6), (13.0, 0.6),
    (14.0, 1.0), (15.0, 1.15), (16.0, 0.95), (17.0, 0.45), (19.0, 0.3),
)  # fmt: skip
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


class DayShape:
    """A day's opening periods (seconds after local midnight) and its random stream."""

    def __init__(
        self, hours: tuple[tuple[dt.time, dt.time], ...], rng: random.Random, arrivals: float
    ) -> None:
        """Args:
        hours: Opening periods, e.g. 09:00-12:00 and 13:00-17:00.
        rng: The day's random stream (shared with the simulation: one seed, one day).
        arrivals: Expected tickets issued that day.
        """
        self.rng = rng
        self.periods = [(_secs(a), _secs(b)) for a, b in hours]
        self.close = self.periods[-1][1]
        self.arrivals = arrivals

    def phase(self, t: float) -> str:
        """``before`` | ``open`` | ``drain`` (after a period) | ``lunch`` | ``closed``."""
        for i, (a, b) in enumerate(self.periods):
            if t < a - _EARLY_S:
                return "before" if i == 0 else "lunch"
            if t < b:
                return "open"
            if i + 1 < len(self.periods) and t < min(
                b + DRAIN_S, self.periods[i + 1][0] - _EARLY_S
            ):
                return "drain"
        return "closed"

    def next_start(self, t: float) -> float:
        """The next opening after ``t`` (the closing time when there is none)."""
        return next((a for a, _ in self.periods if a > t), self.close)

    def open_time(self, offset: float) -> float:
        """The moment ``offset`` seconds of opening hours after the first opening."""
        for a, b in self.periods:
            if offset < b - a:
                return a + offset
            offset -= b - a
        return self.close - 1

    def poisson(self, mean: float) -> int:
        n, total = 0, self.rng.expovariate(1.0)
        while total < mean:
            n += 1
            total += self.rng.expovariate(1.0)
        return n

    def rate(self, t: float) -> float:
        """Relative arrival rate at ``t``: 0 when no ticket can be taken."""
        for i, (a, b) in enumerate(self.periods):
            lead = 20 * _MIN if i == 0 else 15 * _MIN
            if a - lead <= t < b:
                surge = (1.2 if i == 0 else 0.5) * min(1.0, max(0.0, (a + 20 * _MIN - t) / 1200))
                return _interpolate(t / _HOUR) + surge
        return 0.0

    def arrival_times(self) -> list[float]:
        """Non-homogeneous Poisson arrivals by thinning, scaled to the day's arrivals."""
        start = max(self.periods[0][0] - 20 * _MIN, 0.0)
        grid = [self.rate(start + 30 * k) for k in range(int((self.close - start) / 30))]
        peak, total = max(grid) * 1.05, sum(grid) * 30
        times: list[float] = []
        t = start
        rate_max = self.arrivals * peak / total
        while True:
            t += self.rng.expovariate(rate_max)
            if t >= self.close:
                return times
            if self.rng.random() * peak < self.rate(t):
                times.append(t)

    def fake_id(self, area_code: str) -> str:
        """A fake 18-character resident ID number (area, birth date, serial, check digit)."""
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=self.rng.randrange(20000))
        body = f"{area_code}{birth:%Y%m%d}{self.rng.randrange(1000):03d}"
        check = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11
        return body + "10X98765432"[check]


def _secs(t: dt.time) -> float:
    return t.hour * _HOUR + t.minute * _MIN + t.second


def _interpolate(hour: float) -> float:
    knots = _RATE_KNOTS
    if hour <= knots[0][0]:
        return knots[0][1]
    for (h0, w0), (h1, w1) in itertools.pairwise(knots):
        if hour <= h1:
            return w0 + (w1 - w0) * (hour - h0) / (h1 - h0)
    return knots[-1][1]
