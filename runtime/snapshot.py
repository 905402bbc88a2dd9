"""State snapshots: a restart rebuilds from the newest snapshot plus the journal's tail.

Cases and complaints stay open across days (a case for its promised working days; a
second trip is judged against 30 days of visits), so replaying only today's journal
loses them, and replaying weeks costs ~3-8 s per 100-hall day. A snapshot of a 100-hall
city is ~11 MB once the day has turned (~23 MB with a full day in it), written in
~0.2-0.3 s allocating ~1 MB on the way, read back in ~0.1-0.2 s (``bench/snapshot.py``).

When: after a feed moves on to a new service day (``Journal.rolls``), at the first
publish once every hall has left the old day (its tickets and columns dropped: the
snapshot is then half the size) or an hour of the new day has gone by; the very first
one right away, before the new day's batch. And at a clean stop (``Pipeline.close``).
Between two batches the state holds exactly what the journal holds up to
``Journal.positions()`` (per feed: a file and a line count), for every feed at once. A
crash before the new snapshot is saved loses nothing: the previous one, plus the
journal after it (yesterday's end and today), rebuilds the same state.

What: the hall state (``CityState.halls``), the hall rules' memory (``AlertEngine``:
visits, pauses, who waits where…), the alert book's transient part (alerts waiting out a
hold time, pending alerts), each feed's counters and the journal positions. The rest of
the book is not in it: the alert store already keeps it, and is the authority (an alert
acknowledged after the snapshot stays acknowledged).

Trust: no pickle. It is msgpack that msgspec reads back into the very types the code
expects (``metrics.codec``): loading it runs no code, whoever wrote the file. It is
still written 0600 in the 0700 data dir, and ``load`` refuses a file not owned by this
user or writable by others. It is used only by the same code with the same
configuration: its header carries a digest of the source of ``feeds/``, ``metrics/``,
``alerts/`` and of the config, and any difference (an upgrade, an edited threshold)
discards it — logged, and recovery replays the journal's newest days as before
(``--recover-days``). A file of an older ``FORMAT`` (format 2 was a pickle) is refused
unread, the same way.

Format: a magic line, one JSON header line in a fixed 64 KiB slot (format, digests,
positions, each part's length, the payload's length and CRC-32), then the payload: two
parts, each sealed with the checkpoint format's version and a CRC-32 of its own
(``metrics.codec.sealed``) — the pipeline's (``Saved``: the rules' memory, the book's
transient part, the feeds' counters), then the halls' (``CityState.checkpoint``),
streamed into the file one hall at a time. Written to a temporary file, fsynced, then
renamed over the old one: a kill while writing leaves the previous snapshot whole.

Imports: metrics.codec (sealed parts), msgspec, the standard library, structlog.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, Final

import msgspec
import structlog

from metrics.codec import Buffer, CheckpointError, sealed, unsealed

log = structlog.get_logger("hallwatch.snapshot")

MAGIC: Final = b"hallwatch-snapshot\n"
FORMAT: Final = 3
"""3: sealed msgpack parts (``metrics.codec``). 2 was a pickle: refused, never loaded."""
#: The header's slot: one JSON line padded with spaces (room for ~700 feeds' positions).
HEADER_BYTES: Final = 65536
#: The packages whose objects a snapshot holds: their source is part of its identity.
_PACKAGES: Final = ("feeds", "metrics", "alerts")


@cache
def code_digest() -> str:
    """SHA-256 of the source of the packages a snapshot's objects come from."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for package in _PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def config_digest(path: Path | None) -> str:
    """SHA-256 of a config file's bytes ("" without one: the defaults)."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else ""


#: Feed → (journal file name, lines in it, last seq journaled) at a snapshot: replay
#: after the lines; resume after the seq if nothing was journaled since.
Positions = dict[str, tuple[str, int, int]]


class Saved(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The pipeline's part of a snapshot: ``Pipeline.checkpoint_state`` but the halls."""

    rules: bytes
    """``AlertEngine.rule_memory()``."""
    book: bytes
    """``AlertBook.transient()``."""
    feeds: dict[str, tuple[int, dict[str, int], int, int]]
    """Feed → (events, rejections by reason, gaps, seq restarts)."""
    events_total: int


_PIPELINE: Final = b"pipe"
_SAVED: Final = msgspec.msgpack.Decoder(Saved)


