"""Rules about windows: service overtime, unattended zones, idle open windows (空岗), long
pauses. Each fires at the hall time its threshold was crossed (computed from the
snapshot's ``*_since_ms`` stamps), not when the engine looked.

Imports: feeds.protocol, metrics (snapshots, apply results), alerts.book, alerts.settings,
alerts.rules (Tick).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alerts.book import AlertBook
from alerts.rules import Tick
from alerts.settings import ServiceOvertime, Unattended
from feeds.hallclock import day_ordinal
from feeds.protocol import Event, ServiceFinished, ServiceStarted, TicketIssued, WindowState
from metrics.snapshot import HallSnapshot
from metrics.state import ApplyResult

SERVICE_OVERTIME = "service_overtime"
UNATTENDED_ZONE = "unattended_zone"
IDLE_WINDOW = "idle_window"
LONG_PAUSE = "long_pause"


class ServiceOvertimeRule:
    """A service running past its item's standard time by a factor: yellow, then red."""

    name = SERVICE_OVERTIME

    def __init__(self, cfg: ServiceOvertime, item_minutes: Mapping[str, float]) -> None:
        self.cfg = cfg
        self.item_minutes = item_minutes
        self.items: dict[str, dict[str, str]] = {}
        """hall → ticket → item, for today's tickets (cleared when the day changes)."""
        self.day: dict[str, int] = {}
        self.serving: dict[tuple[str, str], tuple[str, int, str | None]] = {}
        """(hall, window) → (ticket, start ms, item)."""

    def _items(self, hall: str, ts: int) -> dict[str, str]:
        day = day_ordinal(ts)
        if self.day.get(hall) != day:
            self.day[hall] = day
            self.items[hall] = {}
        return self.items[hall]

    def standard_ms(self, item: str | None) -> int:
        minutes = self.item_minutes.get(item or "", self.cfg.standard_minutes)
        return int(minutes * 60_000)

    def _judge(self, book: AlertBook, hall: str, window: str, ticket: str, start: int,
               item: str | None, ran_ms: int) -> None:  # fmt: skip
        standard = self.standard_ms(item)
        scope = f"{window}/{ticket}"
        what = f"service of {ticket} at {window}" + (f" ({item})" if item else "")
        for severity, factor in (("yellow", self.cfg.yellow_factor), ("red", self.cfg.red_factor)):
            limit = int(standard * factor)
            if ran_ms >= limit:
                summary = f"{what} over {limit // 60000} min ({factor:g}x standard)"
                book.fire(SERVICE_OVERTIME, hall, scope, severity, start + limit, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        for ev in events:
            if isinstance(ev, TicketIssued):
                if ev.item is not None:
                    self._items(ev.hall, ev.ts)[ev.ticket] = ev.item
            elif isinstance(ev, ServiceStarted):
                items = self._items(ev.hall, ev.ts)
                if ev.item is not None:
                    items[ev.ticket] = ev.item
                self.serving[(ev.hall, ev.window)] = (ev.ticket, ev.ts, items.get(ev.ticket))
            elif isinstance(ev, ServiceFinished):
                started = self.serving.get((ev.hall, ev.window))
                if started is not None and started[0] == ev.ticket:
                    del self.serving[(ev.hall, ev.window)]
                    ticket, start, item = started
                    self._judge(book, ev.hall, ev.window, ticket, start, item, ev.ts - start)
                book.resolve(SERVICE_OVERTIME, ev.hall, f"{ev.window}/{ev.ticket}", ev.ts)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        live: set[tuple[str, str]] = set()
        for name, hall in tick.halls.items():
            for w in hall.windows:
                started = self.serving.get((name, w.name))
                if started is None or not w.serving or w.ticket != started[0]:
                    continue
                ticket, start, item = started
                live.add((name, f"{w.name}/{ticket}"))
                self._judge(book, name, w.name, ticket, start, item, hall.now_ms - start)
        for rule, hall_name, scope in list(book.open):
            # A service can vanish without finishing (the service day ended under it).
            if (
                rule == SERVICE_OVERTIME
                and hall_name in tick.halls
                and (hall_name, scope) not in live
            ):
                book.resolve(rule, hall_name, scope, tick.halls[hall_name].now_ms)


def _oldest_queued(hall: HallSnapshot) -> dict[str, int]:
    """zone → when its longest-waiting ticket entered the queue."""
    oldest: dict[str, int] = {}
    for q in hall.queue:
        if q.queued_ms < oldest.get(q.zone, q.queued_ms + 1):
            oldest[q.zone] = q.queued_ms
    return oldest


class UnattendedZoneRule:
    """A zone has people waiting and no open window serving it (an open window that has
    called its tickets today), for ``zone_for_minutes``."""

    name = UNATTENDED_ZONE

    def __init__(self, cfg: Unattended) -> None:
        self.for_ms = int(cfg.zone_for_minutes * 60_000)
        self.hold_ms = int(cfg.hold_minutes * 60_000)

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        return None

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for name, hall in tick.halls.items():
            oldest = _oldest_queued(hall)
            for z in hall.zones:
                if z.waiting > 0 and z.windows_open == 0:
                    # Since when: the later of the oldest wait and the last window of the
                    # zone leaving the open state.
                    left = [w.state_since_ms for w in hall.windows if z.name in w.zones]
                    since = max([oldest.get(z.name, hall.now_ms), *left])
                    summary = f"zone {z.name}: {z.waiting} waiting, no open window serving it"
                    book.fire(UNATTENDED_ZONE, name, z.name, "yellow", since,
                              summary, for_ms=self.for_ms, hold_ms=self.hold_ms)  # fmt: skip
                else:
                    book.resolve(UNATTENDED_ZONE, name, z.name, hall.now_ms)


class IdleWindowRule:
    """空岗: an open window with no ticket for ``idle_minutes`` while its zones have people
    waiting."""

    name = IDLE_WINDOW

    def __init__(self, cfg: Unattended) -> None:
        self.idle_ms = int(cfg.idle_minutes * 60_000)

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        return None

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for name, hall in tick.halls.items():
            oldest = _oldest_queued(hall)
            for w in hall.windows:
                waiting = [oldest[z] for z in w.zones if z in oldest]
                if w.state == "open" and w.ticket is None and waiting:
                    since = max(w.state_since_ms, w.ticket_since_ms, min(waiting))
                    if hall.now_ms >= since + self.idle_ms:
                        summary = f"window {w.name} open and idle while people wait (空岗)"
                        book.fire(IDLE_WINDOW, name, w.name, "yellow", since + self.idle_ms,
                                  summary)  # fmt: skip
                elif (IDLE_WINDOW, name, w.name) in book.open:
                    # Cleared when the window took a ticket or changed state (stamped
                    # then), or when its zones' queues emptied (seen now).
                    busy = w.state != "open" or w.ticket is not None
                    at = max(w.ticket_since_ms, w.state_since_ms) if busy else hall.now_ms
                    book.resolve(IDLE_WINDOW, name, w.name, min(at, hall.now_ms))


class LongPauseRule:
    """A window paused longer than allowed: yellow, then red. Judged from the window's
    own events, so a pause that ended between two looks is still alerted."""

    name = LONG_PAUSE

    def __init__(self, cfg: Unattended) -> None:
        self.limits = (
            ("yellow", int(cfg.pause_minutes * 60_000)),
            ("red", int(max(cfg.pause_red_minutes, cfg.pause_minutes) * 60_000)),
        )
        self.paused: dict[tuple[str, str], int] = {}
        """(hall, window) → when its pause began."""

    def _judge(self, book: AlertBook, hall: str, window: str, since: int, now: int) -> None:
        for severity, limit in self.limits:
            if now >= since + limit:
                summary = f"window {window} paused over {limit // 60000} min"
                book.fire(LONG_PAUSE, hall, window, severity, since + limit, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        for ev in events:
            if not isinstance(ev, WindowState):
                continue
            key = (ev.hall, ev.window)
            if ev.state == "paused":
                self.paused.setdefault(key, ev.ts)
            elif key in self.paused:
                self._judge(book, ev.hall, ev.window, self.paused.pop(key), ev.ts)
                book.resolve(LONG_PAUSE, ev.hall, ev.window, ev.ts)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for name, hall in tick.halls.items():
            for w in hall.windows:
                if w.state == "paused":
                    # After a restart the events before it are gone: the snapshot knows.
                    since = self.paused.setdefault((name, w.name), w.state_since_ms)
                    self._judge(book, name, w.name, since, hall.now_ms)
                elif (LONG_PAUSE, name, w.name) in book.open:
                    self.paused.pop((name, w.name), None)
                    book.resolve(LONG_PAUSE, name, w.name, w.state_since_ms)
