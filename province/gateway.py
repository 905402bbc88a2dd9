"""``hallwatch gateway``: hall feeds into the stream, one writer per feed at a time.

Each feed is read with the feed client the console uses (``feeds.client.WebSocketFeed``:
protocol v1, reconnects, seq checks) through the frame decoder, which pseudonymizes
``person`` before anything else sees an event: no raw ID reaches the stream. Each batch
the client yields becomes one message on the feed's subject (``province.wire``).

Several gateways may be given the same feed; a lease (``gw.<feed>`` in the lease bucket)
says which one publishes, the others wait to take over. The lease alone is not trusted
with the stream's order: every publish states the stream sequence it expects the
subject's last message to have, so a writer that lost its lease without knowing it
(stalled past the TTL) is refused, never interleaved. A publish whose ack is lost is
sent again, the same message with the same ``Nats-Msg-Id``: the stream drops it if the
first one was stored. When a publish cannot be settled (refused, or the cluster does not
answer for ``SETTLE_S``) — and whenever a gateway takes the lease — it reads the last
message of the subject and resumes the hall feed from there (``subscribe since`` that
message's feed seq): the stream holds each seq once, in order, whoever wrote it.

Heartbeats carry the hall clock, so they travel too, but one that repeats the last thing
published for its hall (the same clock, nothing in between) is dropped — it changes
nothing where it is applied — unless the feed has published nothing for ``LIVENESS_S``:
then it goes, so that readers can tell a silent feed from a dead one.

Imports: feeds (client, decode), province (cluster, lease, wire), nats, structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Final, cast

import nats.errors
import nats.js.errors
import structlog
from nats.js import JetStreamContext
from nats.js.kv import KeyValue

from feeds.client import WebSocketFeed
from feeds.decode import FrameDecoder, Rejection
from feeds.protocol import Event, Heartbeat
from feeds.source import Batch
from province.cluster import TRANSIENT, Layout
from province.lease import Lease
from province.wire import STREAM, Mark, encode, subject

log = structlog.get_logger("hallwatch.gateway")

#: A feed that published nothing for this long sends its heartbeats even if they repeat.
LIVENESS_S: Final = 10.0
#: A message not acknowledged within this long (sent again meanwhile) ends the term: the
#: gateway reads the subject's last message again and resumes from it.
SETTLE_S: Final = 30.0
#: Events in one message at most (a bigger batch is split): ~60 KB of msgpack.
MAX_EVENTS: Final = 500
#: Wrong last sequence: someone else wrote the subject.
WRONG_LAST_SEQUENCE: Final = 10071


class Fenced(Exception):
    """The subject's last message is not the one this gateway expected: another gateway
    wrote it. Re-read the subject before publishing again."""


@dataclass(slots=True)
class GatewayStats:
    """What one feed's gateway did (a test and the stats log line read it)."""

    messages: int = 0
    events: int = 0
    duplicates: int = 0
    """Re-publishes the stream dropped (a lost ack)."""
    fenced: int = 0
    terms: int = 0
    """Times publishing (re)started from the subject's last message."""
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))
    """Seconds from a batch's arrival to the stream's ack, per message (the newest)."""


