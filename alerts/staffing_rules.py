"""Rules about people left waiting with nobody to serve them: an unattended zone, and an
open window idle while its zones wait (空岗).

The hall state says when each condition begins and ends (``metrics.hall.Edge``, at the
event's hall time: see ``HallState.judge_unattended`` and the idle-while-waiting
integral in ``metrics.handlers``), so an episode that began and ended between two looks
of the engine is still alerted, with the same stamps, whatever the batching. These rules
keep only their pending timers: the stretches going on now, since when.

Imports: metrics (apply results), alerts.book, alerts.settings, alerts.rule (Tick).
"""

from __future__ import annotations

from typing import ClassVar

from alerts.book import AlertBook
from alerts.rule import Memory, Tick
from alerts.settings import Unattended
from metrics.state import ApplyResult, Edge

UNATTENDED_ZONE = "unattended_zone"
IDLE_WINDOW = "idle_window"


class _StretchRule(Memory):
    """A condition that must last ``after_ms`` of hall time before it is alerted: fired
    at its start + ``after_ms``, resolved when it ends."""

    name: str
    configured: ClassVar[tuple[str, ...]] = ("after_ms",)

    def __init__(self, after_ms: int) -> None:
        self.after_ms = after_ms
        self.since: dict[tuple[str, str], int] = {}
        """(hall, scope) → when its stretch began: the pending timers."""

    def edges(self, result: ApplyResult) -> list[Edge]:
        raise NotImplementedError

    def _fire(self, book: AlertBook, hall: str, scope: str, start: int) -> None:
        raise NotImplementedError

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        since = self.since
        for hall, scope, at_ms, begins in self.edges(result):
            key = (hall, scope)
            if begins:
                since.setdefault(key, at_ms)
                continue
            start = since.pop(key, None)
            if start is not None:
                if at_ms >= start + self.after_ms:  # crossed before it ended
                    self._fire(book, hall, scope, start)
                book.resolve(self.name, hall, scope, at_ms)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        halls = tick.halls
        for (hall, scope), start in self.since.items():
            snap = halls.get(hall)
            if snap is not None and snap.now_ms >= start + self.after_ms:
                self._fire(book, hall, scope, start)


class IdleWindowRule(_StretchRule):
    """An open window with no ticket while a zone it served today has people waiting."""

    name = IDLE_WINDOW

    def __init__(self, cfg: Unattended) -> None:
        super().__init__(int(cfg.idle_minutes * 60_000))

    def edges(self, result: ApplyResult) -> list[Edge]:
        return result.idle

    def _fire(self, book: AlertBook, hall: str, scope: str, start: int) -> None:
        summary = f"window {scope} open and idle while people wait"
        book.fire(IDLE_WINDOW, hall, scope, "notice", start + self.after_ms, summary)


class UnattendedZoneRule(_StretchRule):
    """People waiting in a zone and no open window serving it."""

    name = UNATTENDED_ZONE
    configured = ("after_ms", "hold_ms")

    def __init__(self, cfg: Unattended) -> None:
        super().__init__(int(cfg.zone_for_minutes * 60_000))
        self.hold_ms = int(cfg.hold_minutes * 60_000)

    def edges(self, result: ApplyResult) -> list[Edge]:
        return result.unattended

    def _fire(self, book: AlertBook, hall: str, scope: str, start: int) -> None:
        summary = f"zone {scope}: people waiting, no open window serving it"
        book.fire(UNATTENDED_ZONE, hall, scope, "notice", start + self.after_ms, summary,
                  hold_ms=self.hold_ms)  # fmt: skip
