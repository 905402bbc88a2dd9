"""Writing again what a failing store could not take, as soon as it can (``runtime.storage``).

One task of the pipeline's run: every second (a quarter second while something waits)
it looks whether a store is failing and its retry is due, and retries it — the journal's
gaps first (fetched again from the feeds, ``runtime.backfill``), then the held alert
changes (``runtime.held_alerts``), then an owed state snapshot (only once the journal is
whole: a snapshot must not claim more than the journal holds). Each store backs off on
its own, on this machine's clock: half a second after the first failure, doubling to
8 s, so a disk that gets space again is written within seconds and a disk that stays
full costs a write attempt every few seconds, not a flood of them.

Imports: runtime (backfill, held_alerts, storage), the standard library.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from runtime.backfill import JournalKeeper
from runtime.held_alerts import HeldChanges
from runtime.storage import CheckedSnapshots, Storage

#: The first retry after a failure, and the longest wait between two.
FIRST_RETRY_S: Final = 0.5
MAX_RETRY_S: Final = 8.0


@dataclass(slots=True)
class _Backoff:
    """When a store may be tried again: doubling waits, reset by a success."""

    wait: float = 0.0
    next_at: float = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def failed(self, now: float) -> None:
        self.wait = min(MAX_RETRY_S, max(FIRST_RETRY_S, self.wait * 2))
        self.next_at = now + self.wait

    def reset(self) -> None:
        self.wait = self.next_at = 0.0


class Repairs:
    """Retries the failing stores of one pipeline.

    Args:
        storage: the stores' health.
        journal: the journal keeper (None without a journal).
        held: the alert changes held (None without an alert store).
        snapshots: the checked snapshots (None without snapshots).
        save_snapshot: the pipeline's ``save_snapshot``.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        journal: JournalKeeper | None,
        held: HeldChanges | None,
        snapshots: CheckedSnapshots | None,
        save_snapshot: Callable[[], None],
    ) -> None:
        self.storage = storage
        self.journal = journal
        self.held = held
        self.snapshots = snapshots
        self.save_snapshot = save_snapshot
        self._backoff = {"journal": _Backoff(), "alerts": _Backoff(), "checkpoint": _Backoff()}

    def pending(self) -> bool:
        """Something waits to be written (a store failing, a gap, a held change, a
        snapshot owed)."""
        return bool(
            self.storage.failing()
            or (self.journal is not None and not self.journal.whole())
            or (self.held is not None and self.held.held)
            or (self.snapshots is not None and self.snapshots.owed)
        )

    async def run(self, every_s: float = 0.25, idle_s: float = 1.0) -> None:
        """Retry what is due, until cancelled (a look every ``idle_s`` while all is
        written, every ``every_s`` while something waits)."""
        while True:
            waiting = self.pending()
            if waiting:
                await self.once(time.monotonic())
            await asyncio.sleep(every_s if waiting else idle_s)

    async def once(self, now: float) -> None:
        """One round: each store that waits and whose retry is due is tried once."""
        journal = self.journal
        if journal is not None and not journal.whole() and self._due("journal", now):
            self._after("journal", await journal.catch_up(), time.monotonic())
        held = self.held
        waiting = held is not None and (held.held or not self.storage.ok("alerts"))
        if held is not None and waiting and self._due("alerts", now):
            self._after("alerts", held.flush(), now)
        snaps = self.snapshots
        whole = journal is None or journal.whole()
        if snaps is not None and snaps.owed and whole and self._due("checkpoint", now):
            self.save_snapshot()  # (logs a failure; the checked snapshots count it)
            self._after("checkpoint", not snaps.owed, now)

    def _due(self, store: str, now: float) -> bool:
        return self._backoff[store].due(now)

    def _after(self, store: str, ok: bool, now: float) -> None:
        if ok:
            self._backoff[store].reset()
        else:
            self._backoff[store].failed(now)
