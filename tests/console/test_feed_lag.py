"""The feeds screen shows how late a feed delivers (``hall_feed_lag_seconds`` on screen),
fed over a real WebSocket from events stamped ~2 minutes before this machine's clock."""

from __future__ import annotations

import re
import time

from rich.text import Text

from console.tables import FeedsTable
from feeds.protocol import TicketIssued, WindowState
from feeds.server import FeedServer
from tests.conftest import wait_for
from tests.console.test_app import console_on, server  # noqa: F401  (fixture)


async def test_feeds_screen_shows_the_delivery_lag(server: FeedServer) -> None:  # noqa: F811
    now = int(time.time() * 1000)
    await server.publish(
        [
            WindowState(seq=0, ts=now - 130_000, hall="lz", window="W01", state="open"),
            TicketIssued(seq=0, ts=now - 125_000, hall="lz", ticket="A001", zone="biz"),
        ]
    )
    async with console_on(server) as (app, sup, pilot):
        await wait_for(lambda: sup.events_total == 2)
        await pilot.press("f")
        feeds = app.query_one(FeedsTable)
        labels = [str(label) for label in feeds.column_labels]
        column = labels.index("delivery lag")
        # 125 s late at receipt (heartbeats, sent after a quiet second, carry the same
        # hall clock, so the figure only grows while the test runs).
        await wait_for(lambda: feeds.row_count == 1 and feeds.get_row("lz")[column] != "–")
        cell = feeds.get_row("lz")[column]
        assert re.fullmatch(r"2:(0[5-9]|[1-5]\d)", str(cell)), str(cell)
        assert isinstance(cell, Text) and cell.style == "yellow"  # over 30 s late
        await pilot.press("l")  # Chinese headings
        await wait_for(lambda: "送达延迟" in [str(label) for label in feeds.column_labels])
