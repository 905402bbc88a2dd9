"""Days of the stream as journal files: ``hallwatch archive`` and ``report --nats``.

The stream keeps a message for its ``max_age`` (docs/scale.md); ``replay`` and ``report``
read journal files (``feeds.journal``). The archiver turns a day of the stream into the
files a local ``serve`` writes: ``<data dir>/journal/<feed>/<day>.jsonl.gz``, one per
feed, through the journal's own writer (so the heartbeats are thinned, and the last hall
clock kept, exactly as ``serve`` does), compressed as ``serve`` leaves a finished day.
``report --nats`` reads the stream the same way into a temporary folder and reports from
it, so a day's report from the stream and from its archive are one and the same.

**Finding a day.** A feed's subject holds its messages in feed order; hall time only
moves forward in it (but for a clock that steps back a little). The day's first message
is found by bisecting the stream sequence (``get_msg`` with ``next_by_subj``: the first
message of the subject at or after a sequence), comparing each probe's hall time with the
day's start; the day is read from the message before it, which the check below needs,
until a message lies wholly on a later day (the day is **closed** for that feed) or the
subject has nothing more (not closed: ``archive`` leaves it, ``report`` takes what there
is).

**Checking it.** Each message must follow the one before in its feed (``Hw-Prev`` is
the previous message's ``Hw-Seq``, or 0 when the hall feed's seqs restarted: a new
``Hw-Epoch``), and its events' seqs must lie in its range, increasing. A break is a
``StreamBreak`` naming the feed, the stream sequence and the seqs: nothing of that
feed-day is written.

Imports: feeds (hallclock, journal, protocol), province (cluster, reader, wire), nats,
msgspec, structlog, the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec
import nats.js.errors
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from feeds.hallclock import day_ordinal
from feeds.journal import Journal, compress, safe_name
from feeds.protocol import Event
from province.cluster import REQUEST_TIMEOUT_S, connect, retrying
from province.reader import StreamReader
from province.wire import STREAM, SUBJECTS, Mark, decode, feed_of

log = structlog.get_logger("hallwatch.archive")

#: Feeds read at once.
PARALLEL: Final = 8


class StreamBreak(Exception):
    """A feed's messages do not follow each other: the stream lost or repeated some."""


@dataclass(slots=True)
class FeedDay:
    """One feed's events of one service day, read from the stream."""

    feed: str
    day: dt.date
    events: list[Event] = field(default_factory=list)
    """The day's events (heartbeats too), in stream order, every run of the feed."""
    messages: int = 0
    """Messages that carried events of the day."""
    first_stream_seq: int = 0
    last_stream_seq: int = 0
    closed: bool = False
    """The feed's stream has gone on to a later day."""


def _span(carried_events: list[Event]) -> tuple[int, int] | None:
    """The service days (ordinals) a message's events fall on, or None without events."""
    if not carried_events:
        return None
    days = [day_ordinal(ev.ts) for ev in carried_events]
    return min(days), max(days)


def _span_of(msg: api.RawStreamMsg) -> tuple[int, int] | None:
    """``_span`` of a stored message (None too when it is not a feed's: the reading
    names it, ``_checked``)."""
    try:
        return _span(decode(msg.data or b"").events)
    except msgspec.DecodeError:
        return None


async def feeds_in_stream(js: JetStreamContext) -> dict[str, str]:
    """Feed → subject, for every feed the stream holds messages of."""
    info = await retrying("stream", lambda: js.stream_info(STREAM, subjects_filter=SUBJECTS))
    return {feed_of(s): s for s in sorted(info.state.subjects or {})}


async def _next(js: JetStreamContext, subject: str, seq: int) -> api.RawStreamMsg | None:
    """The subject's first message at or after stream sequence ``seq``, or None."""

    async def attempt() -> api.RawStreamMsg | None:
        try:
            return await js.get_msg(STREAM, seq=seq, subject=subject, next=True)
        except nats.js.errors.NotFoundError:
            return None

    return await retrying("stream", attempt)


async def _last(js: JetStreamContext, subject: str) -> api.RawStreamMsg:
    """The subject's last message (the subject has one: the stream listed it)."""
    return await retrying("stream", lambda: js.get_last_msg(STREAM, subject))


