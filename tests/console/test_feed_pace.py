"""A delivery lag only where it means something (issue 13: the demo, running 60 times
faster than real time, showed ``-2h42``): a feed whose hall clock runs ahead of real time
shows its pace (``×60``) instead; one that keeps time, or stalls, keeps its lag."""

from __future__ import annotations

import asyncio
import contextlib
import time

from rich.text import Text

from console.tables import FeedsTable
from feeds.demo.play import run_demo
from feeds.protocol import Heartbeat, TicketIssued, WindowState
from feeds.server import FeedServer
from feeds.source import PACE_WINDOW_S, FeedStatus, runs_ahead
from tests.conftest import wait_for
from tests.console.test_app import console_on, server  # noqa: F401  (fixture)
from tests.factories import T0, H


def test_the_pace_is_hall_time_over_wall_time_of_receiving() -> None:
    status = FeedStatus("demo")
    beat = lambda ts: [Heartbeat(ts=ts, hall=H)]  # noqa: E731
    status.received(beat(T0), wall=1000.0)
    status.received(beat(T0 + 120_000), wall=1002.0)  # 2 s in: not measured yet
    assert status.snapshot().pace is None and status.snapshot().live_lag_s is not None
    status.received(beat(T0 + 300_000), wall=1000.0 + PACE_WINDOW_S)  # 300 s in 5 s
    snap = status.snapshot()
    assert snap.pace == 60.0 and runs_ahead(snap.pace)
    assert snap.delivery_lag_s is not None and snap.live_lag_s is None
    # A live hall: 5 s of hall time in 5 s; the lag (wall − ts) is shown again.
    status.received(beat(T0 + 305_000), wall=1010.0)
    assert status.snapshot().pace == 1.0 and status.snapshot().live_lag_s is not None
    # A stalled feed (heartbeats with a frozen clock): pace 0, its growing lag is shown.
    status.received(beat(T0 + 305_000), wall=1015.0)
    assert status.snapshot().pace == 0.0 and not runs_ahead(0.0)
    # A feed started over (its clock went back): measured again from there.
    status.received(beat(T0), wall=1016.0)
    assert status.pace_from == (T0, 1016.0) and status.snapshot().pace == 0.0


async def test_the_demo_at_speed_60_shows_its_pace_not_a_lag(server: FeedServer) -> None:  # noqa: F811
    # Today's hall time, so the lag at receipt starts near 0 and then runs negative.
    now = int(time.time() * 1000)
    events = [
        WindowState(seq=0, ts=now, hall=H, window="W01", state="open"),
        *(
            TicketIssued(seq=0, ts=now + k * 60_000, hall=H, ticket=f"A{k:03d}", zone="biz")
            for k in range(1, 30)
        ),
    ]
    play = asyncio.create_task(run_demo(server, events, speed=60.0))
    try:
        async with console_on(server) as (app, sup, pilot):
            await pilot.press("f")
            feeds = app.query_one(FeedsTable)
            labels = [str(label) for label in feeds.column_labels]
            column = labels.index("delivery lag")

            def cell() -> str | Text | None:
                return feeds.get_row("lz")[column] if feeds.row_count == 1 else None

            # Measured after PACE_WINDOW_S of receiving: ~60 hall seconds a wall second.
            await wait_for(lambda: str(cell() or "").startswith("×"), timeout=4 * PACE_WINDOW_S)
            shown = cell()
            assert isinstance(shown, Text) and shown.style == "dim", shown
            assert 40 <= int(str(shown)[1:]) <= 80, shown
            (feed,) = sup.view.city.feeds
            assert feed.delivery_lag_s is not None and feed.delivery_lag_s < 0  # hall clock ahead
            assert feed.live_lag_s is None
    finally:
        play.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await play
