"""Rules about people left waiting with nobody to serve them: an unattended zone, and an
open window idle while its zones wait (空岗).

Both are judged from the events themselves, not from snapshots: a small per-hall watch
follows which tickets wait in which zone, which window holds which ticket, which zones
each window has served today and which windows are open. Every change of a condition is
known at its event's hall time, so an episode that began and ended between two looks of
the engine is still alerted, with the same stamps, whatever the batching (the snapshots
the publish tick builds could not promise that).

Imports: feeds.protocol, feeds.hallclock, metrics (apply results), alerts.book,
alerts.settings, alerts.rules (Tick).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from alerts.book import AlertBook
from alerts.rules import Tick
from alerts.settings import Unattended
from feeds.hallclock import DAY_MS, day_ordinal, day_start_ms
from feeds.protocol import (
    Event,
    ServiceFinished,
    ServiceStarted,
    TicketAbandoned,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from metrics.state import ApplyResult

UNATTENDED_ZONE = "unattended_zone"
IDLE_WINDOW = "idle_window"
_Watched = (
    TicketIssued | TicketCalled | ServiceStarted | ServiceFinished | TicketAbandoned | WindowState
)


class _HallWatch:
    """One hall's day, as far as these two rules need it."""

    def __init__(self, day: int) -> None:
        self.day = day
        self.day_end_ms = day_start_ms(date.fromordinal(day)) + DAY_MS
        self.zone_of: dict[str, str] = {}
        self.waiting: dict[str, set[str]] = {}
        """zone → tickets waiting in it."""
        self.at_window: dict[str, str] = {}
        """ticket → the window it is called to or served at."""
        self.holding: dict[str, str] = {}
        """window → the ticket it holds."""
        self.zones_of: dict[str, set[str]] = {}
        """window → zones whose tickets it called today."""
        self.windows_of: dict[str, set[str]] = {}
        """zone → windows that called its tickets today."""
        self.open: set[str] = set()
        self.free: set[str] = set()
        """Open windows holding no ticket."""
        self.idle_since: dict[str, int] = {}
        """window → since when it is idle while its zones wait."""
        self.alone_since: dict[str, int] = {}
        """zone → since when it has people waiting and no open window serving it."""


