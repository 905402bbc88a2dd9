"""One partition of the stream run as a pipeline of its own: its feeds' halls, their
alerts, their view.

A shard runs one ``Partition`` per partition it holds the lease of. Taking one over:
its latest checkpoint (``province.checkpoint``) is restored into a fresh ``Pipeline``
built from the configuration, then the stream is read from the message after the
checkpoint's position (``province.reader``) and applied through the pipeline's own
``consume`` — the path live feeds take, ingest held while the publisher builds a view.
The partition is that ``consume``'s source: each message becomes one batch of its feed,
and the source says which feed's status the batch counts on (``status``) as it hands it
out. Each feed has its status in the pipeline's ``sources`` (``StreamedFeed``), so the
view, the checkpoint and /metrics have them as for any feed.

The partition's operators' commands (``hw.op.<n>``, ``province.commands``) are read with
its feeds, in stream order, and carried out where they stand among the events.

A message must follow the one before it in its feed (``Hw-Prev``, ``province.wire``);
one that repeats what was applied is skipped, a jump is counted as lost seqs and logged
(neither can happen while gateways fence each other; this is the reader's own check).

Checkpoints are taken between two batches, so the state and the stream position always
agree, and put into the object store in the background: every ``checkpoint_every_s`` of
wall time while something new was applied (the cost they bound — the replay a takeover
does — is wall time; hall time stands still at night and races through a backlog), once
a service day has turned for the partition's halls (hall time: every hall on the new
day, or an hour of it gone), and as the partition is given up cleanly.

With ``[outbound] alertmanager`` every Alertmanager peer reads the partition's
transitions from the alerts stream while the partition runs here (``province.alertmanager``:
what the dead owner had not posted is posted by the next), and the shard re-sends the
partition's open alerts to every peer (``alerts.outbound``): from the moment it has caught
up — a takeover's restored alerts included — until it gives the partition up.

Imports: alerts (model, outbound), feeds (source, hallclock), runtime (build, config,
pipeline), province (alertmanager, checkpoint, cluster, commands, reader, wire), nats,
structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import date

import msgspec
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.object_store import ObjectStore

from alerts.model import Change
from alerts.outbound import Outbound
from feeds.hallclock import day_ordinal, day_start_ms
from feeds.source import Batch, FeedStatus
from province import alertbook, checkpoint
from province.alertmanager import notify_peers
from province.checkpoint import FORMAT, FeedPlace, Head
from province.commands import PartitionCommands
from province.outbox import Outbox
from province.reader import StreamReader
from province.wire import Mark, decode, feed_of, ops_subject, partition_filter, rejections
from runtime.pipeline import Pipeline
from runtime.snapshot import code_digest

log = structlog.get_logger("hallwatch.partition")


class StreamedFeed:
    """A feed whose batches come through its partition (``Partition.batches``): it is
    in the pipeline's ``sources`` for its status, and yields nothing itself."""

    def __init__(self, name: str, subject: str) -> None:
        self.status = FeedStatus(name=name, url=f"nats:{subject}", feed_id=name)
        self.epoch = 0
        self.halls: set[str] = set()

    async def batches(self) -> AsyncIterator[Batch]:
        return
        yield  # (an async generator that ends at once)


