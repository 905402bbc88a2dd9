"""Figures benchmark: state-update cost per event, snapshot build, and /metrics scrape time.

1. Update: the demo city's simulated day (``feeds.demo.hall``: tickets, calls, services,
   ratings, cases, complaints) applied to a fresh ``CityState`` in batches of 1, 100 and
   1000 events. "apply" is ``CityState.apply`` alone (numpy flushes amortised as in
   production: at 20 000 buffered observations or before a snapshot); "apply+flush" also
   flushes every touched hall after every batch (the worst case: a snapshot per batch).
2. Snapshot: building the frozen snapshot of every hall (the read side: percentiles,
   curves, forecast, windows needed).
3. Scrape: 100 halls x 30 windows x 4 zones x 30 staff, a full service day each; the
   Prometheus text rendered from the snapshots (``metrics.exposition.render``, what
   /metrics does) and a real HTTP GET of /metrics on loopback (a new snapshot object each
   time, so the render cache never answers).

Each measurement runs several times; the table shows median [min-max].

    python bench/figures.py                 # default: 10 demo halls, 5 runs
    python bench/figures.py --halls 20 --runs 7
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds.protocol import (
    Event,
    Heartbeat,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from metrics.exposition import render, serve_metrics
from metrics.snapshot import CitySnapshot
from metrics.state import CityState

T0 = 1763946000000  # 2025-11-24 (a Monday) 09:00 CST
MIN = 60_000


def runs(fn: Callable[[], float], n: int) -> str:
    values = [fn() for _ in range(n)]
    return f"{statistics.median(values):9.1f} [{min(values):.1f}-{max(values):.1f}]"


def update_cost(events: list[Event], batch: int, flush: bool) -> float:
    """ns per event for applying ``events`` in batches of ``batch``."""
    state = CityState()
    batches = [events[i : i + batch] for i in range(0, len(events), batch)]
    start = time.perf_counter_ns()
    for b in batches:
        result = state.apply(b)
        if flush:
            for name in result.halls:
                state.halls[name].flush()
    elapsed = time.perf_counter_ns() - start
    return elapsed / len(events)


def big_hall_day(hall: str, windows: int = 30, per_window: int = 30, day: int = 0) -> list[Event]:
    """A full day of one hall: every window serves ``per_window`` tickets of its zone.
    ``day``: days after 2025-11-24 (ticket ids repeat: each day is a new service day)."""
    start = T0 + day * 86_400_000
    out: list[Event] = []
    for w in range(windows):
        win, zone, staff = f"W{w:02d}", f"z{w % 4}", f"s{w:02d}"
        out.append(WindowState(seq=0, ts=start - MIN, hall=hall, window=win, state="open",
                               staff=staff))  # fmt: skip
        for j in range(per_window):
            ticket = f"{zone}-{w:02d}{j:03d}"
            t = start + j * 16 * MIN + w * 10_000
            out.append(TicketIssued(seq=0, ts=t, hall=hall, ticket=ticket, zone=zone))
            out.append(TicketCalled(seq=0, ts=t + 4 * MIN, hall=hall, ticket=ticket, window=win))
            out.append(ServiceStarted(seq=0, ts=t + 5 * MIN, hall=hall, ticket=ticket,
                                      window=win))  # fmt: skip
            out.append(ServiceFinished(seq=0, ts=t + 14 * MIN, hall=hall, ticket=ticket,
                                       window=win, outcome="done"))  # fmt: skip
            out.append(Rating(seq=0, ts=t + 14 * MIN, hall=hall, window=win, score=1 + j % 5,
                              channel="device"))  # fmt: skip
    out.sort(key=lambda e: e.ts)
    out.append(Heartbeat(ts=start + 8 * 60 * MIN, hall=hall))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--halls", type=int, default=10, help="demo halls for the update run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from feeds.demo.city import city  # here: table.py imports this module for its day
    from feeds.demo.hall import simulate_city

    events = simulate_city(city(args.halls), dt.date(2025, 11, 24), 1)
    print(f"update: {len(events)} events of {args.halls} demo halls, one service day")
    print(f"{'batch':>6}  {'apply ns/event':>24}  {'apply+flush ns/event':>24}")
    for batch in (1, 100, 1000):
        apply = runs(lambda b=batch: update_cost(events, b, False), args.runs)
        both = runs(lambda b=batch: update_cost(events, b, True), args.runs)
        print(f"{batch:>6}  {apply:>24}  {both:>24}")

    state = CityState()
    state.apply(events)

    def snapshot_ms() -> float:
        for h in state.halls.values():
            h.version += 1  # defeat the snapshot cache: rebuild every hall
        start = time.perf_counter()
        state.snapshots()
        return (time.perf_counter() - start) * 1000

    print(f"\nsnapshot of {len(state.halls)} demo halls, ms: {runs(snapshot_ms, args.runs)}")

    print("\nscrape: 100 halls x 30 windows x 4 zones x 30 staff, a full day each")
    big = CityState()
    for h in range(100):
        big.apply(big_hall_day(f"h{h:03d}"))

    def big_snapshot_ms() -> float:
        for h in big.halls.values():
            h.version += 1
        start = time.perf_counter()
        big.snapshots()
        return (time.perf_counter() - start) * 1000

    print(f"snapshot of 100 halls, ms:       {runs(big_snapshot_ms, args.runs)}")
    snap = CitySnapshot(halls=big.snapshots(), feeds=())
    body = render(snap)
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    print(f"series: {series}, body: {len(body) / 1e6:.1f} MB")

    def render_ms() -> float:
        start = time.perf_counter()
        render(snap)
        return (time.perf_counter() - start) * 1000

    print(f"render /metrics text, ms:        {runs(render_ms, args.runs)}")
    _, port, stop = serve_metrics(lambda: snap, "127.0.0.1", 0)
    try:

        def http_ms() -> float:
            nonlocal snap
            snap = CitySnapshot(halls=snap.halls, feeds=())  # a new object: no render cache
            start = time.perf_counter()
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read()
            return (time.perf_counter() - start) * 1000

        print(f"HTTP GET /metrics, ms:           {runs(http_ms, args.runs)}")
    finally:
        stop()


if __name__ == "__main__":
    main()
