"""The protocol-v1 WebSocket client: hello → subscribe since → events, forever.

Reconnects with exponential backoff and full jitter, and resumes from the last seq it
handed out (the pipeline applies each batch before asking for the next, so that is the
last applied seq). A connection that hears nothing — no frame, no piece of one, no pong —
for 30 s is dead (a keepalive ping every 10 s makes a live idle server answer); a slow
server — a handshake not done in 10 s, no hello in 30 s — is left and retried. A hello
whose ``last_seq`` is below ours means the feed's seqs restarted (a new run, a new
service day; docs/protocol-notes.md): the client then subscribes from 0.

Imports: feeds.*, websockets, structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import msgspec
import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    WebSocketException,
)

from feeds.decode import FrameDecoder, Rejection
from feeds.protocol import PROTOCOL_VERSION, Error, Gap, Hello, Subscribe
from feeds.source import Batch, FeedStatus, SeqGuard

log = structlog.get_logger("hallwatch.feed")

#: Transport-level frame cap; the decoder's own (smaller) limit rejects and counts.
TRANSPORT_MAX_BYTES = 64 * 1024 * 1024
#: Frames already received are applied together, up to this many events a batch.
COALESCE = 1000
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog's "full jitter")."""

    initial: float = 0.2
    maximum: float = 15.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        try:
            cap = min(self.maximum, self.initial * self.factor**attempt)
        except OverflowError:  # 2.0**1024: a feed down for ~3 h; it used to end the run
            cap = self.maximum
        return rng.uniform(cap / 2, cap)


def feed_name(url: str) -> str:
    """A stable default label for a feed: host:port and path of its URL."""
    parts = urlsplit(url)
    return (parts.netloc + parts.path.rstrip("/")) or url


class ProtocolError(Exception):
    """The server broke the session rules (no hello, wrong protocol version)."""


class WebSocketFeed:
    """A live feed over WebSocket. ``batches()`` never ends on its own."""

    def __init__(
        self,
        url: str,
        decoder: FrameDecoder,
        *,
        name: str | None = None,
        token: str | None = None,
        since: int = 0,
        backoff: Backoff | None = None,
        ssl_context: ssl.SSLContext | None = None,
        silence_timeout: float = 30.0,
        seed: int | None = None,
    ) -> None:
        self.url = url
        self.status = FeedStatus(name=name or feed_name(url), url=url, last_seq=since)
        self._decoder = decoder
        self._guard = SeqGuard(since)
        self._token = token
        self._backoff = backoff or Backoff()
        self._ssl = ssl_context
        self._silence = silence_timeout
        self._rng = random.Random(seed)

    def resume(self, since: int) -> None:
        """Subscribe from ``since``, the last seq applied before a restart (recovery)."""
        self._guard.last_seq = self.status.last_seq = since

    def again(self, since: int) -> WebSocketFeed:
        """A second session on this feed from ``since`` — same URL, decoder, token and
        TLS — with a status of its own: a journal fetching a gap it could not write
        (``runtime.backfill``) while this one goes on."""
        return WebSocketFeed(
            self.url,
            self._decoder,
            name=f"{self.status.name} (journal gap)",
            token=self._token,
            since=since,
            backoff=self._backoff,
            ssl_context=self._ssl,
            silence_timeout=self._silence,
        )

    async def batches(self) -> AsyncIterator[Batch]:
        attempt = 0
        while True:
            try:
                async with contextlib.aclosing(self._session()) as session:
                    async for batch in session:
                        attempt = 0
                        yield batch
                self._lost("server closed the connection")
            except (OSError, TimeoutError, WebSocketException, ProtocolError) as error:
                self._lost(_describe(error))
            delay = self._backoff.delay(attempt, self._rng)
            attempt += 1
            await asyncio.sleep(delay)

    def _lost(self, why: str) -> None:
        if self.status.connected:
            log.warning("feed_disconnected", feed=self.status.name, error=why)
        else:
            log.info("feed_connect_failed", feed=self.status.name, error=why)
        self.status.connected = False
        self.status.last_error = why

    async def _open(self) -> _Connection:
        """The WebSocket handshake, given up after a third of the silence timeout."""
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        half = self._silence / 3
        try:
            ws = await connect(
                self.url,
                additional_headers=headers,
                compression=None,  # deflate costs up to 10x on a LAN (docs/protocol-notes.md)
                proxy=None,
                ssl=self._ssl if self.url.startswith("wss:") else None,
                max_size=TRANSPORT_MAX_BYTES,
                create_connection=_Connection,
                # A server that accepts TCP but is slow to finish the handshake (or never
                # does) is left after ``half`` s (10 s by default); we retry with backoff.
                open_timeout=half,
                # Liveness is ``_deaf_after``'s: anything heard within ``silence`` s. A
                # ping every ``half`` s makes an idle live server answer; no pong timeout,
                # because a pong waits behind the rest of a frame that a slow link is
                # still delivering, and that server is alive.
                ping_interval=half,
                ping_timeout=None,
                close_timeout=half,
            )
        except TimeoutError as error:
            raise TimeoutError(f"timed out opening the connection ({half:g} s)") from error
        assert isinstance(ws, _Connection)  # create_connection
        return ws

    async def _session(self) -> AsyncGenerator[Batch, None]:
        async with await self._open() as ws, _deaf_after(ws, self._silence):
            try:  # (asyncio.timeout: Python 3.11's wait_for can swallow a cancel, a stop)
                async with asyncio.timeout(self._silence):
                    first = await ws.recv()
            except TimeoutError as error:
                raise TimeoutError(f"timed out: no hello in {self._silence:g} s") from error
            try:
                hello = self._decoder.decode_op(first)
            except msgspec.DecodeError as error:
                raise ProtocolError(f"expected hello: {error}") from error
            if not isinstance(hello, Hello):
                raise ProtocolError(f"expected hello, got {type(hello).__name__.lower()}")
            if hello.protocol != PROTOCOL_VERSION:
                raise ProtocolError(f"unsupported protocol {hello.protocol}")
            status = self.status
            if hello.last_seq < self._guard.last_seq:
                # The feed's seqs restarted (a new run: the vendor's nightly restart, a new
                # service day; docs/protocol-notes.md): everything it has is new to us.
                log.warning(
                    "feed_seq_restart",
                    feed=status.name,
                    since=self._guard.last_seq,
                    server_last_seq=hello.last_seq,
                )
                self._guard.last_seq = status.last_seq = 0
                status.seq_restarts += 1
            await ws.send(_encode(Subscribe(since=self._guard.last_seq)))
            status.connected = True
            status.connects += 1
            status.feed_id = hello.feed
            status.halls = tuple(hello.halls)
            status.last_error = None
            log.info(
                "feed_connected",
                feed=status.name,
                feed_id=hello.feed,
                since=self._guard.last_seq,
                server_last_seq=hello.last_seq,
            )
            ready = _message_ready(ws)
            async for frame in ws:
                batch = self._batch(frame)
                # Frames already received are applied as one batch (up to COALESCE
                # events): with one event per frame, the per-batch costs (journal
                # write, rules) are paid once per backlog instead of once per event.
                while ready() and (batch is None or len(batch.events) < COALESCE):
                    try:
                        more = self._batch(await ws.recv())
                    except Exception:  # (no await suspends here: a message is ready)
                        if batch is not None:  # seqs are counted: never drop them
                            yield batch
                        raise
                    batch = more if batch is None else _merge(batch, more)
                if batch is not None:
                    yield batch

    def _batch(self, frame: str | bytes) -> Batch | None:
        """One frame decoded and seq-checked; None for a frame with no batch (error op)."""
        status = self.status
        decoded = self._decoder.decode(frame)
        op = decoded.op
        if op is not None:
            if isinstance(op, Gap):
                batch = self._guard.gap(status.name, op)
                log.warning("feed_gap", feed=status.name, lost=batch.gaps)
                return batch
            if isinstance(op, Error):
                status.last_error = f"{op.code}: {op.message}"
                log.warning("feed_error_op", feed=status.name, code=op.code)
                return None
            # A hello or subscribe where data belongs: counted and logged, nothing applied.
            what = f"{type(op).__name__.lower()} op in the data stream"
            return Batch(status.name, [], [Rejection("unexpected_op", what)])
        batch = self._guard.check(status.name, decoded)
        status.last_seq = self._guard.last_seq
        status.received(batch.events, time.time())
        return batch


