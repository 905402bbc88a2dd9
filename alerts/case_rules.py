"""Back-office rules: the 10-minute deemed acceptance (Anqiu) and case deadlines in working
days (Guangdong's 黄牌/红牌), with the clock stopped while a case is paused.

Imports: feeds.hallclock, metrics (snapshots, apply results, workdays), alerts.book,
alerts.settings, alerts.rule (Tick).
"""

from __future__ import annotations

from alerts.book import AlertBook
from alerts.rule import Memory, Tick
from alerts.settings import CaseDeadline
from feeds.hallclock import local_datetime, service_day
from metrics.snapshot import CaseView
from metrics.state import ApplyResult
from metrics.workdays import WorkCalendar

DEEMED_ACCEPTANCE = "deemed_acceptance"
CASE_DEADLINE = "case_deadline"


def _hm(ms: int) -> str:
    return local_datetime(ms).strftime("%H:%M")


def _when(deadline_ms: int) -> str:
    """``end of 2025-11-26`` for a midnight deadline, else ``2025-11-27 02:00``."""
    at = local_datetime(deadline_ms)
    if at.hour == 0 and at.minute == 0:
        return f"end of {service_day(deadline_ms - 1).isoformat()}"
    return at.strftime("%Y-%m-%d %H:%M")


class DeemedAcceptanceRule(Memory):
    """A case the back office did not accept within the minutes (default 10) of its
    submission: deemed accepted then, and alerted (seed 002: 超过10分钟未作出受理决定的,
    视为同意并开始业务办理计时). Resolved when the back office answers or the case closes."""

    name = DEEMED_ACCEPTANCE
    configured = ("deem_ms",)

    def __init__(self, deem_minutes: int = 10) -> None:
        self.deem_ms = deem_minutes * 60_000
        self.submitted: dict[tuple[str, str], int] = {}
        """Cases not yet accepted: (hall, case) → submission ms (the timers)."""

    def _fire(self, book: AlertBook, hall: str, case: str, submitted_ms: int) -> None:
        at = submitted_ms + self.deem_ms
        summary = (
            f"case {case}: back office silent {self.deem_ms // 60000} min after submission "
            f"at {_hm(submitted_ms)}, deemed accepted at {_hm(at)}"
        )
        book.fire(DEEMED_ACCEPTANCE, hall, case, "yellow", at, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for hall, case, at_ms, what in result.cases:
            if what == "submitted":
                self.submitted.setdefault((hall, case), at_ms)
            elif what == "accepted" or what == "closed":
                submitted = self.submitted.pop((hall, case), None)
                if submitted is not None and at_ms >= submitted + self.deem_ms:
                    self._fire(book, hall, case, submitted)
                book.resolve(DEEMED_ACCEPTANCE, hall, case, at_ms)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for name, hall in tick.halls.items():
            for c in hall.cases:
                if c.deemed:  # accepted_ms is then submission + the minutes
                    self._fire(book, name, c.case, c.submitted_ms)


def reached(base_ms: int, c: CaseView) -> int | None:
    """When case ``c``'s clock reaches ``base_ms`` (a threshold counted as if it were never
    paused), or None while a pause holds it short of it.

    Every pause that began before the threshold was reached moves it on by the pause's
    length; a pause that began after it does not take a card back. So the moment a card
    is due depends only on the case's events, never on when the rules look.
    """
    at = base_ms
    for start, end in c.pauses:
        if start >= at:
            break
        at += end - start
    if c.paused_since is not None and c.paused_since < at:
        return None
    return at


class CaseDeadlineRule(Memory):
    """A case's promised working days from acceptance: yellow card when ``yellow_days`` or
    fewer are left, red when overdue (seed 001). Pauses for special procedures (特别程序, seed 004)
    move the deadline back by their length. Resolved when the case closes; a case that
    closes between two ticks is judged as it stood when it closed."""

    name = CASE_DEADLINE
    configured = ("yellow_days", "calendar")

    def __init__(self, cfg: CaseDeadline, calendar: WorkCalendar) -> None:
        self.yellow_days = cfg.yellow_days
        self.calendar = calendar

    def thresholds(self, c: CaseView) -> tuple[int | None, int | None]:
        """(yellow from, red from) in hall ms for the case as it stands; None for one a
        pause is holding back."""
        red = self.calendar.deadline_ms(c.accepted_ms, c.promised_days)
        if c.promised_days >= self.yellow_days:
            yellow = self.calendar.deadline_ms(c.accepted_ms, c.promised_days - self.yellow_days)
        else:
            yellow = c.accepted_ms
        return reached(yellow, c), reached(red, c)

    def _judge(self, book: AlertBook, hall: str, c: CaseView, now: int) -> None:
        yellow, red = self.thresholds(c)
        if yellow is None or now < yellow:
            return
        deadline = c.deadline_ms if red is None else red
        due = service_day(deadline - 1)
        note = ""
        if self.calendar.source(due.year) is None:
            note = f" (no holiday calendar for {due.year}: Monday to Friday assumed)"
        what = f"case {c.case} ({c.item}, {c.dept}, {c.promised_days} working days)"
        summary = f"{what} due {_when(deadline)}{note}"
        book.fire(CASE_DEADLINE, hall, c.case, "yellow", yellow, summary)
        if red is not None and now >= red:
            summary = f"{what} overdue since {_when(red)}{note}"
            book.fire(CASE_DEADLINE, hall, c.case, "red", red, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for hall, closed_ms, c in result.closed_cases:
            self._judge(book, hall, c, closed_ms)
            book.resolve(CASE_DEADLINE, hall, c.case, closed_ms)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for name, hall in tick.halls.items():
            for c in hall.cases:
                if c.card == "none" and self.yellow_days <= 1 and not c.pauses:
                    continue  # not even the hall state's card (yellow at 1 day) is up yet
                a = book.open.get((CASE_DEADLINE, name, c.case))
                if a is None or a.severity != "red":
                    self._judge(book, name, c, hall.now_ms)
