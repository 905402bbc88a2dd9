"""The journal: every applied event, after pseudonymization, recorded per feed-day.

One file per feed and service day, ``<data dir>/journal/<feed>/<day>.jsonl``: protocol-v1
events as JSON lines (defaults omitted, ~150 bytes an event), written once per batch
(never per event) and flushed with it, so a crash loses at most the batch in hand. The
raw ``person`` never reaches it: events are journaled after the decoder replaced it.
These files are the recordings ``run.py replay`` serves again (``feeds.replay``).

What keeps a recording faithful and compact:

- A batch that crosses local midnight is split between the two days' files.
- Heartbeats only carry the hall clock: one is kept per hall per ``HEARTBEAT_EVERY_MS``
  of hall time, and the newest one not yet written is written at ``close()`` and at a
  change of day, so a replay ends on the same hall clock as the live run.
- When a feed moves on to the next day, the finished day's file is gzip-compressed in a
  background thread (``<day>.jsonl.gz``, ~8x smaller: a default-city day goes from 1.7 MB
  to 0.22 MB in ~30 ms); the plain file is removed only once the archive is complete.
- A file that already holds events of an earlier run whose seqs the new run does not
  continue (the feed restarted, or the console re-subscribed from 0) is not appended to:
  the new run goes to ``<day>.2.jsonl`` (then ``.3``…), so no file ever repeats a seq.

Imports: feeds.protocol, feeds.hallclock, msgspec, the standard library.
"""

from __future__ import annotations

import gzip
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

import msgspec

from feeds.hallclock import day_ordinal, service_day
from feeds.protocol import Event, Heartbeat

#: A heartbeat is recorded at most once per this much hall time per hall.
HEARTBEAT_EVERY_MS: Final = 60_000
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SEQ = re.compile(rb'"seq":(\d+)')


def safe_name(feed: str) -> str:
    """The feed's folder name: anything but letters, digits, ``._-`` becomes ``_``."""
    return _SAFE.sub("_", feed)


@dataclass(slots=True)
class _DayFile:
    ordinal: int
    path: Path
    file: IO[bytes]
    last_seq: int
    clock: dict[str, int] = field(default_factory=dict)
    """Per hall: the ts of the newest event or heartbeat written."""
    pending: dict[str, Heartbeat] = field(default_factory=dict)
    """Per hall: the newest heartbeat not written yet."""


class Journal:
    """Appends batches of events to per-feed, per-day JSON-lines files (mode 0600)."""

    def __init__(self, root: Path) -> None:
        """Args:
        root: The journal folder (``<data dir>/journal``), created when first needed.
        """
        self.root = root
        self._encoder = msgspec.json.Encoder()
        self._files: dict[str, _DayFile] = {}
        self._compressing: list[threading.Thread] = []

    def append(self, feed: str, events: list[Event]) -> None:
        """Record one applied batch of ``feed`` (in seq order, as the pipeline applies it)."""
        if not events:
            return
        start = 0
        first_day = day_ordinal(events[0].ts)
        if day_ordinal(events[-1].ts) != first_day:  # rare: the batch crosses midnight
            for i, ev in enumerate(events):
                if day_ordinal(ev.ts) != first_day:
                    self.append(feed, events[:i])
                    start = i
                    break
        self._write(feed, events[start:])

    def _write(self, feed: str, events: list[Event]) -> None:
        day = self._day_file(feed, events)
        buf = bytearray()
        encode_into = self._encoder.encode_into
        clock, pending = day.clock, day.pending
        for ev in events:
            if isinstance(ev, Heartbeat):
                if ev.ts < clock.get(ev.hall, 0) + HEARTBEAT_EVERY_MS:
                    if ev.ts > clock.get(ev.hall, 0):
                        pending[ev.hall] = ev
                    continue
            elif ev.seq is not None:
                day.last_seq = ev.seq
            pending.pop(ev.hall, None)
            clock[ev.hall] = max(clock.get(ev.hall, 0), ev.ts)
            encode_into(ev, buf, len(buf))
            buf.extend(b"\n")
        if buf:
            day.file.write(buf)
            day.file.flush()

    def _day_file(self, feed: str, events: list[Event]) -> _DayFile:
        ordinal = day_ordinal(events[0].ts)
        current = self._files.get(feed)
        if current is not None and current.ordinal == ordinal:
            return current
        if current is not None:
            self._close(current)
            if ordinal > current.ordinal:  # that day is over for this feed: archive it
                thread = threading.Thread(target=compress, args=(current.path,), daemon=True)
                thread.start()
                self._compressing = [t for t in self._compressing if t.is_alive()] + [thread]
        folder = self.root / safe_name(feed)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        first_seq = next((ev.seq for ev in events if ev.seq is not None), None)
        stem = service_day(events[0].ts).isoformat()
        path, last_seq = folder / f"{stem}.jsonl", 0
        for part in range(2, 1000):
            last_seq = _last_seq(path)
            if last_seq == 0 or (first_seq is not None and first_seq > last_seq):
                break  # empty, or this run continues the file's seqs
            path = folder / f"{stem}.{part}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        current = self._files[feed] = _DayFile(ordinal, path, os.fdopen(fd, "ab"), last_seq)
        return current

    def _close(self, day: _DayFile) -> None:
        """Write each hall's newest pending heartbeat (the final hall clock), then close."""
        if day.pending:
            buf = bytearray()
            for ev in day.pending.values():
                self._encoder.encode_into(ev, buf, len(buf))
                buf.extend(b"\n")
            day.file.write(buf)
            day.pending.clear()
        day.file.close()

    def paths(self) -> dict[str, Path]:
        """The file each feed is writing now."""
        return {feed: day.path for feed, day in self._files.items()}

    def close(self) -> None:
        """Flush the final hall clocks, close every file, finish the compressions."""
        for day in self._files.values():
            self._close(day)
        self._files.clear()
        for thread in self._compressing:
            thread.join()
        self._compressing.clear()


def compress(path: Path) -> Path:
    """Gzip ``path`` to ``path.gz`` (mode 0600), then remove ``path``; return the archive."""
    target = path.with_name(path.name + ".gz")
    partial = path.with_name(path.name + ".gz.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with (
        path.open("rb") as src,
        os.fdopen(fd, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb") as out,
    ):
        while chunk := src.read(1 << 20):
            out.write(chunk)
    partial.replace(target)
    path.unlink()
    return target


def _last_seq(path: Path) -> int:
    """The newest seq in an existing journal file (0 when absent or empty)."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 65536))
            tail = f.read()
    except FileNotFoundError:
        return 0
    seqs = _SEQ.findall(tail)
    return int(seqs[-1]) if seqs else (1 if size else 0)
