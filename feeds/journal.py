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

Checksums (a torn write survives): every write — one batch — is a record in a sidecar
index ``<day>[.N].crc`` next to its ``.jsonl``: offset, length and CRC-32 of the bytes,
plus a CRC-32 of the index record itself (20 bytes). The data is written and flushed
first, the index record after it, so a batch counts as durable only once its record is
there. ``check_file`` verifies a file against its index: bytes past the last confirmed
record (a ``kill -9`` or power cut mid-write) are the torn tail; with ``repair=True``
they are cut (and a torn index record with them), so the next run appends after whole
lines only. A record whose CRC does not match (damage inside the file) is skipped and
counted. The ``.jsonl`` stays plain JSON lines, so ``feeds.replay`` reads it unchanged;
a file without an index (an older journal, a CSV import) is checked line by line and
only a last line without its newline is cut. The index is removed once the day is
gzip-compressed (gzip carries its own CRC).

A write that fails (the disk is full, the filesystem went read-only) leaves nothing
behind: what it wrote of the batch, and of its index record, is cut off again at once,
and ``append`` raises the ``OSError``. The feed's file stays open and whole, so the same
journal takes the next batch once writing works again; ``last_seq`` is the newest seq
made durable, where a journal that fell behind resumes (``runtime.backfill``). The files
are written unbuffered (one ``write`` per batch, as before), so no failed bytes linger in
a buffer to be written later. A day whose compression fails stays a plain file (logged).

Imports: feeds.protocol, feeds.hallclock, msgspec, structlog, the standard library.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

import msgspec
import structlog

from feeds.hallclock import day_ordinal, service_day
from feeds.protocol import Event, Heartbeat

#: A heartbeat is recorded at most once per this much hall time per hall.
HEARTBEAT_EVERY_MS: Final = 60_000
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SEQ = re.compile(rb'"seq":(\d+)')
_RECORD = struct.Struct("<QII")
"""An index record: offset and length of one write in the data file, CRC-32 of its bytes;
followed by the CRC-32 (``<I``) of these 16 bytes."""
_RECORD_SIZE: Final = _RECORD.size + 4

log = structlog.get_logger("hallwatch.journal")


def safe_name(feed: str) -> str:
    """The feed's folder name: anything but letters, digits, ``._-`` becomes ``_``."""
    return _SAFE.sub("_", feed)


