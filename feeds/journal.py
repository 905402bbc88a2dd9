"""The journal: every applied event, after pseudonymization, as JSON lines per feed-day.

One file per feed and service day under ``<data dir>/journal/<feed>/<day>.jsonl``, written
once per batch (never per event) and flushed with it. The raw ``person`` never reaches it:
events are journaled after the decoder replaced it. Recording, replay and crash recovery
grow from this file (later issues); it is deliberately plain.

Imports: feeds.protocol, feeds.hallclock, msgspec, the standard library.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO

import msgspec

from feeds.hallclock import service_day
from feeds.protocol import Event

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Journal:
    """Appends batches of events to per-feed, per-day JSON-lines files (mode 0600)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._encoder = msgspec.json.Encoder()
        self._files: dict[str, tuple[str, IO[bytes]]] = {}

    def append(self, feed: str, events: list[Event]) -> None:
        if not events:
            return
        day = service_day(events[-1].ts).isoformat()
        current = self._files.get(feed)
        if current is None or current[0] != day:
            if current is not None:
                current[1].close()
            folder = self.root / _SAFE.sub("_", feed)
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(folder / f"{day}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            current = self._files[feed] = (day, os.fdopen(fd, "ab"))
        buf = bytearray()
        encode_into = self._encoder.encode_into
        for ev in events:
            encode_into(ev, buf, len(buf))
            buf.extend(b"\n")
        current[1].write(buf)
        current[1].flush()

    def close(self) -> None:
        for _, f in self._files.values():
            f.close()
        self._files.clear()