async def _first_of_day(
    js: JetStreamContext, subject: str, day: int
) -> tuple[api.RawStreamMsg | None, api.RawStreamMsg | None]:
    """The subject's first message with an event on ``day`` or later (a message without
    events goes with the next one that has some), and the message just before it (None
    when the stream holds none); (None, None) when no message reaches ``day``."""
    info = await retrying("stream", lambda: js.stream_info(STREAM))
    first, last = max(1, info.state.first_seq), info.state.last_seq
    lo, hi = first, last + 1
    while lo < hi:  # the smallest seq whose next message reaches ``day``
        mid = (lo + hi) // 2
        probe = await _next(js, subject, mid)
        while probe is not None:
            span = _span_of(probe)
            if span is not None:
                break
            probe = await _next(js, subject, (probe.seq or 0) + 1)
        if probe is None or span is None or span[1] >= day:
            hi = mid
        else:
            lo = mid + 1
    start = await _next(js, subject, lo) if lo <= last else None
    if start is None:
        return None, None
    # The next message at lo - 1 reaches an earlier day, so it is the one at lo - 1.
    before = await _next(js, subject, lo - 1) if lo > first else None
    return start, before


async def read_feed_day(js: JetStreamContext, subject: str, day: dt.date) -> FeedDay:
    """The events of ``day`` on ``subject``, checked message by message.

    Raises:
        StreamBreak: a message does not follow the one before it.
    """
    out = FeedDay(feed_of(subject), day)
    ordinal = day.toordinal()
    start, before = await _first_of_day(js, subject, ordinal)
    if start is None:
        return out
    end = (await _last(js, subject)).seq or 0
    last = Mark.of(before.headers) if before is not None else None
    reader = StreamReader(js, subject, start.seq or 0)
    async with contextlib.aclosing(reader.batches(idle=True)) as batches:
        async for msgs in batches:
            for msg in msgs:
                mark, events = _checked(out.feed, msg, last)
                last = mark
                span = _span(events)
                if span is not None and span[0] > ordinal:
                    out.closed = True
                    return out
                mine = [ev for ev in events if day_ordinal(ev.ts) == ordinal]
                if mine:
                    out.events += mine
                    out.messages += 1
                    seq = msg.metadata.sequence.stream
                    out.first_stream_seq = out.first_stream_seq or seq
                    out.last_stream_seq = seq
            if reader.last >= end:
                return out
    return out


def _checked(feed: str, msg: Msg, last: Mark | None) -> tuple[Mark, list[Event]]:
    """The message's mark and events, once they follow ``last`` (the message before).

    Raises:
        StreamBreak: they do not.
    """
    seq = msg.metadata.sequence.stream
    try:
        mark = Mark.of(msg.headers)
        events = decode(msg.data).events
    except (ValueError, msgspec.DecodeError) as error:
        raise StreamBreak(f"feed {feed}: stream seq {seq}: not a feed message ({error})") from None
    if last is None:
        follows = mark.prev == 0
        after = "nothing (the stream no longer holds what came before it)"
    elif mark.epoch == last.epoch:
        follows = mark.prev == last.seq
        after = f"feed seq {last.seq} of run {last.epoch}"
    else:
        follows = mark.epoch > last.epoch and mark.prev == 0
        after = f"run {last.epoch} (feed seq {last.seq})"
    if not follows:
        raise StreamBreak(f"feed {feed}: stream seq {seq} (run {mark.epoch}, feed seqs "
                          f"{mark.prev + 1}-{mark.seq}) comes after {after}")  # fmt: skip
    low = mark.prev
    for ev in events:
        if ev.seq is None:
            continue
        if not low < ev.seq <= mark.seq:
            raise StreamBreak(f"feed {feed}: stream seq {seq}: event seq {ev.seq} outside "
                              f"{mark.prev + 1}-{mark.seq}, or not after {low}")  # fmt: skip
        low = ev.seq
    return mark, events


async def read_day(
    js: JetStreamContext, day: dt.date, feeds: Iterable[str] | None = None
) -> list[FeedDay]:
    """Every feed's (or ``feeds``') events of ``day``, feeds read a few at a time.

    Raises:
        StreamBreak: a feed's messages do not follow each other.
    """
    subjects = await feeds_in_stream(js)
    wanted = [subjects[f] for f in (feeds if feeds is not None else subjects) if f in subjects]
    gate = asyncio.Semaphore(PARALLEL)

    async def one(subject: str) -> FeedDay:
        async with gate:
            return await read_feed_day(js, subject, day)

    return list(await asyncio.gather(*(one(s) for s in wanted)))


async def days_in_stream(js: JetStreamContext) -> list[dt.date]:
    """The service days the stream holds events of, oldest first (from each feed's first
    and last message)."""
    days: set[int] = set()
    for subject in (await feeds_in_stream(js)).values():
        first = await _next(js, subject, 1)
        last = await _last(js, subject)
        spans = [_span_of(m) for m in (first, last) if m is not None]
        known = [s for s in spans if s is not None]
        if known:
            days.update(range(min(s[0] for s in known), max(s[1] for s in known) + 1))
    return [dt.date.fromordinal(d) for d in sorted(days)]