@dataclass(slots=True)
class _DayFile:
    ordinal: int
    path: Path
    file: IO[bytes]
    index: IO[bytes]
    size: int
    """Bytes in ``file`` (the offset of the next write)."""
    last_seq: int
    lines: int
    """Lines (events) in ``file``: with its name, a position that survives compression."""
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
        self._durable: dict[str, int] = {}
        """Per feed: the newest seq this journal wrote and confirmed (``last_seq``)."""

    def append(self, feed: str, events: list[Event]) -> None:
        """Record one applied batch of ``feed`` (in seq order, as the pipeline applies it).

        Raises:
            OSError: the batch (or its part on a later day) could not be written; nothing
                of that part is left in the files, and ``last_seq`` says what is.
        """
        if not events:
            return
        start = 0
        day = day_ordinal(events[0].ts)
        if day_ordinal(events[-1].ts) != day:  # rare: the batch crosses midnight (or
            for i, ev in enumerate(events):  # several: a backlog of quiet days)
                if day_ordinal(ev.ts) != day:
                    self._write(feed, events[start:i])
                    start, day = i, day_ordinal(ev.ts)
        self._write(feed, events[start:])

    def rolls(self, feed: str, events: list[Event]) -> bool:
        """Whether appending ``events`` would move ``feed`` on to a later service day
        (the same test ``append`` splits and opens files by): a state snapshot taken
        before such a batch is the state at the end of the feed's day."""
        current = self._files.get(feed)
        if current is None or not events:
            return False
        return max(day_ordinal(events[0].ts), day_ordinal(events[-1].ts)) > current.ordinal

    def last_seq(self, feed: str) -> int | None:
        """The newest seq of ``feed`` confirmed (durable) in its files: written by this
        journal, or found in the file it reopened; None when it knows none."""
        durable = self._durable.get(feed)
        day = self._files.get(feed)
        if durable is None and day is not None and day.last_seq:
            return day.last_seq
        return durable

    def positions(self) -> dict[str, tuple[str, int, int]]:
        """Per feed: the name of the file being written, the lines in it so far and the
        last seq written. Everything journaled after this point is in that file past
        those lines, then in the feed's later files (``read_after``), compressed or not."""
        return {f: (day.path.name, day.lines, day.last_seq) for f, day in self._files.items()}

    def sync(self) -> None:
        """Flush every open file to disk (``fsync``): before a snapshot claims them."""
        for day in self._files.values():
            os.fsync(day.file.fileno())
            os.fsync(day.index.fileno())

    def _write(self, feed: str, events: list[Event]) -> None:
        """One encoded write of the batch. The common batch (no heartbeat) is encoded
        whole by ``encode_lines`` — the same bytes as one ``encode`` plus ``\\n`` per
        event — and its bookkeeping is a pass over hall and ts; a batch with a heartbeat
        takes ``_write_thinned``, event by event."""
        day = self._day_file(feed, events)
        if any(issubclass(t, Heartbeat) for t in set(map(type, events))):
            self._write_thinned(day, events)
        else:
            self._write_plain(day, events)
        if day.last_seq:
            self._durable[feed] = day.last_seq

    def _write_plain(self, day: _DayFile, events: list[Event]) -> None:
        """A batch without heartbeats: one ``encode_lines``, the bookkeeping after it."""
        last_seq = next((ev.seq for ev in reversed(events) if ev.seq is not None), None)
        clock = day.clock
        get = clock.get
        for ev in events:  # per hall the newest ts, whatever the order of the batch
            hall, ts = ev.hall, ev.ts
            if ts > get(hall, 0):
                clock[hall] = ts
        pending = day.pending
        if pending:  # a hall's event written: its older heartbeat is not needed any more
            for hall in {ev.hall for ev in events}:
                pending.pop(hall, None)
        _emit(day, self._encoder.encode_lines(events), len(events))
        if last_seq is not None:  # (only once written: a failed write leaves it)
            day.last_seq = last_seq

    def _write_thinned(self, day: _DayFile, events: list[Event]) -> None:
        """A batch with heartbeats: one is written only when it moves its hall's clock by
        ``HEARTBEAT_EVERY_MS`` (the newest other one is kept pending), in batch order."""
        kept: list[Event] = []
        clock, pending = day.clock, day.pending
        last_seq = None
        for ev in events:
            if isinstance(ev, Heartbeat):
                if ev.ts < clock.get(ev.hall, 0) + HEARTBEAT_EVERY_MS:
                    if ev.ts > clock.get(ev.hall, 0):
                        pending[ev.hall] = ev
                    continue
            elif ev.seq is not None:
                last_seq = ev.seq
            pending.pop(ev.hall, None)
            clock[ev.hall] = max(clock.get(ev.hall, 0), ev.ts)
            kept.append(ev)
        if kept:
            _emit(day, self._encoder.encode_lines(kept), len(kept))
        if last_seq is not None:
            day.last_seq = last_seq

    def _day_file(self, feed: str, events: list[Event]) -> _DayFile:
        ordinal = day_ordinal(events[0].ts)
        current = self._files.get(feed)
        if current is not None and current.ordinal == ordinal:
            return current
        if current is not None:
            del self._files[feed]  # (closed below, even if that fails: none is open then)
            self._close(current)
            if ordinal > current.ordinal:  # that day is over for this feed: archive it
                thread = threading.Thread(target=_compress_quietly, args=(current.path,),
                                          daemon=True)  # fmt: skip
                thread.start()
                self._compressing = [t for t in self._compressing if t.is_alive()] + [thread]
        folder = self.root / safe_name(feed)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # (parents= makes
        folder.mkdir(mode=0o700, exist_ok=True)  # only the leaf 0700: one level at a time)
        first_seq = next((ev.seq for ev in events if ev.seq is not None), None)
        stem = service_day(events[0].ts).isoformat()
        path, last_seq = folder / f"{stem}.jsonl", 0
        for part in range(2, 1000):
            if path.exists():
                check_file(path, repair=True)  # never append after a torn tail
            last_seq = _last_seq(path)
            following = folder / f"{stem}.{part}.jsonl"
            if first_seq is None:  # heartbeats only: they go on in the newest part
                if not following.exists():
                    break
            elif last_seq == 0 or first_seq > last_seq:
                break  # empty, or this run continues the file's seqs
            path = following
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        fresh = not path.exists()
        # Unbuffered: a failed write must not stay in a buffer to be written later.
        index = os.fdopen(os.open(index_path(path), flags, 0o600), "ab", buffering=0)
        if fresh:  # an index as old as its data: a file without one predates checksums
            index.truncate(0)
        data = os.fdopen(os.open(path, flags, 0o600), "ab", buffering=0)
        size = data.seek(0, os.SEEK_END)
        lines = path.read_bytes().count(b"\n") if size else 0
        current = self._files[feed] = _DayFile(ordinal, path, data, index, size, last_seq, lines)
        return current

    def _close(self, day: _DayFile) -> None:
        """Write each hall's newest pending heartbeat (the final hall clock), then close
        (also when that write fails: then it raises)."""
        try:
            if day.pending:
                _emit(day, self._encoder.encode_lines(day.pending.values()), len(day.pending))
                day.pending.clear()
        finally:
            day.file.close()
            day.index.close()

    def paths(self) -> dict[str, Path]:
        """The file each feed is writing now."""
        return {feed: day.path for feed, day in self._files.items()}

    def close(self) -> None:
        """Flush the final hall clocks, close every file, finish the compressions.

        Raises:
            OSError: a final hall clock could not be written (every file is closed
                anyway; the journal holds every batch it confirmed).
        """
        failed: OSError | None = None
        for day in self._files.values():
            try:
                self._close(day)
            except OSError as error:
                failed = failed or error
        self._files.clear()
        for thread in self._compressing:
            thread.join()
        self._compressing.clear()
        if failed is not None:
            raise failed


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
    index_path(path).unlink(missing_ok=True)
    return target