class FeedGateway:
    """Publishes one hall feed into the stream while it holds the feed's lease."""

    def __init__(
        self,
        js: JetStreamContext,
        kv: KeyValue,
        layout: Layout,
        *,
        feed: str,
        url: str,
        decoder: Callable[[], FrameDecoder],
        owner: str,
        token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.js = js
        self.max_events = max_events
        self.feed = feed
        self.url = url
        self.subject = subject(feed, layout.partitions)
        self.lease = Lease(kv, f"gw.{feed}", owner, layout.lease_s)
        self._decoder = decoder
        self._token = token
        self._ssl = ssl_context
        self.stats = GatewayStats()
        self.active = False

    async def run(self) -> None:
        """Wait for the lease, publish while holding it, wait again when it is lost;
        until cancelled (the lease is then given back)."""
        try:
            while True:
                if not await self.lease.take():
                    await asyncio.sleep(self.lease.ttl_s / 3)
                    continue
                self.active = True
                log.info("gateway_active", feed=self.feed, subject=self.subject)
                keep = asyncio.create_task(self.lease.keep())
                publish = asyncio.create_task(self._publish_terms())
                try:
                    await asyncio.wait((keep, publish), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (keep, publish):
                        task.cancel()
                    await asyncio.gather(keep, publish, return_exceptions=True)
                self.active = False
                if publish.done() and not publish.cancelled() and publish.exception():
                    log.error("gateway_failed", feed=self.feed, error=repr(publish.exception()))
                log.warning("gateway_standby", feed=self.feed, why="lease lost")
        finally:
            self.active = False
            await asyncio.shield(self.lease.release())

    async def _publish_terms(self) -> None:
        """Terms of publishing, each from the subject's last message, until cancelled."""
        while True:
            try:
                await self._term()
            except Fenced as error:
                self.stats.fenced += 1
                log.warning("gateway_fenced", feed=self.feed, error=str(error))
            except (*TRANSIENT, nats.js.errors.APIError) as error:
                log.warning("gateway_unsettled", feed=self.feed, error=repr(error)[:200])
            await asyncio.sleep(0.1)

    async def last_message(self) -> tuple[int, Mark | None]:
        """The stream sequence and mark of the subject's last message ((0, None): none),
        read from the stream's leader; retried until the cluster answers."""
        while True:
            try:
                msg = await self.js.get_last_msg(STREAM, self.subject, direct=False)
            except nats.js.errors.NotFoundError:
                return 0, None
            except (*TRANSIENT, nats.js.errors.APIError) as error:
                log.info("gateway_waits_for_stream", feed=self.feed, error=type(error).__name__)
                await asyncio.sleep(0.25)
                continue
            assert msg.seq is not None
            return msg.seq, Mark.of(msg.headers)

    async def _term(self) -> None:
        """Resume the hall feed after the subject's last message and publish each batch,
        until a publish cannot be settled."""
        expected, last = await self.last_message()
        epoch0, prev = (last.epoch, last.seq) if last is not None else (0, 0)
        self.stats.terms += 1
        log.info("gateway_resumes", feed=self.feed, epoch=epoch0, since=prev, stream_seq=expected)
        feed = WebSocketFeed(
            self.url,
            self._decoder(),
            name=self.feed,
            token=self._token,
            since=prev,
            ssl_context=self._ssl,
        )
        epoch = epoch0
        clocks: dict[str, int] = {}
        """Hall → ts of the heartbeat published last for it, if that was the last thing."""
        published = time.monotonic()
        # (WebSocketFeed.batches is an async generator: closing it closes the socket.)
        stream = cast(AsyncGenerator[Batch, None], feed.batches())
        async with contextlib.aclosing(stream) as batches:
            async for batch in batches:
                status = feed.status
                if epoch0 + status.seq_restarts != epoch:  # the hall feed's seqs restarted
                    epoch, prev = epoch0 + status.seq_restarts, 0
                    clocks.clear()
                lively = time.monotonic() - published >= LIVENESS_S
                events = _forwarded(batch.events, clocks, lively)
                if not (events or batch.rejections or batch.gaps or status.last_seq != prev):
                    continue
                wall = status.last_event_wall or time.time()
                parts = split(events, batch.rejections, batch.gaps, prev, status.last_seq,
                              self.max_events)  # fmt: skip
                for i, part in enumerate(parts):
                    mark = Mark(epoch, part.seq, prev, wall)
                    if part.seq != prev:
                        msg_id = f"{self.feed}:{epoch}:{prev + 1}-{part.seq}"
                    else:  # heartbeats only (the wall time and the part keep two apart)
                        msg_id = f"{self.feed}:{epoch}:{part.seq}:hb:{int(wall * 1000)}.{i}"
                    body = encode(part.events, part.rejections, part.gaps)
                    headers = mark.headers(self.feed, expected, msg_id)
                    expected = await self._publish(body, headers)
                    prev = part.seq
                    published = time.monotonic()
                    stats = self.stats
                    stats.messages += 1
                    stats.events += len(part.events)
                    stats.latencies.append(time.time() - wall)

    async def _publish(self, body: bytes, headers: dict[str, str]) -> int:
        """Publish one message, sending it again (same id) while the cluster does not
        answer; its stream sequence.

        Raises:
            Fenced: the subject's last message is not the expected one.
            TimeoutError: not settled within ``SETTLE_S``.
        """
        deadline = time.monotonic() + SETTLE_S
        while True:
            try:
                ack = await self.js.publish(self.subject, body, headers=dict(headers))
            except nats.js.errors.APIError as error:
                if error.err_code == WRONG_LAST_SEQUENCE:
                    raise Fenced(error.description or "wrong last sequence") from None
                if time.monotonic() > deadline or error.code not in (500, 503):
                    raise
            except TRANSIENT:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no ack in {SETTLE_S:g} s") from None
            else:
                if ack.duplicate:
                    self.stats.duplicates += 1
                return ack.seq
            await asyncio.sleep(0.1)


@dataclass(frozen=True, slots=True)
class Part:
    """What one message carries: a slice of a batch and the feed seq it ends at."""

    events: list[Event]
    rejections: list[Rejection]
    gaps: int
    seq: int


def split(
    events: list[Event],
    rejections: list[Rejection],
    gaps: int,
    prev: int,
    last: int,
    most: int,
) -> list[Part]:
    """A batch as messages of at most ``most`` events, each ending at a feed seq: a
    rejection goes with the part whose seqs it falls in, those without a seq and the
    gaps with the last part, which ends at ``last`` (the feed's seq after the batch)."""
    if len(events) <= most:
        return [Part(events, rejections, gaps, last)]
    parts = []
    low = prev
    left = list(rejections)
    for start in range(0, len(events), most):
        chunk = events[start : start + most]
        if start + most >= len(events):
            parts.append(Part(chunk, left, gaps, last))
            break
        high = max((ev.seq for ev in chunk if ev.seq is not None), default=low)
        mine = [r for r in left if r.seq is not None and low < r.seq <= high]
        left = [r for r in left if not (r.seq is not None and low < r.seq <= high)]
        parts.append(Part(chunk, mine, 0, high))
        low = high
    return parts


def _forwarded(events: list[Event], clocks: dict[str, int], lively: bool) -> list[Event]:
    """``events`` without the heartbeats that repeat, for their hall, the last thing
    published (a heartbeat with the same clock); all of them when ``lively``."""
    out = []
    for ev in events:
        if type(ev) is Heartbeat and ev.seq is None:
            if not lively and clocks.get(ev.hall) == ev.ts:
                continue
            clocks[ev.hall] = ev.ts
        else:
            clocks.pop(ev.hall, None)
        out.append(ev)
    return out


def percentile(values: list[float], share: float) -> float | None:
    """The ``share`` quantile of ``values`` (nearest rank), None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def log_stats(gateways: list[FeedGateway], every_s: float = 10.0) -> None:
    """One log line per ``every_s`` with each active feed's messages, events and the
    arrival → ack latency of its newest messages (p50, p99)."""
    while True:
        await asyncio.sleep(every_s)
        for g in gateways:
            if not g.active:
                continue
            lat = list(g.stats.latencies)
            p50, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
            log.info(
                "gateway_stats",
                feed=g.feed,
                messages=g.stats.messages,
                events=g.stats.events,
                duplicates=g.stats.duplicates,
                latency_p50_ms=round(p50 * 1000, 2) if p50 is not None else None,
                latency_p99_ms=round(p99 * 1000, 2) if p99 is not None else None,
            )
