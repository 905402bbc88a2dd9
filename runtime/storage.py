"""Storage that fails while the halls go on: a full disk, a read-only filesystem, a damaged
alert store.

The pipeline writes three stores into the data dir: the journal of every applied batch,
the alert store (``alerts.db``: alerts, silences, handovers, the audit trail) and the
state snapshot (the checkpoint). When one cannot be written, ingest does not stop: the
figures and the alerts stay live in memory, and what the store should hold is kept —
the journal's gap is fetched again from the feed (``runtime.backfill``), the alert
changes are held in order (``runtime.held_alerts``), the checkpoint is saved later
(``CheckedSnapshots``) — and written when writing works again (``runtime.repair``
retries with back-off). A restart after the disk filled and emptied gives the figures
and the alert trail of a clean run.

This module is what they share: ``Storage``, each store's health (one log line per
change of state, never one per failed write; ``hall_storage_ok`` and
``hall_storage_errors_total`` on /metrics), ``reason_of`` (why a write failed, a closed
set: ``metrics.storage.REASONS``), the urgent ``storage_failed`` warning (``StorageAlarm``),
and the start-up messages for a data dir that cannot be used (``explain``, ``starting``,
``open_alert_store``: exit 2 with the file and what to do).

``storage_failed`` is fired on every hall the process holds, scope ``storage``, one per
hall whatever stores fail: the console shows a hall's alerts on that hall's screens, the
wall board a hall's grave ones, and Prometheus alert rules route by hall, so a process-wide
alert would be seen nowhere a duty director looks. It lives in memory only (the store is
what is failing): ``HeldChanges`` never passes its changes on, but it reaches the
console, /metrics (``hall_alerts_active``) and the outbound senders like any other.

Imports: alerts (book, store), metrics (snapshot, storage), runtime (datadir, snapshot),
structlog, the standard library.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import structlog

from alerts.book import AlertBook
from alerts.store import AlertStore, StoreError
from metrics.snapshot import HallSnapshot
from metrics.storage import REASONS, STORES, StoreHealth
from runtime.datadir import DataDirError
from runtime.snapshot import Positions, Snapshots

log = structlog.get_logger("hallwatch.storage")

STORAGE_FAILED: Final = "storage_failed"
"""The alert rule: a store of the data dir cannot be written (urgent warning, every hall)."""

#: What each store is, in the words of a log line and an alert.
STORE_NAMES: Final = {"journal": "the journal", "alerts": "the alert store",
                      "checkpoint": "the state snapshot"}  # fmt: skip

_ERRNO: Final = {
    errno.ENOSPC: "no_space",
    errno.EDQUOT: "no_space",
    errno.EFBIG: "no_space",
    errno.EROFS: "read_only",
    errno.EACCES: "permission",
    errno.EPERM: "permission",
    errno.EIO: "io_error",
}
#: SQLite's primary result codes (the low byte of an extended code).
_SQLITE: Final = {
    13: "no_space",  # SQLITE_FULL
    8: "read_only",  # SQLITE_READONLY
    3: "permission",  # SQLITE_PERM
    23: "permission",  # SQLITE_AUTH
    14: "permission",  # SQLITE_CANTOPEN (a folder or file this user may not open)
    10: "io_error",  # SQLITE_IOERR
    11: "corrupt",  # SQLITE_CORRUPT
    26: "corrupt",  # SQLITE_NOTADB
}


def reason_of(error: BaseException, where: Path | str | None = None) -> str:
    """Why a write failed, one of ``REASONS``: by errno for the OS, by result code for
    SQLite (a ``StoreError`` by what caused it). An I/O error on a filesystem with
    (almost) no space left, at ``where``, is ``no_space``: SQLite says "disk I/O error"
    when it cannot size its shared-memory file on a full disk."""
    if isinstance(error, StoreError) and error.__cause__ is not None:
        return reason_of(error.__cause__, where)
    reason = _reason(error)
    if reason == "io_error" and where is not None and _full(Path(where)):
        return "no_space"
    return reason


def _full(path: Path) -> bool:
    """Less than 1 MiB left for this user on the filesystem of ``path``."""
    for folder in (path, *path.parents):
        try:
            st = os.statvfs(folder)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize < 1 << 20
    return False


def _reason(error: BaseException) -> str:
    """The reason by the error alone."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int) and (code & 0xFF) in _SQLITE:
            return _SQLITE[code & 0xFF]
        text = str(error)
        if "full" in text:
            return "no_space"
        if "malformed" in text or "not a database" in text or "integrity" in text:
            return "corrupt"
        return "read_only" if "readonly" in text else "other"
    if isinstance(error, OSError) and error.errno in _ERRNO:
        return _ERRNO[error.errno]
    return "other"


