"""Publish benchmark: ``Pipeline.publish()`` of 100 halls x 30 open windows, every hall
changed since the last publish (the flood case: no snapshot comes from the cache).

The city: 100 halls with 30 windows open each, then ``--events`` of the ingest stream
(``bench/ingest.py`` ``stream``: issue, call, start, finish, rating) through
``Pipeline.apply`` (state and event-driven rules, no journal). Each run bumps every
hall's version and times one publish (snapshots, time-driven rules, frozen alerts) in
process time, so the other engineers' runs on this machine count less. Goal: <= 50 ms.

Bumping the versions changes nothing else: a hall's day totals (``metrics.day_totals``)
come from their memo. ``--moving N`` applies N more events of the stream (N / 100 to each
hall: new services, waits and ratings, and the clock moves on) before each publish: the
flood as it is, every total recomputed.

    python bench/publish.py                 # 200 000 events, 7 runs: min and median
    python bench/publish.py --runs 9 --json
    python bench/publish.py --moving 2000   # each hall gets 20 new events per publish
    python bench/publish.py --profile       # and a cProfile of one more publish
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import T0, stream

from feeds.protocol import WindowState
from feeds.source import Batch, FeedStatus
from runtime import logs
from runtime.pipeline import Pipeline

HALLS = 100
WINDOWS = 30


def city(events: int, status: FeedStatus) -> Pipeline:
    """100 halls, 30 windows open in each, ``events`` of the bench stream applied."""
    sup = Pipeline()
    opened = [
        WindowState(seq=None, ts=T0 - 1000, hall=f"h{h:03d}", window=f"W{w:02d}",
                    state="open", staff=f"s{w}")
        for h in range(HALLS)
        for w in range(WINDOWS)
    ]  # fmt: skip
    sup.state.apply(opened)
    evs = stream(events, HALLS, WINDOWS)
    for i in range(0, len(evs), 1000):
        sup.apply(status, Batch("bench", evs[i : i + 1000]))
    sup.publish()
    return sup


def publish_all_changed(sup: Pipeline) -> float:
    """Process-time ms of one publish after every hall changed."""
    for hall in sup.state.halls.values():
        hall.version += 1
    start = time.process_time()
    sup.publish()
    return (time.process_time() - start) * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--json", action="store_true", help="one JSON line for bench/table.py")
    p.add_argument("--moving", type=int, default=0, metavar="N",
                   help="apply N more events of the stream before each publish")  # fmt: skip
    p.add_argument("--profile", action="store_true", help="cProfile one more publish")
    args = p.parse_args()
    logs.configure(None)
    status = FeedStatus(name="bench")
    sup = city(args.events, status)
    more = stream(args.events + args.moving * (args.runs + 1), HALLS, WINDOWS)[args.events :]
    ms = []
    for run in range(args.runs + args.profile):
        if args.moving:
            sup.apply(status, Batch("bench", more[run * args.moving : (run + 1) * args.moving]))
        if run == args.runs:  # --profile
            for hall in sup.state.halls.values():
                hall.version += 1
            profile = cProfile.Profile()
            profile.enable()
            sup.publish()
            profile.disable()
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        else:
            ms.append(publish_all_changed(sup))
    result = {
        "halls": HALLS,
        "windows": WINDOWS,
        "events": args.events,
        "moving": args.moving,
        "open_alerts": len(list(sup.alerts.book.active())),
        "publish_ms": ms,
        "min_ms": min(ms),
        "median_ms": statistics.median(ms),
    }
    if args.json:
        print(json.dumps(result))
    else:
        moving = f", {args.moving} new events each" if args.moving else ""
        print(f"publish, {HALLS} halls x {WINDOWS} windows, {args.events:,} events, all changed"
              f"{moving}, {result['open_alerts']:,} open alerts (process ms): "
              f"min {min(ms):.1f}, median {statistics.median(ms):.1f}  "
              f"{[round(m, 1) for m in ms]}")  # fmt: skip


if __name__ == "__main__":
    main()
