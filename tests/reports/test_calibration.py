"""The day report's calibration of the expected wait (docs/reports.md, ``calibration``):
the replayed day's ``metrics.calibration``, the same as the live state's; days add up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from feeds.demo.city import default_city
from feeds.demo.hall import simulate_days
from feeds.journal import Journal
from feeds.protocol import Event
from feeds.replay import renumber
from metrics.calibration import Calibration, HallCalibration, calibrate_days
from metrics.state import CityState
from reports.gather import gather
from reports.render import markdown
from reports.tables import build

FIRST = dt.date(2025, 11, 24)
DAYS = [FIRST, FIRST + dt.timedelta(days=1)]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Event]]:
    """Two demo days of the default city, through the journal."""
    events = renumber(simulate_days(default_city(), FIRST, 2, 5))
    data_dir = tmp_path_factory.mktemp("calibration")
    journal = Journal(data_dir / "journal")
    for i in range(0, len(events), 500):
        journal.append("demo", list(events[i : i + 500]))
    journal.close()
    return data_dir, events


def live(events: list[Event]) -> list[dict[str, HallCalibration]]:
    """Each day's calibration per hall of one state fed both days, 1000 events a batch."""
    return [
        per_hall for _, per_hall in calibrate_days(CityState(record_forecasts=True), events, DAYS)
    ]


def flat(per_hall: dict[str, HallCalibration]) -> dict[tuple[str, str], tuple]:
    """Every zone's and hall's figures as flat tuples (sums compared to float precision:
    a state that met the zones in another order adds them up in another order)."""
    out = {}
    for hall, cal in per_hall.items():
        for zone, c in [*cal.zones.items(), ("", cal.hall)]:
            out[(hall, zone)] = pytest.approx((*c[:5], *c.forecast, *c.baseline), rel=1e-12)
    return out


def rows_of(tables: list, hall: str, zone: str) -> list:
    table = next(t for t in tables if t.name == "calibration")
    return next(r for r in table.rows if r[0] == hall and r[1] == zone)


def test_a_day_alone_is_calibrated_as_live_and_the_month_adds_up(recorded) -> None:
    data_dir, events = recorded
    expected = live(events)
    # The second day replayed alone (a day report) equals the live state's, which ran
    # through the first day before: the forecast reads only the day's own events.
    (second,) = gather([DAYS[1]], data_dir)
    assert flat(expected[1]) == {k: v.expected for k, v in flat(second.calibration).items()}
    both = gather(DAYS, data_dir)
    assert [d.calibration for d in both] == expected  # the same state's order: to the bit

    tables = build(both)
    table = next(t for t in tables if t.name == "calibration")
    assert table.columns[:8] == ("hall", "zone", "tickets", "called", "not called",
                                 "no forecast", "no baseline", "compared")  # fmt: skip
    for hall in ("city", "county-a", "county-b"):
        total: Calibration = expected[0][hall].hall.plus(expected[1][hall].hall)
        f, b = total.forecast, total.baseline
        assert rows_of(tables, hall, "") == [
            hall, "", total.issued, total.called, total.not_called, total.no_forecast,
            total.no_baseline, f.tickets, f.bias_s / 60, f.mae_s / 60, f.within_share,
            b.bias_s / 60, b.mae_s / 60, b.within_share, "yes",
        ]  # fmt: skip
        zones = [r[1] for r in table.rows if r[0] == hall]
        assert zones == [*sorted(expected[0][hall].zones), ""]
    # A zone's row: its two days' tickets.
    estate = [d["county-b"].zones["estate"] for d in expected]
    assert rows_of(tables, "county-b", "estate")[2] == estate[0].issued + estate[1].issued

    text = markdown(both, tables, "2025-11")
    section = text.split("Expected wait: forecast at issue against the wait")[1]
    lines = section.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("| hall"))
    head, first = lines[at], lines[at + 2]
    assert "expected within 5 min rate" in head and " %" in first  # shares as percentages
