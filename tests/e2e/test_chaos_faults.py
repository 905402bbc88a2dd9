"""Feed faults, each survived and visible on /metrics: refused, server gone, reset in the
middle of a frame, silent (no frame, no pong), a ``gap`` op, seqs restarting at 1 on a
new service day. Real sockets on 127.0.0.1, a real /metrics endpoint; the misbehaving
server speaks raw TCP (a hand-made WebSocket handshake) so it can break a frame in two.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.protocol import Event
from feeds.server import FeedServer
from metrics.exposition import serve_metrics
from runtime.pipeline import Pipeline
from tests.conftest import wait_for
from tests.e2e.test_serve import free_port, get
from tests.factories import ms, tickets

DAY_MS = 86_400_000
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass
class Rig:
    """A supervisor on one feed URL, running, with /metrics on a real port."""

    feed: WebSocketFeed
    sup: Pipeline
    port: int

    def metrics(self) -> dict[str, float]:
        body = get(f"http://127.0.0.1:{self.port}/metrics") or ""
        return {
            k: float(v)
            for k, v in (ln.rsplit(" ", 1) for ln in body.splitlines() if ln and ln[0] != "#")
        }

    def feed_metric(self, name: str) -> float:
        return self.metrics().get(f'hall_feed_{name}{{feed="f"}}', -1.0)

    def issued(self) -> float:
        m = self.metrics()
        return sum(v for k, v in m.items() if k.startswith('hall_tickets_issued_total{hall="lz"'))

    async def until_metrics(self, **want: float) -> None:
        """Wait until every ``hall_feed_<name>`` on /metrics has its value."""
        await wait_for(lambda: all(self.feed_metric(k) == v for k, v in want.items()), timeout=10)


@contextlib.asynccontextmanager
async def rig(url: str, silence: float = 30.0) -> AsyncIterator[Rig]:
    feed = WebSocketFeed(
        url, FrameDecoder(lambda p: p), name="f", backoff=Backoff(0.02, 0.1), seed=1,
        silence_timeout=silence,
    )  # fmt: skip
    sup = Pipeline([feed], publish_interval=0.02)
    _, port, stop = serve_metrics(lambda: sup.view.city, "127.0.0.1", 0)
    task = asyncio.create_task(sup.run())
    try:
        yield Rig(feed, sup, port)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        stop()
        sup.close()


@dataclass
class FaultyFront:
    """A TCP front for a real ``FeedServer``: each new connection takes the next fault of
    ``plan`` (``reset``: hello, then half a data frame and a TCP reset; ``silent``: hello,
    then nothing, not even a pong); once the plan is used up, connections are piped."""

    backend: int
    plan: list[str]
    port: int = 0
    faults_done: int = 0
    _held: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        fault = self.plan.pop(0) if self.plan else "pipe"
        if fault == "pipe":
            await self._pipe(request, reader, writer)
            return
        key = re.search(rb"(?i)sec-websocket-key: *(\S+)", request)
        assert key is not None
        accept = base64.b64encode(hashlib.sha1(key.group(1) + _GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        hello = b'{"op":"hello","protocol":1,"feed":"f","halls":["lz"],"first_seq":1,"last_seq":3}'
        writer.write(_frame(hello))
        await writer.drain()
        await reader.read(256)  # the subscribe
        self.faults_done += 1
        if fault == "silent":
            self._held.append(writer)  # keep the socket open; never read or answer again
            return
        data = _frame(b'[{"kind":"ticket_issued","seq":1,"ts":1763946000000,"hall":"lz"}]')
        writer.write(data[: len(data) // 2])
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST in the middle of the frame

    async def _pipe(
        self, request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend)
        up_writer.write(request)

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while chunk := await src.read(65536):
                    dst.write(chunk)
                    await dst.drain()
            dst.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


def _frame(payload: bytes) -> bytes:
    """One unmasked text frame (server to client)."""
    n = len(payload)
    size = bytes([n]) if n < 126 else b"\x7e" + n.to_bytes(2, "big")
    return b"\x81" + size + payload


async def _server(events: list[Event], port: int = 0) -> FeedServer:
    server = FeedServer("f", ["lz"], port=port)
    await server.start()
    await server.publish(events)
    return server


async def test_refused_then_the_server_comes_up() -> None:
    port = free_port()
    async with rig(f"ws://127.0.0.1:{port}") as r:
        await wait_for(lambda: "ConnectionRefused" in (r.feed.status.last_error or ""))
        await r.until_metrics(connected=0, connects_total=0)
        server = await _server(tickets(5), port)
        try:
            await r.until_metrics(connected=1, connects_total=1, last_seq=5)
            assert r.issued() == 5
        finally:
            await server.stop()


async def test_server_gone_mid_stream_and_back_resumes_exactly_once() -> None:
    events = tickets(40)
    server = await _server(events[:25])
    port = server.port
    async with rig(server.url) as r:
        await r.until_metrics(last_seq=25)
        await server.stop()  # the process is gone: no close handshake to speak of
        await r.until_metrics(connected=0)
        server = await _server(events, port)  # back, with its log (seqs 1..40)
        try:
            await r.until_metrics(connected=1, connects_total=2, last_seq=40)
            assert r.issued() == 40  # nothing lost, nothing twice
            assert r.feed_metric("gaps_total") == 0
        finally:
            await server.stop()


async def test_reset_mid_frame_and_a_silent_server_are_left_and_resumed() -> None:
    server = await _server(tickets(12))
    front = FaultyFront(server.port, ["reset", "silent", "reset"])
    listener = await front.start()
    try:
        # silence 2.4 s: the silent one is left after 2.4 s; every handshake has 0.8 s,
        # time enough on a loaded machine for each faulty session to get to its hello.
        async with rig(f"ws://127.0.0.1:{front.port}", silence=2.4) as r:
            await r.until_metrics(connected=1, last_seq=12)
            assert front.faults_done == 3
            assert r.feed_metric("connects_total") == 4  # three faulty sessions, one good
            assert r.issued() == 12  # the half frame applied nothing
            assert not any(k.startswith("hall_feed_rejected") for k in r.metrics())
    finally:
        listener.close()
        await server.stop()


async def test_a_gap_op_is_counted_on_metrics() -> None:
    server = await _server(tickets(10))
    server.forget_before(4)  # seqs 1..3 are gone before we ever subscribe
    try:
        async with rig(server.url) as r:
            await r.until_metrics(last_seq=10, gaps_total=3)
            assert r.issued() == 7
    finally:
        await server.stop()


async def test_seqs_restarting_at_1_on_a_new_day_are_a_new_run() -> None:
    server = await _server(tickets(8))
    port = server.port
    async with rig(server.url) as r:
        await r.until_metrics(last_seq=8)
        await server.stop()
        # The vendor's nightly restart: next morning, seqs start at 1 again (3 < 8).
        server = await _server(tickets(3, ms(0) + DAY_MS), port)
        try:
            await r.until_metrics(last_seq=3, seq_restarts_total=1, connects_total=2)
            assert r.issued() == 11  # 8 + the new day's 3 (a counter): none dropped as old
            assert "old_seq" not in str(r.metrics())
        finally:
            await server.stop()
