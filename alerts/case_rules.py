"""Back-office rules: the 10-minute deemed acceptance (Anqiu), case deadlines in working
days (Guangdong's 黄牌/红牌) on the promised limit and on the legal one (Yinchuan lists
both: 法定办结时限、承诺办结时限), with the clock stopped only by a listed special
procedure (Yinchuan) and only up to its limit, and the pauses themselves: a procedure past
its limit is carded, a pause for a reason not on the list is a warning.

Imports: feeds.hallclock, metrics (snapshots, apply results, workdays, the case clock),
alerts.book, alerts.settings, alerts.rule (Tick).
"""

from __future__ import annotations

from collections.abc import Mapping

from alerts.book import AlertBook
from alerts.rule import Memory, Tick
from alerts.settings import AddedMaterials, CaseDeadline, minutes_of_day
from feeds.hallclock import local_datetime, service_day
from metrics.case_clock import CLOSES_MS, Pause, card_moments, limit_ms, procedure_of, reaches
from metrics.snapshot import CaseView
from metrics.state import ApplyResult
from metrics.workdays import WorkCalendar

DEEMED_ACCEPTANCE = "deemed_acceptance"
CASE_DEADLINE = "case_deadline"
LEGAL_DEADLINE = "legal_deadline"
PROCEDURE_OVERTIME = "procedure_overtime"
PAUSE_UNLISTED = "pause_unlisted"
ADDED_MATERIALS = "added_materials"
#: How a ``case_materials_changed`` names what the back office did.
CHANGES = {
    "materials_added": "materials added",
    "materials_changed": "materials changed",
    "conditions_added": "conditions added",
}


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
        book.fire(DEEMED_ACCEPTANCE, hall, case, "notice", at, summary)

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


def clock_pauses(c: CaseView) -> list[Pause]:
    """Case ``c``'s pauses as its clock counts them (``metrics.case_clock``)."""
    out: list[Pause] = list(c.pauses)
    if c.paused_since is not None:
        out.append((c.paused_since, None, c.procedure_days))
    return out


def _what(c: CaseView) -> str:
    return f"case {c.case} ({c.item}, {c.dept}"


class CaseDeadlineRule(Memory):
    """A case's promised working days (承诺办结时限) from acceptance: yellow card when
    ``yellow_days`` or fewer are left, red when overdue (seed 001: 对即将超时办理的事项,进行
    实时预警和黄牌警告 … 对超时未办的事项进行红牌警告和督办). A same-day case (0 days, 即办件)
    is yellow from the hall's closing time (``closes``) of its day, not from acceptance
    (``metrics.case_clock.same_day_yellow``). A pause for a listed special procedure (seed
    004) stops the clock up to its limit and moves the deadline by whole working days
    (``metrics.case_clock``); a pause for any other reason stops nothing. Resolved when
    the case closes; a case that closes between two ticks is judged as it stood then."""

    name = CASE_DEADLINE
    configured = ("yellow_days", "calendar", "closes_ms")

    def __init__(self, cfg: CaseDeadline, calendar: WorkCalendar,
                 closes: str | None = None) -> None:  # fmt: skip
        self.yellow_days = cfg.yellow_days
        self.calendar = calendar
        self.closes_ms = CLOSES_MS if closes is None else minutes_of_day(closes) * 60_000
        """The hall's closing time (ms after midnight): a same-day case's yellow."""

    def thresholds(self, c: CaseView, now: int) -> tuple[int | None, int | None]:
        """(yellow from, red from) in hall ms for the case as it stands at ``now``; None
        for one a listed pause within its limit is holding back."""
        cal, days, pauses = self.calendar, c.promised_days, clock_pauses(c)
        return card_moments(
            cal, c.accepted_ms, days, pauses, now, yellow_days=self.yellow_days,
            closes_ms=self.closes_ms,
        )  # fmt: skip

    def _judge(self, book: AlertBook, hall: str, c: CaseView, now: int) -> None:
        yellow, red = self.thresholds(c, now)
        if yellow is None or now < yellow:
            return
        deadline = c.deadline_ms if red is None else red
        note = _no_calendar(self.calendar, deadline)
        what = f"{_what(c)}, promised {c.promised_days} working days)"
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
                if c.card == "none" and self.yellow_days <= 1:
                    continue  # not even the hall state's card (yellow at 1 day) is up yet
                a = book.open.get((CASE_DEADLINE, name, c.case))
                if a is None or a.severity != "red":
                    self._judge(book, name, c, hall.now_ms)