def write_feed_day(journal: Path, feed_day: FeedDay, *, staging: Path) -> Path | None:
    """Write ``feed_day`` as ``serve`` would have (``feeds.journal.Journal``), compressed,
    into ``journal/<feed>/``; the file written, or None when the feed had nothing that
    day. The files are made in ``staging`` (on the same filesystem, outside ``journal``)
    and moved in whole, so a reader never sees half a day."""
    if not feed_day.events:
        return None
    staged = staging / safe_name(feed_day.feed)
    shutil.rmtree(staged, ignore_errors=True)
    writer = Journal(staging)
    try:
        writer.append(feed_day.feed, feed_day.events)
    finally:
        writer.close()
    folder = journal / safe_name(feed_day.feed)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = None
    for path in sorted(staged.glob(f"{feed_day.day.isoformat()}*.jsonl")):
        archive = compress(path)
        target = folder / archive.name
        archive.replace(target)
        written = written or target
    shutil.rmtree(staged, ignore_errors=True)
    return written


def archived(journal: Path, feed: str, day: dt.date) -> list[Path]:
    """The files ``journal`` already holds of ``feed`` on ``day`` (archived, or written by
    a local ``serve``)."""
    folder = journal / safe_name(feed)
    return sorted(folder.glob(f"{day.isoformat()}*.jsonl*")) if folder.is_dir() else []


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one feed-day."""

    feed: str
    day: dt.date
    what: str
    """``archived``, ``already`` (the journal has the day), ``open`` (not closed: left
    out), ``empty`` (no event that day), ``broken`` (a ``StreamBreak``: left out)."""
    path: Path | None = None
    events: int = 0
    detail: str = ""

    def line(self) -> str:
        """One line for the terminal."""
        head = f"{self.day.isoformat()} {self.feed}: {self.what}"
        if self.what == "archived":
            return f"{head}, {self.events} events → {self.path}"
        return f"{head}: {self.detail}" if self.detail else head


async def archive_days(
    js: JetStreamContext,
    days: Iterable[dt.date],
    data_dir: Path,
    *,
    closed_only: bool = True,
) -> list[Outcome]:
    """Write every feed's ``days`` from the stream into ``data_dir/journal``, but the
    feed-days it already holds; with ``closed_only``, only the days a feed has gone past.
    A feed-day whose messages do not follow each other is left out (``broken``)."""
    journal = data_dir / "journal"
    staging = data_dir / ".archiving"
    subjects = await feeds_in_stream(js)
    gate = asyncio.Semaphore(PARALLEL)

    async def one(feed: str, day: dt.date) -> Outcome:
        have = archived(journal, feed, day)
        if have:
            return Outcome(feed, day, "already", detail=", ".join(p.name for p in have))
        async with gate:
            try:
                got = await read_feed_day(js, subjects[feed], day)
            except StreamBreak as error:
                return Outcome(feed, day, "broken", detail=str(error))
        if closed_only and not got.closed:
            return Outcome(feed, day, "open", detail="the feed has not gone past this day yet")
        path = write_feed_day(journal, got, staging=staging)
        if path is None:
            return Outcome(feed, day, "empty")
        log.info("archived", feed=feed, day=day.isoformat(), events=len(got.events),
                 stream_seqs=f"{got.first_stream_seq}-{got.last_stream_seq}")  # fmt: skip
        return Outcome(feed, day, "archived", path, len(got.events))

    try:
        return list(await asyncio.gather(*(one(f, d) for d in days for f in subjects)))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fetch(
    urls: list[str],
    days: list[dt.date] | None,
    data_dir: Path,
    *,
    closed_only: bool,
    credentials: tuple[str, str] | None = None,
) -> list[Outcome]:
    """``archive_days`` on a connection of its own, for a command. ``days`` None: every
    day the stream holds but its newest (the province's today). ``credentials``: (user,
    password) of ``--nats-auth-file``.

    Raises:
        ClusterError: no node answered.
    """
    user, password = credentials or (None, None)

    async def main() -> list[Outcome]:
        nc = await connect(urls, "hallwatch-archive", wait_s=10.0, user=user, password=password)
        try:
            js = nc.jetstream(timeout=REQUEST_TIMEOUT_S)
            wanted = days if days is not None else (await days_in_stream(js))[:-1]
            return await archive_days(js, wanted, data_dir, closed_only=closed_only)
        finally:
            await nc.close()

    return asyncio.run(main())