class _Connection(ClientConnection):
    """websockets' client connection, noting when the server was last heard at all: any
    bytes (a frame, a piece of one, a pong) prove it alive, whatever they carry."""

    heard: float = 0.0
    """``time.monotonic()`` when bytes last arrived."""

    def data_received(self, data: bytes) -> None:
        self.heard = time.monotonic()
        super().data_received(data)


@contextlib.asynccontextmanager
async def _deaf_after(ws: _Connection, silence: float) -> AsyncIterator[None]:
    """Drop ``ws`` once nothing at all was heard from the server for ``silence`` s
    (docs/protocol.md, "Transport": no frame, no pong); the failure that causes in the
    body is raised as a ``TimeoutError`` saying so. Dropped at once, too, when the
    consumer stops (a closing handshake behind frames nobody reads may never finish)."""

    async def watch() -> None:
        heard = max(ws.heard, time.monotonic())
        while (quiet := time.monotonic() - heard) < silence:
            await asyncio.sleep(silence - quiet)
            heard = max(heard, ws.heard)
        ws.transport.abort()

    watcher = asyncio.create_task(watch())
    try:
        yield
    except ConnectionClosed as error:
        if watcher.done():
            raise TimeoutError(f"timed out: nothing heard for {silence:g} s") from error
        raise
    except (GeneratorExit, asyncio.CancelledError):
        # The consumer stops: nothing more is read. The closing handshake needs the
        # server's close frame, which comes behind every frame still on its way; once more
        # than the connection's queue holds wait unread (a gateway stopped while waiting on
        # a cluster that does not answer), reading is paused and the handshake could only
        # end at close_timeout (10 s). Drop the connection instead (the server sees 1006).
        ws.transport.abort()
        raise
    finally:
        watcher.cancel()


def _merge(batch: Batch, more: Batch | None) -> Batch:
    """``more`` appended to ``batch`` (a rejection's ``index`` stays that in its frame)."""
    if more is not None:
        batch.events.extend(more.events)
        batch.rejections.extend(more.rejections)
        batch.gaps += more.gaps
    return batch


def _message_ready(ws: object) -> Callable[[], bool]:
    """Whether ``ws.recv()`` would return at once: a whole message is buffered.

    Reads the receive queue of websockets' asyncio connection (``recv_messages.frames``,
    websockets 15-17); where that is missing, always False: no coalescing, one batch per
    frame as before.
    """
    frames = getattr(getattr(ws, "recv_messages", None), "frames", None)
    queue = getattr(frames, "queue", None)
    if not isinstance(queue, deque):
        return lambda: False
    return lambda: bool(queue) and bool(queue[0].fin)


def _describe(error: BaseException) -> str:
    if isinstance(error, InvalidStatus):
        return f"HTTP {error.response.status_code} at handshake"
    if isinstance(error, InvalidHandshake):
        return f"handshake failed: {error}"
    if isinstance(error, TimeoutError):
        return str(error) or "timed out"
    return f"{type(error).__name__}: {error}"[:200]