def _compress_quietly(path: Path) -> None:
    """``compress`` in the background: a failure (the disk full) leaves the day a plain
    file, which replay and recovery read as well (no traceback from the thread)."""
    try:
        compress(path)
    except OSError as error:
        path.with_name(path.name + ".gz.partial").unlink(missing_ok=True)
        log.warning("journal_compress_failed", path=str(path), error=str(error))


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


def index_path(path: Path) -> Path:
    """The checksum index of a journal data file (``<day>[.N].crc``)."""
    return path.with_suffix(".crc")


def _emit(day: _DayFile, buf: bytes, lines: int) -> None:
    """Write one record of ``lines`` JSON lines: the data first, then its index entry
    (so it is confirmed). JSON text holds no raw newline: ``lines`` is the count of
    ``\\n`` in ``buf``, known without scanning it.

    Raises:
        OSError: the record could not be written whole; what was written of it is cut
            off again (the files end as they did before).
    """
    head = _RECORD.pack(day.size, len(buf), zlib.crc32(buf))
    try:
        _write_all(day.file, buf)
        _write_all(day.index, head + zlib.crc32(head).to_bytes(4, "little"))
    except OSError:
        _cut_back(day)
        raise
    day.size += len(buf)
    day.lines += lines


def _write_all(file: IO[bytes], buf: bytes) -> None:
    """Write all of ``buf`` to an unbuffered file (a short write goes on where it
    stopped; a full disk then raises)."""
    view = memoryview(buf)
    while view:
        written = file.write(view)
        if not written:  # (None: would block; 0: nothing taken) — not for a plain file
            raise OSError(f"{getattr(file, 'name', 'journal')}: write took nothing")
        view = view[written:]


