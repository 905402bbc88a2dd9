"""The protocol-v1 feed server over real WebSockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from feeds.demo.city import build_profile, default_city
from feeds.demo.play import demo_events, run_demo, serve_demo
from feeds.hallclock import HALL_TZ as CST
from feeds.hallclock import day_start_ms
from feeds.protocol import Error, Event, Gap, Heartbeat, Hello, Op, TicketIssued
from feeds.server import FeedServer
from tests.conftest import wait_for
from tests.factories import T0

H = "lz"
_batch = msgspec.json.Decoder(list[Event] | Event)
_op = msgspec.json.Decoder(Op)


def decode(frame: str | bytes) -> list[Event] | Event | Op:
    """A data frame (an event or a batch) or a control op."""
    is_op = not frame.lstrip().startswith(b"[" if isinstance(frame, bytes) else "[") and (
        "op" in msgspec.json.decode(frame)
    )
    return _op.decode(frame) if is_op else _batch.decode(frame)


def tickets(n: int, start: int = 0, hall: str = H) -> list[Event]:
    """n ticket_issued events, 1 s apart, seq to be assigned."""
    return [
        TicketIssued(
            seq=0, ts=T0 + (start + i) * 1000, hall=hall, ticket=f"A{start + i:05d}", zone="z"
        )
        for i in range(n)
    ]


@contextlib.asynccontextmanager
async def running(server: FeedServer) -> AsyncIterator[FeedServer]:
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def session(
    server: FeedServer, since: int | None = 0, token: str | None = None
) -> AsyncIterator[tuple[Hello, ClientConnection]]:
    """Connect, read the hello and (unless ``since`` is None) subscribe."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with connect(server.url, compression=None, proxy=None, additional_headers=headers) as ws:
        hello = decode(await asyncio.wait_for(ws.recv(), 5))
        assert isinstance(hello, Hello)
        if since is not None:
            await ws.send(f'{{"op":"subscribe","since":{since}}}')
        yield hello, ws


async def receive(ws: ClientConnection) -> list[Event] | Event | Op:
    frame = await asyncio.wait_for(ws.recv(), 5)
    assert isinstance(frame, str)  # text frames (protocol.md, "Transport")
    return decode(frame)


async def receive_events(ws: ClientConnection, count: int) -> tuple[list[Event], int]:
    """Data events (no heartbeats) until ``count`` have come; also how many frames."""
    got: list[Event] = []
    frames = 0
    while len(got) < count:
        decoded = await receive(ws)
        batch = decoded if isinstance(decoded, list) else [decoded]
        got += [ev for ev in batch if not isinstance(ev, Heartbeat | Hello | Gap | Error)]
        frames += 1
    return got, frames


async def test_hello_names_the_feed_and_its_seqs() -> None:
    async with running(FeedServer("lz-feed", [H, "lz2"])) as server:
        async with session(server, since=None) as (hello, _):
            assert hello == Hello(
                protocol=1, feed="lz-feed", halls=[H, "lz2"], first_seq=1, last_seq=0
            )
        await server.publish(tickets(5))
        server.forget_before(3)
        async with session(server, since=None) as (hello, _):
            assert (hello.first_seq, hello.last_seq) == (3, 5)
        assert server.retained_count == 3
        server.forget_before(100)  # nothing retained: first_seq is the next seq
        async with session(server, since=None) as (hello, _):
            assert (hello.first_seq, hello.last_seq) == (6, 5)


async def test_subscribe_since_zero_gets_everything_in_batches() -> None:
    events = tickets(2500)
    async with running(FeedServer("f", [H], max_batch=1000)) as server:
        await server.publish(events)
        assert server.last_seq == 2500
        async with session(server, since=0) as (_, ws):
            got, frames = await receive_events(ws, 2500)
    assert frames == 3
    assert [ev.seq for ev in got] == list(range(1, 2501))
    assert got == [msgspec.structs.replace(ev, seq=i) for i, ev in enumerate(events, 1)]
    assert events[0].seq == 0  # the caller's events are not changed


async def test_subscribe_since_n_gets_only_later_events() -> None:
    async with running(FeedServer("f", [H])) as server:
        await server.publish(tickets(30))
        async with session(server, since=17) as (_, ws):
            got, _ = await receive_events(ws, 13)
            await server.publish(tickets(1, start=30))  # live, as a bare object
            live = await receive(ws)
    assert [ev.seq for ev in got] == list(range(18, 31))
    assert isinstance(live, TicketIssued) and live.seq == 31


async def test_gap_op_when_since_is_older_than_retained() -> None:
    async with running(FeedServer("f", [H])) as server:
        await server.publish(tickets(10))
        server.forget_before(6)
        async with session(server, since=2) as (hello, ws):
            assert hello.first_seq == 6
            assert await receive(ws) == Gap(from_=3, to=5)
            got, _ = await receive_events(ws, 5)
        assert [ev.seq for ev in got] == [6, 7, 8, 9, 10]
        async with session(server, since=5) as (_, ws):  # nothing lost: no gap
            first = await receive(ws)
            assert isinstance(first, list) and first[0].seq == 6


async def test_since_ahead_of_the_feed_is_reported_then_served_from_now() -> None:
    async with running(FeedServer("f", [H])) as server:
        await server.publish(tickets(3))
        async with session(server, since=10) as (_, ws):
            error = await receive(ws)
            assert isinstance(error, Error) and error.code == "since_ahead"
            await server.publish(tickets(2, start=3))
            got, _ = await receive_events(ws, 2)
            assert [ev.seq for ev in got] == [4, 5]


