"""The journal that falls behind and catches up: a write fails (the disk is full), ingest
goes on, and when writing works again the gap is filled from the feed itself.

Protocol v1 retains the day (docs/protocol.md, "Session"): a client may subscribe again
``since`` any seq. So nothing of a feed whose journal write failed is held in memory
while the disk stays full, however long: the keeper only remembers the newest seq made
durable (``Journal.last_seq``). To catch up (``catch_up``, from ``runtime.repair``, with
back-off) it notes the newest seq applied — the gap's end — and from then on holds the
live batches that arrive; it opens a second session on the feed (``again(since)``: a
``WebSocketFeed`` subscribing from the durable seq), journals what comes back up to the
gap's end WITHOUT applying it again (the state has it), then journals the held batches,
in order, and the feed is whole again. The journal stays in seq order; a restart after
it replays exactly what was applied.

A write that fails during the catch-up ends it: the held batches are dropped (they are
after the durable seq, so the next attempt fetches them too). A feed that cannot be
fetched again (an in-memory source, tests) has its batches held from the first failure
instead, and written in order when writing works. Heartbeats of the gap are not
journaled (the feed does not retain them, and the journal keeps few anyway): the hall
clocks they moved are in the events around them and in the feed's next heartbeats.

Imports: feeds (journal, protocol, source), runtime.storage, structlog, the standard
library.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

import structlog

from feeds.journal import Journal
from feeds.protocol import Event
from feeds.source import FeedSource
from runtime.storage import Storage

log = structlog.get_logger("hallwatch.journal")

#: A catch-up that hears nothing from the feed this long is given up (tried again later).
QUIET_S: Final = 30.0
#: The file a retry writes first, in the journal's folder, to see whether it takes writes.
PROBE: Final = ".write-probe"


@runtime_checkable
class Refetchable(Protocol):
    """A source that can open a second session on its feed from a given seq."""

    def again(self, since: int) -> FeedSource:
        """A new source on the same feed (same decoder, credentials), subscribing from
        ``since``; its status is its own."""
        ...


class _GapGone(Exception):
    """The feed no longer has the gap (its seqs restarted, or it forgot them)."""


@dataclass(slots=True)
class _Behind:
    """One feed whose journal is behind what was applied."""

    durable: int
    """The newest seq in the journal: the gap begins after it."""
    refetch: bool
    """The gap can be fetched again from the feed; else every batch is held."""
    holding: bool = False
    """Live batches are held (catching up, or a feed that cannot be fetched again)."""
    held: deque[list[Event]] = field(default_factory=deque)


class JournalKeeper:
    """``Journal.append`` for the pipeline, surviving a failed write (store ``journal``
    of ``storage``). ``source_of(feed)`` finds a feed's source, to fetch a gap again."""

    def __init__(
        self,
        journal: Journal,
        storage: Storage,
        source_of: Callable[[str], FeedSource | None],
    ) -> None:
        self.journal = journal
        self.storage = storage
        storage.add("journal", journal.root)
        self._source_of = source_of
        self.behind: dict[str, _Behind] = {}
        """Feeds whose journal lacks some of what was applied."""
        self._applied: dict[str, int] = {}
        """Per feed: the newest seq applied (the end of a gap)."""

    def whole(self) -> bool:
        """Every feed's journal holds everything applied (a snapshot may claim it)."""
        return not self.behind

    def append(self, feed: str, events: list[Event]) -> None:
        """Journal one applied batch; never raises. A failed write leaves the feed behind
        (``catch_up`` fills it in)."""
        last = next((ev.seq for ev in reversed(events) if ev.seq is not None), None)
        behind = self.behind.get(feed)
        if behind is None:
            try:
                self.journal.append(feed, events)
            except OSError as error:
                self._fell_behind(feed, events, error)
        elif behind.holding:
            behind.held.append(events)
        if last is not None:
            self._applied[feed] = last

    def _fell_behind(self, feed: str, events: list[Event], error: OSError) -> None:
        self.storage.failed("journal", error)
        first = next((ev.seq for ev in events if ev.seq is not None), None)
        durable = self.journal.last_seq(feed)
        if durable is None:  # nothing written here yet: what came before this batch
            durable = first - 1 if first is not None else self._applied.get(feed, 0)
        refetch = isinstance(self._source_of(feed), Refetchable)
        behind = self.behind[feed] = _Behind(durable, refetch, holding=not refetch)
        if not refetch:  # (not what a batch split at midnight already wrote)
            behind.held.append([e for e in events if e.seq is None or e.seq > durable])
        log.warning(
            "journal_behind",
            feed=feed,
            durable_seq=durable,
            then="fetched again from the feed" if refetch else "held in memory",
        )

    async def catch_up(self) -> bool:
        """Try to bring every feed's journal up to what was applied; True when whole
        (store ``journal`` ok again)."""
        for feed in list(self.behind):
            if not await self._catch_up(feed, self.behind[feed]):
                return False
        self.storage.recovered("journal")
        return True

    def _probe(self) -> bool:
        """Whether the journal's folder takes a write now (64 KiB, written and removed at
        once): a disk still full opens no second session on the feed."""
        probe = self.journal.root / PROBE
        try:
            self.journal.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, bytes(65536))
            finally:
                os.close(fd)
                probe.unlink(missing_ok=True)
        except OSError as error:
            self.storage.failed("journal", error)
            return False
        return True

    async def _catch_up(self, feed: str, behind: _Behind) -> bool:
        if behind.refetch and not behind.holding:
            if not self._probe():
                return False
            end = self._applied.get(feed, behind.durable)
            behind.holding = True  # from here on live batches wait behind the gap
            if end > behind.durable and not await self._fetch_gap(feed, behind, end):
                behind.holding = False
                behind.held.clear()  # after the durable seq: fetched again next time
                return False
        while behind.held:
            try:
                self.journal.append(feed, behind.held[0])
            except OSError as error:
                self.storage.failed("journal", error)
                if behind.refetch:
                    behind.durable = self.journal.last_seq(feed) or behind.durable
                    behind.holding = False
                    behind.held.clear()
                return False
            behind.held.popleft()
        del self.behind[feed]
        log.info("journal_caught_up", feed=feed, seq=self._applied.get(feed))
        return True

    async def _fetch_gap(self, feed: str, behind: _Behind, end: int) -> bool:
        """Journal seqs ``durable+1 .. end`` as the feed sends them again."""
        source = self._source_of(feed)
        assert isinstance(source, Refetchable)
        fetched = source.again(behind.durable)
        start = behind.durable
        loop = asyncio.get_running_loop()
        stream = fetched.batches()
        try:
            async with asyncio.timeout(QUIET_S) as quiet:
                async for batch in stream:
                    quiet.reschedule(loop.time() + QUIET_S)
                    if fetched.status.seq_restarts:
                        raise _GapGone
                    if batch.gaps:  # the feed forgot some: the rest is still worth having
                        log.error("journal_gap_lost", feed=feed, seqs=batch.gaps)
                    events = [e for e in batch.events if e.seq is not None and e.seq <= end]
                    if events:
                        self.journal.append(feed, events)
                        behind.durable = events[-1].seq or behind.durable
                    if fetched.status.last_seq >= end:
                        break
        except OSError as error:
            self.storage.failed("journal", error)
            behind.durable = self.journal.last_seq(feed) or behind.durable
            return False
        except TimeoutError:
            log.warning("journal_gap_not_fetched", feed=feed, since=behind.durable,
                        until=end, why=f"nothing from the feed in {QUIET_S:g} s")  # fmt: skip
            return False
        except _GapGone:
            # The feed no longer has these seqs: they stay out of the journal (the
            # figures have them; a restart from this journal would not).
            log.error("journal_gap_lost", feed=feed, since=behind.durable, until=end)
            return True
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:  # (the second session ends here)
                await close()
        log.info("journal_gap_filled", feed=feed, since=start, until=end)
        return True

    def close(self) -> None:
        """Close the journal (its final hall clocks); say what it lacks, if anything:
        a restart fetches it from the feed again (it resumes after the durable seq)."""
        for feed, behind in self.behind.items():
            log.warning(
                "journal_behind_at_stop",
                feed=feed,
                durable_seq=self.journal.last_seq(feed) or behind.durable,
                applied_seq=self._applied.get(feed),
            )
        try:
            self.journal.close()
        except OSError as error:
            self.storage.failed("journal", error)
