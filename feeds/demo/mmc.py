"""The M/M/c demo hall: a queue whose mean wait theory knows, to validate the figures.

``demo-feed --mmc LAMBDA,MU,C``: one hall (``mmc``), one zone, C identical windows open
all day, Poisson arrivals at LAMBDA a minute, exponential service at MU a minute per
window, first come first served, no walking time (the call is the service start). The
hall state's mean wait (issue to first call) must then agree with Erlang C
(``metrics.erlang``); the test suite checks it on a full day of tickets.

Imports: feeds.protocol, feeds.hallclock, the standard library.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from dataclasses import dataclass
from typing import Any, Final

from feeds.hallclock import day_start_ms
from feeds.protocol import (
    Event,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
    WindowState,
)

HALL: Final = "mmc"
ZONE: Final = "mmc"


@dataclass(frozen=True, slots=True)
class MMC:
    """An M/M/c queue: rates per minute and the number of windows."""

    arrivals_per_min: float
    services_per_min: float
    """Per window (μ): the mean service time is 1/μ minutes."""
    windows: int

    @classmethod
    def parse(cls, text: str) -> MMC:
        """``LAMBDA,MU,C`` (e.g. ``2,0.25,10``).

        Raises:
            ValueError: when malformed, not positive, or unstable (λ >= c·μ: the queue
                would grow without end and there is no mean wait to check).
        """
        parts = text.split(",")
        if len(parts) != 3:
            raise ValueError(f"expected LAMBDA,MU,C (rates per minute, windows), got {text!r}")
        lam, mu, c = float(parts[0]), float(parts[1]), int(parts[2])
        if lam <= 0 or mu <= 0 or c < 1:
            raise ValueError("LAMBDA and MU must be > 0 and C >= 1")
        if lam >= c * mu:
            raise ValueError(f"unstable: LAMBDA {lam} >= C*MU {c * mu}; the queue never settles")
        return cls(lam, mu, c)


def simulate_mmc(
    queue: MMC, day: dt.date, seed: int, *, open_h: float = 0.0, close_h: float = 23.0
) -> list[Event]:
    """One day of the M/M/c hall, sorted by ``ts`` (``seq=0``: the server assigns seqs).

    Tickets arrive from ``open_h`` to ``close_h`` (hours after local midnight); the
    windows open at ``open_h`` and close once the queue is served.
    """
    rng = random.Random(f"mmc:{seed}:{day.isoformat()}")
    t0 = day_start_ms(day)
    start, end = open_h * 3600.0, close_h * 3600.0
    events: list[Event] = []

    def emit(cls: type[Any], t: float, **fields: Any) -> None:
        events.append(cls(seq=0, ts=t0 + round(t * 1000), hall=HALL, **fields))

    names = [f"W{i + 1:02d}" for i in range(queue.windows)]
    for name in names:
        emit(WindowState, start, window=name, state="open", staff=f"s{name[1:]}")
    free = [(start, i) for i in range(queue.windows)]  # (free from, window): FCFS, idlest
    lam, mu = queue.arrivals_per_min / 60.0, queue.services_per_min / 60.0
    t, n = start, 0
    while True:
        t += rng.expovariate(lam)
        if t >= end:
            break
        n += 1
        ticket = f"M{n:06d}"
        emit(TicketIssued, t, ticket=ticket, zone=ZONE, item="mmc")
        at, w = heapq.heappop(free)
        begin = max(at, t)
        finish = begin + rng.expovariate(mu)
        emit(TicketCalled, begin, ticket=ticket, window=names[w])
        emit(ServiceStarted, begin, ticket=ticket, window=names[w])
        emit(ServiceFinished, finish, ticket=ticket, window=names[w], outcome="done")
        heapq.heappush(free, (finish, w))
    last = max(at for at, _ in free)
    for name in names:
        emit(WindowState, last, window=name, state="closed", staff=f"s{name[1:]}")
    events.sort(key=lambda e: e.ts)
    return events
