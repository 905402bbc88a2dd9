"""Replay of recorded days: read a recording, pace it on the hall clock, serve it again.

A recording is one or more journal files (``feeds.journal``; ``.jsonl`` or gzip-compressed
``.jsonl.gz``), merged by ``ts``. ``ReplayDriver`` releases its events on the hall clock
at a chosen speed and can pause, resume, step and seek, as Dolphie's replay does; two
consumers use it:

- ``serve_replay`` (``run.py replay``) publishes into a ``FeedServer``, so the console,
  ``serve`` and other tools consume a recorded day as a live protocol-v1 feed;
- ``ReplaySource`` is a ``FeedSource`` for an in-process console (``console --replay``):
  batches straight from the driver, with heartbeats carrying the hall clock.

Seqs are renumbered 1, 2, … in merged order when a recording is read, so several files,
or files of several runs, replay as one consistent feed. Seeking back is
a rewind: the driver starts again from the first event (``epoch`` counts rewinds) and a
consumer must start from a fresh state; a ``ReplaySource`` ends at a rewind.

Imports: feeds.protocol, feeds.hallclock, feeds.source, feeds.server, msgspec, stdlib.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import datetime as dt
import gzip
import heapq
import itertools
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec

from feeds.hallclock import HALL_TZ, day_start_ms, service_day
from feeds.protocol import Event, Heartbeat
from feeds.server import FeedServer
from feeds.source import Batch, FeedStatus

#: How often a paced replay releases events (wall seconds).
TICK_S: Final = 0.1
#: Most events in one release at ``max`` speed (one frame of the feed server).
CHUNK: Final = 1000


@dataclass(slots=True)
class Recording:
    """The merged events of one or more recording files, and what could not be read."""

    events: list[Event]
    halls: tuple[str, ...]
    bad_lines: dict[str, int] = field(default_factory=dict)
    """Per file: lines that were not a valid event (e.g. a line cut short by a crash)."""

    @property
    def first_ts(self) -> int:
        return self.events[0].ts if self.events else 0

    @property
    def last_ts(self) -> int:
        """The newest ts (a feed's ts may step back a little, so not the last event's)."""
        return max((e.ts for e in self.events), default=0)


def read_recording(paths: Iterable[Path]) -> Recording:
    """Read recording files and merge them by ``ts``, keeping each file's own order
    (the order its events were applied in); then renumber the seqs 1, 2, ….

    Raises:
        OSError: when a file cannot be read.
    """
    decoder = msgspec.json.Decoder(Event)
    files: list[list[Event]] = []
    bad: dict[str, int] = {}
    for path in paths:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        events: list[Event] = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                events.append(decoder.decode(line))
            except msgspec.DecodeError:
                bad[str(path)] = bad.get(str(path), 0) + 1
        files.append(events)
    merged = renumber(files[0] if len(files) == 1 else heapq.merge(*files, key=lambda e: e.ts))
    halls = tuple(dict.fromkeys(ev.hall for ev in merged))
    return Recording(merged, halls, bad)


def renumber(events: Iterable[Event], after: int = 0) -> list[Event]:
    """``events`` with seqs ``after`` + 1, + 2, … in their order, as a feed numbers what
    it sends (heartbeats have none); copies, the originals are not changed."""
    out: list[Event] = []
    seq = after
    for ev in events:
        if not isinstance(ev, Heartbeat):
            seq += 1
            ev = msgspec.structs.replace(ev, seq=seq)
        out.append(ev)
    return out


def parse_time(text: str, day: dt.date) -> int:
    """``HH:MM[:SS]`` on ``day`` (hall time), or an ISO date-time (hall time unless it
    names its offset), as ms since the epoch.

    Raises:
        ValueError: when ``text`` is neither.
    """
    try:
        clock = dt.time.fromisoformat(text)
    except ValueError:
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=HALL_TZ)
        return int(moment.timestamp() * 1000)
    seconds = clock.hour * 3600 + clock.minute * 60 + clock.second
    return day_start_ms(day) + seconds * 1000


def window(recording: Recording, start: str | None, until: str | None) -> tuple[int | None, int]:
    """The ``--from`` and ``--until`` of a replay as hall timestamps (times of day are on
    the recording's first service day); ``until`` defaults to the last event."""
    day = service_day(recording.first_ts) if recording.events else dt.date.today()
    begin = parse_time(start, day) if start else None
    end = parse_time(until, day) if until else recording.last_ts
    return begin, end


def open_replay(
    paths: Sequence[Path],
    *,
    speed: float | None = 60.0,
    start: str | None = None,
    until: str | None = None,
) -> ReplayDriver:
    """Read recording files and pace them: what ``console --replay FILE`` needs. Wrap the
    driver in a ``ReplaySource`` for a pipeline; after a rewind, a fresh pipeline on a new
    ``ReplaySource(driver)`` continues from the driver's position.

    Raises:
        OSError: when a file cannot be read.
        ValueError: when ``start`` or ``until`` is not a time.
    """
    recording = read_recording(paths)
    begin, end = window(recording, start, until)
    return ReplayDriver(recording.events, speed=speed, start_ts=begin, until_ts=end)


class ReplayDriver:
    """Releases a recording's events on the hall clock: speed, pause, resume, step, seek.

    The hall clock starts at the first event (or ``start_ts``: everything before it is
    released at once, as the state it leads to) and runs at ``speed`` times wall time;
    ``speed=None`` releases as fast as the consumer takes it. Events after ``until_ts``
    are never released; the clock stops at the last event released.
    """

    def __init__(
        self,
        events: Sequence[Event],
        *,
        speed: float | None = 60.0,
        start_ts: int | None = None,
        until_ts: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Args:
        events: Sorted by ``ts`` (``read_recording``).
        speed: Hall seconds per wall second, or None for as fast as possible.
        start_ts: Start playing here (hall time); None: at the first event.
        until_ts: Release nothing after this hall time; None: to the end.
        clock: Wall clock in seconds (injectable for tests).
        """
        # Release times: the running maximum of ts (a feed's ts may step back a little).
        due = list(itertools.accumulate((e.ts for e in events), max))
        if until_ts is not None:
            cut = bisect.bisect_right(due, until_ts)
            events, due = events[:cut], due[:cut]
        self.events = list(events)
        self._ts = due
        self.speed = speed
        self.position = 0
        """Index of the next event to release (seq ``position + 1``)."""
        self.epoch = 0
        """Bumped by every rewind (a seek back): consumers start from a fresh state."""
        self.paused = False
        self._wall = clock
        self._origin = self.events[0].ts if self.events else 0
        if start_ts is not None:
            self._origin = start_ts
        self.hall_ms = self._origin
        """The replay's hall clock (ms since the epoch)."""
        self._anchor = (self._wall(), self.hall_ms)
        self._wake = asyncio.Event()

    @property
    def done(self) -> bool:
        """Every event has been released."""
        return self.position >= len(self.events)

    @property
    def end_ms(self) -> int:
        """Hall time of the last event."""
        return self._ts[-1] if self._ts else self._origin

    def pause(self) -> None:
        """Freeze the hall clock; nothing is released until ``resume`` or ``step``."""
        self._advance()
        self.paused = True

    def resume(self) -> None:
        """Run the hall clock again from where it stood."""
        self.paused = False
        self._anchor = (self._wall(), self.hall_ms)
        self._wake.set()

    def set_speed(self, speed: float | None) -> None:
        """Change the pace (None: as fast as possible) from the current hall time."""
        self._advance()
        self.speed = speed
        self._anchor = (self._wall(), self.hall_ms)
        self._wake.set()

    def step(self, seconds: float = 60.0) -> None:
        """Move the hall clock ``seconds`` forward (while paused: one step at a time)."""
        self.seek(self.hall_ms + int(seconds * 1000))

    def seek(self, ts: int) -> None:
        """Jump the hall clock to ``ts``. Forward: what lies between is released at once.
        Back: a rewind (``epoch`` + 1): the driver starts again from the first event and
        releases everything up to ``ts`` at once."""
        if ts < self.hall_ms:
            self.position = 0
            self.epoch += 1
        self.hall_ms = ts
        self._anchor = (self._wall(), ts)
        self._wake.set()

    def _advance(self) -> None:
        """Move the hall clock on with wall time (unless paused or unpaced)."""
        if self.paused or self.speed is None:
            return
        wall, hall = self._anchor
        self.hall_ms = max(self.hall_ms, hall + int((self._wall() - wall) * self.speed * 1000))

    def due(self) -> list[Event]:
        """The events due now (at most ``CHUNK``), marked released."""
        if self.speed is None and not self.paused:
            upto = min(self.position + CHUNK, len(self.events))
            if upto > self.position:
                self.hall_ms = max(self.hall_ms, self._ts[upto - 1])
        else:
            self._advance()
            upto = bisect.bisect_right(self._ts, self.hall_ms, self.position)
            upto = min(upto, self.position + CHUNK)
        out = self.events[self.position : upto]
        self.position = upto
        return out

    async def releases(self) -> AsyncIterator[list[Event]]:
        """Yield released slices as they fall due, until everything is out. A pause
        waits without spinning; an empty slice means only the hall clock moved."""
        last_clock = None
        while not self.done:
            self._wake.clear()  # a pause, step or seek from here on wakes the wait below
            epoch = self.epoch
            out = self.due()
            if out or self.hall_ms != last_clock:
                last_clock = self.hall_ms
                yield out
            if self.done or self.epoch != epoch or self._wake.is_set():
                continue
            if self.speed is None and not self.paused:
                await asyncio.sleep(0)  # unpaced: only let the consumers run
                continue
            with contextlib.suppress(TimeoutError):  # (not wait_for: it can swallow a cancel)
                async with asyncio.timeout(None if self.paused else TICK_S):
                    await self._wake.wait()


async def play_into(server: FeedServer, driver: ReplayDriver) -> None:
    """Publish ``driver``'s releases into ``server`` (rewinds are not possible on a feed
    whose clients already hold the events: they are refused), then return."""
    epoch = driver.epoch
    async for out in driver.releases():
        if driver.epoch != epoch:
            raise RuntimeError("a feed cannot rewind: its clients already applied the events")
        if out:
            await server.publish(out)
        if not driver.done:  # between events the clock runs; the end is the recorded one
            for hall in server.halls:
                server.advance_clock(hall, driver.hall_ms)


async def serve_replay(
    recording: Recording,
    host: str,
    port: int,
    *,
    speed: float | None,
    start: str | None = None,
    until: str | None = None,
    token: str | None = None,
    ready: Callable[[FeedServer], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """``run.py replay``: serve recording files as a protocol-v1 feed until cancelled.

    Args:
        recording: What to serve (``read_recording``).
        host: Interface to listen on.
        port: TCP port (0: any free port).
        speed: Hall seconds per wall second, or None for as fast as possible.
        start: ``--from``: a time of day on the recording's first day, or a date-time.
        until: ``--until``: likewise; nothing after it is served.
        token: Bearer token to require, or None.
        ready: Called once the server listens.
        ssl_context: Serve ``wss://`` with this context (``feeds.tls.server_context``).
    """
    begin, end = window(recording, start, until)
    driver = ReplayDriver(recording.events, speed=speed, start_ts=begin, until_ts=end)
    server = FeedServer(
        "replay", list(recording.halls), token=token, host=host, port=port, ssl_context=ssl_context
    )
    await server.start()
    try:
        if ready is not None:
            ready(server)
        await play_into(server, driver)
        await asyncio.Future()  # the recording is over; heartbeats go on until cancelled
    finally:
        await server.stop()


class ReplaySource:
    """A ``FeedSource`` playing a ``ReplayDriver`` in process (the console's replay).

    Each release becomes one ``Batch``: the events renumbered by position, then a
    heartbeat per hall when the hall clock ran past the last event. The source ends when
    the recording is out or at a rewind (build a fresh pipeline on a new source then).
    """

    def __init__(self, driver: ReplayDriver, name: str = "replay") -> None:
        self.driver = driver
        self.status = FeedStatus(name=name, url=f"replay:{name}", feed_id=name)
        self.status.halls = tuple(dict.fromkeys(e.hall for e in driver.events))

    async def batches(self) -> AsyncIterator[Batch]:
        driver, status = self.driver, self.status
        epoch = driver.epoch
        status.connected, status.connects = True, status.connects + 1
        async for out in driver.releases():
            if driver.epoch != epoch:
                break
            events = list(out)
            if not driver.done and (not out or out[-1].ts < driver.hall_ms):
                events += [Heartbeat(ts=driver.hall_ms, hall=hall) for hall in status.halls]
            status.last_seq = max(
                (e.seq for e in out if e.seq is not None), default=status.last_seq
            )
            status.received(events, time.time())  # (a replay's delivery lag: its age)
            yield Batch(status.name, events)
        status.connected = False
