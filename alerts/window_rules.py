"""Rules about windows: service overtime and long pauses (unattended zones and idle
windows are in ``alerts.staffing_rules``). Each fires at the hall time its threshold was
crossed, judged from the window's own events, not from when the engine looked.

Imports: metrics (apply results), alerts.book, alerts.settings, alerts.rule (Tick).
"""

from __future__ import annotations

from collections.abc import Mapping

from alerts.book import AlertBook
from alerts.rule import Memory, Tick
from alerts.settings import ServiceOvertime, Unattended
from metrics.state import ApplyResult

SERVICE_OVERTIME = "service_overtime"
LONG_PAUSE = "long_pause"


class ServiceOvertimeRule(Memory):
    """A service running past its item's standard time by a factor: a notice, then
    urgent (warnings: our default factors, no seed gives a card for it)."""

    name = SERVICE_OVERTIME
    configured = ("cfg", "item_minutes")

    def __init__(self, cfg: ServiceOvertime, item_minutes: Mapping[str, float]) -> None:
        self.cfg = cfg
        self.item_minutes = item_minutes
        self.serving: dict[tuple[str, str], tuple[str, int, str | None]] = {}
        """(hall, window) → (ticket, start ms, item): the services running, the timers."""

    def standard_ms(self, item: str | None) -> int:
        minutes = self.item_minutes.get(item or "", self.cfg.standard_minutes)
        return int(minutes * 60_000)

    def _judge(self, book: AlertBook, hall: str, window: str, ticket: str, start: int,
               item: str | None, ran_ms: int) -> None:  # fmt: skip
        standard = self.standard_ms(item)
        scope = f"{window}/{ticket}"
        what = f"service of {ticket} at {window}" + (f" ({item})" if item else "")
        for severity, factor in (("notice", self.cfg.yellow_factor),
                                 ("urgent", self.cfg.red_factor)):  # fmt: skip
            limit = int(standard * factor)
            if ran_ms >= limit:
                summary = f"{what} over {limit // 60000} min ({factor:g}x standard)"
                book.fire(SERVICE_OVERTIME, hall, scope, severity, start + limit, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        serving = self.serving
        for hall, window, ticket, at_ms, item, begins in result.services:
            key = (hall, window)
            if begins:
                serving[key] = (ticket, at_ms, item)
                continue
            started = serving.get(key)
            if started is not None and started[0] == ticket:
                del serving[key]
                self._judge(book, hall, window, ticket, started[1], started[2], at_ms - started[1])
            book.resolve(SERVICE_OVERTIME, hall, f"{window}/{ticket}", at_ms)

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


class LongPauseRule(Memory):
    """A window paused longer than allowed: a notice, then urgent. Judged from the
    window's own events, so a pause that ended between two looks is still alerted."""

    name = LONG_PAUSE
    configured = ("limits", "scheduled_limits", "scheduled_reasons")

    def __init__(self, cfg: Unattended) -> None:
        self.limits = (
            ("notice", int(cfg.pause_minutes * 60_000)),
            ("urgent", int(max(cfg.pause_red_minutes, cfg.pause_minutes) * 60_000)),
        )
        scheduled = int(cfg.scheduled_pause_minutes * 60_000)
        self.scheduled_limits = (("notice", scheduled), ("urgent", scheduled * 3 // 2))
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

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for hall, window, state, at_ms, reason in result.windows:
            key = (hall, window)
            if state == "paused":
                if key not in self.paused and reason in self.scheduled_reasons:
                    self.scheduled.add(key)
                self.paused.setdefault(key, at_ms)
            elif key in self.paused:
                self._judge(book, hall, window, self.paused.pop(key), at_ms)
                self.scheduled.discard(key)
                book.resolve(LONG_PAUSE, hall, window, at_ms)

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
