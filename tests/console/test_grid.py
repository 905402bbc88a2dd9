"""The Line-API table and tiles (``console.grid``): the cursor held by key under Pilot, on
a bare table and on the live windows screen fed over a real WebSocket; only changed
rows drawn again; the same picture as the ``DataTable`` and the Rich render they replace."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widgets import DataTable

from console.grid import KeyedTable
from console.tables import WindowsTable
from console.widgets import WindowGrid
from feeds.protocol import (
    Heartbeat,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from feeds.server import FeedServer
from tests.conftest import wait_for
from tests.console.test_app import console_on, server  # noqa: F401  (fixture)
from tests.factories import H, console_morning, ms

COLUMNS = [("window", "window"), ("state", "state"), ("ticket", "ticket")]


def rows(*keys: str, mark: str = "") -> dict[str, list[str | Text]]:
    return {k: [k, Text("open", "green"), f"{k}-ticket{mark}"] for k in keys}


class Tables(App[None]):
    """A ``KeyedTable`` and, beside it, a ``DataTable`` fed the same rows."""

    CSS = "KeyedTable, DataTable { width: 60; height: 8; }"

    def compose(self) -> ComposeResult:
        yield KeyedTable(zebra_stripes=True)
        yield DataTable(cursor_type="row", zebra_stripes=True)


def _looks(strips: list[Strip]) -> list[list[tuple[str, object]]]:
    """Each line as its characters with their styles, meta (mouse targets) left out."""
    return [
        [(char, s.style and s.style.clear_meta_and_links()) for s in strip for char in s.text]
        for strip in strips
    ]


async def test_the_cursor_stays_on_its_row_by_key() -> None:
    app = Tables()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns(COLUMNS)
        table.sync(rows(*"abcd"))
        table.focus()
        await pilot.press("down", "down")
        assert table.cursor_key == "c"
        table.sync(rows(*"xabcd"))  # a row added above it
        assert table.cursor_key == "c" and table.cursor_row == 3
        table.sync(rows(*"dcbax"))  # reordered: moved, not rebuilt
        assert table.cursor_key == "c" and table.cursor_row == 1
        table.sync(rows(*"dbax"))  # its row gone: the same place
        assert table.cursor_row == 1 and table.cursor_key == "b"
        table.sync(rows(*"dbax", mark="!"))  # cells changed only
        assert table.cursor_key == "b"
        table.set_columns(COLUMNS[::-1])  # a new sort or language: the row stays in hand
        table.sync({k: cells[::-1] for k, cells in rows(*"xadb").items()})
        assert table.cursor_key == "b" and table.cursor_row == 3
        await pilot.press("up")
        assert table.cursor_key == "d"
        await pilot.press("end")
        assert table.cursor_key == "b"


async def test_enter_and_a_click_on_the_highlighted_row_select_it() -> None:
    selected: list[str] = []

    class Picking(Tables):
        def on_keyed_table_row_selected(self, event: KeyedTable.RowSelected) -> None:
            selected.append(event.key)

    app = Picking()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns(COLUMNS)
        table.sync(rows(*"abc"))
        table.focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert selected == ["b"]
        await pilot.click(KeyedTable, offset=(2, 3))  # line 3: the header, a, b, c
        assert table.cursor_key == "c" and selected == ["b"]  # a first click highlights
        await pilot.click(KeyedTable, offset=(2, 3))
        await pilot.pause()
        assert selected == ["b", "c"]


async def test_a_refresh_draws_again_only_the_rows_that_changed() -> None:
    app = Tables()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns(COLUMNS)
        table.sync(rows(*"abcde"))
        await pilot.pause()
        drawn: list[str] = []
        draw = table._draw

        def counting(cells, row_style, paint):  # type: ignore[no-untyped-def]
            drawn.append(str(cells[0]))
            return draw(cells, row_style, paint)

        table._draw = counting  # type: ignore[method-assign]
        changed = rows(*"abcde")
        changed["d"][2] = "d-tickeT"  # as wide as before: no column grows
        table.sync(changed)
        await pilot.pause()
        assert drawn == ["d"]
        drawn.clear()
        table.sync(changed)  # the same view again: nothing to draw
        await pilot.pause()
        assert drawn == []
        table.move_cursor(2)  # the cursor leaves a, lands on c
        await pilot.pause()
        assert sorted(drawn) == ["a", "c"]


async def test_a_row_given_again_as_the_same_tuple_is_taken_as_it_was() -> None:
    """The province's 2,000 hall rows: a caller that keeps a row's tuple until the row
    changes has only its new tuples looked at; a list is looked at every time (its cells
    may have been changed in place)."""
    app = Tables()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns(COLUMNS)
        kept = {k: tuple(cells) for k, cells in rows(*"abc").items()}
        listed = rows("d")
        table.sync({**kept, **listed})
        await pilot.pause()
        drawn: list[str] = []
        draw = table._draw

        def counting(cells, row_style, paint):  # type: ignore[no-untyped-def]
            drawn.append(str(cells[0]))
            return draw(cells, row_style, paint)

        table._draw = counting  # type: ignore[method-assign]
        listed["d"][2] = "d-tickeT"  # in place, in the list given before
        kept["b"] = ("b", Text("open", "green"), "b-tickeT")  # a new tuple
        table.sync({**kept, **listed})
        await pilot.pause()
        assert sorted(drawn) == ["b", "d"]
        assert [str(c) for c in table.get_row("b")] == ["b", "open", "b-tickeT"]
        assert table.get_row("d")[2] == "d-tickeT"
        drawn.clear()
        table.sync({**kept, **listed})  # the same tuples and list again: nothing new
        await pilot.pause()
        assert drawn == []
        table.sync({k: kept[k] for k in "cab"})  # moved and one gone: the lines follow
        await pilot.pause()
        lines = [strip.text.split()[:1] for strip in table.render_lines(Region(0, 0, 60, 5))]
        assert table.row_keys == ["c", "a", "b"] and lines == [["window"], ["c"], ["a"], ["b"], []]


async def test_it_paints_what_a_data_table_paints() -> None:
    """Same cells, same theme, same size: line for line the same characters in the same
    colours, focused and not (the cursor dimmed), a card's red block kept under the cursor,
    zebra stripes, Chinese text."""
    cells: dict[str, list[str | Text]] = {
        "W01": ["W01", Text("open", "green"), "B001 5:00", Text(" 红牌 ", "bold white on red")],
        "W02": ["W02 estate", Text("closed", "bright_black"), "–", ""],
        "W03": ["W03", Text("空岗", "yellow"), "A002 受理中", Text("2", "bold red")],
    }
    app = Tables()
    async with app.run_test(size=(130, 20)) as pilot:
        ours, theirs = app.query_one(KeyedTable), app.query_one(DataTable)
        ours.set_columns([(k, k) for k in ("window", "state", "ticket", "bad")])
        for key in ("window", "state", "ticket", "bad"):
            theirs.add_column(key, key=key)
        ours.sync(cells)
        for key, row in cells.items():
            theirs.add_row(*row, key=key)
        for table in (ours, theirs):
            table.move_cursor(row=1)
        region = Region(0, 0, 60, 8)
        painted: dict[tuple[str, bool], list[list[tuple[str, object]]]] = {}
        for table in (ours, theirs):
            table.focus()
            await pilot.pause()
            painted[type(table).__name__, True] = _looks(table.render_lines(region))
            app.set_focus(None)
            await pilot.pause()
            painted[type(table).__name__, False] = _looks(table.render_lines(region))
        for focus in (True, False):
            assert painted["KeyedTable", focus] == painted["DataTable", focus]


async def test_a_fitted_last_column_cuts_long_text_at_the_edge() -> None:
    class Fitted(App[None]):
        CSS = "KeyedTable { width: 40; height: 5; }"

        def compose(self) -> ComposeResult:
            yield KeyedTable(fit_last=True)

    app = Fitted()
    async with app.run_test() as pilot:
        table = app.query_one(KeyedTable)
        table.set_columns([("since", "since"), ("what", "what")])
        table.sync({"1": ["09:05:30", "complaint c-1 via desk at window W02, waiting 48 min"]})
        await pilot.pause()
        line = table.render_lines(Region(0, 1, 40, 1))[0].text
        # " 09:05:30 " is 10 cells; the text gets the other 30 less its padding: 28.
        assert line == " 09:05:30  complaint c-1 via desk at w… "
        assert table.virtual_size.width == 40  # nothing to scroll sideways


async def test_live_windows_table_keeps_the_cursor_on_its_window(server: FeedServer) -> None:  # noqa: F811
    """The windows screen refreshing from a live feed: Down moves the hand; a window
    opening above and a re-sort under a moving figure do not take the row away."""
    more = [WindowState(seq=0, ts=ms(19), hall=H, window=w, state="open") for w in ("W03", "W04")]
    morning = console_morning()
    await server.publish([*morning[:-1], *more, morning[-1]])
    async with console_on(server) as (app, _sup, pilot):
        await pilot.press("w")
        table = app.query_one(WindowsTable)
        await wait_for(lambda: table.row_count == 4)
        assert table.has_focus
        await pilot.press("down", "down")
        assert table.cursor_key == "W03"
        # W00 opens: it sorts first (natural order), and the hall clock moves on.
        await server.publish(
            [
                WindowState(seq=0, ts=ms(21), hall=H, window="W00", state="open"),
                Heartbeat(ts=ms(22), hall=H),
            ]
        )
        await wait_for(lambda: table.row_count == 5)
        assert table.cursor_key == "W03" and table.cursor_row == 3
        await pilot.press("up")
        assert table.cursor_key == "W02"
        # Sorted by services today, most first: W04 serves two and climbs to the top.
        table.sort_column = WindowsTable.COLUMNS.index("today")
        table.sort_reverse = True
        served = []
        for n, minute in ((1, 23), (2, 26)):
            ticket = f"C00{n}"
            served += [
                TicketIssued(seq=0, ts=ms(minute), hall=H, ticket=ticket, zone="biz"),
                TicketCalled(seq=0, ts=ms(minute), hall=H, ticket=ticket, window="W04"),
                ServiceStarted(seq=0, ts=ms(minute), hall=H, ticket=ticket, window="W04"),
                ServiceFinished(
                    seq=0, ts=ms(minute + 2), hall=H, ticket=ticket, window="W04", outcome="done"
                ),
            ]
        await server.publish([*served, Heartbeat(ts=ms(30), hall=H)])
        await wait_for(lambda: table.row_keys[:1] == ["W04"])
        await pilot.pause()
        assert table.cursor_key == "W02"
        assert table.get_row_index("W02") == table.cursor_row
        await pilot.press("down")
        assert table.cursor_key == table.row_keys[table.get_row_index("W02") + 1]


async def test_window_tiles_are_the_rich_render_line_for_line(server: FeedServer) -> None:  # noqa: F811
    """The tiles drawn with the Line API are what the Rich render of the same text gives;
    a change on one window repaints the lines of its row of tiles only."""
    await server.publish(console_morning())
    async with console_on(server) as (app, _sup, pilot):
        grid = app.query_one(WindowGrid)
        await wait_for(lambda: any("B001" in line.plain for line in grid._lines.lines))
        await pilot.pause()
        width, height = grid.size
        picture = visualize(grid, grid.render())
        rich = Visual.to_strips(grid, picture, width, height, grid.visual_style)
        ours = [grid.render_line(y) for y in range(height)]
        assert _looks(ours) == _looks(rich)
        # One row of tiles at 120 columns; W02's clock moves: its body line changes.
        before = list(grid._lines.lines)
        await server.publish([Heartbeat(ts=ms(21), hall=H)])
        await wait_for(lambda: grid._lines.lines != before)
        now = grid._lines.lines
        changed = [y for y, (a, b) in enumerate(zip(before, now, strict=True)) if a != b]
        assert changed == [2]  # ┌─┐ / name, state, staff / ticket and its clock / └─┘