class Snapshots:
    """The snapshot file of one data dir."""

    def __init__(self, path: Path, config: str = "") -> None:
        """Args:
        path: The snapshot file (``<data dir>/state.snapshot``).
        config: ``config_digest`` of the configuration in use.
        """
        self.path = path
        self.config = config
        self.saved = 0

    def _header(self, positions: Positions, parts: list[int], crc: int) -> bytes:
        head = {
            "format": FORMAT,
            "code": code_digest(),
            "config": self.config,
            "positions": positions,
            "parts": parts,
            "length": sum(parts),
            "crc32": crc,
            "saved_wall": time.time(),
        }
        line = json.dumps(head, sort_keys=True).encode()
        if len(line) >= HEADER_BYTES:
            raise ValueError(f"snapshot header over {HEADER_BYTES} bytes ({len(positions)} feeds)")
        return line.ljust(HEADER_BYTES - 1) + b"\n"

    def save(self, positions: Positions, state: dict[str, Any]) -> None:
        """Write ``state`` (what ``Pipeline.checkpoint_state`` gives: ``halls``, the
        chunks of ``CityState.checkpoint_stream``, and the fields of ``Saved``), made when
        the journal held exactly ``positions`` (synced up to them).

        The halls stream into the file one at a time (a 100-hall day held as bytes first
        would add ~20 MB to the peak); the header, written last into its fixed-size
        slot, gives each part's length and the payload's CRC-32.

        Raises:
            OSError: the file cannot be written (the previous snapshot stays).
            ValueError: not such a state, or a value the checkpoint cannot hold
                (``metrics.codec.CheckpointError``, naming it).
        """
        started = time.perf_counter()
        try:
            own = Saved(**{k: v for k, v in state.items() if k != "halls"})
        except TypeError as error:
            raise ValueError(f"not a state to snapshot: {error}") from error
        parts: list[Iterable[Buffer]] = [
            sealed(_PIPELINE, [msgspec.msgpack.encode(own)]),
            state["halls"],
        ]
        partial = self.path.with_name(self.path.name + ".partial")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + b" " * (HEADER_BYTES - 1) + b"\n")
                out = _Checksummed(f)
                lengths = []
                for part in parts:
                    before = out.length
                    for chunk in part:
                        out.write(chunk)
                    lengths.append(out.length - before)
                f.seek(len(MAGIC))
                f.write(self._header(positions, lengths, out.crc))
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(self.path)
        self.saved += 1
        log.info(
            "snapshot_saved",
            bytes=out.length,
            seconds=round(time.perf_counter() - started, 3),
            positions=positions,
        )

    def load(self) -> tuple[Positions, dict[str, Any]] | None:
        """The journal positions and the state saved with them (``halls``: the bytes
        ``CityState.restore`` takes; the fields of ``Saved``); None when there is no
        usable snapshot (missing, foreign, damaged, older, other code or config: logged
        why). Nothing in the file is run, or even decoded, before its header is found
        to be this code's and configuration's."""
        if not self.path.exists():
            return None
        found = self._read()
        if isinstance(found, str):
            self.skipped(found)
            return None
        head, positions, data = found
        saved = head.get("saved_wall")
        age = round(time.time() - saved) if isinstance(saved, int | float) else None
        log.info("snapshot_loaded", bytes=head["length"], positions=positions, age_s=age)
        return positions, data

    def skipped(self, why: str) -> None:
        """Say why the snapshot is not used (recovery then replays the journal)."""
        log.warning("snapshot_skipped", path=str(self.path), why=why)

    def _refused(self, head: dict[str, Any]) -> str | None:
        """Why a header says the snapshot is not for this code and configuration."""
        made = head.get("format")
        if made != FORMAT:
            age = "an older" if isinstance(made, int) and made < FORMAT else "another"
            return f"made by {age} hallwatch (format {made}): replaying the journal instead"
        if head.get("code") != code_digest():
            return "made by other code"
        if head.get("config") != self.config:
            return "made with another configuration"
        return None

    def _read(self) -> tuple[dict[str, Any], Positions, dict[str, Any]] | str:
        """The header, the positions and the state, or why the file is not usable."""
        try:
            st = self.path.stat()
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return "not this user's, or writable by others"
            with self.path.open("rb") as f:
                if f.readline() != MAGIC:
                    return "not a snapshot"
                head = json.loads(f.read(HEADER_BYTES))
                if not isinstance(head, dict):
                    return "not a snapshot"
                why = self._refused(head)
                if why is not None:
                    return why
                payload = f.read()
        except (OSError, ValueError) as error:
            return f"unreadable: {error}"
        parts = head.get("parts")
        if (
            len(payload) != head.get("length")
            or zlib.crc32(payload) != head.get("crc32")
            or not isinstance(parts, list)
            or len(parts) != 2
            or not all(isinstance(n, int) and n >= 0 for n in parts)
            or sum(parts) != len(payload)
        ):
            return "damaged"
        try:
            positions = {f: (at[0], at[1], at[2]) for f, at in head["positions"].items()}
        except (KeyError, AttributeError, IndexError, TypeError):
            return "damaged"
        view = memoryview(payload)
        try:
            own = _SAVED.decode(unsealed(_PIPELINE, view[: parts[0]]))
        except (CheckpointError, msgspec.DecodeError) as error:
            return f"undecodable: {error}"
        data = {"halls": view[parts[0] :], **msgspec.structs.asdict(own)}
        return head, positions, data


class _Checksummed:
    """A binary file the parts stream into, counting and checksumming what it writes."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.length = 0
        self.crc = 0

    def write(self, data: Buffer) -> int:
        view = memoryview(data)
        self.crc = zlib.crc32(view, self.crc)
        self.length += view.nbytes
        return self.file.write(view)
