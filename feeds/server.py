"""The protocol-v1 feed server: the transport of the demo hall and of replays, and a
scripted server for tests.

``FeedServer`` retains every published event (until ``forget_before``), assigns the seqs,
and runs the session of docs/protocol.md per connection: hello, one subscribe, an
optional gap op, the retained backlog, then live events, with heartbeats carrying each
hall's clock when the connection is otherwise quiet. ``feeds.demo.play`` plays simulated
days into it, ``feeds.replay`` recorded ones.

Imports: feeds.protocol, websockets, msgspec, the standard library.
"""

from __future__ import annotations

import asyncio
import hmac
import ssl
from collections.abc import Sequence
from http import HTTPStatus
from typing import Final

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from feeds.protocol import PROTOCOL_VERSION, Error, Event, Gap, Heartbeat, Hello, Subscribe

#: Frames a connection may have queued before it counts as too slow and is dropped (it
#: reconnects and resumes with ``since``, so nothing is lost but its own latency).
DEFAULT_MAX_QUEUE: Final = 1000
#: A client must subscribe within this many seconds of the hello.
SUBSCRIBE_TIMEOUT_S: Final = 30.0

_encode = msgspec.json.Encoder().encode


class _Subscriber:
    """One subscribed connection: its outgoing frame queue, bounded."""

    __slots__ = ("queue", "ws")

    def __init__(self, ws: ServerConnection, max_queue: int) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(max_queue)


