"""Frozen snapshots of hall state: what readers (console, /metrics, alerts) see.

A snapshot is built from the live state at one moment and never changes afterwards; its
numpy arrays are copies marked read-only. Readers in other threads (the /metrics server)
may hold one as long as they like.

Imports: feeds.source (FeedSnapshot), metrics.storage (StoreHealth), numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt

from feeds.source import FeedSnapshot
from metrics.storage import StoreHealth

#: Histogram bounds that fit hall times (seconds to hours), not the web defaults.
WAIT_BUCKETS: Final = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0,
                       5400.0, 7200.0, 10800.0)  # fmt: skip
SERVICE_BUCKETS: Final = (30.0, 60.0, 120.0, 180.0, 300.0, 450.0, 600.0, 900.0, 1200.0, 1800.0,
                          2700.0, 3600.0)  # fmt: skip
#: A complaint's first answer: on the spot (现场处理答复, seed 002: minutes), within the
#: day (当日事当日毕: hours), or days later.
COMPLAINT_ANSWER_BUCKETS: Final = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0,
                                   28800.0, 86400.0, 259200.0, 604800.0)  # fmt: skip

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class QueuedTicket(msgspec.Struct, frozen=True, gc=False):
    """A ticket waiting to be called (issued, or transferred back to the queue)."""

    ticket: str
    zone: str
    queued_ms: int
    """When it (last) entered the queue: issue, or transfer back."""
    issued_ms: int
    priority: bool


#: The day curves' bin: 5 minutes.
CURVE_BIN_MS: Final = 300_000


class WaitStats(msgspec.Struct, frozen=True, gc=False):
    """Waits (issue to first call) of a set of tickets, in seconds; docs/figures.md.

    Percentiles use linear interpolation between order statistics (numpy's default).
    """

    count: int = 0
    mean_s: float | None = None
    p50_s: float | None = None
    p90_s: float | None = None
    p99_s: float | None = None
    service_level: float | None = None
    """Share of these waits within the zone's waiting limit (0..1)."""


class ZoneSnapshot(msgspec.Struct, frozen=True, gc=False):
    """One zone (板块) of a hall; every figure is defined in docs/figures.md."""

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
    oldest_ticket: str | None = None
    """The ticket waiting longest now (its wait is ``longest_wait_s``)."""
    called_not_started: int = 0
    """Tickets called to a window whose service has not started (walking to it)."""
    serving: int = 0
    arrivals_15m: int = 0
    """Tickets issued in the last 15 hall-clock minutes."""
    arrivals_60m: int = 0
    wait_limit_s: float = 1800.0
    """The zone's waiting limit (config), used by ``service_level`` and the target."""
    day: WaitStats = WaitStats()
    """Waits of tickets first called today."""
    hour: WaitStats = WaitStats()
    """Waits of tickets first called in the last hall-clock hour."""
    no_show_today: int = 0
    left_today: int = 0
    expired_today: int = 0
    no_show_rate: float | None = None
    """no_show / tickets whose wait ended today (first called or abandoned uncalled)."""
    abandonment_rate: float | None = None
    """(left + expired) / the same denominator."""
    mean_service_s: float | None = None
    """Mean service time of this zone's tickets finished today."""
    arrivals_per_hour: float | None = None
    """The arrival rate behind ``windows_needed`` (last hour, or the day's when thin)."""
    expected_wait_s: float | None = None
    """Forecast wait of a ticket issued now; None when no open window serves the zone."""
    windows_needed: int | None = None
    """Erlang C: open windows needed for the target; None without a service time."""
    curve_waiting: tuple[int, ...] = ()
    """People waiting at the end of each 5-minute bin since the day's opening."""
    curve_arrivals: tuple[int, ...] = ()
    """Tickets issued in each 5-minute bin since the day's opening."""


class WindowSnapshot(msgspec.Struct, frozen=True, gc=False):
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
    p90_service_s: float | None = None
    outcomes: Mapping[str, int] = msgspec.field(default_factory=dict)
    """service_finished today by outcome (done, to_backend, incomplete, rejected,
    transferred)."""
    open_s: float = 0.0
    """Time open today (state ``open``), on the hall clock."""
    serving_s: float = 0.0
    """Service time today (start to finish), the service in progress included."""
    utilization: float | None = None
    """serving_s / open_s; None before the window has been open."""
    idle_waiting_s: float = 0.0
    """Time open today with no ticket while a zone it served today had people waiting."""
    walks: int = 0
    walk_mean_s: float | None = None
    """Mean call-to-start time (walking to the window) today."""
    ratings_today: int = 0
    rating_mean: float | None = None
    bad_ratings_today: int = 0
    """Ratings of 1 or 2 today (差评)."""


class StaffSnapshot(msgspec.Struct, frozen=True, gc=False):
    """One member of staff's figures today, from the windows they worked at."""

    name: str
    window: str | None
    """The window they are at now (the latest window showing them), if any."""
    services_today: int
    services_last_hour: int
    mean_service_s: float | None
    p90_service_s: float | None
    outcomes: Mapping[str, int]
    walks: int
    walk_mean_s: float | None
    ratings_today: int
    rating_mean: float | None
    bad_ratings_today: int
    open_s: float = 0.0
    """Time today at a window while it was open."""
    serving_s: float = 0.0
    """Service time today, the service in progress included."""
    utilization: float | None = None
    """serving_s / open_s."""
    idle_waiting_s: float = 0.0
    """Time today at an open window with no ticket while its zones had people waiting."""


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
    complaint_answer_buckets: IntArray  # [bucket(+Inf last)], non-cumulative
    complaint_answer_sum: float
    """Seconds from complaint to first answer (or settlement, unanswered till then)."""


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
    paused_since: int | None = None
    """Start of the pause going on, if any."""
    pauses: tuple[tuple[int, int, int | None], ...] = ()
    """Finished pauses (start, end, the limit in working days of the listed procedure its
    reason named, or None: not on the list, the clock ran on), oldest first."""
    pause_reason: str | None = None
    """The reason of the pause going on, as the feed gave it."""
    procedure: str | None = None
    """The listed special procedure that reason names (``[rules.case_pauses]``); None for
    a reason not on the list: the case's clock runs on."""
    procedure_days: int | None = None
    """That procedure's limit in working days."""
    procedure_due_ms: int | None = None
    """When that limit runs out; past it the clock runs again (and the pause is carded)."""
    legal_days: int | None = None
    """The legal time limit in working days (法定办结时限): the feed's ``legal_days``, else
    the config's for the item; None: unknown, only the promise is watched."""
    legal_deadline_ms: int | None = None
    """When the legal limit runs out, counted like ``deadline_ms``; past it the card is red
    (and ``legal_deadline`` fires)."""


@dataclass(frozen=True, slots=True)
class ComplaintView:
    complaint: str
    received_ms: int
    channel: str
    window: str | None
    answered_ms: int | None = None
    """Its first ``complaint_answered`` (现场处理答复); None while unanswered."""


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
    staff: tuple[StaffSnapshot, ...] = ()
    day_waits: WaitStats = field(default_factory=WaitStats)
    """Every zone's waits today together (service level against each zone's limit)."""
    hour_waits: WaitStats = field(default_factory=WaitStats)
    called_not_started: int = 0
    arrivals_15m: int = 0
    arrivals_60m: int = 0
    no_show_rate: float | None = None
    abandonment_rate: float | None = None
    curve_start_ms: int = 0
    """Start of the zones' first curve bin (the day's opening, floored to 5 minutes)."""
    late_events: int = 0
    """Events that came 5 minutes or more behind the hall clock (since start)."""
    clock_leaps: int = 0
    """Times the hall clock moved on an hour or more in one step (since start)."""
    late_since: int | None = None
    """The hall clock when its events fell behind it; None while they keep step."""

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
    alerts_shed: Mapping[str, int] = field(default_factory=dict)
    """Hall → alerts closed unhandled because the hall was at its cap of open alerts."""
    storage: tuple[StoreHealth, ...] = ()
    """Each store of the data dir (journal, alert store, checkpoint): writable or not,
    failed writes by reason (``runtime.storage``). Empty without a data dir."""


_A = TypeVar("_A", bound="np.ndarray[Any, Any]")


def frozen(array: _A) -> _A:
    """A read-only copy of ``array``."""
    out = array.copy()
    out.flags.writeable = False
    return out