def describe(error: BaseException) -> str:
    """An error as one line: the OS's or SQLite's own words."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    return str(error) or type(error).__name__


@dataclass(slots=True)
class _Store:
    path: str
    ok: bool = True
    errors: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    since_wall: float | None = None
    failed_writes: int = 0
    """Failed writes in the current failure (for the log line when it ends)."""


class Storage:
    """Each store's health: written as things happen (ok), or failing — then what it
    should hold is kept in memory until a retry writes it. A log line when a store
    starts failing (``storage_failed``: why, what is kept) and when it is written again
    (``storage_recovered``: after how long, how many failed writes), never per write."""

    def __init__(self) -> None:
        self._stores: dict[str, _Store] = {}
        self._frozen: tuple[StoreHealth, ...] | None = ()

    def add(self, store: str, path: Path) -> None:
        """Watch ``store`` (one of ``STORES``), which writes ``path``."""
        assert store in STORES, store
        self._stores[store] = _Store(str(path))
        self._frozen = None

    def __contains__(self, store: str) -> bool:
        return store in self._stores

    def ok(self, store: str) -> bool:
        """Whether ``store`` is written as things happen (True for a store not watched)."""
        s = self._stores.get(store)
        return s is None or s.ok

    def failing(self) -> list[str]:
        """The stores that cannot be written now, in ``STORES`` order."""
        return [name for name in STORES if not self.ok(name)]

    def failed(self, store: str, error: BaseException) -> None:
        """A write to ``store`` failed (counted by reason; logged if it was ok)."""
        s = self._stores.get(store)
        if s is None:
            return
        reason = reason_of(error, s.path)
        s.errors[reason] = s.errors.get(reason, 0) + 1
        s.failed_writes += 1
        s.error = describe(error)
        if s.ok:
            s.ok, s.since_wall = False, time.time()
            log.error(
                "storage_failed",
                store=store,
                path=s.path,
                reason=reason,
                error=s.error,
                meanwhile="ingest goes on; figures and alerts are kept in memory and "
                "written when the store can be written again",
            )
        self._frozen = None

    def recovered(self, store: str) -> None:
        """``store`` was written again: everything held for it is in it."""
        s = self._stores.get(store)
        if s is None or s.ok:
            return
        log.warning(
            "storage_recovered",
            store=store,
            path=s.path,
            failed_s=round(time.time() - (s.since_wall or time.time()), 1),
            failed_writes=s.failed_writes,
        )
        s.ok, s.error, s.since_wall, s.failed_writes = True, None, None, 0
        self._frozen = None

    def error(self, store: str) -> str | None:
        s = self._stores.get(store)
        return s.error if s is not None else None

    def snapshot(self) -> tuple[StoreHealth, ...]:
        """Each watched store, frozen (the same tuple until something changes)."""
        if self._frozen is None:
            self._frozen = tuple(
                StoreHealth(
                    store=name,
                    ok=s.ok,
                    errors=tuple((r, s.errors[r]) for r in REASONS if r in s.errors),
                    path=s.path,
                    error=s.error,
                    since_wall=s.since_wall,
                )
                for name in STORES
                if (s := self._stores.get(name)) is not None
            )
        return self._frozen


class StorageAlarm:
    """The urgent ``storage_failed`` warning on every hall while a store cannot be written,
    resolved on each hall when every store is written again. Its summary names the
    stores failing and why (kept up to date while it is open)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._open: set[str] = set()
        """Halls where this alarm has its alert open."""
        self._resolved_ms: dict[str, int] = {}
        """Per hall: when its last one resolved (a new failure fires after it)."""

    def judge(self, book: AlertBook, halls: Mapping[str, HallSnapshot]) -> None:
        """At each publish, after the rules: fire, update or resolve, hall by hall."""
        failing = self.storage.failing()
        if not failing and not self._open:
            return
        summary = self._summary(failing) if failing else ""
        for name, hall in halls.items():
            key = (STORAGE_FAILED, name, "storage")
            alert = book.open.get(key)
            if failing:
                if alert is None:
                    # After a resolution at this very hall time the book would take it
                    # for history seen again: fire it a millisecond later.
                    at = max(hall.now_ms, self._resolved_ms.get(name, -1) + 1)
                    alert = book.fire(STORAGE_FAILED, name, "storage", "urgent", at, summary)
                    if alert is not None:
                        self._open.add(name)
                elif alert.summary != summary:
                    alert.summary = summary
            elif name in self._open:
                self._open.discard(name)
                if alert is not None:
                    at = max(hall.now_ms, alert.fired_ms)
                    book.resolve(STORAGE_FAILED, name, "storage", at)
                    self._resolved_ms[name] = at

    def _summary(self, failing: list[str]) -> str:
        errors = {self.storage.error(s) or "error" for s in failing}
        what = ", ".join(STORE_NAMES[s] for s in failing)
        return (
            f"cannot write {what} ({'; '.join(sorted(errors))}): figures and alerts go on "
            "in memory and are written when writing works again"
        )


