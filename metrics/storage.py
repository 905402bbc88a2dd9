"""Storage health as readers see it: whether each store of the data dir can be written
now, and its failed writes by reason (``hall_storage_ok``, ``hall_storage_errors_total``;
docs/metrics.md). The runtime keeps the live record (``runtime.storage``); a frozen
``StoreHealth`` per store goes into each published ``CitySnapshot``.

Imports: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: The stores of a data dir: the journal of every applied batch (``feeds.journal``),
#: the alert store with its audit trail (``alerts.db``), the state snapshot.
STORES: Final = ("journal", "alerts", "checkpoint")
#: Why a write failed, a closed set: the filesystem is full (or over quota), mounted
#: read-only, not ours to write, failing (EIO), the file is damaged (SQLite: malformed,
#: not a database), or anything else.
REASONS: Final = ("no_space", "read_only", "permission", "io_error", "corrupt", "other")


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """One store at one moment."""

    store: str
    """One of ``STORES``."""
    ok: bool
    """The last write (or retry) succeeded: nothing is held in memory for it."""
    errors: tuple[tuple[str, int], ...] = ()
    """(reason, failed writes) since start, by reason, only those that occurred."""
    path: str = ""
    """The file or folder it writes."""
    error: str | None = None
    """While failing: the last error, as the OS or SQLite said it."""
    since_wall: float | None = None
    """While failing: since when (this machine's clock, s since the epoch)."""
