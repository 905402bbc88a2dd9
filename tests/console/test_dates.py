"""Dates and ages as a duty director reads them: anything not from today shows its date,
ages over a day in days, a timeline with its dates. Hand-worked on the hall clock."""

from __future__ import annotations

from console.tables import AlertsTable
from console.text import duration, stamp, when
from feeds.protocol import Complaint
from feeds.server import FeedServer
from tests.conftest import wait_for
from tests.console.test_app import console_on, plain
from tests.factories import H, console_morning, ms

DAY_MIN = 24 * 60


def test_ages_over_a_day_read_in_days() -> None:
    assert duration(245) == "4:05"
    assert duration(3600 + 5 * 60) == "1h05"
    assert duration(23 * 3600 + 59 * 60) == "23h59"
    assert duration(121 * 3600 + 44 * 60) == "5d01h"  # was 121h44


def test_a_time_of_another_day_shows_its_date() -> None:
    # T0 is 2025-11-24 09:00 CST.
    assert when(ms(5, 30), ms(60)) == "09:05:30"  # the same service day: the time
    assert when(ms(5), ms(DAY_MIN + 60)) == "11-24 09:05"  # yesterday's: with its date
    assert when(ms(-DAY_MIN * 6 - 9 * 60), ms(0)) == "11-18 00:00"  # a week-old case card
    assert stamp(ms(DAY_MIN + 15)) == "11-25 09:15:00"


async def test_an_earlier_days_alert_shows_its_date_on_the_alerts_screen() -> None:
    server = FeedServer("lz-feed", [H])
    await server.start()
    try:
        old = Complaint(seq=0, ts=ms(-DAY_MIN + 330), hall=H, complaint="K-old", channel="desk")
        await server.publish([old, *console_morning()])
        async with console_on(server) as (app, _sup, pilot):
            await wait_for(lambda: app.shown is not None and len(app.shown.alerts) >= 2)
            await pilot.press("a")
            table = app.query_one(AlertsTable)
            await wait_for(lambda: table.row_count >= 2)
            rows = [" ".join(plain(c) for c in table.get_row(k)) for k in table.row_keys]
            yesterday = [r for r in rows if "K-old" in r]  # received, and overdue at 17:30
            assert any("11-23 14:30" in r for r in yesterday)  # seen on the 24th
            assert all("11-23 " in r for r in yesterday)
            others = [r for r in rows if "K-old" not in r]
            assert others and not any("11-2" in r for r in others)  # today's: the time

    finally:
        await server.stop()
