"""Feed sources: where decoded, seq-checked batches come from.

``FeedSource`` is the one small protocol the pipeline consumes (as httpx puts the network
behind ``BaseTransport``): a WebSocket feed, a replay and an in-memory list all yield the
same ``Batch`` objects. ``SeqGuard`` is the single place where seq rules live: duplicates
and stale seqs are dropped and counted, forward jumps are gaps.

Imports: feeds.protocol, feeds.decode.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from feeds.decode import Decoded, FrameDecoder, Rejection
from feeds.protocol import Event, Gap

PACE_WINDOW_S: Final = 5.0
"""A feed's pace is measured over at least this much wall time of receiving (a live feed
sends at least a heartbeat every 5 s)."""
FASTER_THAN_REAL: Final = 1.25
"""A hall clock running faster than this many hall seconds a wall second is no live
hall's (a live one keeps real time, or falls behind): the demo at ``--speed``, a replay,
a burst of catching up."""


def runs_ahead(pace: float | None) -> bool:
    """Whether a feed's measured ``pace`` is faster than real time; False unmeasured."""
    return pace is not None and pace > FASTER_THAN_REAL


@dataclass(slots=True)
class Batch:
    """One frame's worth of events, ready to apply: in seq order, no duplicates."""

    feed: str
    events: list[Event]
    rejections: list[Rejection] = field(default_factory=list)
    gaps: int = 0
    """Seqs known lost with this batch (forward jumps, or a server ``gap`` op)."""


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    """A frozen copy of a feed's status, for the console and /metrics."""

    name: str
    url: str
    connected: bool
    feed_id: str | None
    halls: tuple[str, ...]
    last_seq: int
    events_total: int
    rejected: tuple[tuple[str, int], ...]
    gaps_total: int
    connects: int
    last_error: str | None
    last_event_wall: float | None
    seq_restarts: int = 0
    """Times the feed's seqs started again below ours (a new run of the feed)."""
    newest_ts: int | None = None
    """The hall-clock ``ts`` (ms) of the newest event received (the last one)."""
    newest_wall: float | None = None
    """This machine's wall time (s since the epoch) when it was received."""
    pace: float | None = None
    """How fast the feed's hall clock runs: hall seconds per wall second over the last
    ``PACE_WINDOW_S`` or more of receiving (about 1 for a live hall, 60 for the demo at
    ``--speed 60``, thousands for a replay at ``max``); None until measured."""

    @property
    def live_lag_s(self) -> float | None:
        """The delivery lag where it means something: None while the feed's hall clock
        runs faster than real time (``runs_ahead``: the demo at ``--speed 60``, a replay),
        whose lag against this machine's clock only says how fast it plays (issue 13 saw
        ``-2h42``). A clock that keeps time or falls behind (a stalled feed) keeps it."""
        return None if runs_ahead(self.pace) else self.delivery_lag_s

    @property
    def delivery_lag_s(self) -> float | None:
        """How far behind real time the feed delivers: wall time at receipt minus the
        newest event's ``ts`` (negative for a hall clock running ahead; large for a replay
        of an old day). None before any event. Feed health, so the wall clock is allowed
        here; hall-time rules never use it (docs/protocol.md, "Hall time")."""
        if self.newest_ts is None or self.newest_wall is None:
            return None
        return self.newest_wall - self.newest_ts / 1000.0


@dataclass(slots=True)
class FeedStatus:
    """Live status of one feed, written by its source and by the pipeline (same thread)."""

    name: str
    url: str = ""
    connected: bool = False
    feed_id: str | None = None
    halls: tuple[str, ...] = ()
    last_seq: int = 0
    """The newest seq applied (or rejected: a rejected event is received, not lost)."""
    events_total: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    gaps_total: int = 0
    connects: int = 0
    last_error: str | None = None
    last_event_wall: float | None = None
    seq_restarts: int = 0
    newest_ts: int | None = None
    """The ``ts`` (ms, hall clock) of the newest event received (the last one)."""
    newest_wall: float | None = None
    """This machine's wall time when it was received (``time.time()``)."""
    pace: float | None = None
    """Hall seconds per wall second over the last measured stretch (``FeedSnapshot.pace``)."""
    pace_from: tuple[int, float] | None = None
    """Where the stretch being measured began: (newest ts, wall time)."""

    def received(self, events: Sequence[Event], wall: float) -> None:
        """A frame's kept events (heartbeats included) arrived at ``wall``. Its last
        event is the newest (events come in seq order): its ``ts`` and ``wall`` make the
        delivery lag (``hall_feed_lag_seconds``), and every ``PACE_WINDOW_S`` of wall
        time the pace of the hall clock. O(1): this runs for every frame."""
        self.last_event_wall = wall
        if events:
            ts = events[-1].ts
            self.newest_ts = ts
            self.newest_wall = wall
            since = self.pace_from
            if since is None or ts < since[0]:  # the first frame, or a feed started over
                self.pace_from = (ts, wall)
            elif wall - since[1] >= PACE_WINDOW_S:
                self.pace = (ts - since[0]) / 1000.0 / (wall - since[1])
                self.pace_from = (ts, wall)

    def snapshot(self) -> FeedSnapshot:
        return FeedSnapshot(
            name=self.name,
            url=self.url,
            connected=self.connected,
            feed_id=self.feed_id,
            halls=self.halls,
            last_seq=self.last_seq,
            events_total=self.events_total,
            rejected=tuple(sorted(self.rejected.items())),
            gaps_total=self.gaps_total,
            connects=self.connects,
            last_error=self.last_error,
            last_event_wall=self.last_event_wall,
            seq_restarts=self.seq_restarts,
            newest_ts=self.newest_ts,
            newest_wall=self.newest_wall,
            pace=self.pace,
        )