class Partition:
    """One partition's pipeline, fed from the stream."""

    def __init__(
        self,
        number: int,
        pipeline: Callable[[], Pipeline],
        *,
        js: JetStreamContext,
        store: ObjectStore,
        partitions: int,
        config_digest: str,
        checkpoint_every_s: float = 600.0,
        outbound: Outbound | None = None,
    ) -> None:
        self.number = number
        self._fresh_pipeline = pipeline
        self.outbound = outbound
        """The shard's Alertmanager peers (``[outbound]``), or None."""
        self.resolutions = alertbook.Resolutions()
        """The alert book's memory of resolutions (its sink: a shard has no store)."""
        self.commands = PartitionCommands(number)
        """Operators' commands, read with the feeds (``province.commands``)."""
        self.pipeline = self._fresh()
        self.js = js
        self.store = store
        self.partitions = partitions
        self.config_digest = config_digest
        self.checkpoint_every_s = checkpoint_every_s
        self.feeds: dict[str, StreamedFeed] = {}
        self.status = FeedStatus(name="")
        """The status of the feed of the batch handed out last (``Pipeline.consume``
        counts the batch on it)."""
        self.applied = 0
        """Stream sequence of the last message applied (or skipped)."""
        self.restored_from: int | None = None
        """The stream sequence of the checkpoint restored, if any."""
        self.checkpoints = 0
        self._checkpointed = 0
        self._checkpoint_wall = time.monotonic()
        self._day = 0
        self._turned: int | None = None
        """A service day (ordinal) the halls have begun and no checkpoint has seen yet."""
        self._upload: asyncio.Task[bool] | None = None
        self._stopping = False
        self.caught_up = False
        """The replay is done: a message handed out was the last the stream had for the
        partition then, or the stream had nothing more for a moment."""
        self.on_caught_up: Callable[[int], None] | None = None
        """Called once, with the messages replayed, when ``caught_up`` turns true."""
        self._replayed = 0

    def _fresh(self) -> Pipeline:
        """A new pipeline for this partition, its alert book's sink ``resolutions``, its
        shift reports in ``handovers`` and its transitions into ``outbox``."""
        self.resolutions = alertbook.Resolutions()
        self.handovers = alertbook.Handovers()
        self.outbox = Outbox(self.number)
        pipeline = self._fresh_pipeline()
        pipeline.alerts.book.sink = self.resolutions
        pipeline.alerts.keep_handovers(self.handovers)
        pipeline.alerts.book.listeners.append(self.outbox.changed)
        pipeline.alerts.book.listeners.append(self._notify)
        return pipeline

    def _notify(self, change: Change) -> None:
        """The book's listener for Alertmanager: while the outbox emits (not during a
        replay from the stream's start), the open alerts the peers are re-sent follow
        every change; the change itself reaches them from the alerts stream
        (``province.alertmanager``)."""
        if self.outbound is not None and self.outbox.enabled:
            self.outbound.track(change)

    # --- taking over ----------------------------------------------------------------------

    async def restore(self) -> None:
        """Restore the latest usable checkpoint, if any (before ``run``)."""
        found = await checkpoint.load(self.store, self.number, self.partitions, self.config_digest)
        if found is None:
            log.info("partition_from_stream_start", partition=self.number)
            self.outbox.enabled = False  # until caught up (province.outbox)
            return
        head, state, book = found
        for name, place in head.feeds.items():
            feed = self._feed(name)
            feed.epoch = place.epoch
            feed.halls = set(place.halls)
            feed.status.last_seq = place.seq
            feed.status.halls = tuple(sorted(place.halls))
        try:
            unsent = alertbook.restore(self.pipeline.alerts.book, self.resolutions, book,
                                       self.handovers)  # fmt: skip
            ledger = self.pipeline.alerts.handovers
            assert ledger is not None  # (``_fresh``)
            ledger.refresh()
            self.pipeline.restore_state(state)
        except (ValueError, msgspec.DecodeError) as error:  # other rules, or damaged
            log.warning("checkpoint_skipped", partition=self.number, why=str(error))
            self.pipeline = self._fresh()
            self.feeds.clear()
            self.outbox.enabled = False
            return
        self.outbox.unsent.extend(unsent)
        self.applied = self._checkpointed = head.stream_seq
        self.restored_from = head.stream_seq
        self._day = max((h.day_ordinal for h in self.pipeline.state.halls.values()), default=0)
        log.info(
            "partition_restored",
            partition=self.number,
            stream_seq=head.stream_seq,
            halls=len(self.pipeline.state.halls),
            age_s=round(time.time() - head.saved_wall, 1),
        )

    async def run(self) -> None:
        """Ingest and publish until cancelled, or until ``stop`` has checkpointed."""
        tasks: list[asyncio.Task[None]] = []
        try:
            if self.outbound is not None:  # every peer reads the partition's transitions
                ready = asyncio.Event()
                cfg = self.outbound.cfg
                tasks.append(asyncio.create_task(notify_peers(self.js, self.number, cfg, ready)))
                await ready.wait()  # (before the outbox publishes: a new reader starts there)
            tasks.append(asyncio.create_task(self.pipeline.publisher()))
            alerts = asyncio.create_task(self.outbox.run(self.js))
            tasks.append(alerts)
            await self.pipeline.consume(self)
            alerts.cancel()
            await self.outbox.drain(self.js, 5.0)  # (what is left is in the checkpoint)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.outbound is not None:  # the next owner re-sends its open alerts
                self.outbound.forget(self.pipeline.alerts.book.open)

    def stop(self) -> None:
        """Ask ``run`` to checkpoint and end (within about half a second)."""
        self._stopping = True

    # --- the source ------------------------------------------------------------------------

    async def batches(self) -> AsyncIterator[Batch]:
        """The partition's messages from after ``applied``, as batches of their feeds."""
        subjects = [partition_filter(self.number), ops_subject(self.number)]
        reader = StreamReader(self.js, subjects, self.applied + 1)
        async with contextlib.aclosing(reader.batches(idle=True)) as messages:
            async for msgs in messages:
                for msg in msgs:
                    batch = self._batch(msg)
                    if batch is not None:
                        yield batch  # (Pipeline.consume applies it before asking again)
                    self.applied = msg.metadata.sequence.stream
                if not self.caught_up:  # nothing more for now, or the last one there was
                    self._replayed += len(msgs)
                    if not msgs or msgs[-1].metadata.num_pending == 0:
                        self.caught_up = True
                        if not self.outbox.enabled:  # replayed without a checkpoint
                            self.outbox.enabled = True
                            self.outbox.open_alerts(self.pipeline.alerts.book.open.values())
                        if self.outbound is not None:  # its open alerts are ours now
                            self.outbound.assert_open(self.pipeline.alerts.book.open.values())
                        if self.on_caught_up is not None:
                            self.on_caught_up(self._replayed)
                if self._stopping:
                    await self._final_checkpoint()
                    return
                self._checkpoint_if_due()

    def _feed(self, name: str) -> StreamedFeed:
        feed = self.feeds.get(name)
        if feed is None:
            subject = f"{partition_filter(self.number)[:-1]}{name}"
            feed = self.feeds[name] = StreamedFeed(name, subject)
            feed.status.connected = True
            feed.status.connects += 1  # one session: this run of the partition
            self.pipeline.sources.append(feed)
        return feed

    def _batch(self, msg: Msg) -> Batch | None:
        """One message as a batch of its feed, its status updated as a feed client does;
        None for a message that is not a feed's or repeats what was applied. An
        operator's command is carried out here, between the batches before and after it."""
        if msg.subject == ops_subject(self.number):
            self.commands.apply(self.pipeline, msg)
            return None
        try:
            mark = Mark.of(msg.headers)
            carried = decode(msg.data)
        except (ValueError, msgspec.DecodeError) as error:
            log.error("message_skipped", partition=self.number, subject=msg.subject,
                      error=str(error)[:200])  # fmt: skip
            return None
        feed = self._feed(feed_of(msg.subject))
        status = feed.status
        if mark.epoch < feed.epoch:
            return None  # an earlier run of the feed: applied before the restart
        if mark.epoch > feed.epoch:  # the hall feed's seqs restarted (a gateway counted it)
            status.seq_restarts += mark.epoch - feed.epoch
            feed.epoch = mark.epoch
            status.last_seq = 0
        lost = 0
        if mark.prev != status.last_seq:
            if mark.seq <= status.last_seq and mark.seq != mark.prev:
                return None  # already applied
            lost = max(0, mark.prev - status.last_seq)
            log.error("stream_discontinuity", feed=feed.status.name, expected=status.last_seq,
                      prev=mark.prev, seq=mark.seq)  # fmt: skip
        events = carried.events
        if events:
            halls = {ev.hall for ev in events}
            if not halls <= feed.halls:
                feed.halls |= halls
                status.halls = tuple(sorted(feed.halls))
            newest = day_ordinal(max(ev.ts for ev in events))
            if newest > self._day:
                if self._day:
                    self._turned = newest
                self._day = newest
        status.last_seq = mark.seq
        status.received(events, time.time())
        self.status = status
        return Batch(status.name, events, rejections(carried), carried.gaps + lost)

    # --- checkpoints -----------------------------------------------------------------------

    def _checkpoint_if_due(self) -> None:
        if self._upload is not None and not self._upload.done():
            return
        if self._turned is not None and self._day_turned(self._turned):
            self._turned = None
            self._checkpoint()
        elif (
            self.applied > self._checkpointed
            and time.monotonic() - self._checkpoint_wall >= self.checkpoint_every_s
        ):
            self._checkpoint()

    def _day_turned(self, day: int) -> bool:
        """Every hall is on ``day``, or an hour of it has gone by."""
        halls = self.pipeline.state.halls.values()
        if all(h.day_ordinal >= day for h in halls):
            return True
        clock = max((h.now_ms for h in halls), default=0)
        return clock >= day_start_ms(date.fromordinal(day)) + 3_600_000

    def _checkpoint(self) -> None:
        """Take a checkpoint now (between two batches) and save it in the background."""
        data = self.encode()
        self._checkpointed = self.applied
        self._checkpoint_wall = time.monotonic()
        self._upload = asyncio.create_task(self._save(data, self.applied))

    def encode(self) -> bytes:
        """The partition's checkpoint as it stands (call between two batches)."""
        places = {
            name: FeedPlace(f.epoch, f.status.last_seq, tuple(sorted(f.halls)))
            for name, f in self.feeds.items()
        }
        head = Head(
            format=FORMAT,
            partition=self.number,
            partitions=self.partitions,
            stream_seq=self.applied,
            code=code_digest(),
            config=self.config_digest,
            saved_wall=time.time(),
            feeds=places,
            parts=[],
        )
        book = alertbook.save(self.pipeline.alerts.book, self.resolutions, self.outbox.unsent,
                              self.handovers)  # fmt: skip
        return checkpoint.encode(head, self.pipeline.checkpoint_state(), book)

    async def _save(self, data: bytes, stream_seq: int) -> bool:
        started = time.monotonic()
        saved = await checkpoint.save(self.store, self.number, data)
        if saved:
            self.checkpoints += 1
            log.info("checkpoint_saved", partition=self.number, stream_seq=stream_seq,
                     bytes=len(data), seconds=round(time.monotonic() - started, 3))  # fmt: skip
        return saved

    async def _final_checkpoint(self) -> None:
        if self._upload is not None and not self._upload.done():
            await self._upload
        if self.applied > self._checkpointed:
            self._checkpoint()
            assert self._upload is not None
            await self._upload
