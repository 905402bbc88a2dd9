"""Frozen snapshots of hall state: what readers (console, /metrics, alerts) see.

A snapshot is built from the live state at one moment and never changes afterwards; its
numpy arrays are copies marked read-only. Readers in other threads (the /metrics server)
may hold one as long as they like.

Imports: feeds.source (FeedSnapshot), numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt

from feeds.source import FeedSnapshot

#: Histogram bounds that fit hall times (seconds to hours), not the web defaults.
WAIT_BUCKETS: Final = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0,
                       5400.0, 7200.0, 10800.0)  # fmt: skip
SERVICE_BUCKETS: Final = (30.0, 60.0, 120.0, 180.0, 300.0, 450.0, 600.0, 900.0, 1200.0, 1800.0,
                          2700.0, 3600.0)  # fmt: skip

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class QueuedTicket:
    """A ticket waiting to be called (issued, or transferred back to the queue)."""

    ticket: str
    zone: str
    queued_ms: int
    """When it (last) entered the queue: issue, or transfer back."""
    issued_ms: int
    priority: bool


@dataclass(frozen=True, slots=True)
class ZoneSnapshot:
    name: str
    waiting: int
    priority_waiting: int
    issued_today: int
    served_today: int
    abandoned_today: int
    mean_wait_s: float | None
    """Mean of issue-to-first-call waits today; None before the first call."""
    p90_wait_s: float | None
    longest_wait_s: float
    """Wait of the oldest ticket waiting now (0 when none)."""
    windows_open: int
    """Open windows that have called a ticket of this zone today."""


@dataclass(frozen=True, slots=True)
class WindowSnapshot:
    name: str
    state: str
    """open | paused | closed"""
    state_since_ms: int
    staff: str | None
    ticket: str | None
    """The ticket called to or being served at the window."""
    serving: bool
    ticket_since_ms: int
    services_today: int
    services_last_hour: int
    mean_service_s: float | None
    zones: tuple[str, ...]
    """Zones whose tickets this window has called today."""


@dataclass(frozen=True, slots=True)
class Counters:
    """Cumulative counters since start (Prometheus counters never go back)."""

    zones: tuple[str, ...]
    windows: tuple[str, ...]
    issued: IntArray  # [zone]
    abandoned: IntArray  # [zone, reason]
    wait_buckets: IntArray  # [zone, bucket(+Inf last)], non-cumulative
    wait_sum: FloatArray  # [zone]
    services: IntArray  # [window, outcome]
    service_buckets: IntArray  # [window, bucket]
    service_sum: FloatArray  # [window]
    ratings: IntArray  # [window, score-1]
    window_state: IntArray  # [window] index into WINDOW_STATES


@dataclass(frozen=True, slots=True)
class CaseView:
    case: str
    item: str
    dept: str
    promised_days: int
    submitted_ms: int
    accepted_ms: int
    """Actual acceptance, or submission + the deemed-acceptance minutes."""
    deemed: bool
    """Accepted by the 10-minute rule, not by the back office."""
    paused: bool
    deadline_ms: int
    card: str
    """none | yellow | red"""


@dataclass(frozen=True, slots=True)
class ComplaintView:
    complaint: str
    received_ms: int
    channel: str
    window: str | None


@dataclass(frozen=True, slots=True)
class HallSnapshot:
    """One hall at one hall-clock moment."""

    hall: str
    now_ms: int
    day: str
    """Service day, ISO date in hall local time."""
    waiting: int
    served_today: int
    """service_finished today with an outcome other than ``transferred``."""
    issued_today: int
    mean_wait_s: float | None
    p90_wait_s: float | None
    longest_wait_s: float
    windows_open: int
    windows_total: int
    tickets_by_state: Mapping[str, int]
    zones: tuple[ZoneSnapshot, ...]
    windows: tuple[WindowSnapshot, ...]
    queue: tuple[QueuedTicket, ...]
    complaints: tuple[ComplaintView, ...]
    cases: tuple[CaseView, ...]
    counters: Counters
    version: int
    """Bumped by every applied event; equal versions mean equal content."""

    @property
    def complaints_open(self) -> int:
        return len(self.complaints)

    def cases_by_card(self) -> dict[str, int]:
        out = {"none": 0, "yellow": 0, "red": 0}
        for case in self.cases:
            out[case.card] += 1
        return out


@dataclass(frozen=True, slots=True)
class CitySnapshot:
    """Every hall and feed, plus active-alert counts, at one moment. What /metrics reads."""

    halls: Mapping[str, HallSnapshot]
    feeds: tuple[FeedSnapshot, ...]
    alerts_active: Mapping[tuple[str, str, str], int] = field(default_factory=dict)
    """(hall, rule, severity) → number of firing alerts."""


_A = TypeVar("_A", bound="np.ndarray[Any, Any]")


def frozen(array: _A) -> _A:
    """A read-only copy of ``array``."""
    out = array.copy()
    out.flags.writeable = False
    return out