def _cut_back(day: _DayFile) -> None:
    """Undo a record written in part: the data back to ``day.size``, the index back to
    its last whole record. Cutting frees space, so it works on a full disk; if it does
    not, the next open finds the torn tail and cuts it (``check_file``)."""
    with contextlib.suppress(OSError):
        os.ftruncate(day.file.fileno(), day.size)
        index_size = os.fstat(day.index.fileno()).st_size
        os.ftruncate(day.index.fileno(), index_size - index_size % _RECORD_SIZE)


@dataclass(slots=True)
class FileCheck:
    """What ``check_file`` found in one journal data file."""

    path: Path
    lines: list[bytes]
    """The confirmed lines (one JSON event each), in file order."""
    cut_bytes: int = 0
    """Bytes past the last confirmed record: the torn tail (cut when repairing)."""
    damaged: int = 0
    """Records whose CRC did not match (their lines are left out of ``lines``)."""


def check_file(path: Path, *, repair: bool = False, from_line: int = 0) -> FileCheck:
    """Verify a plain ``.jsonl`` journal file against its index; find the torn tail.

    Args:
        path: The data file.
        repair: Cut the torn tail from the data file (and a torn record from the index),
            logging what was cut; never raises for damage, only for I/O.
        from_line: Leave out the file's first lines (counted as written, damaged ones
            included): what a snapshot already holds (``Journal.positions``).

    Raises:
        OSError: when the file cannot be read or cut.
    """
    data = path.read_bytes()
    idx = index_path(path)
    try:
        index = idx.read_bytes()
    except FileNotFoundError:
        index = None
    check = FileCheck(path, [])
    keep_index = 0
    if index is None:  # no checksums (older journal, CSV import): whole lines only
        end = data.rfind(b"\n") + 1
        check.lines = data[:end].splitlines()[from_line:]
    else:
        end, line = -1, 0
        for pos in range(0, len(index) - _RECORD_SIZE + 1, _RECORD_SIZE):
            head = index[pos : pos + _RECORD.size]
            crc = int.from_bytes(index[pos + _RECORD.size : pos + _RECORD_SIZE], "little")
            offset, length, data_crc = _RECORD.unpack(head)
            if zlib.crc32(head) != crc or offset + length > len(data):
                break  # a torn index record, or data that never reached the disk
            if end < 0 and offset:  # appended to a file that predates checksums
                older = data[: data.rfind(b"\n", 0, offset) + 1].splitlines()
                check.lines.extend(older[from_line:])
                line = len(older)
            chunk = data[offset : offset + length].splitlines()
            if zlib.crc32(data[offset : offset + length]) == data_crc:
                check.lines.extend(chunk[max(0, from_line - line) :])
            else:
                check.damaged += 1
            line += len(chunk)
            end, keep_index = offset + length, pos + _RECORD_SIZE
        end = max(end, 0)
    check.cut_bytes = len(data) - end
    if check.damaged:
        log.warning("journal_damaged_records", path=str(path), records=check.damaged)
    if repair and (check.cut_bytes or (index is not None and keep_index < len(index))):
        os.truncate(path, end)
        if index is not None:
            os.truncate(idx, keep_index)
        log.warning("journal_tail_cut", path=str(path), bytes=check.cut_bytes)
    return check


@dataclass(slots=True)
class DayRecovery:
    """A feed's newest journaled service day, checked and repaired, read back lazily."""

    day: str | None
    """The service day (ISO date) of the files read, or None when there are none."""
    parts: list[list[bytes]]
    """Each run's confirmed lines, oldest file first, in the order they were applied."""
    last_seq: int
    """The newest seq replayed (of the newest part that has one): where the feed resumes."""
    cut_bytes: int = 0
    damaged: int = 0
    bad_lines: int = 0
    """Confirmed lines that are not an event (counted by ``batches`` as it decodes)."""

    def batches(self, size: int = 2000) -> Iterator[tuple[int, list[Event]]]:
        """(part, events) of at most ``size`` events, in applied order: decoded as they
        are taken, so a 100-hall day is never held as events all at once."""
        decoder = msgspec.json.Decoder(Event)
        for part, lines in enumerate(self.parts):
            for start in range(0, len(lines), size):
                events: list[Event] = []
                for line in lines[start : start + size]:
                    try:
                        events.append(decoder.decode(line))
                    except msgspec.DecodeError:
                        self.bad_lines += 1
                yield part, events


