"""Working days: statutory holidays and 调休 from the package, the config for later years,
Monday to Friday with one warning for a year nobody described — never a crash."""

from __future__ import annotations

from datetime import date

from structlog.testing import capture_logs

from metrics.workdays import WorkCalendar


def test_package_knows_national_day_and_make_up_saturday() -> None:
    cal = WorkCalendar()
    assert cal.source(2026) == "package"
    assert not cal.is_workday(date(2026, 10, 1))  # 国庆节
    assert cal.is_workday(date(2026, 2, 14))  # a Saturday made a working day (调休)
    # Wednesday 30 September + 2 working days: the holiday week is skipped.
    assert cal.add_workdays(date(2026, 9, 30), 2) == date(2026, 10, 9)


def test_config_years_win_and_undescribed_years_warn_once() -> None:
    described = WorkCalendar({2027: ([date(2027, 2, 8)], [date(2027, 2, 20)])})
    assert described.source(2027) == "config"
    assert not described.is_workday(date(2027, 2, 8))  # a Monday holiday
    assert described.is_workday(date(2027, 2, 20))  # a Saturday make-up day
    assert described.is_workday(date(2027, 2, 9))
    bare = WorkCalendar()
    with capture_logs() as logs:
        assert bare.source(2031) is None
        assert bare.is_workday(date(2031, 10, 1))  # a Wednesday: Monday to Friday assumed
        assert not bare.is_workday(date(2031, 10, 4))
        assert bare.add_workdays(date(2031, 10, 1), 3) == date(2031, 10, 6)
    warnings = [e for e in logs if e["event"] == "calendar_year_undescribed"]
    assert len(warnings) == 1 and warnings[0]["year"] == 2031
    assert bare.undescribed == {2031}
    assert bare.is_workday(date(1990, 1, 1))  # before the package: weekdays, no crash


def test_working_time_of_a_stretch_leaves_out_weekends_and_holidays() -> None:
    """The working time a pause stops a case's clock for (metrics.case_clock): only the
    part on working days, whole days midnight to midnight."""
    cal = WorkCalendar()
    hour = 3_600_000

    def at(day: date, h: int) -> int:
        from feeds.hallclock import day_start_ms

        return day_start_ms(day) + h * hour

    # Fri 2025-11-28 16:00 to Mon 12-01 10:00: 8 h on Friday, none at the weekend, 10 h.
    assert cal.working_ms(at(date(2025, 11, 28), 16), at(date(2025, 12, 1), 10)) == 18 * hour
    # Across 国庆节 2026 (1-7 October off, Sat 10-10 a make-up working day): Wed 9-30
    # 12:00 to Mon 10-12 12:00 counts 12 h + Thu 10-8 + Fri 10-9 + Sat 10-10 + 12 h.
    got = cal.working_ms(at(date(2026, 9, 30), 12), at(date(2026, 10, 12), 12))
    assert got == (12 + 3 * 24 + 12) * hour
    assert cal.working_ms(at(date(2025, 11, 29), 0), at(date(2025, 11, 30), 23)) == 0
    assert cal.working_ms(at(date(2025, 11, 24), 10), at(date(2025, 11, 24), 9)) == 0
