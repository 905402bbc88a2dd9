"""Reading the stream in order from a sequence, through node failures.

A ``StreamReader`` reads the messages of one filter (a partition's feeds, or one feed)
from a start sequence, in stream order, with an ephemeral pull consumer of its own (no
acks: the reader keeps its place itself). Whatever goes wrong — the node holding the
consumer dies, the connection moves to another node, the consumer is gone — it makes a
new consumer from the sequence after the last message it handed out, so nothing is
skipped and nothing handed out twice. A consumer that stays silent while it should not
(its info cannot be read) counts as gone.

nats-py's ordered push consumer does the same for the happy path, but drops messages
silently when its pending limits are hit (a big replay) and recreates its consumer only
once per missed heartbeat pair; here both are explicit.

Imports: province.cluster, province.wire (the stream's name), nats, structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Final

import nats.errors
import nats.js.errors
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from province.cluster import TRANSIENT
from province.wire import STREAM

log = structlog.get_logger("hallwatch.reader")

#: Messages asked for at once.
FETCH: Final = 256
#: Seconds a fetch waits for the first message.
WAIT_S: Final = 0.5
#: Seconds without a message after which the consumer's health is checked (its info
#: read); two checks in a row that get no answer make a new consumer.
CHECK_AFTER_S: Final = 3.0


class StreamReader:
    """The stream's messages on ``filter_subject`` (or on any of several: one order, the
    stream's) from ``start`` on, in order."""

    def __init__(
        self,
        js: JetStreamContext,
        filter_subject: str | Sequence[str],
        start: int = 1,
        *,
        stream: str = STREAM,
    ) -> None:
        self.js = js
        self.stream = stream
        self.filter_subject = filter_subject
        self.last = max(0, start - 1)
        """The stream sequence of the last message handed out."""
        self.consumers = 0
        """Consumers made (1 + the times it had to start again)."""

    async def batches(self, *, idle: bool = False) -> AsyncGenerator[list[Msg], None]:
        """Lists of messages as they come, forever (cancel to stop); with ``idle``, an
        empty list each time about half a second passes with none (the caller gets a
        turn: a checkpoint, a stop)."""
        while True:
            sub = await self._subscribe()
            try:
                async for batch in self._fetching(sub, idle):
                    yield batch
            except (*TRANSIENT, nats.js.errors.APIError) as error:
                log.info("reader_restarts", subject=self.filter_subject, after=self.last,
                         error=type(error).__name__)  # fmt: skip
            finally:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1):  # (not wait_for: it can swallow a cancel)
                        await self.js.delete_consumer(self.stream, sub._consumer)
            await asyncio.sleep(0.1)

    async def _fetching(
        self, sub: JetStreamContext.PullSubscription, idle: bool
    ) -> AsyncIterator[list[Msg]]:
        quiet_since = time.monotonic()
        failed = 0
        while True:
            try:
                msgs = await sub.fetch(FETCH, timeout=WAIT_S)
            except TimeoutError:  # (nats-py raises its own subclass, or asyncio's)
                if time.monotonic() - quiet_since >= CHECK_AFTER_S:
                    quiet_since = time.monotonic()
                    try:
                        await sub.consumer_info()
                        failed = 0
                    except nats.js.errors.NotFoundError:
                        raise  # gone: start again
                    except (*TRANSIENT, nats.js.errors.APIError):
                        failed += 1  # its node may be dead, or only busy: twice is dead
                        if failed >= 2:
                            raise
                if idle:
                    yield []
                continue
            quiet_since = time.monotonic()
            failed = 0
            fresh = [m for m in msgs if m.metadata.sequence.stream > self.last]
            if fresh:
                self.last = fresh[-1].metadata.sequence.stream
                yield fresh

    async def _subscribe(self) -> JetStreamContext.PullSubscription:
        while True:
            subjects = (
                [self.filter_subject]
                if isinstance(self.filter_subject, str)
                else list(self.filter_subject)
            )
            config = api.ConsumerConfig(
                filter_subjects=subjects if len(subjects) > 1 else None,
                ack_policy=api.AckPolicy.NONE,
                deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=self.last + 1,
                mem_storage=True,
                num_replicas=1,
                inactive_threshold=30.0,
            )
            try:
                sub = await self.js.pull_subscribe(subjects[0], stream=self.stream, config=config)
            except (*TRANSIENT, nats.js.errors.APIError) as error:
                log.info("reader_waits", subject=self.filter_subject, error=type(error).__name__)
                await asyncio.sleep(0.25)
                continue
            self.consumers += 1
            return sub
