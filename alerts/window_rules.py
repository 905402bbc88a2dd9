"""Rules about windows: service overtime and long pauses (unattended zones and idle
windows are in ``alerts.staffing_rules``). Each fires at the hall time its threshold was
crossed, judged from the window's own events, not from when the engine looked.

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
from metrics.state import ApplyResult

SERVICE_OVERTIME = "service_overtime"
LONG_PAUSE = "long_pause"


class ServiceOvertimeRule:
    """A service running past its item's standard time by a factor: yellow, then red."""

    name = SERVICE_OVERTIME
    kinds: frozenset[type] = frozenset((TicketIssued, ServiceStarted, ServiceFinished))

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
        if day > self.day.get(hall, 0):  # days only move forward (a late event stays)
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


class LongPauseRule:
    """A window paused longer than allowed: yellow, then red. Judged from the window's
    own events, so a pause that ended between two looks is still alerted."""

    name = LONG_PAUSE
    kinds: frozenset[type] = frozenset((WindowState,))

    def __init__(self, cfg: Unattended) -> None:
        self.limits = (
            ("yellow", int(cfg.pause_minutes * 60_000)),
            ("red", int(max(cfg.pause_red_minutes, cfg.pause_minutes) * 60_000)),
        )
        scheduled = int(cfg.scheduled_pause_minutes * 60_000)
        self.scheduled_limits = (("yellow", scheduled), ("red", scheduled * 3 // 2))
        self.scheduled_reasons = frozenset(cfg.scheduled_pause_reasons)
        self.paused: dict[tuple[str, str], int] = {}
        """(hall, window) → when its pause began."""
        self.scheduled: set[tuple[str, str]] = set()
        """(hall, window) paused for a scheduled break (lunch): the longer limits apply."""

    def _judge(self, book: AlertBook, hall: str, window: str, since: int, now: int) -> None:
        key = (hall, window)
        for severity, limit in self.scheduled_limits if key in self.scheduled else self.limits:
            if now >= since + limit:
                summary = f"window {window} paused over {limit // 60000} min"
                book.fire(LONG_PAUSE, hall, window, severity, since + limit, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        for ev in events:
            if not isinstance(ev, WindowState):
                continue
            key = (ev.hall, ev.window)
            if ev.state == "paused":
                if key not in self.paused and ev.reason in self.scheduled_reasons:
                    self.scheduled.add(key)
                self.paused.setdefault(key, ev.ts)
            elif key in self.paused:
                self._judge(book, ev.hall, ev.window, self.paused.pop(key), ev.ts)
                self.scheduled.discard(key)
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
