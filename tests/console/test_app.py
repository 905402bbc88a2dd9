"""The console under ``App.run_test()`` on a scripted hall, fed over a real WebSocket.

The feed is the project's own protocol-v1 server on 127.0.0.1 with a hand-written
morning (``tests.factories.console_morning``); the figures on screen are checked against
values computed by hand.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator

import pytest
from rich.console import Console, RenderableType
from textual.widgets import Static

from console.app import HallwatchApp, HelpScreen
from console.widgets import AlertTable, CityStrip, FeedBar, Headline, WindowGrid, ZoneTable
from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.protocol import (
    Heartbeat,
    TicketIssued,
)
from feeds.server import FeedServer
from runtime.desk import Desk
from runtime.pipeline import Pipeline
from tests.conftest import wait_for
from tests.factories import H, console_morning, ms


def arrived(app: HallwatchApp, events: int, clock: int = ms(20)) -> bool:
    """The console shows ``events`` feed events (heartbeats are not counted) and the
    hall clock the last heartbeat carried."""
    view = app.shown
    hall = view.city.halls.get(H) if view is not None else None
    return (
        view is not None
        and view.events_total == events
        and hall is not None
        and hall.now_ms == clock
    )


def plain(renderable: RenderableType, width: int = 200) -> str:
    """What a renderable shows, as plain text."""
    console = Console(file=io.StringIO(), width=width, color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


def shown(widget: object) -> str:
    """What a widget shows: a Static's content, or what a custom widget renders."""
    content = widget.content if isinstance(widget, Static) else widget.render()  # type: ignore[attr-defined]
    return plain(content)


@contextlib.asynccontextmanager
async def console_on(server: FeedServer, size: tuple[int, int] = (120, 40)) -> AsyncIterator:
    feed = WebSocketFeed(
        server.url, FrameDecoder(lambda p: p), name="lz", backoff=Backoff(0.01, 0.05)
    )
    sup = Pipeline([feed], publish_interval=0.05)
    app = HallwatchApp(Desk(sup), lang="en", refresh_hz=20)
    async with app.run_test(size=size) as pilot:
        yield app, sup, pilot


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    srv = FeedServer("lz-feed", [H])
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_overview_shows_the_scripted_morning(server: FeedServer) -> None:
    events = console_morning()
    await server.publish(events)
    async with console_on(server) as (app, _sup, pilot):
        await wait_for(lambda: arrived(app, 12))
        await pilot.pause()
        head = shown(app.query_one(Headline))
        assert "09:20:00" in head  # the hall clock, from the heartbeat
        for figure in ("waiting 2", "served 1", "issued 4", "mean wait 8:30", "open 2/2"):
            assert figure in " ".join(head.split()), figure
        # Longest wait: A002 issued 09:03, still waiting at 09:20 → 17:00.
        assert "longest 17:00" in " ".join(head.split())
        zones = app.query_one(ZoneTable)

        def zone(name: str, *columns: str) -> list[str]:
            cells = dict(zip(zones.column_keys, zones.get_row(name), strict=True))
            return [str(cells[c]) for c in columns]

        assert zone("biz", "zone", "waiting", "longest") == ["biz", "1", "17:00"]
        assert zone("biz", "windows_open") == ["1"]  # W01 called a biz ticket today, open
        assert zone("biz", "p90_wait", "mean_wait", "priority", "served", "abandoned") == [
            "5:00", "5:00", "1", "1", "0",
        ]  # fmt: skip
        # At 120 columns the day's issued count is the first column left out (it is in
        # the headline); the curve keeps its own heading.
        assert "issued" not in zones.column_keys
        assert "curve" in zones.column_keys
        assert zone("estate", "zone", "waiting", "longest") == ["estate", "1", "4:00"]
        assert zone("estate", "priority") == ["0"]  # no priority ticket waiting in estate
        grid = shown(app.query_one(WindowGrid))
        assert "W01" in grid and "W02" in grid
        assert "B001 serving 5:00" in grid  # started 09:15, clock 09:20
        assert "served 1" in grid  # W01 is free, with one service today
        alerts = app.query_one(AlertTable)
        assert alerts.row_count == 1
        assert "complaint c-1 via desk at window W02" in [str(c) for c in alerts.get_row_at(0)]
        assert "lz" in shown(app.query_one(CityStrip))
        assert "connected" in shown(app.query_one(FeedBar))


async def test_keys_help_language_and_quit(server: FeedServer) -> None:
    await server.publish(console_morning())
    async with console_on(server, size=(80, 24)) as (app, _sup, pilot):
        await wait_for(lambda: arrived(app, 12))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "next hall" in shown(app.screen.query_one("#help-0"))  # grouped: two columns
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("l")
        await pilot.pause()
        assert "排队 2" in " ".join(shown(app.query_one(Headline)).split())
        await pilot.press("q")
    assert app.return_code == 0


async def test_halls_switch_with_keys(server: FeedServer) -> None:
    events = console_morning()
    other = [
        TicketIssued(seq=0, ts=ms(5), hall="zz", ticket="X001", zone="civic"),
        Heartbeat(ts=ms(6), hall="zz"),
    ]
    await server.publish(events + other)
    async with console_on(server) as (app, _sup, pilot):
        await wait_for(lambda: app.shown is not None and len(app.shown.city.halls) == 2)
        await pilot.pause()
        assert app.hall == "lz"
        await pilot.press("right_square_bracket")
        assert app.hall == "zz"
        assert "zz" in shown(app.query_one(Headline))
        await pilot.press("1")
        assert app.hall == "lz"


async def test_pause_freezes_the_view_not_the_ingest(server: FeedServer) -> None:
    await server.publish(console_morning())
    async with console_on(server) as (app, sup, pilot):
        await wait_for(lambda: arrived(app, 12))
        await pilot.press("p")
        more = [
            TicketIssued(seq=0, ts=ms(21), hall=H, ticket=f"C{i:03d}", zone="civic")
            for i in range(5)
        ]
        await server.publish(more)
        await wait_for(lambda: sup.events_total == 17)  # ingest goes on
        await wait_for(lambda: "5 events arrived" in shown(app.query_one(Headline)))
        head = " ".join(shown(app.query_one(Headline)).split())
        assert "waiting 2" in head  # the figures stay frozen
        assert app.query_one(ZoneTable).row_count == 2
        await pilot.press("p")
        await wait_for(lambda: "waiting 7" in " ".join(shown(app.query_one(Headline)).split()))
        assert app.query_one(ZoneTable).row_count == 3
