"""The M/M/c demo hall agrees with Erlang C, as measured by the real hall state."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import msgspec
import pytest

from feeds.demo.mmc import HALL, MMC, simulate_mmc
from feeds.protocol import TicketCalled, TicketIssued
from metrics.erlang import erlang_c, staffing
from metrics.state import CityState

DAY = dt.date(2025, 11, 24)


def test_parse() -> None:
    assert MMC.parse("2,0.25,10") == MMC(2.0, 0.25, 10)
    for bad in ("2,0.25", "2,x,10", "0,1,2", "3,1,2"):
        with pytest.raises(ValueError):
            MMC.parse(bad)


def test_measured_mean_wait_agrees_with_erlang_c() -> None:
    """A day of ~83 000 tickets at 60% occupancy (λ 60/min, μ 20/min, 5 windows).

    The tolerance comes from the run itself: the standard error of the mean wait by the
    method of batch means (40 batches of ~2 000 consecutive tickets, each ~35 minutes,
    far longer than a busy period, so the batch means are nearly independent); theory
    must lie within 4 standard errors. Across 20 seeds the relative error had a standard
    deviation of 3.6%, so 4 SE is about ±15% here.
    """
    queue = MMC(60.0, 20.0, 5)
    events = simulate_mmc(queue, DAY, 11)
    state = CityState()
    for i in range(0, len(events), 1000):
        batch = [
            msgspec.structs.replace(e, seq=i + k + 1) for k, e in enumerate(events[i : i + 1000])
        ]
        assert state.apply(batch).rejections == []
    hall = state.snapshot(HALL)
    assert hall.waiting == 0 and hall.served_today == hall.issued_today > 80_000

    issued = {e.ticket: e.ts for e in events if isinstance(e, TicketIssued)}
    waits = [(e.ts - issued[e.ticket]) / 1000 for e in events if isinstance(e, TicketCalled)]
    assert hall.mean_wait_s == pytest.approx(statistics.fmean(waits), rel=1e-9)
    size = len(waits) // 40
    means = [statistics.fmean(waits[k * size : (k + 1) * size]) for k in range(40)]
    stderr = statistics.stdev(means) / math.sqrt(len(means))

    theory = staffing(queue.windows, 60 * queue.arrivals_per_min, 60 / queue.services_per_min, 0)
    assert abs(hall.mean_wait_s - theory.mean_wait_seconds) < 4 * stderr
    assert stderr < 0.1 * theory.mean_wait_seconds  # the run is long enough to mean something
    # The share of tickets that wait at all is Erlang C itself.
    waited = sum(w > 0.0005 for w in waits) / len(waits)
    assert waited == pytest.approx(erlang_c(5, 3.0), abs=0.02)
