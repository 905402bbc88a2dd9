"""State on screen: a filter or a sort in force is said on the table's edge, with how many
rows it shows of how many; Esc on the table clears the filter. Real console, real feed."""

from __future__ import annotations

from console.tables import WindowsTable
from feeds.server import FeedServer
from tests.conftest import wait_for
from tests.console.test_app import console_on
from tests.factories import H, console_morning


async def test_a_filter_and_a_sort_are_shown_and_esc_clears_the_filter() -> None:
    server = FeedServer("lz-feed", [H])
    await server.start()
    try:
        await server.publish(console_morning())
        async with console_on(server) as (app, _sup, pilot):
            await wait_for(lambda: app.shown is not None and H in app.shown.city.halls)
            await pilot.press("w")
            table = app.query_one(WindowsTable)
            await wait_for(lambda: table.row_count == 2)
            assert table.border_title is None and not table.has_class("narrowed")
            await pilot.press("slash", *"W02", "enter")
            await wait_for(lambda: table.row_count == 1)
            assert table.border_title == "/W02  1/2" and table.has_class("narrowed")
            await pilot.press("a", "w")  # to another screen and back: still said
            await wait_for(lambda: table.border_title == "/W02  1/2")
            await pilot.press("s", "1")  # the sort menu, then a column's key
            await wait_for(lambda: "sorted by" in str(table.border_title))
            assert str(table.border_title).startswith("/W02  1/2  ·  sorted by ")
            await pilot.press("escape")  # the box is closed: Esc clears the filter
            await wait_for(lambda: table.row_count == 2)
            assert "/W02" not in str(table.border_title)
    finally:
        await server.stop()