def _no_calendar(calendar: WorkCalendar, deadline_ms: int) -> str:
    """The summary's note when the deadline's year has no holiday calendar."""
    due = service_day(deadline_ms - 1)
    if calendar.source(due.year) is None:
        return f" (no holiday calendar for {due.year}: Monday to Friday assumed)"
    return ""


class LegalDeadlineRule(Memory):
    """A case past its legal time limit (法定办结时限, seed 004: 法定办结时限、承诺办结时限 are
    both published for every item): a red card of its own (rule + hall + case), apart
    from the promise's ``case_deadline``. Breaking the law's limit is another fact than
    breaking the promise, later in every sane catalogue (the promise is the law's limit
    cut short: seed 002, 取水许可 45 → 3 working days): it fires, notifies and escalates
    (督办) when it happens, even on a case whose promise card is red and acknowledged
    since. No yellow: the promise's cards come first (seed 001's 红牌 is for 超时未办).
    Counted like the promise, from acceptance, with the same listed pauses stopping it.
    Resolved when the case closes; one closing between two ticks is judged as it stood."""

    name = LEGAL_DEADLINE
    configured = ("calendar",)

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar

    def _judge(self, book: AlertBook, hall: str, c: CaseView, now: int) -> None:
        if c.legal_days is None:
            return
        red = reaches(self.calendar, c.accepted_ms, c.legal_days, clock_pauses(c), now)
        if red is None or now < red:
            return
        note = _no_calendar(self.calendar, red)
        summary = (
            f"{_what(c)}, legal {c.legal_days} working days) past its legal limit since "
            f"{_when(red)} (promised {c.promised_days}){note}"
        )
        book.fire(LEGAL_DEADLINE, hall, c.case, "red", red, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for hall, closed_ms, c in result.closed_cases:
            self._judge(book, hall, c, closed_ms)
            book.resolve(LEGAL_DEADLINE, hall, c.case, closed_ms)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for name, hall in tick.halls.items():
            for c in hall.cases:
                if c.card != "red" or c.legal_days is None:
                    continue  # past its legal limit, the hall state's card is red
                if (LEGAL_DEADLINE, name, c.case) not in book.open:
                    self._judge(book, name, c, hall.now_ms)


class ProcedureOvertimeRule(Memory):
    """A special procedure (a pause whose reason is on ``[rules.case_pauses]``) still
    going near or past its time limit: a yellow card when ``yellow_days`` or fewer working
    days are left, red once the limit has run out (seed 004: 建立限时办结机制; the cards are
    seed 001's, for what is about to run or has run over its time). Past the limit the
    case's clock runs again too (``case_deadline``). Resolved when the case resumes or
    closes; a pause that ended between two looks is judged as it stood then."""

    name = PROCEDURE_OVERTIME
    configured = ("yellow_days", "calendar", "listed")

    def __init__(self, cfg: CaseDeadline, calendar: WorkCalendar,
                 listed: Mapping[str, int]) -> None:  # fmt: skip
        self.yellow_days = cfg.yellow_days
        self.calendar = calendar
        self.listed = dict(listed)

    def _judge(self, book: AlertBook, hall: str, case: str, what: str, start: int,
               procedure: str, now: int) -> None:  # fmt: skip
        days = self.listed[procedure]
        cal = self.calendar
        red = limit_ms(cal, start, days)
        left = days - self.yellow_days
        yellow = limit_ms(cal, start, left) if left >= 0 else start
        head = f"case {case}{what}: special procedure {procedure} since {_when(start)}"
        if now >= yellow:
            summary = f"{head}, limit {days} working days, runs out {_when(red)}"
            book.fire(PROCEDURE_OVERTIME, hall, case, "yellow", yellow, summary)
        if now >= red:
            summary = f"{head}, over its limit of {days} working days since {_when(red)}"
            book.fire(PROCEDURE_OVERTIME, hall, case, "red", red, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for hall, case, start, end, reason in result.case_pauses:
            if end is None:
                continue
            procedure = procedure_of(reason, self.listed)
            if procedure is not None:
                self._judge(book, hall, case, "", start, procedure, end)
            book.resolve(PROCEDURE_OVERTIME, hall, case, end)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for name, hall in tick.halls.items():
            paused = set()
            for c in hall.cases:
                if c.paused_since is None or c.procedure is None:
                    continue
                paused.add(c.case)
                what = f" ({c.item}, {c.dept})"
                self._judge(book, name, c.case, what, c.paused_since, c.procedure, hall.now_ms)
            for rule, hall_name, scope in list(book.open):  # (a restart missed its end)
                if rule == PROCEDURE_OVERTIME and hall_name == name and scope not in paused:
                    book.resolve(rule, name, scope, hall.now_ms)


class PauseUnlistedRule(Memory):
    """A case paused for a reason that names no listed special procedure: its clock does
    not stop (a pause cannot hide a case), and this warning (notice) says so, so the
    office can ask the department what the pause is. Resolved when it resumes or closes."""

    name = PAUSE_UNLISTED
    configured = ("listed",)

    def __init__(self, listed: Mapping[str, int]) -> None:
        self.listed = dict(listed)

    def _fire(self, book: AlertBook, hall: str, case: str, what: str, start: int,
              reason: str) -> None:  # fmt: skip
        summary = (
            f"case {case}{what} paused for {reason!r}, not a listed special procedure: "
            "its clock runs on"
        )
        book.fire(PAUSE_UNLISTED, hall, case, "notice", start, summary)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for hall, case, start, end, reason in result.case_pauses:
            if procedure_of(reason, self.listed) is not None:
                continue
            self._fire(book, hall, case, "", start, reason)
            if end is not None:
                book.resolve(PAUSE_UNLISTED, hall, case, end)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        for name, hall in tick.halls.items():
            paused = set()
            for c in hall.cases:
                if c.paused_since is None or c.procedure is not None:
                    continue
                paused.add(c.case)
                self._fire(book, name, c.case, f" ({c.item}, {c.dept})", c.paused_since,
                           c.pause_reason or "")  # fmt: skip
            for rule, hall_name, scope in list(book.open):  # (a restart missed its end)
                if rule == PAUSE_UNLISTED and hall_name == name and scope not in paused:
                    book.resolve(rule, name, scope, hall.now_ms)


class AddedMaterialsRule(Memory):
    """Materials or conditions added without authority: a red card at once, the one other
    red card the documents give (seed 001: 对擅自增加或改变申请材料、违规设置办理条件等行为,
    进行红牌警告、强制停止实施). Fed by a ``case_materials_changed`` event (scope: the case,
    so an escalation reaches its department) and by a complaint whose ``category`` is one
    of ``categories`` (scope: the complaint). A formal sanction: it stays until a person
    resolves it with a note saying what was stopped (强制停止实施), not when the case or
    complaint closes."""

    name = ADDED_MATERIALS
    configured = ("categories",)

    def __init__(self, cfg: AddedMaterials) -> None:
        self.categories = frozenset(cfg.categories)

    def on_batch(self, book: AlertBook, result: ApplyResult) -> None:
        for c in result.complaints:
            if c.opened and c.category in self.categories:
                where = f" at window {c.window}" if c.window else ""
                summary = f"complaint {c.complaint} via {c.channel}{where}: {c.category}"
                book.fire(ADDED_MATERIALS, c.hall, c.complaint, "red", c.ts, summary)
        for hall, case, at_ms, change, dept, materials in result.materials:
            asked = f": {materials}" if materials else ""
            summary = f"case {case} ({dept}): {CHANGES.get(change, change)}{asked}"
            book.fire(ADDED_MATERIALS, hall, case, "red", at_ms, summary)

    def on_tick(self, book: AlertBook, tick: Tick) -> None:
        return None
