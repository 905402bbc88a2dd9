"""The hall state engine: events in, frozen snapshots out. Pure: no I/O, no wall clock.

``CityState`` routes each event to its hall (``metrics.hall.HallState``) and its handler
(``metrics.handlers``) and hands out cached frozen snapshots (``metrics.view``). The
names other packages use from the engine are re-exported here.

Imports: feeds.protocol, feeds.decode (Rejection), metrics.hall, metrics.handlers,
metrics.checkpoint, metrics.snapshot, metrics.view (the read side: snapshots are built
here, never by the hall itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from feeds.decode import Rejection
from feeds.protocol import Event
from metrics.checkpoint import checkpoint_stream, load_halls
from metrics.hall import (
    ABANDONED,
    CALLED,
    CLOCK_LATE_MS,
    CLOCK_LEAP_MS,
    DONE,
    FLUSH_AT,
    MAX_HALLS,
    MAX_STAFF,
    MAX_WINDOWS,
    MAX_ZONES,
    OVERFLOW,
    SERVING,
    TICKET_STATES,
    WAITING,
    ApplyResult,
    ClockChange,
    ComplaintChange,
    Departure,
    Edge,
    HallState,
    Settings,
    Ticket,
)
from metrics.handlers import HANDLERS
from metrics.snapshot import HallSnapshot
from metrics.view import build_snapshot

__all__ = [
    "ABANDONED",
    "CALLED",
    "CLOCK_LATE_MS",
    "CLOCK_LEAP_MS",
    "DONE",
    "MAX_HALLS",
    "MAX_STAFF",
    "MAX_WINDOWS",
    "MAX_ZONES",
    "OVERFLOW",
    "SERVING",
    "TICKET_STATES",
    "WAITING",
    "ApplyResult",
    "CityState",
    "ClockChange",
    "ComplaintChange",
    "Departure",
    "Edge",
    "HallSettings",
    "HallState",
    "Settings",
    "Ticket",
]


@dataclass(frozen=True, slots=True)
class HallSettings:
    """Each hall's settings: its own where the config gives it some, else the default
    (``runtime.config.Config.hall_settings`` builds it; a zone id means the same only
    within its hall)."""

    default: Settings = field(default_factory=Settings)
    """A hall without settings of its own: the defaults, never another hall's zones."""
    halls: Mapping[str, Settings] = field(default_factory=dict)
    """Hall id → its own settings."""
    max_halls: int = MAX_HALLS
    """Halls the state holds at most (``[limits] max_halls``): an event of one more is
    rejected as ``hall_limit``."""

    def of(self, hall: str) -> Settings:
        """The settings of ``hall``."""
        return self.halls.get(hall, self.default)


class CityState:
    """Every hall's state; routes each event to its hall. Not thread-safe: one writer.

    Args:
        settings: each hall's settings; one ``Settings`` serves every hall alike.
        record_forecasts: record each ticket's expected wait at its issue, for
            ``metrics.calibration`` (a report or a bench replaying days; serve does not:
            ~1 µs a ticket).
    """

    def __init__(
        self, settings: HallSettings | Settings | None = None, *, record_forecasts: bool = False
    ) -> None:
        if not isinstance(settings, HallSettings):
            settings = HallSettings(settings or Settings())
        self.settings = settings
        self.record_forecasts = record_forecasts
        """New halls record each ticket's expected wait at its issue (``HallState``)."""
        self.halls: dict[str, HallState] = {}
        self._snapshots: dict[str, HallSnapshot] = {}
        self._handlers = HANDLERS

    def hall(self, hall: str) -> HallState:
        state = self.halls.get(hall)
        if state is None:
            state = self.halls[hall] = HallState(hall, self.settings.of(hall))
            state.record_forecasts = self.record_forecasts
        return state

    def checkpoint(self) -> bytes:
        """Every hall's state as bytes that ``restore`` takes back: versioned, with a
        CRC-32, and loaded without running any code (``metrics.checkpoint``).

        Raises:
            metrics.codec.CheckpointError: a hall attribute (named) of a type the
                checkpoint does not know.
        """
        return b"".join(self.checkpoint_stream())

    def checkpoint_stream(self) -> Iterator[bytes]:
        """``checkpoint()`` one hall at a time, for a file to take without holding it
        all (the halls must not change until it is consumed)."""
        return checkpoint_stream(self.halls)

    def restore(self, data: bytes | memoryview) -> None:
        """Take the halls of a ``checkpoint()``, each under its settings here (a
        checkpoint is only used with the configuration it was made with). All or
        nothing: on an error the halls are as they were.

        Raises:
            metrics.codec.CheckpointError: (a ValueError) not a checkpoint of this
                version or of this code's halls, or damaged.
        """
        self.halls = load_halls(data, self.settings.of)
        self._snapshots.clear()

    def apply(self, events: Iterable[Event]) -> ApplyResult:
        """Apply a batch in order. A rejected event changes nothing; the rest apply."""
        result = ApplyResult()
        handlers = self._handlers
        touched = result.halls
        rejections = result.rejections
        name = None
        hall: HallState | None = None
        applied = beats = 0
        for ev in events:
            if ev.hall != name:
                found = self.halls.get(ev.hall)
                if found is None and len(self.halls) >= self.settings.max_halls:
                    detail = f"hall {ev.hall[:64]!r} beyond the first {self.settings.max_halls}"
                    rejections.append(Rejection("hall_limit", detail, None, ev.seq))
                    continue
                name = ev.hall
                hall = found or self.hall(name)
                hall.out = result
                touched.add(name)
            assert hall is not None
            ts = ev.ts
            now = hall.now_ms
            # The common cases in two comparisons: the clock moves on within its day, or
            # an event a little behind it. Leaps, the day's end, late events and a hall
            # coming back in step go to clock_step (docs/protocol-notes.md, "Hall clock").
            if ts > now:
                if ts < hall.day_end_ms and ts - now < CLOCK_LEAP_MS and hall.late_since is None:
                    hall.now_ms = ts
                else:
                    hall.clock_step(ts, result)
            elif hall.late_since is not None or now - ts >= CLOCK_LATE_MS:
                hall.clock_step(ts, result)
            reason = handlers[type(ev)](hall, ev, result)
            if reason is None:
                applied += 1
                if ev.seq is None:
                    beats += 1
            else:
                rejections.append(Rejection(reason, type(ev).__name__, None, ev.seq))
        result.applied = applied
        result.heartbeats = beats
        for touched_name in touched:
            h = self.halls[touched_name]
            h.version += 1  # something of the batch reached it (snapshots are rebuilt)
            if h.buffered > FLUSH_AT:
                h.flush()
        return result

    def snapshot(self, hall: str) -> HallSnapshot:
        """A frozen snapshot of one hall, rebuilt only when the hall changed."""
        state = self.halls[hall]
        cached = self._snapshots.get(hall)
        if cached is not None and cached.version == state.version and cached.now_ms == state.now_ms:
            return cached
        state.flush()  # readers see every applied event
        snap = self._snapshots[hall] = build_snapshot(state)
        return snap

    def snapshots(self) -> dict[str, HallSnapshot]:
        return {name: self.snapshot(name) for name in sorted(self.halls)}
