"""Demo feed server and client over real WebSockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec

from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.protocol import ServiceFinished, ServiceStarted, TicketCalled, TicketIssued
from feeds.server import FeedServer
from metrics.state import CityState
from runtime.pipeline import Pipeline
from tests.conftest import wait_for
from tests.factories import ms

H = "lz"
FAST = Backoff(initial=0.01, maximum=0.05)


def day_of_tickets(n: int) -> list:
    """n tickets, each issued, called, started and finished: 4n events (seq assigned later)."""
    events = []
    for i in range(n):
        t, w = f"A{i:04d}", f"W{i % 5:02d}"
        base = ms(seconds=i * 10)
        events += [
            TicketIssued(seq=0, ts=base, hall=H, ticket=t, zone=f"z{i % 3}"),
            TicketCalled(seq=0, ts=base + 60_000, hall=H, ticket=t, window=w),
            ServiceStarted(seq=0, ts=base + 90_000, hall=H, ticket=t, window=w),
            ServiceFinished(seq=0, ts=base + 400_000, hall=H, ticket=t, window=w, outcome="done"),
        ]
    events.sort(key=lambda e: e.ts)
    return events


@contextlib.asynccontextmanager
async def running(sup: Pipeline):
    task = asyncio.create_task(sup.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_resume_after_drop_applies_every_event_exactly_once() -> None:
    events = day_of_tickets(300)
    server = FeedServer("lz-feed", [H])
    await server.start()
    try:
        feed = WebSocketFeed(server.url, FrameDecoder(lambda p: p), name="lz", backoff=FAST)
        sup = Pipeline([feed])
        async with running(sup):
            await server.publish(events[:400])
            await wait_for(lambda: sup.events_total >= 400)
            server.drop_connections()
            await wait_for(lambda: not feed.status.connected or feed.status.connects >= 2)
            for i in range(400, len(events), 100):  # published while reconnecting, too
                await server.publish(events[i : i + 100])
            await wait_for(lambda: sup.events_total == len(events))
            await wait_for(lambda: feed.status.connects >= 2)
            server.drop_connections()
            await wait_for(lambda: feed.status.connects >= 3)
            await wait_for(lambda: feed.status.connected)
        assert feed.status.rejected == {}, feed.status.rejected
        assert feed.status.gaps_total == 0
        assert feed.status.last_seq == len(events)
        # The same figures as applying the stream once, directly.
        expected = CityState()
        expected.apply(events)
        got, want = sup.state.snapshot(H), expected.snapshot(H)
        assert got.served_today == want.served_today == 300
        assert got.counters.services.tolist() == want.counters.services.tolist()
        assert got.counters.issued.tolist() == want.counters.issued.tolist()
        assert got.mean_wait_s == want.mean_wait_s == 60.0
    finally:
        await server.stop()


async def test_gap_op_is_recorded() -> None:
    events = day_of_tickets(10)
    server = FeedServer("lz-feed", [H])
    await server.start()
    try:
        await server.publish(events)
        server.forget_before(11)  # seqs 1..10 are no longer retained
        feed = WebSocketFeed(server.url, FrameDecoder(lambda p: p), name="lz", backoff=FAST)
        sup = Pipeline([feed])
        async with running(sup):
            await wait_for(lambda: feed.status.last_seq == len(events))
        assert feed.status.gaps_total == 10
        # Events for tickets issued in the lost seqs are for tickets never seen: protocol.md
        # calls that bad input, so they are counted as rejected, not applied.
        rejected = feed.status.rejected.get("unknown_ticket", 0)
        assert rejected > 0
        assert sup.events_total + rejected == len(events) - 10
    finally:
        await server.stop()


async def test_token_protected_server_refuses_without_token() -> None:
    server = FeedServer("lz-feed", [H], token="s3cret-token")
    await server.start()
    try:
        await server.publish(day_of_tickets(2))
        anon = WebSocketFeed(server.url, FrameDecoder(lambda p: p), name="anon", backoff=FAST)
        wrong = WebSocketFeed(
            server.url, FrameDecoder(lambda p: p), name="wrong", token="guess", backoff=FAST
        )
        good = WebSocketFeed(
            server.url, FrameDecoder(lambda p: p), name="good", token="s3cret-token", backoff=FAST
        )
        sup = Pipeline([anon, wrong, good])
        async with running(sup):
            await wait_for(lambda: good.status.events_total == 8)
            await wait_for(lambda: anon.status.last_error is not None)
            await wait_for(lambda: wrong.status.last_error is not None)
        assert anon.status.last_error == wrong.status.last_error == "HTTP 401 at handshake"
        assert anon.status.connects == wrong.status.connects == 0
        assert anon.status.events_total == 0 and good.status.connected
    finally:
        await server.stop()


async def test_malformed_frames_counted_rest_applied() -> None:
    """A hostile server: bad frames between good ones are counted; nothing else changes."""
    from websockets.asyncio.server import serve

    good = day_of_tickets(5)
    for i, ev in enumerate(good):
        ev.seq = i + 1 if i < 5 else i + 2  # seq 6 is the malformed event below
    enc = msgspec.json.encode

    async def handler(ws):
        await ws.send(
            b'{"op":"hello","protocol":1,"feed":"bad","halls":["lz"],"first_seq":1,"last_seq":20}'
        )
        await ws.recv()
        await ws.send(enc(good[:5]))
        await ws.send(b"\x00garbage")
        await ws.send(
            b'[{"kind":"ticket_called","seq":6,"ts":1763946000000,"hall":"lz"},'
            + enc(good[5])
            + b"]"
        )
        await ws.send(enc(good[3]))  # a duplicate
        await ws.send(enc(good[6:]))
        await asyncio.sleep(30)

    async with serve(handler, "127.0.0.1", 0, compression=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        feed = WebSocketFeed(f"ws://127.0.0.1:{port}", FrameDecoder(lambda p: p), backoff=FAST)
        sup = Pipeline([feed])
        async with running(sup):
            await wait_for(lambda: feed.status.last_seq == len(good) + 1)
        assert dict(feed.status.rejected) == {"not_json": 1, "missing_field": 1, "old_seq": 1}
        assert sup.events_total == len(good)
        assert sup.state.snapshot(H).served_today == 5
