"""Rules about the people served: bad ratings awaiting rectification (好差评, seed 004),
second trips (最多跑一次, seed 000), ticket scalping (倒号) and tickets served for someone
else than their holder (盗号): seed 004, 对倒号、盗号、造谣生事,扰乱正常办事秩序的非法中介,
予以严厉打击.

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
TICKET_THEFT = "ticket_theft"


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
    """最多跑一次: the same person back for the same item within ``within_days`` after a
    visit that ended incomplete or rejected at the window. A notice on the new ticket,
    open until a person resolves it (what went wrong the first time is for the office to
    find out). A visit sent to the back office ends the matter for this rule whatever the
    back office decides: a return after a denial is a new application, the citizen got a
    decision (issue #18)."""

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
            else:  # done, or sent to the back office (approved or denied later: a
                self.failed.pop(key, None)  # decision either way): the matter moved on

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        return None


class ScalpingRule(Memory):
    """倒号: one person taking more than ``max_tickets`` tickets in a service day. A
    notice named by the person's first ticket of the day, open until resolved. The
    registered agents (``agents``, pseudonyms) are exempt: many tickets a day are a
    代办员's normal day."""

    name = TICKET_SCALPING
    configured = ("max_tickets", "agents")

    def __init__(self, cfg: Scalping) -> None:
        self.max_tickets = cfg.max_tickets
        self.agents = frozenset(cfg.agents)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        over = self.max_tickets + 1
        agents = self.agents
        for hall, ts, nth, tickets, person in result.person_tickets:
            if nth == over and person not in agents:
                summary = f"one person took {nth} tickets today (倒号?): {', '.join(tickets[:nth])}"
                scope = f"{service_day(ts)}/{tickets[0]}"
                book.fire(TICKET_SCALPING, hall, scope, "notice", ts, summary)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        return None


class TicketTheftRule(Memory):
    """盗号: a ticket served for a person other than its holder, where the feed says whom
    the window serves (``service_started.person``) and whom the ticket was issued to
    (``ticket_issued.person``). A notice named by the ticket, open until a person resolves
    it. A feed that never sends both leaves this rule silent."""

    name = TICKET_THEFT

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for hall, ticket, window, ts in result.other_holders:
            summary = (
                f"ticket {ticket} served at window {window} for another person than its "
                "holder (盗号?)"
            )
            book.fire(TICKET_THEFT, hall, f"{service_day(ts)}/{ticket}", "notice", ts, summary)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        return None
