"""Rules about the people served: bad ratings awaiting rectification (好差评, seed 004),
second trips (最多跑一次, seed 000) and ticket scalping (倒号, seed 004).

``person`` arrives pseudonymized (a keyed hash, feeds/privacy.py); these rules keep it in
memory only to match visits, and never put it in a scope or a summary: alerts name the
ticket instead.

Imports: feeds.protocol, feeds.hallclock, metrics (apply results, workdays), alerts.book,
alerts.settings, alerts.rules (Tick).
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts.book import AlertBook
from alerts.rules import Tick
from alerts.settings import Ratings, Scalping, SecondTrip
from feeds.hallclock import DAY_MS, day_ordinal, service_day
from feeds.protocol import Event, Rating, ServiceFinished, ServiceStarted, TicketIssued
from metrics.state import ApplyResult
from metrics.workdays import WorkCalendar

BAD_RATING = "bad_rating"
SECOND_TRIP = "second_trip"
TICKET_SCALPING = "ticket_scalping"


class BadRatingRule:
    """A bad rating (1-2) opens a yellow alert that stays open until a person resolves it
    with the rectification note (差评整改情况在线反馈); red once the note is overdue
    (``rectify_days`` working days)."""

    name = BAD_RATING
    kinds: frozenset[type] = frozenset((Rating,))

    def __init__(self, cfg: Ratings, calendar: WorkCalendar) -> None:
        self.cfg = cfg
        self.calendar = calendar

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        for ev in events:
            if isinstance(ev, Rating) and ev.score <= self.cfg.bad_at_most:
                due = self.calendar.deadline_ms(ev.ts, self.cfg.rectify_days)
                staff = f", staff {ev.staff}" if ev.staff else ""
                summary = (
                    f"bad rating {ev.score} at window {ev.window}{staff} via {ev.channel}: "
                    f"rectification note due {service_day(due - 1).isoformat()}"
                )
                scope = f"{ev.window}/{ev.seq}"
                book.fire(BAD_RATING, ev.hall, scope, "yellow", ev.ts, summary, due_ms=due)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for a in list(book.open.values()):
            hall = tick.halls.get(a.hall)
            if a.rule != BAD_RATING or hall is None or a.due_ms is None:
                continue
            if hall.now_ms >= a.due_ms and a.severity != "red":
                summary = a.summary.replace("due", "overdue since", 1)
                book.fire(BAD_RATING, a.hall, a.scope, "red", a.due_ms, summary)


class _Visits:
    """Today's tickets of one hall with their (pseudonymized) person and item."""

    def __init__(self, day: int) -> None:
        self.day = day
        self.person: dict[str, str] = {}
        self.item: dict[str, str] = {}
        self.by_person: dict[str, list[str]] = {}
        self.judged: set[str] = set()


class SecondTripRule:
    """最多跑一次: the same person back for the same item within ``within_days`` after an
    incomplete or rejected visit. A yellow alert on the new ticket, open until a person
    resolves it (what went wrong the first time is for the office to find out)."""

    name = SECOND_TRIP
    kinds: frozenset[type] = frozenset((TicketIssued, ServiceStarted, ServiceFinished))

    def __init__(self, cfg: SecondTrip) -> None:
        self.window_ms = cfg.within_days * DAY_MS
        self.days: dict[str, _Visits] = {}
        self.failed: dict[tuple[str, str, str], tuple[int, str]] = {}
        """(hall, person, item) → (ms, outcome) of the last incomplete or rejected visit."""

    def visits(self, hall: str, ts: int) -> _Visits:
        day = day_ordinal(ts)
        v = self.days.get(hall)
        if v is None or day > v.day:  # days only move forward (a late event stays)
            v = self.days[hall] = _Visits(day)
            horizon = ts - self.window_ms
            self.failed = {k: f for k, f in self.failed.items() if f[0] >= horizon}
        return v

    def _check(self, book: AlertBook, hall: str, v: _Visits, ticket: str, ts: int) -> None:
        person, item = v.person.get(ticket), v.item.get(ticket)
        if person is None or item is None or ticket in v.judged:
            return
        v.judged.add(ticket)
        failed = self.failed.get((hall, person, item))
        if failed is not None and 0 <= ts - failed[0] <= self.window_ms:
            first = service_day(failed[0]).isoformat()
            summary = f"ticket {ticket}: second trip for item {item} (visit of {first} {failed[1]})"
            book.fire(SECOND_TRIP, hall, f"{service_day(ts)}/{ticket}", "yellow", ts, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        for ev in events:
            if isinstance(ev, TicketIssued):
                v = self.visits(ev.hall, ev.ts)
                if ev.person is not None:
                    v.person[ev.ticket] = ev.person
                if ev.item is not None:
                    v.item[ev.ticket] = ev.item
                self._check(book, ev.hall, v, ev.ticket, ev.ts)
            elif isinstance(ev, ServiceStarted) and ev.item is not None:
                v = self.visits(ev.hall, ev.ts)
                v.item.setdefault(ev.ticket, ev.item)
                self._check(book, ev.hall, v, ev.ticket, ev.ts)
            elif isinstance(ev, ServiceFinished) and ev.outcome != "transferred":
                v = self.visits(ev.hall, ev.ts)
                person, item = v.person.get(ev.ticket), v.item.get(ev.ticket)
                if person is None or item is None:
                    continue
                if ev.outcome in ("incomplete", "rejected"):
                    self.failed[(ev.hall, person, item)] = (ev.ts, ev.outcome)
                else:  # done (or sent to the back office): the matter moved on
                    self.failed.pop((ev.hall, person, item), None)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        return None


class ScalpingRule:
    """倒号: one person taking more than ``max_tickets`` tickets in a service day. A
    yellow alert named by the person's first ticket of the day, open until resolved."""

    name = TICKET_SCALPING
    kinds: frozenset[type] = frozenset((TicketIssued,))

    def __init__(self, cfg: Scalping) -> None:
        self.max_tickets = cfg.max_tickets
        self.days: dict[str, _Visits] = {}

    def on_batch(self, book: AlertBook, result: ApplyResult, events: Sequence[Event]) -> None:
        for ev in events:
            if not isinstance(ev, TicketIssued) or ev.person is None:
                continue
            day = day_ordinal(ev.ts)
            v = self.days.get(ev.hall)
            if v is None or day > v.day:  # days only move forward (a late event stays)
                v = self.days[ev.hall] = _Visits(day)
            tickets = v.by_person.setdefault(ev.person, [])
            tickets.append(ev.ticket)
            if len(tickets) == self.max_tickets + 1:
                summary = (
                    f"one person took {len(tickets)} tickets today (倒号?): {', '.join(tickets)}"
                )
                scope = f"{service_day(ev.ts)}/{tickets[0]}"
                book.fire(TICKET_SCALPING, ev.hall, scope, "yellow", ev.ts, summary)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        return None
