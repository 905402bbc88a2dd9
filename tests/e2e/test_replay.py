"""A demo day recorded through the real pipeline, replayed at max speed: same figures."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec

from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.demo.city import default_city
from feeds.demo.hall import simulate_city
from feeds.demo.play import run_demo
from feeds.hallclock import day_start_ms
from feeds.journal import Journal
from feeds.privacy import Pseudonymizer
from feeds.replay import read_recording, serve_replay
from feeds.server import FeedServer
from metrics.snapshot import HallSnapshot
from runtime.pipeline import Pipeline
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2025, 11, 25)
FAST = Backoff(initial=0.01, maximum=0.05)
ID_NUMBER = re.compile(r"\b\d{17}[\dX]\b")


@contextlib.asynccontextmanager
async def running(sup: Pipeline) -> AsyncIterator[None]:
    task = asyncio.create_task(sup.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def figures(hall: HallSnapshot) -> dict[str, Any]:
    """What a director reads at the end of the day (no pseudonyms: they are re-keyed)."""
    c = hall.counters
    return {
        "clock": (hall.now_ms, hall.day),
        "headline": (hall.waiting, hall.served_today, hall.issued_today, hall.mean_wait_s,
                     hall.p90_wait_s, hall.longest_wait_s, hall.windows_open),
        "tickets": dict(hall.tickets_by_state),
        "zones": hall.zones,
        "windows": hall.windows,
        "cases": hall.cases,
        "complaints": hall.complaints,
        "counters": [a.tolist() for a in (c.issued, c.abandoned, c.wait_buckets, c.wait_sum,
                     c.services, c.service_buckets, c.service_sum, c.ratings, c.window_state)],
    }  # fmt: skip


def keyed(name: str) -> Pseudonymizer:
    return Pseudonymizer((name * 16).encode())


async def test_recorded_day_replayed_at_max_speed_gives_the_same_figures(tmp_path: Path) -> None:
    profiles = default_city()
    events = simulate_city(profiles, DAY, 3)
    last_ts = {p.hall: max(e.ts for e in events if e.hall == p.hall) for p in profiles}
    # Live: demo feed -> WebSocket -> decoder (pseudonymizes) -> journal + state.
    server = FeedServer("demo", [p.hall for p in profiles], heartbeat_interval=0.05)
    await server.start()
    try:
        feed = WebSocketFeed(server.url, FrameDecoder(keyed("live")), backoff=FAST)
        live = Pipeline([feed], journal=Journal(tmp_path / "journal"))
        async with running(live):
            await run_demo(server, events, speed=None)
            closing = {hall: ts + 300_000 for hall, ts in last_ts.items()}  # clocks run on
            for hall, ts in closing.items():
                server.advance_clock(hall, ts)
            await wait_for(lambda: feed.status.last_seq == len(events), 30)
            await wait_for(lambda: {h: s.now_ms for h, s in live.state.halls.items()} == closing)
        live.close()
        want = {hall: figures(s) for hall, s in live.state.snapshots().items()}
        assert feed.status.rejected == {}
    finally:
        await server.stop()

    files = sorted((tmp_path / "journal").rglob("*.jsonl"))
    assert [f.name for f in files] == [f"{DAY.isoformat()}.jsonl"]
    text = files[0].read_text()
    assert not ID_NUMBER.search(text)  # only pseudonyms were recorded
    recording = read_recording(files)
    assert recording.bad_lines == {}
    recorded = [e for e in recording.events if e.seq is not None]
    assert len(recorded) == len(events)
    assert len(recording.events) - len(recorded) <= 3 * 6  # heartbeats thinned

    # Replay: the recording served as a feed at max speed, consumed by a fresh pipeline.
    ready: asyncio.Queue[FeedServer] = asyncio.Queue()
    replay = asyncio.create_task(
        serve_replay(recording, "127.0.0.1", 0, speed=None, ready=ready.put_nowait)
    )
    try:
        replay_server = await asyncio.wait_for(ready.get(), 10)
        replay_server.heartbeat_interval = 0.05
        feed2 = WebSocketFeed(replay_server.url, FrameDecoder(keyed("again")))
        again = Pipeline([feed2])
        async with running(again):
            await wait_for(lambda: feed2.status.last_seq == len(events), 30)
            await wait_for(lambda: {h: s.now_ms for h, s in again.state.halls.items()} == closing)
        got = {hall: figures(s) for hall, s in again.state.snapshots().items()}
    finally:
        replay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await replay
    assert got.keys() == want.keys()
    for hall in want:
        for key in want[hall]:
            assert got[hall][key] == want[hall][key], (hall, key)


async def test_run_py_replay_serves_a_recording_from_a_time_of_day(tmp_path: Path) -> None:
    """The command: ``replay FILE --from 12:00 --speed max`` sends the morning at once."""
    events = simulate_city(default_city()[2:], DAY, 4)
    journal = Journal(tmp_path)
    journal.append("demo", [msgspec.structs.replace(e, seq=i) for i, e in enumerate(events, 1)])
    journal.close()
    (path,) = tmp_path.rglob("*.jsonl")
    noon = day_start_ms(DAY) + 12 * 3_600_000
    morning = sum(e.ts <= noon for e in events)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "run.py", "replay", str(path), "--port", "0", "--from", "12:00",
        "--speed", "1", cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        feed = WebSocketFeed(url, FrameDecoder(keyed("cli")))
        sup = Pipeline([feed])
        async with running(sup):
            await wait_for(lambda: feed.status.last_seq >= morning, 30)
            assert feed.status.last_seq < morning + 20  # the afternoon plays in real time
            assert feed.status.feed_id == "replay" and feed.status.halls == ("county-b",)
    finally:
        proc.terminate()
        await proc.wait()
