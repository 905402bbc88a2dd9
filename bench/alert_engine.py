"""Alert benchmark: what the rules, the lifecycle and the store cost.

1. A demo city day (3 halls) through the hall state with and without the alert engine,
   in 100-event batches with a publish tick (snapshots + time-driven rules) after every
   batch: the engine's share per event and per tick.
2. bench/ingest.py's event mix (100 halls x 30 windows): µs per event of the hall state
   and of the event-driven rules.
3. The store: alert changes per second, each one transaction with its hash-chained audit
   record (SQLite WAL, synchronous=NORMAL), then ``verify`` over the whole trail.

    python bench/alert_engine.py               # 3 runs
    python bench/alert_engine.py --runs 5 --changes 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.append(str(Path(__file__).resolve().parent))  # bench/ingest.py, after the packages

from alerts.rules import AlertEngine
from alerts.store import AlertStore
from feeds.demo.city import default_city
from feeds.demo.hall import simulate_city
from metrics.state import CityState


def day_run(events: list, with_alerts: bool, batch: int) -> tuple[float, int, int]:
    """Seconds, ticks, alerts for one pass over the day."""
    city = CityState()
    engine = AlertEngine() if with_alerts else None
    ticks = 0
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        part = events[i : i + batch]
        result = city.apply(part)
        snaps = city.snapshots()
        if engine is not None:
            engine.on_batch(result)
            engine.on_tick(snaps)
        ticks += 1
    elapsed = time.perf_counter() - started
    alerts = len(engine.book.resolved) + len(engine.book.open) if engine else 0
    return elapsed, ticks, alerts


def per_event(events: list, batch: int = 1000) -> tuple[float, float]:
    """µs per event of the hall state's apply and of the engine's event-driven rules."""
    city, engine = CityState(), AlertEngine()
    state_s = alerts_s = 0.0
    for i in range(0, len(events), batch):
        part = events[i : i + batch]
        t0 = time.perf_counter()
        result = city.apply(part)
        t1 = time.perf_counter()
        engine.on_batch(result)
        alerts_s += time.perf_counter() - t1
        state_s += t1 - t0
    return state_s / len(events) * 1e6, alerts_s / len(events) * 1e6


def store_run(changes: int) -> tuple[float, float, int]:
    """Seconds to write ``changes`` fire/resolve changes, seconds to verify, records."""
    with tempfile.TemporaryDirectory() as tmp:
        store = AlertStore(Path(tmp) / "alerts.db")
        engine = AlertEngine(sink=store)
        book = engine.book
        started = time.perf_counter()
        for n in range(changes // 2):
            book.fire("complaint", "lz", f"K{n}", "red", 1_763_946_000_000 + n, "bench")
            book.resolve("complaint", "lz", f"K{n}", 1_763_946_000_000 + n + 1)
        write = time.perf_counter() - started
        started = time.perf_counter()
        problems = store.verify()
        check = time.perf_counter() - started
        assert not problems, problems
        records = sum(1 for _ in store.audit_records())
        store.close()
    return write, check, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--changes", type=int, default=10_000)
    args = parser.parse_args()
    events = simulate_city(default_city(), dt.date(2025, 11, 24), 1)
    day_run(events, True, args.batch)  # warm up (imports, calendar years)
    base = [day_run(events, False, args.batch)[0] for _ in range(args.runs)]
    full = [day_run(events, True, args.batch) for _ in range(args.runs)]
    b, f = statistics.median(base), statistics.median(s for s, _, _ in full)
    ticks, alerts = full[0][1], full[0][2]
    print(f"demo day: {len(events)} events, {ticks} ticks, {alerts} alerts, batch {args.batch}")
    print(f"  state + snapshots only : {b:.3f} s  ({len(events) / b / 1000:.0f} k events/s)")
    print(f"  + alert engine         : {f:.3f} s  ({len(events) / f / 1000:.0f} k events/s)")
    print(f"  engine share           : {(f - b) / ticks * 1000:.2f} ms per tick+batch")
    from ingest import stream  # bench/ingest.py's mix: 100 halls x 30 windows

    mix = stream(200_000)
    costs = [per_event(mix) for _ in range(args.runs)]
    state_us = statistics.median(c for c, _ in costs)
    alerts_us = statistics.median(a for _, a in costs)
    print(f"ingest mix: {len(mix)} events in 1000-event batches (bench/ingest.py's stream)")
    print(f"  hall state apply   : {state_us:.2f} µs per event")
    print(f"  alert rules (batch): {alerts_us:.2f} µs per event")
    runs = [store_run(args.changes) for _ in range(args.runs)]
    write = statistics.median(w for w, _, _ in runs)
    check = statistics.median(c for _, c, _ in runs)
    records = runs[0][2]
    print(f"store: {records} changes, each a transaction with its audit record")
    print(f"  write  : {records / write:,.0f} changes/s ({write / records * 1e6:.0f} µs each)")
    print(f"  verify : {records / check:,.0f} records/s ({check:.3f} s)")


if __name__ == "__main__":
    main()
