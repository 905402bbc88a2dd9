"""Every table screen of the console, its keys, the filter, the sort and the palette."""

from __future__ import annotations

from textual.command import Command, CommandInput, CommandList, CommandPalette

from console.tables import CityTable, FeedsTable, QueueTable, WindowsTable
from feeds.protocol import Heartbeat, TicketIssued, WindowState
from feeds.server import FeedServer
from tests.conftest import wait_for
from tests.console.test_app import arrived, console_on, server  # noqa: F401  (fixture)
from tests.factories import console_morning, ms


def cells(table, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


async def test_screen_keys_show_each_table(server: FeedServer) -> None:  # noqa: F811
    await server.publish(console_morning())
    async with console_on(server) as (app, _sup, pilot):
        await wait_for(lambda: arrived(app, 12))
        await pilot.press("w")
        assert app.screen_name == "windows"
        windows = app.query_one(WindowsTable)
        await wait_for(lambda: windows.row_count == 2)
        w02 = cells(windows, "W02")
        # The window with the zones it served today (B001 is an estate ticket).
        assert w02[:5] == ["W02 estate", "open", "20:00", "s018", "B001 5:00"]
        assert windows.row_keys == ["W01", "W02"]  # natural order
        assert w02[5:7] == ["0", "0"]  # nothing finished at W02 yet
        w01 = cells(windows, "W01")
        assert w01[5:8] == ["1", "1", "6:00"]  # one service, 09:07 → 09:13
        await pilot.press("u")
        queue = app.query_one(QueueTable)
        await wait_for(lambda: queue.row_count == 2)
        # The priority lane first, then by wait.
        assert [queue.get_row_at(i)[0] for i in range(2)] == ["A002", "B002"]
        assert cells(queue, "A002")[4] == "17:00"
        await pilot.press("f")
        feeds = app.query_one(FeedsTable)
        await wait_for(lambda: feeds.row_count == 1)
        assert cells(feeds, "lz")[:2] == ["lz", "connected"]
        await pilot.press("o")
        assert app.screen_name == "overview"


async def test_city_table_enter_opens_the_hall() -> None:
    other = [
        TicketIssued(seq=0, ts=ms(5), hall="zz", ticket="X001", zone="civic"),
        Heartbeat(ts=ms(6), hall="zz"),
    ]
    two_halls = FeedServer("city-feed", ["lz", "zz"])  # heartbeats carry both clocks
    await two_halls.start()
    await two_halls.publish(console_morning() + other)
    async with console_on(two_halls) as (app, _sup, pilot):
        await wait_for(lambda: app.shown is not None and len(app.shown.city.halls) == 2)
        await pilot.press("c")
        city = app.query_one(CityTable)
        await wait_for(lambda: city.row_count == 2 and cells(city, "zz")[2] == "1:00")
        assert cells(city, "zz")[:2] == ["zz", "1"]
        # The complaint is a live warning (预警): urgent, notices, backlog apart.
        assert cells(city, "lz")[6:9] == ["0", "1", "0"]
        await pilot.press("down", "enter")
        assert app.screen_name == "overview" and app.hall == "zz"
    await two_halls.stop()


async def test_filter_and_sort(server: FeedServer) -> None:  # noqa: F811
    await server.publish(console_morning())
    async with console_on(server) as (app, _sup, pilot):
        await wait_for(lambda: arrived(app, 12))
        await pilot.press("u")
        queue = app.query_one(QueueTable)
        await wait_for(lambda: queue.row_count == 2)
        await pilot.press("slash", "B", "0")
        await wait_for(lambda: queue.row_count == 1)
        assert queue.get_row_at(0)[0] == "B002"
        await pilot.press("enter")  # the filter stays, the box closes
        assert queue.row_count == 1 and queue.has_focus
        await pilot.press("slash", "backspace", "backspace", "enter")
        await wait_for(lambda: queue.row_count == 2)
        await pilot.press("s", "1")  # sort by ticket: the menu, then the column's key
        assert [queue.get_row_at(i)[0] for i in range(2)] == ["A002", "B002"]
        await pilot.press("S")  # reversed
        await wait_for(lambda: queue.get_row_at(0)[0] == "B002")


def _palette_offers(app: object, typed: str, command: str) -> bool:
    """The command palette is open on ``typed`` and highlights ``command`` first."""
    palette = getattr(app, "screen", None)
    if not isinstance(palette, CommandPalette) or palette.query_one(CommandInput).value != typed:
        return False
    found = palette.query_one(CommandList)
    if found.highlighted is None:
        return False
    option = found.get_option_at_index(found.highlighted)
    return isinstance(option, Command) and str(option.hit.text) == command


async def test_command_palette_lists_the_screens(server: FeedServer) -> None:  # noqa: F811
    await server.publish(console_morning())
    async with console_on(server) as (app, _sup, pilot):
        await wait_for(lambda: arrived(app, 12))
        await pilot.press("ctrl+p")
        await pilot.press(*"complaints")
        await wait_for(lambda: _palette_offers(app, "complaints", "complaints (m)"))
        await pilot.press("enter")
        await wait_for(lambda: app.screen_name == "complaints")


async def test_big_screen_board_shows_the_hall_in_big_figures(server: FeedServer) -> None:  # noqa: F811
    from console.board import Board, Figure

    await server.publish(console_morning())
    async with console_on(server) as (app, _sup, pilot):
        await wait_for(lambda: arrived(app, 12))
        await pilot.press("b")
        board = app.query_one(Board)
        waiting = board.query_one("#fig-waiting", Figure)
        await wait_for(lambda: waiting.query_one("#value").value == "2")
        assert board.query_one("#fig-longest", Figure).query_one("#value").value == "17:00"
        assert board.query_one("#fig-served", Figure).query_one("#value").value == "1"
        alerts = str(board.query_one("#board-alerts").content.renderables[1])
        assert "complaint c-1" in alerts


async def test_cases_and_complaints_screens(server: FeedServer) -> None:  # noqa: F811
    from console.tables import CasesTable, ComplaintsTable
    from feeds.protocol import CaseAccepted, CasePaused, CaseSubmitted, Rating

    events = console_morning()
    hb = events.pop()  # keep the heartbeat last: it sets the clock to 09:20
    events += [
        CaseSubmitted(
            seq=0,
            ts=ms(14),
            hall="lz",
            case="K-1",
            item="bdc-01",
            dept="bdcdj",
            promised_days=5,
            window="W01",
            ticket="A001",
        ),
        CaseAccepted(seq=0, ts=ms(15), hall="lz", case="K-1"),
        CaseSubmitted(
            seq=0, ts=ms(16), hall="lz", case="K-2", item="shdj-01", dept="scjgj", promised_days=0
        ),
        CasePaused(seq=0, ts=ms(17), hall="lz", case="K-2", reason="现场勘验"),
        Rating(seq=0, ts=ms(18), hall="lz", window="W01", score=1, channel="device"),
        hb,
    ]
    await server.publish(events)
    async with console_on(server) as (app, _sup, pilot):
        await wait_for(lambda: arrived(app, 17))
        await pilot.press("k")
        cases = app.query_one(CasesTable)
        await wait_for(lambda: cases.row_count == 2)
        k1 = cells(cases, "K-1")
        assert k1[:5] == ["K-1", "bdc-01", "bdcdj", "5", "11-24 09:15"]
        assert k1[6] == "–"  # five working days: no card yet
        k2 = cells(cases, "K-2")
        assert "paused 现场勘验" in k2[5]  # the listed procedure that stops its clock
        await pilot.press("m")
        complaints = app.query_one(ComplaintsTable)
        await wait_for(lambda: complaints.row_count == 2)
        assert cells(complaints, "c-1") == ["c-1", "desk", "W02", "09:18:00", "2:00"]
        # The bad rating waits for its rectification note, due in 5 working days.
        (rating,) = [k for k in complaints.row_keys if k.startswith("rating-")]
        row = cells(complaints, rating)
        assert row[1:4] == ["rating", "W01", "09:18:00"]
        assert row[4] == "2:00 · due 12-01 24:00"  # the end of the 5th working day
        await pilot.press("c")
        city = app.query_one(CityTable)
        await wait_for(lambda: city.row_count == 1)
        assert cells(city, "lz")[10] == "● lz"  # carried by the connected feed lz


async def test_a_warning_on_a_window_colours_its_tile(server: FeedServer) -> None:  # noqa: F811
    from console.widgets import WindowGrid

    events = [
        *console_morning()[:-1],
        WindowState(seq=0, ts=ms(20), hall="lz", window="W01", state="paused"),
        Heartbeat(ts=ms(40), hall="lz"),
    ]
    await server.publish(events)
    async with console_on(server) as (app, _sup, _pilot):
        grid = app.query_one(WindowGrid)
        # Paused at 09:20, 20 minutes at 09:40: past 15, a long-pause warning (notice).
        await wait_for(lambda: grid._cards == {"W01": "notice"})
        drawn = grid.render()
        w01_top = drawn.renderables[0]
        assert any("yellow" in str(span.style) for span in w01_top.spans)
