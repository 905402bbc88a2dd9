"""Working days (办事工作日) on the hall clock: statutory holidays and make-up days (调休).

Where the days come from, first match wins:
1. the config's holiday file (``[calendar.years."2027"]``: ``holidays`` and ``workdays``
   dates) for the years it describes — the State Council publishes next year's schedule
   each November, so the file is how an installation keeps up before the package does;
2. the ``chinese-calendar`` package for the years it knows (2004 to 2026 in 1.11);
3. otherwise Monday to Friday, with a warning logged once per year nobody described
   (``undescribed`` lists them, so rules can say so in their alerts). Never an error: a
   date is always answerable.

Imports: feeds.hallclock, chinese_calendar, structlog, the standard library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

import structlog

from feeds.hallclock import DAY_MS, day_ordinal, day_start_ms, service_day

log = structlog.get_logger("hallwatch.workdays")

try:  # the package is a dependency; a calendar without it still answers (weekdays)
    import chinese_calendar as _package
except ImportError:  # pragma: no cover
    _package = None


class WorkCalendar:
    """Which days are working days.

    Args:
        years: per year described by the config, (holidays, make-up workdays). A described
            year's other days follow Monday to Friday.
        use_package: consult ``chinese-calendar`` for the years it knows.
    """

    def __init__(
        self,
        years: Mapping[int, tuple[Iterable[date], Iterable[date]]] | None = None,
        *,
        use_package: bool = True,
    ) -> None:
        self.years: dict[int, tuple[frozenset[date], frozenset[date]]] = {
            y: (frozenset(h), frozenset(w)) for y, (h, w) in (years or {}).items()
        }
        self.use_package = use_package and _package is not None
        self.undescribed: set[int] = set()
        """Years asked about that neither the config nor the package describes."""
        self._package_years: dict[int, bool] = {}
        self._cached_years: dict[int, tuple[frozenset[date], frozenset[date]]] = dict(self.years)
        self._deadlines: dict[tuple[int, int], int] = {}

    def source(self, year: int) -> str | None:
        """``"config"``, ``"package"``, or None for a year nobody described."""
        if year in self.years:
            return "config"
        if self.use_package:
            known = self._package_years.get(year)
            if known is None:
                try:
                    _package.is_workday(date(year, 6, 1))
                    known = True
                except NotImplementedError:
                    known = False
                self._package_years[year] = known
            if known:
                return "package"
        return None

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(holidays on weekdays, working weekend days) of a year; empty if undescribed.
        The package's own lookup re-validates its whole table per call (~25 µs), so its
        days are read once per year into sets."""
        found = self.years.get(year)
        if found is None:
            source = self.source(year)
            if source == "package":
                holidays = frozenset(d for d in _package.holidays if d.year == year)
                workdays = frozenset(d for d in _package.workdays if d.year == year)
                found = (holidays, workdays)
            else:
                found = (frozenset(), frozenset())
                if year not in self.undescribed:
                    self.undescribed.add(year)
                    log.warning(
                        "calendar_year_undescribed",
                        year=year,
                        assumed="Monday to Friday",
                        fix=f'add [calendar.years."{year}"] holidays and workdays to the config',
                    )
            self._cached_years[year] = found
        return found

    def is_workday(self, day: date) -> bool:
        """True on a working day (make-up weekends included, holidays excluded)."""
        holidays, workdays = self._cached_years.get(day.year) or self._year(day.year)
        if day in workdays:
            return True
        return day.weekday() < 5 and day not in holidays

    def add_workdays(self, day: date, n: int) -> date:
        """The ``n``-th working day after ``day`` (``day`` itself when n == 0)."""
        while n > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                n -= 1
        return day

    def working_ms(self, start_ms: int, end_ms: int) -> int:
        """The part of [``start_ms``, ``end_ms``) that falls on working days (a working
        day counts whole, midnight to midnight, like the deadlines it moves)."""
        total, at = 0, start_ms
        while at < end_ms:
            day = service_day(at)
            next_day = day_start_ms(day) + DAY_MS
            if self.is_workday(day):
                total += min(end_ms, next_day) - at
            at = next_day
        return total

    def deadline_ms(self, start_ms: int, days: int) -> int:
        """End (next local midnight) of the ``days``-th working day after ``start_ms``'s day."""
        key = (day_ordinal(start_ms), days)
        found = self._deadlines.get(key)
        if found is None:
            if len(self._deadlines) > 50_000:
                self._deadlines.clear()
            last = self.add_workdays(service_day(start_ms), days)
            found = self._deadlines[key] = day_start_ms(last) + DAY_MS
        return found
