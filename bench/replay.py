"""Replay benchmark: how many recorded hall-days a minute a replay at ``max`` gets through.

Simulates the demo city's day (``--halls``, ``--date``, ``--seed``), records it with the
real journal (``feeds.journal``), then, several times:
- read: read and decode the recording (``feeds.replay.read_recording``);
- feed: ``run.py replay --speed max`` in process: the recording served by a FeedServer on
  loopback and consumed by the real pipeline (WebSocketFeed → Pipeline: state, alerts,
  snapshots; no journal), until the last seq is applied;
- source: the console's path: ``ReplaySource`` → Pipeline, no network.
Server and consumer share this process and one core, so ``feed`` is a floor. The table
shows median [min-max]; the header shows events per hall-day for the city.

    python bench/replay.py                  # default city (3 halls), 3 runs
    python bench/replay.py --halls 30 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import gzip
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds.client import WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.demo.city import city
from feeds.demo.hall import simulate_city
from feeds.journal import Journal
from feeds.replay import Recording, ReplayDriver, ReplaySource, read_recording, serve_replay
from feeds.server import FeedServer
from runtime import logs
from runtime.pipeline import Pipeline


async def _until(predicate: Callable[[], bool], timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("replay did not finish")
        await asyncio.sleep(0.002)


async def replay_feed(recording: Recording, total: int) -> float:
    ready: asyncio.Queue[FeedServer] = asyncio.Queue()
    started = time.perf_counter()
    task = asyncio.create_task(
        serve_replay(recording, "127.0.0.1", 0, speed=None, ready=ready.put_nowait)
    )
    server = await ready.get()
    feed = WebSocketFeed(server.url, FrameDecoder(lambda p: p))
    sup = Pipeline([feed])
    run = asyncio.create_task(sup.run())
    await _until(lambda: feed.status.last_seq >= total)
    elapsed = time.perf_counter() - started
    for t in (run, task):
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await t
    return elapsed


async def replay_source(recording: Recording, total: int) -> float:
    started = time.perf_counter()
    source = ReplaySource(ReplayDriver(recording.events, speed=None))
    sup = Pipeline([source])
    await sup.consume(source)
    sup.publish()
    assert source.status.last_seq == total
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halls", type=int, default=3)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2025, 11, 25))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logs.configure(Path(tempfile.gettempdir()) / "hallwatch-bench-replay.log")

    profiles = city(args.halls)
    events = simulate_city(profiles, args.date, args.seed)
    per_hall = collections.Counter(e.hall for e in events)
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp))
        numbered = [msgspec.structs.replace(e, seq=i) for i, e in enumerate(events, 1)]
        for i in range(0, len(numbered), 1000):
            journal.append("bench", numbered[i : i + 1000])
        journal.close()
        (path,) = Path(tmp).rglob("*.jsonl")
        raw = path.read_bytes()
        print(f"{args.date} seed {args.seed}: {len(profiles)} halls, {len(events)} events")
        if len(profiles) <= 5:
            print("events per hall-day: " + ", ".join(f"{h} {n}" for h, n in per_hall.items()))
        print(f"events per hall-day, mean: {len(events) / len(profiles):.0f}")
        print(f"recording: {len(raw) / 1e6:.2f} MB, gzip {len(gzip.compress(raw)) / 1e6:.2f} MB")
        results: dict[str, list[float]] = {"read": [], "feed": [], "source": []}
        for _ in range(args.runs):
            started = time.perf_counter()
            recording = read_recording([path])
            results["read"].append(time.perf_counter() - started)
            results["feed"].append(asyncio.run(replay_feed(recording, len(events))))
            results["source"].append(asyncio.run(replay_source(recording, len(events))))
    print(f"{'path':8} {'seconds':>24} {'events/s':>12} {'hall-days/min':>14}")
    for name, times in results.items():
        med = statistics.median(times)
        span = f"{med:.3f} [{min(times):.3f}-{max(times):.3f}]"
        rate = len(events) / med
        print(f"{name:8} {span:>24} {rate:12,.0f} {len(profiles) / med * 60:14,.0f}")


if __name__ == "__main__":
    main()
