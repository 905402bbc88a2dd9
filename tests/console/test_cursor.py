"""The cursor stays where the hand put it on live tables: by row key, through refreshes,
rows inserted or removed above it, and reorders. The console's table (``KeyedTable``), and
the real console on a real feed, under Pilot."""

from __future__ import annotations

from textual.app import App, ComposeResult

from console.grid import KeyedTable
from console.tables import AlertsTable
from feeds.protocol import Complaint, ComplaintClosed, Heartbeat
from feeds.server import FeedServer
from tests.conftest import wait_for
from tests.console.test_app import console_on
from tests.factories import H, console_morning, ms


class _Table(App[None]):
    def compose(self) -> ComposeResult:
        table = KeyedTable()
        table.set_columns([("x", "x")])
        yield table


def _key(table: KeyedTable) -> str | None:
    return table.cursor_key


async def test_sync_keeps_the_cursor_on_its_row() -> None:
    app = _Table()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.sync({k: [k] for k in "abcd"})
        table.focus()
        await pilot.press("down", "down")
        assert _key(table) == "c"
        table.sync({k: [k] for k in "xabcd"})  # a row added above it
        assert _key(table) == "c" and table.cursor_row == 3
        table.sync({k: [k] for k in "dcbax"})  # reordered: the row moves with it
        assert _key(table) == "c" and table.cursor_row == 1
        table.sync({k: [k] for k in "dbax"})  # its row gone: the same place
        assert table.cursor_row == 1 and _key(table) == "b"
        table.sync({k: [k + "!"] for k in "dbax"})  # cells changed only
        assert _key(table) == "b"


def _complaint(n: int, minute: int) -> Complaint:
    return Complaint(seq=0, ts=ms(minute), hall=H, complaint=f"K{n}", channel="desk")


async def test_live_alerts_table_keeps_the_cursor_and_acts_on_that_row() -> None:
    server = FeedServer("lz-feed", [H])
    await server.start()
    try:
        await server.publish([*console_morning(), *(_complaint(n, 20 + n) for n in range(1, 5))])
        async with console_on(server) as (app, _sup, pilot):
            await wait_for(lambda: app.shown is not None and len(app.shown.alerts) >= 5)
            await pilot.press("a")
            table = app.query_one(AlertsTable)
            await wait_for(lambda: table.row_count >= 5)
            table.focus()
            await pilot.press("down", "down", "down")
            chosen = _key(table)
            assert chosen is not None
            # The feed goes on: an alert above it resolves (its row moves down among the
            # resolved: the table is rebuilt), a new one fires; it refreshes meanwhile.
            first = next(a for a in app.shown.alerts if a.summary.startswith("complaint K1"))
            assert first.id != int(chosen)
            await server.publish(
                [
                    ComplaintClosed(seq=0, ts=ms(30), hall=H, complaint="K1"),
                    _complaint(9, 31),
                    Heartbeat(ts=ms(32), hall=H),
                ]
            )
            await wait_for(lambda: table.get_row_index(str(first.id)) > table.get_row_index(chosen))
            await pilot.pause()
            assert _key(table) == chosen
            assert app._selected_alert() is not None
            assert str(app._selected_alert().id) == chosen  # what A, R, X, t act on
    finally:
        await server.stop()


async def test_an_action_on_the_overview_needs_the_alert_list_in_hand() -> None:
    """On the overview, A acts on the alert list only once the list has the focus (the
    hand on it): until then its highlighted row is just the top of the list."""
    from console.dialogs import NoteDialog
    from console.widgets import AlertTable

    server = FeedServer("lz-feed", [H])
    await server.start()
    try:
        await server.publish([*console_morning(), _complaint(1, 21)])
        async with console_on(server) as (app, _sup, pilot):
            await wait_for(lambda: app.shown is not None and len(app.shown.alerts) >= 2)
            assert app.screen_name == "overview"
            await pilot.press("A")
            await pilot.pause()
            assert not isinstance(app.screen, NoteDialog)
            assert app._selected_alert() is None
            app.query_one(AlertTable).focus()
            await pilot.pause()
            assert app._selected_alert() is not None
    finally:
        await server.stop()
