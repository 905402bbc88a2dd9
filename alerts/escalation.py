"""Escalation (督办): who an unacknowledged red card goes to, level by level, and when.

Seed 001 gives 督办 (supervised follow-up) to red cards, and says who must hear of a case
running late: 对即将超时办理的事项,进行实时预警和黄牌警告,及时提醒相关单位加紧办理;对超时未办
的事项进行红牌警告和督办. So each level is a role with a target: by default first the
department the case is with (its ``dept``), then the supervision office (seed 002 names
the bodies that inspect a hall: 市委督查室、市府督查室、市纪委 … 市政务服务办抓好日常监管);
``[[duty.escalate_to]]`` names them. Urgent warnings do not escalate: they are the duty
director's, on the console.

The 15 minutes between levels are duty time: the roster's shifts (``[duty] rota``), or
without a rota ``[duty] duty_hours`` on working days. A red card at 18:00 climbs at
08:45 the next working morning, not through the night when nobody is there to act.

Imports: alerts.duty (the roster), alerts.model, alerts.settings, feeds.hallclock,
metrics.workdays, the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Final

from alerts.duty import Roster
from alerts.model import Alert
from alerts.settings import DEFAULT_ESCALATION, DEPARTMENT, minutes_of_day
from feeds.hallclock import day_start_ms, service_day
from metrics.workdays import WorkCalendar

#: How far ahead to look for duty time (a roster with none in a year has no escalation).
HORIZON_DAYS: Final = 366
#: What an escalation to the department says when the alert names none (a complaint).
UNKNOWN_DEPARTMENT: Final = "(department not known)"

Span = tuple[int, int]


class Escalation:
    """The escalation policy the alert book asks (``AlertBook.escalation``).

    Args:
        roster: ``[duty]``: the rota whose shifts are duty time, and the steps.
        calendar: working days (the duty hours without a rota; holidays off the rota).
    """

    def __init__(self, roster: Roster, calendar: WorkCalendar) -> None:
        self.roster = roster
        self.calendar = calendar
        self.steps = tuple(roster.escalate_to) or DEFAULT_ESCALATION
        self.department_of: Callable[[Alert], str | None] = lambda alert: None
        """The department an alert concerns (the engine looks the case up)."""
        self._spans: dict[date, tuple[Span, ...]] = {}

    @property
    def max_level(self) -> int:
        return len(self.steps)

    def spans(self, day: date) -> tuple[Span, ...]:
        """Duty time on ``day`` (hall ms, merged, in order): every rostered shift of the
        day (a weekday entry not on a holiday that falls on a weekday), or without a rota
        the duty hours of a working day."""
        found = self._spans.get(day)
        if found is not None:
            return found
        roster, start = self.roster, day_start_ms(day)
        raw: list[Span] = []
        if roster.rota:
            shifts = {s.name: s for s in roster.shifts}
            holiday = day.isoweekday() <= 5 and not self.calendar.is_workday(day)
            for r in roster.rota:
                shift = shifts.get(r.shift)
                covered = day in r.dates or (day.isoweekday() in r.weekdays and not holiday)
                if shift is not None and covered:
                    raw.append((minutes_of_day(shift.start), minutes_of_day(shift.end)))
        elif self.calendar.is_workday(day):
            first, last = roster.duty_hours
            raw.append((minutes_of_day(first), minutes_of_day(last)))
        merged: list[Span] = []
        for a, b in sorted(raw):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        found = tuple((start + a * 60_000, start + b * 60_000) for a, b in merged)
        if len(self._spans) > 1000:
            self._spans.clear()
        self._spans[day] = found
        return found

    def due_ms(self, since_ms: int, period_ms: int) -> int | None:
        """When ``period_ms`` of duty time has passed after ``since_ms`` (None: no duty
        time within ``HORIZON_DAYS``)."""
        left = period_ms
        day = service_day(since_ms)
        for _ in range(HORIZON_DAYS):
            for first, last in self.spans(day):
                begin = max(first, since_ms)
                if begin >= last:
                    continue
                if left <= last - begin:
                    return begin + left
                left -= last - begin
            day += timedelta(days=1)
        return None

    def step(self, alert: Alert, level: int) -> tuple[str, str]:
        """(role, target) of ``level`` (1 is the first step) for ``alert``."""
        step = self.steps[min(level, len(self.steps)) - 1]
        target = step.target
        if target is None and step.role == DEPARTMENT:
            target = self.department_of(alert) or UNKNOWN_DEPARTMENT
        return step.role, target or step.role
