"""Working-day arithmetic on the hall clock.

Working days here are Monday to Friday; statutory holidays and make-up days (调休) are the
alerts issue's calendar and plug in through ``WorkCalendar``.

Imports: feeds.hallclock, the standard library.
"""

from __future__ import annotations

from datetime import date, timedelta

from feeds.hallclock import DAY_MS, day_start_ms, service_day


class WorkCalendar:
    """Which days are working days. The base calendar: Monday to Friday."""

    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5

    def add_workdays(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself when n == 0)."""
        while n > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                n -= 1
        return day

    def deadline_ms(self, start_ms: int, days: int) -> int:
        """End (next local midnight) of the ``days``-th working day after ``start_ms``'s day."""
        last = self.add_workdays(service_day(start_ms), days)
        return day_start_ms(last) + DAY_MS
