"""Memory benchmark: RSS of the whole pipeline holding 100 halls, day after day.

100 halls x 30 windows x 4 zones x 30 staff (``bench.figures.big_hall_day``: 900 tickets,
4 500 events a hall-day) go through ``Pipeline.apply`` — journal on disk, hall state,
alert rules — in 1000-event batches with a publish every 20 batches, one service day
after another. After each day the process's resident set (``VmRSS``, after a GC) is
printed: the state keeps one service day of columns per hall plus bounded counters, so
RSS should be flat from the second day on.

    python bench/memory.py             # 3 days
    python bench/memory.py --store --days 5   # with the alert store and snapshots
    python bench/memory.py --days 5 --json
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from figures import big_hall_day

from alerts.rules import AlertEngine
from alerts.store import AlertStore
from feeds.journal import Journal
from feeds.protocol import Event
from feeds.replay import renumber
from feeds.source import Batch, FeedStatus
from runtime import logs
from runtime.pipeline import Pipeline
from runtime.snapshot import Snapshots


def rss_mb() -> float:
    """The resident set of this process now, in MB (Linux ``/proc``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def city_day(day: int, halls: int = 100) -> list[Event]:
    """Every hall's day, merged in hall-clock order as one city feed would send it."""
    days = [big_hall_day(f"h{h:03d}", day=day) for h in range(halls)]
    return list(heapq.merge(*days, key=lambda e: e.ts))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--halls", type=int, default=100)
    p.add_argument(
        "--store", action="store_true", help="with an alert store and snapshots, as serve"
    )
    p.add_argument("--json", action="store_true", help="one JSON line for bench/table.py")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        logs.configure(Path(tmp) / "bench.log")
        gc.collect()
        base = rss_mb()
        if args.store:  # as serve runs: an alert store and state snapshots on disk
            store = AlertStore(Path(tmp) / "alerts.db")
            sup = Pipeline(
                journal=Journal(Path(tmp) / "journal"),
                alerts=AlertEngine(sink=store),
                store=store,
                snapshots=Snapshots(Path(tmp) / "state.snapshot"),
            )
        else:
            sup = Pipeline(journal=Journal(Path(tmp) / "journal"))
        status = FeedStatus("bench")
        per_day = []
        for day in range(args.days):
            # Numbered as a feed numbers them (the journal reads them back), day after day.
            events = renumber(city_day(day, args.halls), status.last_seq)
            status.last_seq = max(e.seq or 0 for e in events)
            start = time.perf_counter()
            for k, i in enumerate(range(0, len(events), 1000)):
                sup.apply(status, Batch("bench", events[i : i + 1000]))
                if k % 20 == 19:
                    sup.publish()
            sup.publish()
            elapsed = time.perf_counter() - start
            del events
            gc.collect()
            per_day.append(rss_mb())
            if not args.json:
                print(f"day {day + 1}: RSS {per_day[-1]:.0f} MB "
                      f"({status.events_total} events so far, day in {elapsed:.1f} s)")  # fmt: skip
        sup.close()
    if args.json:
        print(json.dumps({"base_mb": base, "days_mb": per_day}))
    else:
        print(f"before: {base:.0f} MB; growth from day 2 to day {args.days}: "
              f"{per_day[-1] - per_day[min(1, len(per_day) - 1)]:+.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
