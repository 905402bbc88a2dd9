"""The alert book's sink in front of the alert store: changes held in order while the
store cannot be written (a full disk, a damaged file), written when it can be again.

Every change (an alert fired, rose, was acknowledged, escalated, resolved; a silence; a
sign-in) goes to the ``AlertStore`` at once, in one transaction with its audit record,
as before. When a write fails, that change and every one after it are held in memory,
in order — a frozen copy of the alert as the change left it, the hall time, the actor,
the note, how the actor signed in, and this machine's time when it happened — and
``flush`` (``runtime.repair``, with back-off) writes them in that order, each with its
audit record, the first failure stopping it. So the audit trail, hash chain included,
is the one a store that never failed would hold, each record's ``wall`` the time the
change was made (not when it reached the disk).

While changes are held, ``last_resolved`` answers from them first (the store does not
know those resolutions yet), the hall clocks for other processes are kept to be written
after, and a person's direct write (a shift report) is refused with the reason rather
than written ahead of the held changes. ``storage_failed`` itself is never stored: it
is about the store.

Imports: alerts (book, store), runtime.storage, the standard library.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from alerts.book import Change, Key, Silence
from alerts.store import AlertStore, StoreError, recorded_at, wall_now
from runtime.storage import STORAGE_FAILED, Storage

#: What a failed write raises: SQLite's errors, and the OS's around the file.
WRITE_ERRORS: Final = (sqlite3.Error, OSError)


@dataclass(frozen=True, slots=True)
class _Held:
    """One change not written yet: how to write it, in which context, made when."""

    write: Callable[[AlertStore], object]
    context: contextvars.Context
    """The context it was made in (``alerts.store.signed_in`` lives there)."""
    wall: str


class HeldChanges:
    """A ``Sink`` for the alert book (and the desk's sign-in records) in front of
    ``store``; its health goes to ``storage`` as store ``alerts``."""

    def __init__(self, store: AlertStore, storage: Storage) -> None:
        self.store = store
        self.storage = storage
        storage.add("alerts", store.path)
        self.held: deque[_Held] = deque()
        """Changes not written yet, oldest first."""
        self._resolved: dict[Key, tuple[int, int]] = {}
        """key → (id, resolved ms) of the newest held resolution of that identity."""
        self._clocks: dict[str, int] = {}
        self._figures: dict[str, Mapping[str, Any]] = {}
        """Hall clocks and figures for other processes, not written yet."""

    # --- the Sink ------------------------------------------------------------------------

    def alert_changed(self, change: Change) -> None:
        a = change.alert
        if a.rule == STORAGE_FAILED:
            return  # about the store itself: in memory only
        if self._wrote(lambda store: store.alert_changed(change)):
            return
        # Held: a copy of the alert as this change left it (the book goes on changing it).
        frozen = dataclasses.replace(change, alert=copy.copy(a))
        self._hold(lambda store: store.alert_changed(frozen))
        if a.state == "resolved" and a.resolved_ms is not None:
            self._resolved[a.key] = (a.id, a.resolved_ms)

    def silence_changed(self, silence: Silence, what: str, actor: str, at_ms: int) -> None:
        if self._wrote(lambda store: store.silence_changed(silence, what, actor, at_ms)):
            return
        frozen = copy.copy(silence)
        self._hold(lambda store: store.silence_changed(frozen, what, actor, at_ms))

    def last_resolved(self, key: Key) -> tuple[int, int] | None:
        held = self._resolved.get(key)
        if held is not None:
            return held
        try:
            return self.store.last_resolved(key)
        except WRITE_ERRORS as error:  # (a damaged file fails reads too)
            self.storage.failed("alerts", error)
            return None

    # --- the desk and the pipeline -------------------------------------------------------

    def session_changed(
        self, actor: str, what: str, person: str, at_ms: int, detail: Mapping[str, Any]
    ) -> None:
        """A sign-in record (``AlertStore.session_changed``), in order with the rest."""
        kept = dict(detail)
        if not self._wrote(lambda store: store.session_changed(actor, what, person, at_ms, kept)):
            self._hold(lambda store: store.session_changed(actor, what, person, at_ms, kept))

    def set_clocks(
        self, clocks: Mapping[str, int], figures: Mapping[str, Mapping[str, Any]]
    ) -> bool:
        """The hall clocks and figures for other processes (``AlertStore.set_clocks``);
        kept for later while the store fails. Whether they were written."""
        if self.held or not self.storage.ok("alerts"):
            self._keep_clocks(clocks, figures)
            return False
        try:
            self.store.set_clocks(clocks, figures)
        except WRITE_ERRORS as error:
            self.storage.failed("alerts", error)
            self._keep_clocks(clocks, figures)
            return False
        return True

    @contextlib.contextmanager
    def direct(self, what: str) -> Iterator[None]:
        """Around a person's own write to the store (a shift report): refused while
        changes are held (it would go in ahead of them), and a failure is a
        ``StoreError`` saying so (the console shows it)."""
        if self.held or not self.storage.ok("alerts"):
            raise StoreError(
                f"{what}: the alert store cannot be written now "
                f"({self.storage.error('alerts') or 'changes are waiting to be written'}); "
                "nothing was stored. Try again once storage_failed has cleared."
            )
        try:
            yield
        except WRITE_ERRORS as error:
            self.storage.failed("alerts", error)
            raise StoreError(
                f"{what}: the alert store cannot be written now ({error}); nothing was "
                "stored. Try again once storage_failed has cleared."
            ) from error

    def flush(self) -> bool:
        """Write what is held, in order, each change with its audit record; stop at the
        first failure (kept, counted). True when nothing is left: the store is ``ok``."""
        while self.held:
            item = self.held[0]
            try:
                item.context.run(self._write_at, item)
            except WRITE_ERRORS as error:
                self.storage.failed("alerts", error)
                return False
            self.held.popleft()
        self._resolved.clear()
        try:
            if self._clocks:
                self.store.set_clocks(self._clocks, self._figures)
            else:  # nothing to write (a read failed): is the file whole again?
                self._check()
        except WRITE_ERRORS as error:
            self.storage.failed("alerts", error)
            return False
        self._clocks.clear()
        self._figures.clear()
        self.storage.recovered("alerts")
        return True

    # --- inside --------------------------------------------------------------------------

    def _wrote(self, write: Callable[[AlertStore], object]) -> bool:
        """Write now if nothing is held before it; False when it must be held."""
        if self.held:
            return False
        try:
            write(self.store)
        except WRITE_ERRORS as error:
            self.storage.failed("alerts", error)
            return False
        return True

    def _check(self) -> None:
        """Raise ``sqlite3.DatabaseError`` if the store's integrity check fails."""
        found = [row[0] for row in self.store.db.execute("PRAGMA quick_check(1)")]
        if found != ["ok"]:
            raise sqlite3.DatabaseError(f"integrity check failed: {found[0]}")

    def _hold(self, write: Callable[[AlertStore], object]) -> None:
        self.held.append(_Held(write, contextvars.copy_context(), wall_now()))

    def _write_at(self, item: _Held) -> None:
        with recorded_at(item.wall):
            item.write(self.store)

    def _keep_clocks(
        self, clocks: Mapping[str, int], figures: Mapping[str, Mapping[str, Any]]
    ) -> None:
        for hall, ms in clocks.items():
            if ms > self._clocks.get(hall, 0):
                self._clocks[hall] = ms
        self._figures.update(figures)
