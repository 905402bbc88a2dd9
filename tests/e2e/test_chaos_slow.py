"""The slow feed (issue 7), survived and visible on /metrics: a handshake that never ends
or drips in slower than the open timeout, a hello later than the silence timeout, frames
trickled in tiny pieces, and events delivered late against this machine's clock
(``hall_feed_lag_seconds``). Real sockets on 127.0.0.1 in front of a real ``FeedServer``;
the fronts speak raw TCP where they must cut the byte stream, and WebSocket (answering
pings) where the server is alive but slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from feeds.protocol import TicketIssued
from feeds.server import FeedServer
from tests.conftest import wait_for
from tests.e2e.test_chaos_faults import _server, rig
from tests.e2e.test_serve import get
from tests.factories import tickets


async def _copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await src.read(65536):
            dst.write(chunk)
            await dst.drain()
    dst.close()


@dataclass
class SlowFront:
    """A raw TCP front for a real ``FeedServer``: each new connection takes the next mode
    of ``plan``, then ``pipe`` once the plan is used up.

    ``mute``: reads the handshake request and never answers. ``drip``: answers it in
    pieces ``pause`` s apart (each well inside the open timeout, the whole beyond it).
    ``trickle``: a pipe whose server-to-client bytes after the handshake go out in pieces
    of 1 to ``piece`` bytes, ``pause`` s apart (pongs wait behind the data, as they do
    behind a server's own send buffer on a slow link).
    """

    backend: int
    plan: list[str]
    pause: float
    piece: int = 16
    port: int = 0
    attempts: list[float] = field(default_factory=list)
    """When each connection arrived (loop time)."""
    given_up: list[float] = field(default_factory=list)
    """How long the client held each ``mute``/``drip`` connection before closing it."""
    pieces: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(7))

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._conn, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        opened = loop.time()
        self.attempts.append(opened)
        request = await reader.readuntil(b"\r\n\r\n")
        mode = self.plan.pop(0) if self.plan else "pipe"
        if mode in ("mute", "drip"):
            drip = asyncio.create_task(self._drip(request, writer)) if mode == "drip" else None
            with contextlib.suppress(ConnectionError):
                await reader.read()  # until the client gives up and closes
            self.given_up.append(loop.time() - opened)
            if drip is not None:
                drip.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drip
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend)
        up_writer.write(request)
        down = self._trickle if mode == "trickle" else _copy
        await asyncio.gather(_copy(reader, up_writer), down(up_reader, writer))

    async def _drip(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        """The backend's real 101 response, four pieces ``pause`` s apart."""
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend)
        up_writer.write(request)
        response = await up_reader.readuntil(b"\r\n\r\n")
        up_writer.close()
        step = -(-len(response) // 4)
        with contextlib.suppress(ConnectionError):
            for i in range(0, len(response), step):
                writer.write(response[i : i + step])
                await writer.drain()
                await asyncio.sleep(self.pause)

    async def _trickle(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            dst.write(await src.readuntil(b"\r\n\r\n"))  # the handshake answer, whole
            pending = b""
            while True:
                if not pending:
                    pending = await src.read(65536)
                    if not pending:
                        break
                n = self._rng.randint(1, self.piece)
                dst.write(pending[:n])
                pending = pending[n:]
                self.pieces += 1
                await dst.drain()
                await asyncio.sleep(self.pause)
        dst.close()


async def test_a_handshake_that_never_ends_or_drips_is_given_up_and_retried() -> None:
    server = await _server(tickets(9))
    # silence 1.5 s: open timeout 0.5 s. ``drip`` sends the 101 in 4 pieces 0.25 s apart
    # (the last at 0.75 s): each piece inside the timeout, the whole beyond it.
    front = SlowFront(server.port, ["mute", "drip", "mute"], pause=0.25)
    listener = await front.start()
    try:
        async with rig(f"ws://127.0.0.1:{front.port}", silence=1.5) as r:
            await wait_for(lambda: len(front.given_up) >= 2)
            assert r.feed.status.last_error == "timed out opening the connection (0.5 s)"
            assert r.feed_metric("connected") == 0 and r.feed_metric("connects_total") == 0
            await r.until_metrics(connected=1, connects_total=1, last_seq=9)
            # The three slow handshakes were each given up, then retried; the piped one
            # came after them (a loaded machine may need more than one try at it: the
            # hello counts a connect, never an attempt).
            await wait_for(lambda: len(front.given_up) == 3)
            assert len(front.attempts) >= 4
            # Each slow handshake was held for about the open timeout (0.5 s; as seen from
            # the server side, so give or take scheduling), not the old hard-coded 10 s.
            assert all(0.1 <= held < 5 for held in front.given_up), front.given_up
            assert r.issued() == 9  # everything, exactly once
            assert r.feed_metric("gaps_total") == 0
            assert r.feed.status.last_error is None
    finally:
        listener.close()
        await server.stop()


@dataclass
class LateHelloFront:
    """A WebSocket server (it answers pings) in front of a real ``FeedServer``: the first
    ``late`` connections complete the handshake and then send nothing, hello included,
    until the client leaves; later ones are relayed to the backend."""

    backend: str
    late: int
    held: list[float] = field(default_factory=list)
    """How long the client waited on each late connection before closing it."""

    async def session(self, ws: ServerConnection) -> None:
        if self.late > 0:
            self.late -= 1
            opened = time.monotonic()
            await ws.wait_closed()
            self.held.append(time.monotonic() - opened)
            return
        async with connect(self.backend, compression=None) as up:

            async def relay(src: object, dst: object) -> None:
                with contextlib.suppress(ConnectionClosed):
                    async for message in src:  # type: ignore[attr-defined]
                        await dst.send(message)  # type: ignore[attr-defined]

            await asyncio.wait(
                [asyncio.create_task(relay(up, ws)), asyncio.create_task(relay(ws, up))],
                return_when=asyncio.FIRST_COMPLETED,
            )


async def test_a_hello_later_than_the_silence_timeout_is_given_up_and_retried() -> None:
    server = await _server(tickets(6))
    front = LateHelloFront(server.url, late=2)
    try:
        async with serve(front.session, "127.0.0.1", 0, compression=None) as listener:
            port = listener.sockets[0].getsockname()[1]
            async with rig(f"ws://127.0.0.1:{port}", silence=1.2) as r:
                await wait_for(lambda: len(front.held) >= 1)
                # Pings were answered, so it is the hello wait that ran out, not liveness.
                assert r.feed.status.last_error == "timed out: no hello in 1.2 s"
                assert r.feed_metric("connected") == 0 and r.feed_metric("connects_total") == 0
                await r.until_metrics(connected=1, connects_total=1, last_seq=6)
                await wait_for(lambda: len(front.held) == 2)
                # Each late one was held for about the silence timeout (1.2 s; as seen from
                # the server side, so give or take scheduling).
                assert all(0.8 <= held < 5 for held in front.held), front.held
                assert r.issued() == 6
                assert r.feed_metric("gaps_total") == 0
    finally:
        await server.stop()


async def test_a_trickling_server_is_assembled_and_kept() -> None:
    events = tickets(30)
    server = await _server(events[:20])
    # silence 1.5 s: a ping every 0.5 s. Pieces of 1 to 32 bytes, 10 ms apart: the
    # 20-event backlog frame (~2 KB) takes over a second to arrive, longer than a pong
    # waiting behind it could (websockets' own pong timeout dropped this connection,
    # again and again), yet bytes never stop coming for more than a piece's pause.
    front = SlowFront(server.port, ["trickle"], pause=0.01, piece=32)
    listener = await front.start()
    try:
        async with rig(f"ws://127.0.0.1:{front.port}", silence=1.5) as r:
            await r.until_metrics(connected=1, connects_total=1)
            for i in (20, 25):  # live frames, trickled the same way
                await server.publish(events[i : i + 5])
            await wait_for(lambda: r.feed_metric("last_seq") == 30, timeout=20)
            assert r.feed_metric("connects_total") == 1  # never reconnected
            assert r.feed_metric("connected") == 1
            assert r.issued() == 30  # every event once
            assert r.feed_metric("gaps_total") == 0
            assert not any(k.startswith("hall_feed_rejected") for k in r.metrics())
            assert front.pieces > 100
            assert r.feed.status.last_error is None
    finally:
        listener.close()
        await server.stop()


async def test_late_delivery_is_the_feed_lag_on_metrics() -> None:
    # No heartbeats during the test: the demo server's carry its newest ts, not real time.
    server = FeedServer("f", ["lz"], heartbeat_interval=60.0)
    await server.start()
    try:
        async with rig(server.url) as r:
            await r.until_metrics(connected=1)
            lag = 'hall_feed_lag_seconds{feed="f"}'
            assert lag not in r.metrics()  # no event yet: no lag to show
            # Delivered 90 s after they happened (the newest at now - 90 s).
            now = int(time.time() * 1000)
            await server.publish(tickets(3, now - 110_000))
            await r.until_metrics(last_seq=3)
            assert 90 <= r.metrics()[lag] < 100
            # A hall clock 20 s ahead of this machine: a negative lag.
            ahead = int(time.time() * 1000) + 20_000
            await server.publish([TicketIssued(seq=0, ts=ahead, hall="lz", ticket="B1", zone="z")])
            await r.until_metrics(last_seq=4)
            assert -20 <= r.metrics()[lag] < -10
            assert r.issued() == 4
            body = get(f"http://127.0.0.1:{r.port}/metrics") or ""
            assert "# TYPE hall_feed_lag_seconds gauge" in body
    finally:
        await server.stop()
