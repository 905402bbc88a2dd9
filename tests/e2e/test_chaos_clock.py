"""Clock faults of a feed, survived and visible (docs/protocol-notes.md, "Hall clock"):
the vendor's clock set back an hour, and a clock that leaps a day ahead and comes back.

Real WebSocket on 127.0.0.1 (the project's own feed server), a real /metrics endpoint,
and for the first the real console under Pilot, in Chinese: the clock alert is on the
screen, phrased in Chinese, and gone once the events catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from console.app import HallwatchApp
from console.widgets import AlertTable
from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.protocol import (
    Event,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from feeds.server import FeedServer
from metrics.exposition import serve_metrics
from runtime.desk import Desk
from runtime.pipeline import Pipeline
from tests.conftest import wait_for
from tests.e2e.test_serve import get
from tests.factories import ms

H = "lz"
DAY_MS = 86_400_000
CLOCK_ALERT = f'hall_alerts_active{{hall="{H}",rule="clock_jump",severity="notice",kind="warning"}}'


def _metrics(port: int) -> dict[str, float]:
    body = get(f"http://127.0.0.1:{port}/metrics") or ""
    pairs = (ln.rsplit(" ", 1) for ln in body.splitlines() if ln and ln[0] != "#")
    return {k: float(v) for k, v in pairs}


@contextlib.asynccontextmanager
async def _hall(first: list[Event]) -> AsyncIterator[tuple[FeedServer, Pipeline, int]]:
    """A feed server that has published ``first``; a supervisor on it; /metrics. The
    server sends no heartbeats of its own (they would carry its newest ts, not a clock)."""
    server = FeedServer("f", [H], heartbeat_interval=3600)
    await server.start()
    await server.publish(first)
    feed = WebSocketFeed(server.url, FrameDecoder(lambda p: p), name="f", backoff=Backoff(0.02))
    sup = Pipeline([feed], publish_interval=0.02)
    _, port, stop = serve_metrics(lambda: sup.view.city, "127.0.0.1", 0)
    try:
        yield server, sup, port
    finally:
        stop()
        await server.stop()
        sup.close()


def _rows(app: HallwatchApp) -> list[str]:
    """Every cell of the console's alert table, as text."""
    table = app.query_one(AlertTable)
    return [str(cell) for i in range(table.row_count) for cell in table.get_row_at(i)]


def _morning() -> list[Event]:
    return [
        WindowState(seq=0, ts=ms(0), hall=H, window="W01", state="open", staff="s017"),
        TicketIssued(seq=0, ts=ms(1), hall=H, ticket="A001", zone="biz"),
        TicketIssued(seq=0, ts=ms(60), hall=H, ticket="A002", zone="biz"),  # 10:00
    ]


async def test_a_clock_set_back_an_hour_is_applied_counted_and_alerted_until_it_catches_up() -> (
    None
):
    async with _hall(_morning()) as (server, sup, port):
        app = HallwatchApp(Desk(sup), lang="zh", refresh_hz=20)
        async with app.run_test(size=(160, 50)) as pilot:
            await wait_for(lambda: _metrics(port).get(f'hall_clock_seconds{{hall="{H}"}}') == (
                ms(60) / 1000))  # fmt: skip
            # 10:00: the vendor's clock goes back to 09:10 and runs on from there.
            await server.publish([
                TicketIssued(seq=0, ts=ms(10), hall=H, ticket="B001", zone="biz"),
                TicketCalled(seq=0, ts=ms(11), hall=H, ticket="A001", window="W01"),
                ServiceStarted(seq=0, ts=ms(11), hall=H, ticket="A001", window="W01"),
                ServiceFinished(seq=0, ts=ms(20), hall=H, ticket="A001", window="W01",
                                outcome="done"),
            ])  # fmt: skip
            late = f'hall_clock_late_events_total{{hall="{H}"}}'
            await wait_for(lambda: _metrics(port).get(late) == 4 and CLOCK_ALERT in _metrics(port))
            m = _metrics(port)
            assert m[CLOCK_ALERT] == 1
            assert m[f'hall_clock_seconds{{hall="{H}"}}'] == ms(60) / 1000  # never goes back
            assert sum(v for k, v in m.items() if k.startswith("hall_tickets_issued_total")) == 3
            assert m[f'hall_services_total{{hall="{H}",window="W01",outcome="done"}}'] == 1
            hall = sup.view.city.halls[H]
            assert sum(hall.tickets_by_state.values()) == hall.issued_today == 3
            assert hall.waiting == 2 and hall.longest_wait_s >= 0
            (alert,) = [a for a in sup.view.alerts if a.rule == "clock_jump"]
            assert alert.fired_ms == ms(60) and alert.summary.startswith("events arrive 50 min")
            await wait_for(lambda: "时钟异常" in _rows(app))
            assert "事件比大厅时间晚50分钟到达:数据源时钟回拨" in _rows(app)
            # Real time reaches the hall clock again: the events keep step, the alert ends.
            await server.publish(
                [TicketIssued(seq=0, ts=ms(61), hall=H, ticket="B002", zone="biz")]
            )
            await wait_for(lambda: _metrics(port).get(CLOCK_ALERT, 0) == 0)
            await wait_for(lambda: "时钟异常" not in _rows(app))
            await pilot.pause()
    (gone,) = [a for a in sup.view.resolved if a.rule == "clock_jump"]
    assert gone.resolved_ms == ms(61)


async def test_a_clock_that_leaps_a_day_ahead_and_comes_back_is_a_leap_and_an_alert() -> None:
    async with _hall(_morning()) as (server, sup, port):
        task = asyncio.create_task(sup.run())
        try:
            await wait_for(lambda: _metrics(port).get(f'hall_clock_seconds{{hall="{H}"}}') == (
                ms(60) / 1000))  # fmt: skip
            await server.publish([
                TicketIssued(seq=0, ts=ms(60) + DAY_MS + 2 * 3_600_000, hall=H, ticket="X001",
                             zone="biz"),  # stamped tomorrow 12:00
                TicketCalled(seq=0, ts=ms(61), hall=H, ticket="A001", window="W01"),
                TicketIssued(seq=0, ts=ms(62), hall=H, ticket="A003", zone="biz"),
            ])  # fmt: skip
            leaps = f'hall_clock_leaps_total{{hall="{H}"}}'
            await wait_for(lambda: _metrics(port).get(leaps) == 1 and CLOCK_ALERT in _metrics(port))
            m = _metrics(port)
            assert m[f'hall_clock_late_events_total{{hall="{H}"}}'] == 2
            # Survived, not repaired: the leap opened tomorrow's service day, so a call for
            # today's ticket is unknown there (counted), while the new ticket still counts.
            assert m['hall_feed_rejected_total{feed="f",reason="unknown_ticket"}'] == 1
            assert sum(v for k, v in m.items() if k.startswith("hall_tickets_issued_total")) == 4
            (alert,) = [a for a in sup.view.alerts if a.rule == "clock_jump"]
            assert "jumped 26.0 h ahead at 2025-11-24 10:00" in alert.summary, alert.summary
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