class StaffingWatch:
    """Follows the events and judges both rules at every change (one instance, two rules).

    A window serves the zones whose tickets it has called today; a zone no window has
    served yet today counts as served by any open window (a comprehensive window may take
    it), so the first tickets of the morning are not "unattended" while windows are open.
    """

    def __init__(self, cfg: Unattended) -> None:
        self.idle_ms = int(cfg.idle_minutes * 60_000)
        self.zone_ms = int(cfg.zone_for_minutes * 60_000)
        self.hold_ms = int(cfg.hold_minutes * 60_000)
        self.halls: dict[str, _HallWatch] = {}
        self.rules: set[str] = {UNATTENDED_ZONE, IDLE_WINDOW}

    # --- the conditions ------------------------------------------------------------------

    def _idle(self, w: _HallWatch, window: str) -> bool:
        return window in w.free and any(w.waiting.get(z) for z in w.zones_of.get(window, ()))

    def _alone(self, w: _HallWatch, zone: str) -> bool:
        if not w.waiting.get(zone):
            return False
        serving = w.windows_of.get(zone)
        if not serving:  # no window called its tickets yet today: any open window may
            return not w.open  # (comprehensive windows, 无差别受理)
        return w.open.isdisjoint(serving)

    def _update(self, book: AlertBook, hall: str, w: _HallWatch, ts: int,
                windows: set[str], zones: set[str]) -> None:  # fmt: skip
        """Re-judge after a change at ``ts``: ``zones`` whose waiting or serving changed,
        ``windows`` whose holding or state changed. Only transitions are passed, so an
        ordinary ticket costs a few dict operations."""
        for win in windows:  # set operations in C: a zone may have hundreds of windows
            if win in w.open and win not in w.holding:
                w.free.add(win)
            else:
                w.free.discard(win)
        for z in zones:
            self._edge(book, hall, UNATTENDED_ZONE, z, self._alone(w, z), w.alone_since, ts)
            serving = w.windows_of.get(z)
            if serving:
                windows = windows | (serving & w.free) | (serving & w.idle_since.keys())
        free, idle = w.free, w.idle_since
        for win in windows:
            if win in free or win in idle:  # else it neither is nor was idle: nothing to do
                self._edge(book, hall, IDLE_WINDOW, win, self._idle(w, win), idle, ts)

    def _edge(self, book: AlertBook, hall: str, rule: str, scope: str, holds: bool,
              since: dict[str, int], ts: int) -> None:  # fmt: skip
        if rule not in self.rules:
            return
        if holds:
            since.setdefault(scope, ts)
            return
        start = since.pop(scope, None)
        if start is not None:
            self._fire(book, hall, rule, scope, start, ts)  # crossed before it ended?
            book.resolve(rule, hall, scope, ts)

    def _fire(self, book: AlertBook, hall: str, rule: str, scope: str, start: int,
              now: int) -> None:  # fmt: skip
        if rule == IDLE_WINDOW and now >= start + self.idle_ms:
            summary = f"window {scope} open and idle while people wait (空岗)"
            book.fire(IDLE_WINDOW, hall, scope, "yellow", start + self.idle_ms, summary)
        elif rule == UNATTENDED_ZONE and now >= start + self.zone_ms:
            summary = f"zone {scope}: people waiting, no open window serving it"
            book.fire(UNATTENDED_ZONE, hall, scope, "yellow", start + self.zone_ms, summary,
                      hold_ms=self.hold_ms)  # fmt: skip

    # --- the events ----------------------------------------------------------------------

    def _hall(self, book: AlertBook, hall: str, ts: int) -> _HallWatch:
        w = self.halls.get(hall)
        if w is None or ts >= w.day_end_ms:  # days only move forward (a late event stays)
            day = day_ordinal(ts)
            if w is not None:  # the day ended at midnight: what was waiting is gone
                for rule, since in ((IDLE_WINDOW, w.idle_since), (UNATTENDED_ZONE, w.alone_since)):
                    for scope in list(since):
                        self._edge(book, hall, rule, scope, False, since, w.day_end_ms)
            new = self.halls[hall] = _HallWatch(day)
            if w is not None:
                new.open = w.open  # windows stay open across midnight; tickets do not
                new.free = set(w.open)
            w = new
        return w

    def _release(self, w: _HallWatch, ticket: str) -> str | None:
        window = w.at_window.pop(ticket, None)
        if window is not None and w.holding.get(window) == ticket:
            del w.holding[window]
        return window

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        for ev in events:
            if isinstance(ev, _Watched):
                self._apply(book, ev)

    def _apply(self, book: AlertBook, ev: _Watched) -> None:
        w = self._hall(book, ev.hall, ev.ts)
        windows: set[str] = set()
        zones: set[str] = set()
        kind = type(ev)
        if kind is WindowState:
            assert isinstance(ev, WindowState)
            windows.add(ev.window)
            was_open = ev.window in w.open
            if ev.state == "open":
                w.open.add(ev.window)
            else:
                w.open.discard(ev.window)
            if was_open != (ev.state == "open"):
                zones |= w.zones_of.get(ev.window, set())
                zones |= {z for z, q in w.waiting.items() if q and not w.windows_of.get(z)}
        elif kind is TicketIssued:
            assert isinstance(ev, TicketIssued)
            w.zone_of[ev.ticket] = ev.zone
            queue = w.waiting.setdefault(ev.zone, set())
            queue.add(ev.ticket)
            if len(queue) == 1:
                zones.add(ev.zone)
        else:
            assert not isinstance(ev, WindowState | TicketIssued)
            zone = w.zone_of.get(ev.ticket)
            if zone is None:
                return
            queue = w.waiting.setdefault(zone, set())
            was_waiting = bool(queue)
            if kind is TicketCalled or kind is ServiceStarted:
                assert isinstance(ev, TicketCalled | ServiceStarted)
                queue.discard(ev.ticket)
                before = self._release(w, ev.ticket)
                if before is not None and before != ev.window:
                    windows.add(before)
                w.at_window[ev.ticket] = ev.window
                w.holding[ev.window] = ev.ticket
                served = w.zones_of.setdefault(ev.window, set())
                if zone not in served:
                    served.add(zone)
                    w.windows_of.setdefault(zone, set()).add(ev.window)
                    zones.add(zone)
                windows.add(ev.window)
            elif kind is ServiceFinished:
                assert isinstance(ev, ServiceFinished)
                windows.add(ev.window)
                self._release(w, ev.ticket)
                if ev.outcome == "transferred":
                    queue.add(ev.ticket)
            else:  # abandoned
                queue.discard(ev.ticket)
                released = self._release(w, ev.ticket)
                if released is not None:
                    windows.add(released)
            if was_waiting != bool(queue):
                zones.add(zone)
        if windows or zones:
            self._update(book, ev.hall, w, ev.ts, windows, zones)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for hall, snap in tick.halls.items():
            w = self.halls.get(hall)
            if w is None:
                continue
            if snap.now_ms >= w.day_end_ms:  # a heartbeat carried the hall past midnight
                w = self._hall(book, hall, snap.now_ms)
            for window, start in w.idle_since.items():
                self._fire(book, hall, IDLE_WINDOW, window, start, snap.now_ms)
            for zone, start in w.alone_since.items():
                self._fire(book, hall, UNATTENDED_ZONE, zone, start, snap.now_ms)


class _View:
    """One of the two rules, as the engine lists it (both share one watch)."""

    kinds: frozenset[type] = frozenset(_Watched.__args__)

    def __init__(self, name: str, watch: StaffingWatch, leader: bool) -> None:
        self.name = name
        self.watch = watch
        self.leader = leader

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        if self.leader:
            self.watch.on_batch(book, result, events)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        if self.leader:
            self.watch.on_tick(book, tick)


def staffing_rules(cfg: Unattended, disabled: Sequence[str]) -> list[_View]:
    """The two rules over one shared watch (only the enabled ones raise alerts)."""
    watch = StaffingWatch(cfg)
    watch.rules = {UNATTENDED_ZONE, IDLE_WINDOW} - set(disabled)
    names = sorted(watch.rules)
    return [_View(name, watch, leader=i == 0) for i, name in enumerate(names)]