_PART = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl(\.gz)?$")


def _feed_files(folder: Path) -> tuple[dict[str, list[tuple[int, Path]]], set[str]]:
    """A feed's journal files by service day (part number, path), and the days that
    still have a plain (being written) file. Leftovers of a compression cut short are
    cleaned up on the way: a partial archive is removed, and so is a plain file whose
    archive is complete (with its index)."""
    found: dict[str, list[tuple[int, Path]]] = {}
    plain: set[str] = set()
    if not folder.is_dir():
        return found, plain
    for path in folder.iterdir():
        m = _PART.match(path.name)
        if m is None:
            if path.name.endswith(".gz.partial"):  # a compression cut short
                path.unlink(missing_ok=True)
            continue
        if not m.group(3):
            if path.with_name(path.name + ".gz").exists():  # archived; unlink cut short
                path.unlink()
                index_path(path).unlink(missing_ok=True)
                continue
            plain.add(m.group(1))
        found.setdefault(m.group(1), []).append((int(m.group(2) or 1), path))
    return found, plain


def _read_parts(out: DayRecovery, paths: list[tuple[Path, int]]) -> DayRecovery:
    """Read (and repair) ``paths`` into ``out``, each from its first line not yet
    applied; set ``out.last_seq`` to the newest seq read."""
    for path, from_line in paths:
        if path.suffix == ".gz":
            out.parts.append(gzip.decompress(path.read_bytes()).splitlines()[from_line:])
            continue
        check = check_file(path, repair=True, from_line=from_line)
        out.cut_bytes += check.cut_bytes
        out.damaged += check.damaged
        out.parts.append(check.lines)
    for lines in reversed(out.parts):  # the newest seq replayed (a part may be empty:
        seq = next((hit for line in reversed(lines) if (hit := _SEQ.search(line))), None)
        if seq is not None:  # killed as it was opened)
            out.last_seq = int(seq.group(1))
            break
    return out


def recover_day(root: Path, feed: str, days: int = 1) -> DayRecovery:
    """Read back (and repair) the newest plain journal day of ``feed`` under ``root``,
    preceded by the feed's files of the ``days - 1`` calendar days before it.

    A feed whose newest day is already compressed has nothing to rebuild (that day is
    over). Earlier days (usually compressed) come first, so cases still open from them
    are rebuilt too. Bad lines (they can only be inside confirmed records if the disk
    changed them) are counted and skipped.

    Raises:
        OSError: when a file cannot be read or repaired.
    """
    found, plain = _feed_files(root / safe_name(feed))
    if not plain:
        return DayRecovery(None, [], 0)
    day = max(plain)
    first = (dt.date.fromisoformat(day) - dt.timedelta(days=max(1, days) - 1)).isoformat()
    days_read = sorted(d for d in found if first <= d <= day)
    paths = [(path, 0) for stem in days_read for _, path in sorted(found[stem])]
    return _read_parts(DayRecovery(day, [], 0), paths)


def read_after(root: Path, feed: str, name: str, lines: int) -> DayRecovery:
    """Read back (and repair) what ``feed`` journaled after a position of
    ``Journal.positions``: file ``name`` past its first ``lines`` lines (compressed
    since, or not), then every later file of the feed, in the order they were written.

    Raises:
        OSError: when a file cannot be read or repaired.
    """
    found, _ = _feed_files(root / safe_name(feed))
    m = _PART.match(name)
    if m is None:
        raise ValueError(f"not a journal file name: {name!r}")
    at = (m.group(1), int(m.group(2) or 1))
    paths = [
        (path, lines if (stem, part) == at else 0)
        for stem in sorted(found)
        for part, path in sorted(found[stem])
        if (stem, part) >= at
    ]
    newest = max(found, default=None)
    return _read_parts(DayRecovery(newest, [], 0), paths)
