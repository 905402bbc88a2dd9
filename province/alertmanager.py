"""A partition's alerts to every Alertmanager peer, from the alerts stream.

The alerts stream holds each transition of the partition once (``province.outbox``), in
order, on every node's disk. So the owner of a partition notifies Alertmanager from the
stream, not from memory: one reader per peer — a durable consumer of the partition's
subject, ``hwam_<partition>_<peer>``, whose acknowledged position the cluster keeps —
posts each batch of notable transitions (fired, raised, escalated, resolved) to its peer,
retrying with backoff (0.5 s … 30 s) until the peer takes it, and only then acknowledges
it. A dead peer's reader waits and falls behind, in the stream rather than in memory;
the live peers' readers go on. A shard that dies between a post and its acknowledgement
leaves that batch to the partition's next owner, which posts it again: the Alertmanager
cluster de-duplicates (an alert is its labels and ``startsAt``; its state adds
``endsAt``). So every transition reaches every peer that lives, at least once, in order.

Taking over, the new owner resets each reader to the position the cluster acknowledged
(the consumer made again from there), so what the dead owner had fetched but not
acknowledged comes again at once and in order. A new reader (a first start, a new peer)
starts after what the stream holds: history is not notified again; the open alerts are,
by the shard's re-sending (``alerts.outbound``, ``Outbound.assert_open``).

Imports: alerts.outbound, province (cluster, outbox), nats, msgspec, structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import zlib
from typing import Any, Final

import msgspec
import nats.js.errors
import structlog
from nats.js import JetStreamContext, api

from alerts.outbound import NOTIFY, OutboundConfig, alertmanager_body, post_json
from province.cluster import TRANSIENT
from province.outbox import ALERTS_STREAM, Transition, subject

log = structlog.get_logger("hallwatch.alertmanager")

#: Transitions fetched (and posted in one request) at once.
BATCH: Final = 256
#: A reader's position the cluster forgets after this long unused (a peer taken out of
#: ``[outbound] alertmanager``).
FORGOTTEN_AFTER_S: Final = 7 * 86400.0
_LEVEL = re.compile(r"escalated to level (\d+)")
_decoder = msgspec.json.Decoder(Transition)


def alertmanager_transition(t: Transition) -> dict[str, Any]:
    """A transition as Alertmanager takes it: the alert as the transition left it."""
    notes = {"summary": t.summary}
    if (m := _LEVEL.match(t.what)) is not None:
        notes["level"] = m.group(1)
        if t.note:
            notes["escalated_to"] = t.note  # (``role: target``)
    ends = t.at_ms if t.state == "resolved" else None
    return alertmanager_body(t.rule, t.hall, t.scope, t.severity, t.fired_ms, ends, notes)


def reader_name(partition: int, peer: str) -> str:
    """The durable consumer of ``partition`` for ``peer`` (stable across processes)."""
    return f"hwam_{partition}_{zlib.crc32(peer.encode()):08x}"


class PeerReader:
    """One peer's reader of one partition's transitions."""

    def __init__(
        self, js: JetStreamContext, partition: int, peer: str, cfg: OutboundConfig
    ) -> None:
        self.js = js
        self.partition = partition
        self.url = peer.rstrip("/") + "/api/v2/alerts"
        self.name = reader_name(partition, peer)
        self.cfg = cfg
        self.posted = 0
        """Transitions this reader posted (a batch again after a failure counts again)."""

    async def start(self) -> JetStreamContext.PullSubscription:
        """The reader reset (``_reset``), retried while the cluster does not answer."""
        while True:
            try:
                return await self._reset()
            except (*TRANSIENT, nats.js.errors.APIError) as error:
                log.info("alertmanager_reader_waits", partition=self.partition,
                         peer=self.url, error=type(error).__name__)  # fmt: skip
                await asyncio.sleep(0.5)

    async def run(self, sub: JetStreamContext.PullSubscription) -> None:
        """Post the partition's transitions to the peer, until cancelled."""
        while True:
            try:
                await self._follow(sub)
            except (*TRANSIENT, nats.js.errors.APIError) as error:
                log.info("alertmanager_reader_restarts", partition=self.partition,
                         peer=self.url, error=type(error).__name__)  # fmt: skip
                await asyncio.sleep(0.5)
            except Exception as error:  # never the partition's end: said, and again
                log.error("alertmanager_reader_failed", partition=self.partition,
                          peer=self.url, error=repr(error)[:300])  # fmt: skip
                await asyncio.sleep(5.0)
            sub = await self.start()

    async def _reset(self) -> JetStreamContext.PullSubscription:
        """The reader made again from the position the cluster acknowledged (a new one:
        after everything the stream holds now)."""
        js, stream = self.js, ALERTS_STREAM
        try:
            info = await js.consumer_info(stream, self.name)
            start = (info.ack_floor.stream_seq if info.ack_floor else 0) + 1
            await js.delete_consumer(stream, self.name)
        except nats.js.errors.NotFoundError:
            start = (await js.stream_info(stream)).state.last_seq + 1
        config = api.ConsumerConfig(
            durable_name=self.name,
            filter_subject=subject(self.partition),
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=api.AckPolicy.ALL,
            ack_wait=30.0,
            max_ack_pending=4 * BATCH,
            inactive_threshold=FORGOTTEN_AFTER_S,
        )
        await js.add_consumer(stream, config)
        return await js.pull_subscribe_bind(durable=self.name, stream=stream)

    async def _follow(self, sub: JetStreamContext.PullSubscription) -> None:
        try:
            while True:
                try:
                    msgs = await sub.fetch(BATCH, timeout=1.0)
                except TimeoutError:
                    continue
                if not msgs:  # (a fetch can end with none, not a timeout)
                    continue
                bodies = []
                for msg in msgs:
                    try:
                        t = _decoder.decode(msg.data)
                    except msgspec.DecodeError:
                        continue
                    if t.what.startswith(NOTIFY):
                        bodies.append(alertmanager_transition(t))
                if bodies:
                    await self._post(json.dumps(bodies, ensure_ascii=False).encode())
                    self.posted += len(bodies)
                await msgs[-1].ack()  # (and every message before it)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _post(self, data: bytes) -> None:
        """Post until the peer takes it, waiting 0.5 s, 1 s, 2 s … 30 s between tries."""
        delay = 0.5
        while True:
            why = await asyncio.to_thread(post_json, self.url, data, self.cfg.timeout_seconds)
            if why is None:
                return
            log.warning("alertmanager_unreachable", peer=self.url, partition=self.partition,
                        error=why, retry_s=delay)  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def notify_peers(
    js: JetStreamContext, partition: int, cfg: OutboundConfig, ready: asyncio.Event
) -> None:
    """Every peer's reader of ``partition``, until cancelled; ``ready`` is set once each
    is in place (before the partition publishes anything: a new reader starts after what
    the stream holds then)."""
    readers = [PeerReader(js, partition, peer, cfg) for peer in cfg.peers]
    subs = [await r.start() for r in readers]
    ready.set()
    await asyncio.gather(*(r.run(sub) for r, sub in zip(readers, subs, strict=True)))
