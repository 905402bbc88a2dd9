"""``make bench``: one table of the issue-8 goals, each a median [min-max] of several runs.

Rows, with the goal each is held against (issue 8):
- ingest: events/s through everything ``serve`` does (``bench/ingest.py``: WebSocket
  receive, decode, pseudonymize, seq checks, journal, state, alert rules, publishing) at
  frames of 1, 100 and 1000 events over 1 and 50 connections, with the bare
  receive-and-decode client measured in the same run on the same stream, and the ratio;
- publish: one ``Supervisor.publish`` of 100 halls x 30 windows (snapshots and the
  time-driven rules) after every hall changed;
- console (``bench/ui.py``): screen refresh, key press, idle CPU, the longest event-loop
  stall under a flood, start-up to the first frame;
- scrape: ``/metrics`` of 100 halls x 30 windows rendered, and a real HTTP GET;
- memory (``bench/memory.py``): RSS with 100 halls x 30 windows after each of 3 days.

    python bench/table.py              # ~4 minutes on 2 cores
    python bench/table.py --quick      # fewer events and runs: a smoke test (~1.5 min)
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from figures import big_hall_day
from ingest import measure

from metrics.exposition import render, serve_metrics
from metrics.snapshot import CitySnapshot
from runtime import logs
from runtime.supervisor import Supervisor

HERE = Path(__file__).resolve().parent


def cell(values: list[float], fmt: str = "{:.1f}") -> str:
    """median [min-max] of ``values``."""
    med = statistics.median(values)
    return f"{fmt.format(med)} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def row(what: str, value: str, goal: str = "") -> None:
    print(f"| {what:<50} | {value:>24} | {goal:<22} |", flush=True)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def ingest(events: int, runs: int) -> None:
    for frame, conns in ((1, 1), (100, 1), (1000, 1), (1, 50), (100, 50), (1000, 50)):
        n = events if frame > 1 else events // 10
        bare, full = measure(n, frame, conns, runs)
        ratio = [f / b for f, b in zip(full, bare, strict=True)]
        goal = "" if frame == 100 else ">= 1 M/s" if frame == 1000 else ">= 150 k/s"
        if frame == 1 and conns == 1:
            goal = ""
        k = "{:.0f}"
        row(f"ingest frame {frame:>4} x {conns:>2} conn: full ev/s (k)",
            cell([f / 1e3 for f in full], k), goal)  # fmt: skip
        row(f"ingest frame {frame:>4} x {conns:>2} conn: bare ev/s (k)",
            cell([b / 1e3 for b in bare], k))  # fmt: skip
        row(f"ingest frame {frame:>4} x {conns:>2} conn: full / bare",
            cell([r * 100 for r in ratio], "{:.0f}%"), ">= 50%")  # fmt: skip


def big_city() -> Supervisor:
    events = list(heapq.merge(*(big_hall_day(f"h{h:03d}") for h in range(100)),
                              key=lambda e: e.ts))  # fmt: skip
    sup = Supervisor()
    for i in range(0, len(events), 1000):
        result = sup.state.apply(events[i : i + 1000])
        sup.alerts.on_batch(result)
    return sup


def publish_and_scrape(runs: int) -> None:
    sup = big_city()
    sup.publish()

    def publish() -> None:
        for hall in sup.state.halls.values():
            hall.version += 1  # every hall changed: no snapshot from the cache
        sup.publish()

    row("publish 100 halls x 30 windows, all changed (ms)", cell(timed(publish, runs)))
    snap = sup.view.city
    row("/metrics render, 100 halls x 30 windows (ms)",
        cell(timed(lambda: render(snap), runs)), "< 100 ms")  # fmt: skip
    _, port, stop = serve_metrics(lambda: snap, "127.0.0.1", 0)
    try:

        def get() -> None:
            nonlocal snap
            snap = CitySnapshot(halls=snap.halls, feeds=())  # a new object: no render cache
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read()

        row("/metrics HTTP GET, 100 halls x 30 windows (ms)", cell(timed(get, runs)), "< 100 ms")
    finally:
        stop()


def child(script: str, *args: str) -> dict[str, list[float]]:
    out = subprocess.run([sys.executable, str(HERE / script), "--json", *args],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def console(runs: int) -> None:
    goals = {"render+paint": "< 20 ms", "key ] to": "< 100 ms", "idle": "< 1%",
             "loop stall": "< 100 ms (key answer)", "start-up": "< 1500 ms"}  # fmt: skip
    for name, values in child("ui.py", "--runs", str(runs)).items():
        unit = "%" if "%" in name else "ms"
        goal = next((g for k, g in goals.items() if name.startswith(k)), "")
        label = name if unit == "%" else f"{name} ({unit})"
        row(f"console {label}", cell(values, "{:.2f}" if unit == "%" else "{:.1f}"), goal)


def memory(days: int) -> None:
    result = child("memory.py", "--days", str(days))
    per_day = result["days_mb"]
    row("memory: RSS before any hall (MB)", f"{result['base_mb']:.0f}")
    for day, mb in enumerate(per_day, 1):
        row(f"memory: RSS 100 halls x 30 windows, day {day} (MB)", f"{mb:.0f}", "< 300 MB, flat")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer events and runs")
    args = p.parse_args()
    runs = 3 if args.quick else 5
    logs.configure(Path("/tmp") / f"hallwatch-bench-{os.getpid()}.log")
    started = time.perf_counter()
    print(f"hallwatch bench: {platform.processor() or platform.machine()}, {os.cpu_count()} "
          f"cores, Python {platform.python_version()}; median [min-max]")  # fmt: skip
    print(f"| {'what':<50} | {'value':>24} | {'goal (issue 8)':<22} |")
    print(f"|{'-' * 52}|{'-' * 25}:|{'-' * 24}|")
    ingest(100_000 if args.quick else 200_000, 2 if args.quick else 3)
    publish_and_scrape(runs)
    console(3 if args.quick else 5)
    memory(2 if args.quick else 3)
    print(f"(bench took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
