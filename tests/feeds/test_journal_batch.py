"""The journal's one-write-per-batch path writes exactly what the per-event path wrote.

``Journal._write`` encodes a batch without heartbeats with one ``encode_lines`` and keeps
its books (last seq, hall clocks, pending heartbeats) in one pass; batches with a
heartbeat go event by event. ``_ReferenceJournal`` below keeps a private copy of the
per-event writer it replaced (``_write``, ``_close`` and ``_emit`` as they were). Both
journal the same demo days — a city feed of 3 halls and a one-hall feed, cut into frames
of 1, 100 and 1000, heartbeats mixed in (kept, thinned, late, stale, heartbeat-only
batches, a hall that only sends heartbeats), in the order sent and shuffled within each
frame — over three runs (a restart that continues, one that re-sends), and must leave
the same books after every batch and the same files: data and checksum index byte for
byte, archives (gzip stamps its own time) decompressed.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import zlib
from pathlib import Path

import msgspec
import pytest

from feeds.demo.city import city
from feeds.demo.play import demo_events
from feeds.hallclock import day_ordinal
from feeds.journal import _RECORD, HEARTBEAT_EVERY_MS, Journal, _DayFile
from feeds.protocol import Event, Heartbeat
from feeds.replay import renumber


class _ReferenceJournal(Journal):
    """The journal as it wrote before ``encode_lines``: per event, ``encode_into``."""

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
            _reference_emit(day, buf)

    def _close(self, day: _DayFile) -> None:
        if day.pending:
            buf = bytearray()
            for ev in day.pending.values():
                self._encoder.encode_into(ev, buf, len(buf))
                buf.extend(b"\n")
            _reference_emit(day, buf)
            day.pending.clear()
        day.file.close()
        day.index.close()


def _reference_emit(day: _DayFile, buf: bytearray) -> None:
    day.file.write(buf)
    day.file.flush()
    head = _RECORD.pack(day.size, len(buf), zlib.crc32(buf))
    day.index.write(head + zlib.crc32(head).to_bytes(4, "little"))
    day.index.flush()
    day.size += len(buf)
    day.lines += buf.count(b"\n")


#: Heartbeat ts relative to the event before it: stale, equal, pending, kept.
_OFFSETS = (-120_000, 0, 1, 30_000, HEARTBEAT_EVERY_MS - 1, HEARTBEAT_EVERY_MS, 61_000, 400_000)


def _with_heartbeats(events: list[Event], rng: random.Random) -> list[Event]:
    """``events`` with heartbeats mixed in: of their own hall, of another, of a hall that
    sends nothing else, some carrying a seq, and an idle stretch of heartbeats only."""
    halls = [*sorted({ev.hall for ev in events}), "ghost"]
    out: list[Event] = []
    for i, ev in enumerate(events):
        out.append(ev)
        if (i // 1500) % 3 == 1 and rng.random() < 0.08:  # quiet stretches in between
            hall = ev.hall if rng.random() < 0.6 else rng.choice(halls)
            seq = ev.seq if rng.random() < 0.2 else None
            out.append(Heartbeat(ts=ev.ts + rng.choice(_OFFSETS), hall=hall, seq=seq))
        if i % 5000 == 2500:  # an idle stretch: heartbeats only, the clock moving on
            out.extend(
                Heartbeat(ts=ev.ts + k * 700, hall=halls[k % len(halls)]) for k in range(1, 2100)
            )
    return out


def _frames(events: list[Event], size: int, shuffle: random.Random | None) -> list[list[Event]]:
    """``events`` cut into frames of ``size``, each shuffled with ``shuffle`` unless it
    spans two service days (the split at midnight looks at a batch's ends only)."""
    out = [events[i : i + size] for i in range(0, len(events), size)]
    if shuffle is not None:
        for frame in out:
            if len({day_ordinal(ev.ts) for ev in frame}) == 1:
                shuffle.shuffle(frame)
    return out


def _books(journal: Journal) -> dict[str, tuple[object, ...]]:
    """What a journal keeps per feed between batches (pending heartbeats in order)."""
    return {
        feed: (day.ordinal, day.path.name, day.size, day.lines, day.last_seq, dict(day.clock),
               [(hall, msgspec.json.encode(hb)) for hall, hb in day.pending.items()])
        for feed, day in journal._files.items()
    }  # fmt: skip


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``: its bytes (an archive's decompressed)."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        out[str(path.relative_to(root))] = gzip.decompress(data) if path.suffix == ".gz" else data
    return out


@pytest.fixture(scope="module")
def feeds() -> dict[str, list[Event]]:
    """A 3-hall demo city (2025-11-24, a Monday, then the day after) with heartbeats, as one feed;
    its first hall alone as another."""
    day = demo_events(city(3), dt.date(2025, 11, 25), 3, history=1)
    one = [ev for ev in day if ev.hall == day[0].hall]
    return {
        "city": _with_heartbeats(renumber(day), random.Random(1)),
        "one hall": _with_heartbeats(renumber(one), random.Random(2)),
    }


@pytest.mark.parametrize(
    ("size", "order"),
    [(1, "sent"), (100, "sent"), (1000, "sent"), (100, "shuffled"), (1000, "shuffled")],
)
def test_batches_are_journaled_byte_for_byte_as_event_by_event(
    tmp_path: Path, feeds: dict[str, list[Event]], size: int, order: str
) -> None:
    shuffle = random.Random(size) if order == "shuffled" else None
    frames = {feed: _frames(events, size, shuffle) for feed, events in feeds.items()}
    assert any(Heartbeat not in map(type, f) for f in frames["city"])  # the one-write path
    assert any(Heartbeat in map(type, f) for f in frames["city"])  # the thinning path
    assert any(set(map(type, f)) == {Heartbeat} for f in frames["city"])  # heartbeats only
    batches = [
        (feed, frame)
        for i in range(max(map(len, frames.values())))
        for feed in frames
        if i < len(frames[feed])
        for frame in [frames[feed][i]]
    ]
    half = len(batches) // 2
    again = [b for b in batches[-10:] if any(ev.seq is not None for ev in b[1])]
    runs = [batches[:half], batches[half:], again]  # the last run re-sends: a .2 part
    new_root, ref_root = tmp_path / "new", tmp_path / "reference"
    written = 0
    for run in runs:
        new, ref = Journal(new_root), _ReferenceJournal(ref_root)
        try:
            for feed, events in run:
                new.append(feed, events)
                ref.append(feed, events)
                assert _books(new) == _books(ref)
                assert new.positions() == ref.positions()
                written += len(events)
        finally:  # (and the archiving threads finished)
            new.close()
            ref.close()
    tree = _tree(new_root)
    assert tree == _tree(ref_root)
    names = set(tree)
    assert any(n.endswith(".jsonl.gz") for n in names)  # a day rolled over and was archived
    assert any(n.endswith(".2.jsonl") for n in names)  # the re-sent run went to a new part
    assert any(n.endswith(".crc") for n in names)
    lines = sum(data.count(b"\n") for n, data in tree.items() if not n.endswith(".crc"))
    assert 0.5 * written < lines < written  # heartbeats were thinned, events all kept
