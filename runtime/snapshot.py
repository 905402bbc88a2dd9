"""State snapshots: a restart rebuilds from the newest snapshot plus the journal's tail.

Cases and complaints stay open across days (a case for its promised working days; a
second trip is judged against 30 days of visits), so replaying only today's journal
loses them, and replaying weeks costs ~8 s per 100-hall day. A snapshot of a 100-hall
city is ~11 MB once the day has turned (~25 MB with a full day in it), written in
~0.1-0.3 s (``bench/snapshot.py``).

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

Trust: it is a pickle, and a pickle runs code when loaded. It is written 0600 in the
0700 data dir; ``load`` refuses a file not owned by this user or writable by others.
It is used only by the same code with the same configuration: its header carries a
digest of the source of ``feeds/``, ``metrics/``, ``alerts/`` and of the config, and any
difference (an upgrade, an edited threshold) discards it — logged, and recovery replays
the journal's newest days as before (``--recover-days``).

Format: a magic line, one JSON header line in a fixed 64 KiB slot (format, digests,
positions, payload length and CRC-32), the pickle. Written to a temporary file, fsynced,
then renamed over the old one: a kill while writing leaves the previous snapshot whole.

Imports: feeds.journal, the standard library, structlog.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
import zlib
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO, Final

import structlog

log = structlog.get_logger("hallwatch.snapshot")

MAGIC: Final = b"hallwatch-snapshot\n"
FORMAT: Final = 2
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

    def _header(self, positions: Positions, length: int, crc: int) -> bytes:
        head = {
            "format": FORMAT,
            "code": code_digest(),
            "config": self.config,
            "positions": positions,
            "length": length,
            "crc32": crc,
            "saved_wall": time.time(),
        }
        line = json.dumps(head, sort_keys=True).encode()
        if len(line) >= HEADER_BYTES:
            raise ValueError(f"snapshot header over {HEADER_BYTES} bytes ({len(positions)} feeds)")
        return line.ljust(HEADER_BYTES - 1) + b"\n"

    def save(self, positions: Positions, state: dict[str, Any]) -> None:
        """Write ``state`` (what ``Pipeline.checkpoint_state`` gives), made when the
        journal held exactly ``positions`` (synced up to them).

        The pickle streams into the file (a 100-hall day held as bytes first would add
        ~40 MB to the peak); the header, written last into its fixed-size slot, gives
        the payload's length and CRC-32."""
        started = time.perf_counter()
        partial = self.path.with_name(self.path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + b" " * (HEADER_BYTES - 1) + b"\n")
            out = _Checksummed(f)
            pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
            f.seek(len(MAGIC))
            f.write(self._header(positions, out.length, out.crc))
            f.flush()
            os.fsync(f.fileno())
        partial.replace(self.path)
        self.saved += 1
        log.info(
            "snapshot_saved",
            bytes=out.length,
            seconds=round(time.perf_counter() - started, 3),
            halls=len(state.get("halls", ())),
            positions=positions,
        )

    def load(self) -> tuple[Positions, dict[str, Any]] | None:
        """The journal positions and the state saved with them; None when there is no
        usable snapshot (missing, foreign, damaged, other code or config: logged why)."""
        if not self.path.exists():
            return None
        found = self._read()
        if isinstance(found, str):
            self.skipped(found)
            return None
        head, data = found
        positions = {feed: (at[0], at[1], at[2]) for feed, at in head["positions"].items()}
        age = round(time.time() - head.get("saved_wall", 0.0))
        log.info("snapshot_loaded", halls=len(data.get("halls", ())), positions=positions,
                 age_s=age)  # fmt: skip
        return positions, data

    def skipped(self, why: str) -> None:
        """Say why the snapshot is not used (recovery then replays the journal)."""
        log.warning("snapshot_skipped", path=str(self.path), why=why)

    def _read(self) -> tuple[dict[str, Any], dict[str, Any]] | str:
        """The header and the unpickled payload, or why the file is not usable."""
        try:
            st = self.path.stat()
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return "not this user's, or writable by others"
            with self.path.open("rb") as f:
                if f.readline() != MAGIC:
                    return "not a snapshot"
                head: dict[str, Any] = json.loads(f.read(HEADER_BYTES))
                payload = f.read()
        except (OSError, ValueError) as error:
            return f"unreadable: {error}"
        if head.get("format") != FORMAT or head.get("code") != code_digest():
            return "made by other code"
        if head.get("config") != self.config:
            return "made with another configuration"
        if len(payload) != head.get("length") or zlib.crc32(payload) != head.get("crc32"):
            return "damaged"
        try:
            data: dict[str, Any] = pickle.loads(payload)
        except Exception as error:  # same code, same bytes: should load; never fail a start
            return f"unpickling failed: {type(error).__name__}"
        return head, data


class _Checksummed:
    """A binary file the pickle streams into, counting and checksumming what it writes."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.length = 0
        self.crc = 0

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        self.crc = zlib.crc32(view, self.crc)
        self.length += view.nbytes
        return self.file.write(view)