class CheckedSnapshots(Snapshots):
    """``Snapshots`` whose saves report to the ``Storage`` (store ``checkpoint``) and
    wait while the journal has a gap: a snapshot then would claim journal positions
    whose state holds more than the journal does, and a restart would apply the gap's
    events twice. A save skipped or failed is ``owed``: ``runtime.repair`` makes it
    once the journal has caught up and the file can be written."""

    def __init__(
        self, inner: Snapshots, storage: Storage, journal_whole: Callable[[], bool]
    ) -> None:
        vars(self).update(vars(inner))  # the same file, digests and counters
        self.storage = storage
        self.journal_whole = journal_whole
        self.owed = False
        """A snapshot was due (or failed) and is not saved yet."""
        storage.add("checkpoint", inner.path)

    def save(self, positions: Positions, state: dict[str, Any]) -> None:
        if not self.journal_whole():
            if not self.owed:
                log.info("snapshot_deferred", why="the journal is filling a gap first")
            self.owed = True
            return
        try:
            super().save(positions, state)
        except OSError as error:
            self.owed = True
            self.storage.failed("checkpoint", error)
            raise
        self.owed = False
        self.storage.recovered("checkpoint")


# --- start-up: a data dir that cannot be used --------------------------------------------


def explain(path: Path | str, error: BaseException, what: str = "") -> str:
    """What an operator reads when ``path`` cannot be used at start: the file, why, and
    what to do about it (one paragraph)."""
    reason = reason_of(error, path)
    said = describe(error)
    name = f"{path}" + (f" ({what})" if what else "")
    folder = Path(path).parent
    if reason == "corrupt":
        return (
            f"{name} is damaged: {said}. Stop every hallwatch on this data dir, move the "
            f"file aside with its -wal and -shm files (mv {path} {path}.damaged) and the "
            f"state snapshot too (mv {folder / 'state.snapshot'} "
            f"{folder / 'state.snapshot.old'}), and start again: a new store is made and "
            "the day is replayed from the journal, its alerts raised again (--recover-days "
            "N for earlier days). Or put back a copy from a backup; keep the damaged file "
            "for the record."
        )
    if reason == "read_only":
        return (
            f"{name} cannot be written: {said}. hallwatch writes its journal, alert store "
            "and lock in the data dir: mount it read-write (or make the file writable), "
            "or give another --data-dir."
        )
    if reason == "permission":
        return (
            f"{name} cannot be written by {_user()}: {said}. Give the data dir and its "
            f"files to the user hallwatch runs as (chown -R {_user()} {folder}), or give "
            "another --data-dir."
        )
    if reason == "no_space":
        return (
            f"{name} cannot be written: {said}. The filesystem is full: free space on it "
            f"(df -h {folder}) and start again; a running serve survives a full disk, "
            "only its start needs room for the alert store."
        )
    if reason == "io_error":
        return (
            f"{name} cannot be read or written: {said}. The disk reports errors: check it "
            "(dmesg), then restore the data dir from a backup or give another --data-dir."
        )
    return f"{name} cannot be used: {said}. Check the data dir, or give another --data-dir."


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for this uid
        return "this user"


@contextlib.contextmanager
def starting(data_dir: Path, what: str = "the data dir") -> Iterator[None]:
    """Inside, an ``OSError`` (the data dir read-only, not this user's, full) becomes a
    ``DataDirError`` naming the file and what to do: exit 2, not a traceback."""
    try:
        yield
    except OSError as error:
        raise DataDirError(explain(error.filename or data_dir, error, what)) from error


def open_alert_store(path: Path) -> AlertStore:
    """The alert store at ``path``, checked (``PRAGMA quick_check``) before it is used.

    Raises:
        StoreError: it cannot be opened, or is damaged (truncated, not a database, a
            failed integrity check); the message names the file and what to do.
    """
    try:
        store = AlertStore(path)
    except StoreError as error:
        cause = error.__cause__ if error.__cause__ is not None else error
        raise StoreError(explain(path, cause, "the alert store")) from cause
    try:
        found = [row[0] for row in store.db.execute("PRAGMA quick_check(5)")]
    except sqlite3.Error as error:
        store.close()
        raise StoreError(explain(path, error, "the alert store")) from error
    if found != ["ok"]:
        store.close()
        damage = sqlite3.DatabaseError(f"integrity check failed: {'; '.join(found)}")
        raise StoreError(explain(path, damage, "the alert store")) from damage
    return store