class FeedSource(Protocol):
    """Anything that yields batches for one feed. ``status`` is updated as it goes."""

    status: FeedStatus

    def batches(self) -> AsyncIterator[Batch]:
        """Yield batches until the source ends (a replay) or forever (a live feed)."""
        ...


class SeqGuard:
    """Per-feed seq bookkeeping (docs/protocol.md, "Bad input"): drop what repeats, record
    what is lost."""

    __slots__ = ("last_seq",)

    def __init__(self, last_seq: int = 0) -> None:
        self.last_seq = last_seq

    def check(self, feed: str, decoded: Decoded) -> Batch:
        """Filter one decoded frame into a batch; updates ``last_seq``."""
        events = decoded.events
        if not decoded.rejections and events:
            # The usual frame: seqs last+1, last+2, ... with no heartbeat. One list
            # comparison in C instead of a Python step per event (same result).
            first = self.last_seq + 1
            if [ev.seq for ev in events] == list(range(first, first + len(events))):
                self.last_seq = first + len(events) - 1
                return Batch(feed, events)
        rejections = list(decoded.rejections)
        rejected_seqs = {r.seq for r in rejections if r.seq is not None}
        kept: list[Event] = []
        gaps = 0
        last = self.last_seq
        for ev in decoded.events:
            seq = ev.seq
            if seq is None:  # heartbeat: carries only the hall clock
                kept.append(ev)
                continue
            if seq <= last:
                rejections.append(Rejection("old_seq", f"seq {seq} <= {last}", None, seq))
                continue
            if seq > last + 1:
                gaps += _missing(last, seq, rejected_seqs)
            kept.append(ev)
            last = seq
        # Rejected events were received: they advance the seq without being a gap.
        top = max((s for s in rejected_seqs if s > last), default=None)
        if top is not None:
            gaps += _missing(last, top, rejected_seqs)
            last = top
        self.last_seq = last
        return Batch(feed, kept, rejections, gaps)

    def gap(self, feed: str, op: Gap) -> Batch:
        """A server ``gap`` op: seqs from..to are gone; record them and move past."""
        lost = max(0, op.to - max(op.from_, self.last_seq + 1) + 1)
        self.last_seq = max(self.last_seq, op.to)
        return Batch(feed, [], [], lost)


def _missing(last: int, seq: int, rejected: set[int]) -> int:
    """How many seqs strictly between ``last`` and ``seq`` never arrived at all."""
    n = seq - last - 1
    if rejected:
        n -= sum(1 for s in rejected if last < s < seq)
    return n


class MemorySource:
    """A feed from frames held in memory (tests, and the base of replays)."""

    def __init__(
        self, name: str, frames: Iterable[bytes | str], decoder: FrameDecoder, since: int = 0
    ) -> None:
        self.status = FeedStatus(name=name, url=f"memory:{name}", last_seq=since)
        self._frames = frames
        self._decoder = decoder
        self._guard = SeqGuard(since)

    async def batches(self) -> AsyncIterator[Batch]:
        self.status.connected = True
        self.status.connects += 1
        for frame in self._frames:
            decoded = self._decoder.decode(frame)
            if isinstance(decoded.op, Gap):
                yield self._guard.gap(self.status.name, decoded.op)
                continue
            batch = self._guard.check(self.status.name, decoded)
            self.status.last_seq = self._guard.last_seq
            self.status.received(batch.events, time.time())
            yield batch
        self.status.connected = False
