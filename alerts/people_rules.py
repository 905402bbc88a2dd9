"""Rules about the people served: bad ratings awaiting rectification (好差评, seed 004),
second trips (最多跑一次, seed 000) and ticket scalping (倒号, seed 004).

``person`` arrives pseudonymized (a keyed hash, feeds/privacy.py); these rules keep it in
memory only to match visits, and never put it in a scope or a summary: alerts name the
ticket instead.

Imports: feeds.hallclock, metrics (apply results, workdays), alerts.book,
alerts.settings, alerts.rule (Tick).
"""

from __future__ import annotations

from alerts.book import AlertBook
from alerts.rule import Memory, Tick
from alerts.settings import Ratings, Scalping, SecondTrip
from feeds.hallclock import DAY_MS, day_ordinal, service_day
from metrics.state import ApplyResult
from metrics.workdays import WorkCalendar

BAD_RATING = "bad_rating"
SECOND_TRIP = "second_trip"
TICKET_SCALPING = "ticket_scalping"


class BadRatingRule(Memory):
    """A bad rating (1-2) opens a warning (notice) that stays open until a person resolves
    it with the rectification note (差评整改情况在线反馈); urgent once the note is overdue
    (``rectify_days`` working days)."""

    name = BAD_RATING
    configured = ("cfg", "calendar")

    def __init__(self, cfg: Ratings, calendar: WorkCalendar) -> None:
        self.cfg = cfg
        self.calendar = calendar

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        bad = self.cfg.bad_at_most
        for ev in result.ratings:
            if ev.score <= bad:
                due = self.calendar.deadline_ms(ev.ts, self.cfg.rectify_days)
                staff = f", staff {ev.staff}" if ev.staff else ""
                summary = (
                    f"bad rating {ev.score} at window {ev.window}{staff} via {ev.channel}: "
                    f"rectification note due {service_day(due - 1).isoformat()}"
                )
                scope = f"{ev.window}/{ev.seq}"
                book.fire(BAD_RATING, ev.hall, scope, "notice", ev.ts, summary, due_ms=due)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for a in list(book.open.values()):
            hall = tick.halls.get(a.hall)
            if a.rule != BAD_RATING or hall is None or a.due_ms is None:
                continue
            if hall.now_ms >= a.due_ms and a.severity != "urgent":
                summary = a.summary.replace("due", "overdue since", 1)
                book.fire(BAD_RATING, a.hall, a.scope, "urgent", a.due_ms, summary)


class SecondTripRule(Memory):
    """最多跑一次: the same person back for the same item within ``within_days`` after an
    incomplete or rejected visit. A notice on the new ticket, open until a person
    resolves it (what went wrong the first time is for the office to find out)."""

    name = SECOND_TRIP
    configured = ("window_ms",)

    def __init__(self, cfg: SecondTrip) -> None:
        self.window_ms = cfg.within_days * DAY_MS
        self.day: dict[str, int] = {}
        """Hall → the service day of its last visit (the history is pruned as days turn)."""
        self.failed: dict[tuple[str, str, str], tuple[int, str]] = {}
        """(hall, person, item) → (ms, outcome) of the last incomplete or rejected visit:
        this rule's own memory, ``within_days`` of it."""

    def _turn(self, hall: str, ts: int) -> None:
        day = day_ordinal(ts)
        if day > self.day.get(hall, 0):  # days only move forward (a late event stays)
            self.day[hall] = day
            horizon = ts - self.window_ms
            self.failed = {k: f for k, f in self.failed.items() if f[0] >= horizon}

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for hall, ticket, person, item, ts, outcome in result.visits:
            self._turn(hall, ts)
            key = (hall, person, item)
            if outcome is None:  # a new visit: back after a failed one?
                failed = self.failed.get(key)
                if failed is not None and 0 <= ts - failed[0] <= self.window_ms:
                    first = service_day(failed[0]).isoformat()
                    summary = (
                        f"ticket {ticket}: second trip for item {item} (visit of {first} "
                        f"{failed[1]})"
                    )
                    scope = f"{service_day(ts)}/{ticket}"
                    book.fire(SECOND_TRIP, hall, scope, "notice", ts, summary)
            elif outcome in ("incomplete", "rejected"):
                self.failed[key] = (ts, outcome)
            else:  # done (or sent to the back office): the matter moved on
                self.failed.pop(key, None)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        return None


class ScalpingRule(Memory):
    """倒号: one person taking more than ``max_tickets`` tickets in a service day. A
    notice named by the person's first ticket of the day, open until resolved."""

    name = TICKET_SCALPING
    configured = ("max_tickets",)

    def __init__(self, cfg: Scalping) -> None:
        self.max_tickets = cfg.max_tickets

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        over = self.max_tickets + 1
        for hall, ts, nth, tickets in result.person_tickets:
            if nth == over:
                summary = f"one person took {nth} tickets today (倒号?): {', '.join(tickets[:nth])}"
                scope = f"{service_day(ts)}/{tickets[0]}"
                book.fire(TICKET_SCALPING, hall, scope, "notice", ts, summary)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        return None