class FeedServer:
    """A protocol-v1 feed: a WebSocket server, the retained event log and the seqs.

    ``first_seq`` in the hello is the seq of the oldest retained event; when nothing is
    retained it is ``last_seq + 1`` (1 on a fresh server), the seq the next event will
    get, so a client that is up to date never sees a gap and one that is behind a fully
    forgotten log gets ``gap(since + 1, last_seq)``.

    A subscribe with ``since`` beyond ``last_seq`` (the client saw a previous run of the
    feed, whose seqs have restarted) gets an ``error`` op ``since_ahead`` and is then
    served as if it had said ``since = last_seq``: every event published from then on.
    Closing instead would only make it reconnect with the same ``since`` forever.

    Heartbeats carry a hall's clock: the newest ``ts`` published for that hall, or set by
    ``advance_clock``. A hall with no clock yet gets no heartbeat (a wall-clock guess would
    mislead every rule that runs on hall time).
    """

    def __init__(
        self,
        feed_id: str,
        halls: list[str],
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_batch: int = 1000,
        heartbeat_interval: float = 1.0,
        max_queue: int = DEFAULT_MAX_QUEUE,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Create a server; nothing listens until ``start()``.

        Args:
            feed_id: The feed id sent in the hello.
            halls: The hall ids this feed carries.
            token: When set, the handshake must carry ``Authorization: Bearer <token>``.
            host: Interface to listen on.
            port: TCP port; 0 picks a free one (see ``url``).
            max_batch: Most events in one frame.
            heartbeat_interval: Seconds of silence on a connection before heartbeats.
            max_queue: Frames queued per connection before it is dropped as too slow.
            ssl_context: Serve ``wss://`` with this context (``feeds.tls.server_context``).
        """
        self.feed_id = feed_id
        self.halls = list(halls)
        self.host = host
        self.port = port
        self.max_batch = max_batch
        self.heartbeat_interval = heartbeat_interval
        self.max_queue = max_queue
        self._token = token.encode() if token is not None else None
        self._ssl = ssl_context
        self._log: list[bytes] = []
        """Encoded retained events; ``_log[i]`` has seq ``_first + i``."""
        self._first = 1
        self._last = 0
        self._clocks: dict[str, int] = {}
        self._subscribers: set[_Subscriber] = set()
        self._connections: set[ServerConnection] = set()
        self._server: Server | None = None

    # --- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Start listening (``url`` then names the bound port)."""
        self._server = await serve(
            self._session,
            self.host,
            self.port,
            compression=None,  # deflate costs up to 10x on a LAN (docs/protocol-notes.md)
            process_request=self._authorize,
            max_size=64 * 1024,  # a client only ever sends one subscribe
            ssl=self._ssl,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection (close frame 1001) and stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def url(self) -> str:
        """``ws://host:port`` (``wss://`` with TLS) with the actually bound port."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'wss' if self._ssl else 'ws'}://{host}:{self.port}"

    @property
    def first_seq(self) -> int:
        """Seq of the oldest retained event (``last_seq + 1`` when none is retained)."""
        return self._first

    @property
    def last_seq(self) -> int:
        """Seq of the newest event published (0 when none yet)."""
        return self._last

    @property
    def retained_count(self) -> int:
        """How many events are retained for replay."""
        return len(self._log)

    @property
    def subscriber_count(self) -> int:
        """Connections currently subscribed (receiving events)."""
        return len(self._subscribers)

    def clock(self, hall: str) -> int | None:
        """The hall's clock (ms since the epoch) carried by heartbeats, if known yet."""
        return self._clocks.get(hall)

    # --- publishing ----------------------------------------------------------------------
    async def publish(self, events: Sequence[Event]) -> None:
        """Assign seqs to ``events``, retain them and send them to every subscriber.

        The events are copied with their new seq (the caller's objects are not changed).
        Heartbeats in ``events`` only advance their hall's clock. Everything up to the
        final yield runs without awaiting, so a connection subscribing meanwhile gets each
        event exactly once: in its backlog or live.
        """
        encoded: list[bytes] = []
        clocks = self._clocks
        for ev in events:
            if clocks.get(ev.hall, ev.ts) <= ev.ts:
                clocks[ev.hall] = ev.ts
            if isinstance(ev, Heartbeat):
                continue
            self._last += 1
            encoded.append(_encode(msgspec.structs.replace(ev, seq=self._last)))
        self._log += encoded
        self._first = self._last + 1 - len(self._log)
        if encoded and self._subscribers:
            frames = list(self._frames(encoded))
            for sub in list(self._subscribers):
                try:
                    for frame in frames:
                        sub.queue.put_nowait(frame)
                except asyncio.QueueFull:
                    self._drop(sub.ws)  # too slow: it reconnects and resumes with since
        await asyncio.sleep(0)  # let the connections send

    def advance_clock(self, hall: str, ts: int) -> None:
        """Move a hall's clock forward to ``ts`` (never back) for the heartbeats."""
        if self._clocks.get(hall, ts) <= ts:
            self._clocks[hall] = ts

    def forget_before(self, seq: int) -> None:
        """Stop retaining events with seq < ``seq`` (``first_seq`` rises to at most
        ``last_seq + 1``)."""
        seq = min(seq, self._last + 1)
        if seq > self._first:
            del self._log[: seq - self._first]
            self._first = seq

    def drop_connections(self) -> None:
        """Abort every client connection without a close frame, as a network failure
        would; clients reconnect and resume with ``since``."""
        for ws in list(self._connections):
            self._drop(ws)

    def _drop(self, ws: ServerConnection) -> None:
        self._subscribers -= {s for s in self._subscribers if s.ws is ws}
        ws.transport.abort()

    def _frames(self, encoded: list[bytes]) -> list[bytes]:
        """JSON array frames of at most ``max_batch`` events (one event: a bare object)."""
        if len(encoded) == 1:
            return [encoded[0]]
        step = self.max_batch
        return [
            b"[" + b",".join(encoded[i : i + step]) + b"]" for i in range(0, len(encoded), step)
        ]

    # --- sessions ------------------------------------------------------------------------
    def _authorize(self, ws: ServerConnection, request: Request) -> Response | None:
        if self._token is None:
            return None
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        given = credentials.strip().encode("utf-8", "surrogateescape")
        if scheme.lower() == "bearer" and hmac.compare_digest(given, self._token):
            return None
        response = ws.respond(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token\n")
        response.headers["WWW-Authenticate"] = 'Bearer realm="hall feed"'
        return response

    async def _session(self, ws: ServerConnection) -> None:
        self._connections.add(ws)
        try:
            await self._serve_session(ws)
        except ConnectionClosed:
            pass
        finally:
            self._connections.discard(ws)
            self._subscribers -= {s for s in self._subscribers if s.ws is ws}

    async def _serve_session(self, ws: ServerConnection) -> None:
        hello = Hello(
            protocol=PROTOCOL_VERSION,
            feed=self.feed_id,
            halls=self.halls,
            first_seq=self._first,
            last_seq=self._last,
        )
        await ws.send(_encode(hello), text=True)
        try:  # (asyncio.timeout: Python 3.11's wait_for can swallow a cancel, a stop)
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                message = await ws.recv()
        except TimeoutError:
            await self._refuse(ws, "subscribe_timeout", f"no subscribe in {SUBSCRIBE_TIMEOUT_S} s")
            return
        try:
            since = msgspec.json.decode(message, type=Subscribe).since
        except msgspec.DecodeError as error:
            await self._refuse(
                ws, "bad_subscribe", f'expected {{"op":"subscribe","since":N}}: {error}'
            )
            return
        # From here to the subscriber registration nothing awaits: no publish can slip
        # between the backlog snapshot and the live queue.
        sub = _Subscriber(ws, self.max_queue)
        backlog = self._log[max(0, since + 1 - self._first) :]
        gap = Gap(from_=since + 1, to=self._first - 1) if since + 1 < self._first else None
        ahead = since > self._last
        self._subscribers.add(sub)
        if ahead:
            text = f"since {since} is beyond last_seq {self._last}: a previous run of this feed?"
            await ws.send(_encode(Error(code="since_ahead", message=text)), text=True)
        if gap is not None:
            await ws.send(_encode(gap), text=True)
        tasks = (asyncio.create_task(self._send(ws, sub, backlog)), asyncio.create_task(_drain(ws)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, ConnectionClosed):
                raise result

    async def _refuse(self, ws: ServerConnection, code: str, message: str) -> None:
        await ws.send(_encode(Error(code=code, message=message[:500])), text=True)
        await ws.close(1008, code)

    async def _send(self, ws: ServerConnection, sub: _Subscriber, backlog: list[bytes]) -> None:
        """Send the backlog, then live frames; heartbeats whenever quiet for a while."""
        for i in range(0, len(backlog), self.max_batch):
            await ws.send(self._frames(backlog[i : i + self.max_batch])[0], text=True)
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        queue = sub.queue
        while True:
            if queue.empty():
                remaining = quiet_since + self.heartbeat_interval - loop.time()
                try:
                    async with asyncio.timeout(max(remaining, 0.0)):
                        frame = await queue.get()
                except TimeoutError:
                    await self._heartbeats(ws)
                    quiet_since = loop.time()
                    continue
            else:
                frame = queue.get_nowait()
            await ws.send(frame, text=True)
            quiet_since = loop.time()

    async def _heartbeats(self, ws: ServerConnection) -> None:
        for hall in self.halls:
            ts = self._clocks.get(hall)
            if ts is not None:
                await ws.send(_encode(Heartbeat(ts=ts, hall=hall)), text=True)


async def _drain(ws: ServerConnection) -> None:
    """Read and ignore what the client sends after its subscribe; ends on close."""
    async for _ in ws:
        pass