async def test_token_required() -> None:
    async with running(FeedServer("f", [H], token="s3cret")) as server:
        for token in (None, "guess", "s3cre", "S3CRET"):
            with pytest.raises(InvalidStatus) as refused:
                async with session(server, token=token):
                    pass
            assert refused.value.response.status_code == 401
        await server.publish(tickets(2))
        async with session(server, since=0, token="s3cret") as (hello, ws):
            assert hello.last_seq == 2
            got, _ = await receive_events(ws, 2)
            assert len(got) == 2


async def test_bad_subscribe_gets_error_and_close() -> None:
    async with running(FeedServer("f", [H])) as server, session(server, since=None) as (_, ws):
        await ws.send('{"op":"subscribe","since":-1}')
        error = await receive(ws)
        assert isinstance(error, Error) and error.code == "bad_subscribe"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)


async def test_events_published_during_backlog_are_neither_lost_nor_duplicated() -> None:
    async with running(FeedServer("f", [H], max_batch=50)) as server:
        await server.publish(tickets(5000))
        total = 5000
        async with session(server, since=None) as (_, ws):
            await server.publish(tickets(100, start=total))  # after the hello
            total += 100
            await ws.send('{"op":"subscribe","since":0}')
            await server.publish(tickets(100, start=total))  # racing the subscribe
            total += 100
            got, _ = await receive_events(ws, 10)
            for _ in range(20):  # while the backlog is being sent
                await server.publish(tickets(7, start=total))
                total += 7
            got += (await receive_events(ws, total - len(got)))[0]
    assert [ev.seq for ev in got] == list(range(1, total + 1))


async def test_heartbeats_carry_the_hall_clock_when_idle() -> None:
    async with running(FeedServer("f", [H, "quiet"], heartbeat_interval=0.05)) as server:
        await server.publish(tickets(1))
        async with session(server, since=0) as (_, ws):
            await receive_events(ws, 1)
            beat = await receive(ws)
            assert beat == Heartbeat(ts=T0, hall=H)  # "quiet" has no clock: no heartbeat
            server.advance_clock(H, T0 + 5000)
            server.advance_clock(H, T0 + 10)  # never back
            while beat == Heartbeat(ts=T0, hall=H):
                beat = await receive(ws)
            assert beat == Heartbeat(ts=T0 + 5000, hall=H)
            assert server.clock(H) == T0 + 5000


async def test_drop_connections_closes_clients_who_then_resume() -> None:
    async with running(FeedServer("f", [H])) as server:
        await server.publish(tickets(3))
        async with session(server, since=0) as (_, ws):
            await receive_events(ws, 3)
            server.drop_connections()
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        await server.publish(tickets(2, start=3))
        async with session(server, since=3) as (_, ws):
            got, _ = await receive_events(ws, 2)
            assert [ev.seq for ev in got] == [4, 5]


async def test_slow_client_is_dropped_without_blocking_others() -> None:
    server = FeedServer("f", [H], max_queue=4)
    async with running(server), session(server) as (_, slow), session(server) as (_, fast):
        await wait_for(lambda: server.subscriber_count == 2)
        total = 0
        while server.subscriber_count == 2 and total < 500_000:  # fill the buffers
            await server.publish(tickets(1000, start=total))
            total += 1000
            got, _ = await receive_events(fast, 1000)
            assert got[-1].seq == total
        assert server.subscriber_count == 1
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(slow.recv(), 5)


async def test_run_demo_plays_the_day_at_speed() -> None:
    day = dt.date(2025, 11, 24)
    # The last seconds of the day, so that the hall clock reaches midnight quickly.
    late = int(dt.datetime.combine(day, dt.time(23, 59, 58), CST).timestamp() * 1000)
    events = [
        TicketIssued(seq=0, ts=late + i * 200, hall=H, ticket=f"A{i:03d}", zone="z")
        for i in range(10)
    ]
    async with running(FeedServer("f", [H, "lz2"])) as server:
        async with session(server, since=0) as (_, ws):
            await asyncio.wait_for(run_demo(server, events, speed=20), 5)
            got, _ = await receive_events(ws, 10)
        assert [ev.ts for ev in got] == [ev.ts for ev in events]
        assert server.clock(H) == server.clock("lz2") == late + 2000 - 1  # 23:59:59.999
        await run_demo(server, events, speed=None)
        assert server.last_seq == 20


async def test_history_goes_out_at_once_then_the_day_plays_at_speed() -> None:
    day = dt.date(2025, 11, 24)
    events = demo_events(default_city()[1:2], day, 1, history=3)  # Fri, Sat, Sun, Monday
    before = sum(ev.ts < day_start_ms(day) for ev in events)
    assert 1000 < before < len(events) - 1000
    async with running(FeedServer("f", ["county-a"])) as server:
        play = asyncio.create_task(
            run_demo(server, events, speed=1.0, backlog_until=day_start_ms(day))
        )
        await wait_for(lambda: server.last_seq >= before)
        assert server.last_seq < before + 5  # Monday runs in real time: barely begun
        play.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await play


async def test_serve_demo_serves_the_default_city() -> None:
    urls: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        serve_demo(
            "127.0.0.1",
            0,
            speed=None,
            seed=1,
            day=dt.date(2025, 11, 24),
            token=None,
            halls_profiles=[build_profile("tiny", "小厅", ((1, 0),) * 4, 60)],
            ready=urls.put_nowait,
        )
    )
    try:
        url = await asyncio.wait_for(urls.get(), 10)
        async with connect(url, compression=None, proxy=None) as ws:
            hello = decode(await asyncio.wait_for(ws.recv(), 5))
            assert isinstance(hello, Hello) and hello.halls == ["tiny"]
            await ws.send('{"op":"subscribe","since":0}')
            got, _ = await receive_events(ws, 50)
            assert {ev.hall for ev in got} == {"tiny"}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
