"""One hall's live state: tickets, per-zone FIFO queues, numpy counters and day columns.

Per hall, fixed-size numpy arrays hold the zone and window figures (zones, windows and
staff are registered on first sight, capped per hall so labels stay bounded) and growable
columns hold the day's tickets, waits, services, walks, ratings and queue changes. The
per-event Python work is the unavoidable part (ticket ids are strings); counters,
histograms and day columns are filled per batch in ``flush()``. Every rule runs on the
hall clock: the newest ``ts`` seen from the hall, heartbeats included (docs/protocol.md,
"Hall time"). Mutated only by the handlers in ``metrics.handlers``, through
``metrics.state.CityState``.

Imports: feeds.protocol (enumerations), feeds.hallclock, feeds.decode (Rejection),
metrics.columns, metrics.figures (the forecast), metrics.snapshot, metrics.workdays,
msgspec, numpy.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt

from feeds.decode import Rejection
from feeds.hallclock import day_ordinal, day_start_ms
from feeds.protocol import (
    ABANDON_REASONS,
    SERVICE_OUTCOMES,
    WINDOW_STATES,
    Rating,
)
from metrics.case_clock import CLOSES_MS, SPECIAL_PROCEDURES
from metrics.columns import Column, Registry
from metrics.figures import IDLE_GRACE_MS, MIN_CYCLES, expected_wait
from metrics.snapshot import COMPLAINT_ANSWER_BUCKETS, SERVICE_BUCKETS, WAIT_BUCKETS, CaseView
from metrics.workdays import WorkCalendar

# Ticket states. A ticket is in exactly one of them.
WAITING: Final = 0  # issued or transferred back, not yet called
CALLED: Final = 1  # called to a window, service not started (walking)
SERVING: Final = 2
DONE: Final = 3  # service finished (any outcome but transferred)
ABANDONED: Final = 4
TICKET_STATES: Final = ("waiting", "called", "serving", "done", "abandoned")

MAX_HALLS: Final = 1000
"""Halls per console: a province's halls fit; a feed inventing hall ids cannot grow the
state (~100 kB a hall) and the /metrics labels without bound."""
MAX_ZONES: Final = 64
MAX_WINDOWS: Final = 256
MAX_STAFF: Final = 1024
OVERFLOW: Final = "(other)"
"""Label for zones/windows beyond the per-hall cap."""

# Dense indices of the protocol's enumerations, as the numpy columns hold them.
OUTCOME_INDEX: Final = {name: i for i, name in enumerate(SERVICE_OUTCOMES)}
TRANSFERRED: Final = OUTCOME_INDEX["transferred"]
REASON_INDEX: Final = {name: i for i, name in enumerate(ABANDON_REASONS)}
WINDOW_STATE_INDEX: Final = {name: i for i, name in enumerate(WINDOW_STATES)}
WINDOW_CLOSED: Final = WINDOW_STATE_INDEX["closed"]
WINDOW_OPEN: Final = WINDOW_STATE_INDEX["open"]
_WAIT_BOUNDS = np.asarray(WAIT_BUCKETS)
_SERVICE_BOUNDS = np.asarray(SERVICE_BUCKETS)
_ANSWER_BOUNDS = COMPLAINT_ANSWER_BUCKETS


@dataclass(frozen=True, slots=True)
class Settings:
    """Hall-state settings (thresholds live with the alert rules)."""

    deemed_accept_minutes: int = 10
    """A case not accepted within this many minutes counts as accepted (Anqiu rule)."""
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    wait_limit_s: float = 1800.0
    """A zone's waiting limit (config ``[thresholds] wait_limit_minutes``): the service
    level is the share of waits within it, and the windows-needed target wait."""
    zone_wait_limits: Mapping[str, float] = field(default_factory=dict)
    """Zone id → its own waiting limit in seconds (config ``halls.*.zones.*``)."""
    target_service_level: float = 0.9
    """Windows needed: the share of tickets to call within the zone's limit."""
    case_pauses: Mapping[str, int] = field(default_factory=lambda: dict(SPECIAL_PROCEDURES))
    """The special procedures that stop a case's clock, each with its limit in working
    days (config ``[rules.case_pauses]``; ``metrics.case_clock``)."""
    legal_days: Mapping[str, int] = field(default_factory=dict)
    """Item id → its legal time limit in working days (法定办结时限, config
    ``[halls.H.items.I] legal_days``), for cases whose feed does not send ``legal_days``."""
    closes_ms: int = CLOSES_MS
    """The hall's closing time, ms after local midnight (config ``[halls.H] closes``,
    else ``[rules.complaints] settle_by``): a same-day case (0 promised days) is yellow
    from it (``metrics.case_clock.same_day_yellow``)."""

    def wait_limit(self, zone: str) -> float:
        """The waiting limit of ``zone`` in seconds."""
        return self.zone_wait_limits.get(zone, self.wait_limit_s)


Departure = tuple[str, str, str, int, int]
"""A ticket left the queue (called, started, abandoned): (hall, ticket, zone, queued ms,
left ms). Rule input for waits.

The transitions of ``ApplyResult`` are plain tuples, not NamedTuples: a NamedTuple is
built by a Python-level ``__new__`` (~0.4 µs), a tuple in C (~40 ns), and a batch makes
one or two of them per event. Rules unpack them."""


@dataclass(frozen=True, slots=True)
class ComplaintChange:
    """A complaint received (``opened``) or settled: rule input for complaint alerts."""

    hall: str
    complaint: str
    ts: int
    opened: bool
    channel: str | None = None
    window: str | None = None
    category: str | None = None
    """What the complaint is about, as the feed says (``added_materials`` …)."""


#: An event this far behind its hall's clock is late: the feed's clock went back, or
#: jumped ahead and came back (docs/protocol-notes.md, "Hall clock").
CLOCK_LATE_MS: Final = 5 * 60_000
#: The hall clock moving on this far in one step is a leap. A live feed never leaps: it
#: sends a heartbeat at least every 5 s (docs/protocol.md); after a reconnect it may.
CLOCK_LEAP_MS: Final = 3_600_000


@dataclass(frozen=True, slots=True)
class ClockChange:
    """A hall's events fell behind its clock (``behind_ms`` > 0), or came back in step
    (``behind_ms`` == 0): rule input for the clock alert."""

    hall: str
    at_ms: int
    """The hall clock then."""
    behind_ms: int
    leap: tuple[int, int] | None
    """The hall's last leap (from, to ms), if any: a clock that jumped ahead earlier."""


Edge = tuple[str, str, int, bool]
"""A condition of the hall began or ended: (hall, scope, at ms, begins). A window idle
while its zones wait (scope: the window), a zone with people waiting and no open window
serving it (scope: the zone). Rule input for the staffing alerts."""


Service = tuple[str, str, str, int, str | None, bool]
"""A service began (with its item) or a service_finished applied: (hall, window, ticket,
at ms, item or None, begins). Rule input for service overtime."""


WindowChange = tuple[str, str, str, int, str | None]
"""A window_state event applied (its state may be the one the window had): (hall,
window, state, at ms, reason)."""


CaseChange = tuple[str, str, int, str]
"""A case event applied: (hall, case, at ms, what), ``what`` one of submitted,
accepted, paused, resumed, closed."""


CasePause = tuple[str, str, int, int | None, str]
"""A case's pause began (end None) or ended (resumed, or the case closed while paused):
(hall, case, start ms, end ms or None, reason). Rule input for special procedures."""


MaterialsChange = tuple[str, str, int, str, str, str | None]
"""A case was asked for materials or conditions beyond its item's list: (hall, case, at
ms, change, the case's department, what was asked for). Rule input for added materials."""


Visit = tuple[str, str, str, str, int, str | None]
"""A person's visit for an item: (hall, ticket, person, item, at ms, outcome). A new
visit has outcome None (once per ticket, when both person and item are known); its end
has the outcome of a service_finished (not transferred)."""


PersonTickets = tuple[str, int, int, list[str], str]
"""A person took a ticket: (hall, at ms, nth, tickets, person) — their ``nth`` of the
service day, the first ``nth`` of ``tickets`` (which may grow after), and their pseudonym
(a registered agent's tickets are no scalping)."""


OtherHolder = tuple[str, str, str, int]
"""A service started for a person other than the ticket's holder (both known): (hall,
ticket, window, at ms). Rule input for 盗号."""


@dataclass(slots=True)
class ApplyResult:
    """What one batch did: rejections with reasons, and the changes rules care about."""

    applied: int = 0
    """Events applied, heartbeats included (they move the hall clock)."""
    heartbeats: int = 0
    """Of ``applied``, the heartbeats: not events of the feed's seq stream."""
    rejections: list[Rejection] = field(default_factory=list)
    departures: list[Departure] = field(default_factory=list)
    complaints: list[ComplaintChange] = field(default_factory=list)
    clock: list[ClockChange] = field(default_factory=list)
    closed_cases: list[tuple[str, int, CaseView]] = field(default_factory=list)
    """(hall, closed ms, the case as it stood then): rule input for case deadlines."""
    idle: list[Edge] = field(default_factory=list)
    """Windows starting or ending an idle stretch while their zones wait (空岗)."""
    unattended: list[Edge] = field(default_factory=list)
    """Zones starting or ending a stretch of people waiting with no window for them."""
    services: list[Service] = field(default_factory=list)
    windows: list[WindowChange] = field(default_factory=list)
    cases: list[CaseChange] = field(default_factory=list)
    case_pauses: list[CasePause] = field(default_factory=list)
    materials: list[MaterialsChange] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)
    """Every rating applied, as it came."""
    visits: list[Visit] = field(default_factory=list)
    person_tickets: list[PersonTickets] = field(default_factory=list)
    other_holders: list[OtherHolder] = field(default_factory=list)
    halls: set[str] = field(default_factory=set)


@dataclass(slots=True)
class Case:
    item: str
    dept: str
    promised_days: int
    submitted_ms: int
    accepted_ms: int | None = None
    paused_since: int | None = None
    paused_reason: str | None = None
    """The reason of the pause going on (a listed special procedure, or not)."""
    pauses: list[tuple[int, int, str]] = field(default_factory=list)
    """Finished pauses (start, end, reason), oldest first: when a threshold was reached
    depends on which pauses began before it (``metrics.case_clock.reaches``)."""
    materials_changed: int = 0
    """``case_materials_changed`` events so far: materials or conditions added."""
    legal_days: int | None = None
    """The legal time limit (法定办结时限) as the feed sent it; None: the config's for the
    item, if any (``Settings.legal_days``)."""


class Ticket(msgspec.Struct, gc=False):
    """One ticket of the service day, touched per event (so no numpy here).

    A msgspec Struct untracked by the garbage collector (``gc=False``: it only holds
    ints, bools and a str, so it can be in no reference cycle): a busy day keeps ~100 k
    of them alive, which made every full collection scan them — pauses of 30-80 ms in
    the middle of ingest (bench/ui.py, loop stall). Also 3x cheaper to create.
    """

    id: str
    zone: int
    priority: bool
    issued: int
    queued: int
    """When it (last) entered the queue: issue, or transfer back."""
    first_call: int = -1
    called: int = -1
    """When it was called to its current window (a recall there does not reset it)."""
    window: int = -1
    start: int = -1
    state: int = WAITING
    person: str | None = None
    """The holder's pseudonym (never the raw value: it is replaced on decode)."""
    item: str | None = None
    """The item it came for: as issued, else as its first service started."""
    service_item: str | None = None
    """The item of its services: the latest one named, at issue or at a start."""


class HallState:
    """Live state of one hall. Mutated only by ``CityState.apply``.

    Per event, only Python work: the ticket record, the zone's FIFO queue (an insertion-
    ordered dict), and appends to small buffers. ``flush()`` moves the buffers into the
    numpy counters, histograms and day columns in a few vectorized calls; it runs before
    every snapshot, so readers always see every applied event.
    """

    def __init__(self, hall: str, settings: Settings) -> None:
        self.hall = hall
        self.settings = settings
        self.now_ms = 0
        self.late_events = 0
        """Events (heartbeats too) that came ``CLOCK_LATE_MS`` or more behind the clock."""
        self.clock_leaps = 0
        self.last_leap: tuple[int, int] | None = None
        self.late_since: int | None = None
        """The hall clock when its events fell behind it; None while they keep step."""
        self.day: str = ""
        self.day_ordinal = 0
        self.version = 0
        self.zones = Registry(MAX_ZONES, OVERFLOW)
        self.windows = Registry(MAX_WINDOWS, OVERFLOW)
        self.staff = Registry(MAX_STAFF, OVERFLOW)
        nz, nw = MAX_ZONES, MAX_WINDOWS
        i8 = np.int64
        # Cumulative since start (Prometheus counters never go back).
        self.z_issued = np.zeros(nz, i8)
        self.z_abandoned = np.zeros((nz, len(ABANDON_REASONS)), i8)
        self.z_wait_buckets = np.zeros((nz, len(WAIT_BUCKETS) + 1), i8)
        self.z_wait_sum = np.zeros(nz)
        self.w_services = np.zeros((nw, len(SERVICE_OUTCOMES)), i8)
        self.w_service_buckets = np.zeros((nw, len(SERVICE_BUCKETS) + 1), i8)
        self.w_service_sum = np.zeros(nw)
        self.w_ratings = np.zeros((nw, 5), i8)
        # Current state of the windows.
        self.w_state = np.full(nw, WINDOW_CLOSED, np.int8)
        self.w_state_since = np.zeros(nw, i8)
        self.open_windows: set[int] = set()
        """Windows whose state is ``open`` now."""
        self.w_staff: list[str | None] = [None] * nw
        self.w_staff_index = [-1] * nw
        """``staff`` registry index of ``w_staff`` (-1: nobody): read per event."""
        self.w_open_from = [-1] * nw
        """Start of the window's current open stretch counted today; -1 when not open."""
        self.w_open_until_done = [False] * nw
        """The window paused or closed in the middle of a service: its open stretch goes
        on until that service ends (the window is staffed), so utilization stays <= 1."""
        self.out = ApplyResult()
        """The result of the batch being applied: handlers report transitions into it
        (``CityState.apply`` sets it for each batch)."""
        self.complaints: dict[str, tuple[int, str, str | None, int | None]] = {}
        """Open complaints: id → (received ms, channel, window, first answer ms or None)."""
        self.c_answer_buckets = np.zeros(len(_ANSWER_BOUNDS) + 1, i8)
        """Complaints by time to their first answer (``complaint_answered``, else the
        settlement): non-cumulative buckets of ``COMPLAINT_ANSWER_BUCKETS``, +Inf last."""
        self.c_answer_sum = 0.0
        """Seconds to first answer, summed over those complaints."""
        self.cases: dict[str, Case] = {}
        self.case_views: dict[str, tuple[tuple[object, ...], CaseView]] = {}  # (figures, view)
        """Case id → (its figures, its view) at the last snapshot: an open case whose
        figures did not change keeps its view (the read side's memo)."""
        # Observations not yet flushed into numpy (zone, window, ... as dense indices).
        # Flat per-field lists: numpy converts a list of ints ~5x faster than of tuples.
        self.b_issued: list[int] = []  # zone
        self.b_issued_ts: list[int] = []
        self.record_forecasts = False
        """Record each ticket's expected wait at its issue (``d_issued_forecast``): for
        ``metrics.calibration`` over replayed days (``CityState(record_forecasts=True)``);
        off in serve, where a forecast at every issue would cost ~1 µs a ticket."""
        self.b_issued_forecast: list[float] = []
        """The zone's expected wait as it stood just before each ticket was issued (-1.0:
        none), while ``record_forecasts``: what the console showed for "a ticket issued
        now" at that moment, measured by ``metrics.calibration``."""
        self.b_wait: tuple[list[int], ...] = ([], [], [])  # zone, wait ms, first-call ts
        # ts, window, zone, outcome, service ms, staff
        self.b_fin: tuple[list[int], ...] = ([], [], [], [], [], [])
        self.b_abandon: tuple[list[int], ...] = ([], [], [])  # zone, reason, was called
        self.b_rating: tuple[list[int], ...] = ([], [], [])  # window, score - 1, staff
        self.b_walk: tuple[list[int], ...] = ([], [], [])  # window, staff, call-to-start ms
        self.b_queue: tuple[list[int], ...] = ([], [], [])  # ts, zone, +1 in / -1 out
        self._new_day(0)

    # --- day -----------------------------------------------------------------------------

    def _new_day(self, ordinal: int) -> None:
        """Start a service day: the day's tickets, queues and figures start empty."""
        self.flush()  # the old day's observations still count in the cumulative counters
        if self.day_ordinal:  # the old day ended at midnight: what was waiting is gone
            self._end_day_edges(day_start_ms(date.fromordinal(self.day_ordinal + 1)))
        self.day_ordinal = ordinal
        self.day_end_ms = day_start_ms(date.fromordinal(ordinal + 1)) if ordinal else 0
        """When this service day ends: the clock moving past it starts the next."""
        self.day = date.fromordinal(ordinal).isoformat() if ordinal else ""
        self.tickets: dict[str, Ticket] = {}
        self.person_tickets: dict[str, list[str]] = {}
        """Pseudonym → its tickets of the day, in order."""
        self.queues: list[dict[str, Ticket]] = [{} for _ in range(MAX_ZONES)]
        self.state_counts = [0] * len(TICKET_STATES)
        self.w_ticket: list[str | None] = [None] * MAX_WINDOWS
        self.w_ticket_since = [0] * MAX_WINDOWS
        self.w_zone_bits = [0] * MAX_WINDOWS
        """Bit z set: the window called a ticket of zone z today."""
        self.zone_windows: list[list[int]] = [[] for _ in range(MAX_ZONES)]
        """Per zone, the windows that called a ticket of it today (``w_zone_bits`` by
        zone), in the order they first did: the forecast reads a zone's few windows."""
        self.z_cycle_ms = [0] * MAX_ZONES
        """Per zone, time from a call to the window being free again (the service
        finished, or the no-show given up), summed over the calls that ended today."""
        self.z_cycles = [0] * MAX_ZONES
        """Per zone, the calls that ended today (``z_cycle_ms``'s count)."""
        self.waiting_bits = 0
        """Bit z set: zone z has people waiting now."""
        self.served_bits = 0
        """Bit z set: some window called a ticket of zone z today."""
        self.alone_bits = 0
        """Bit z set: zone z has people waiting and no open window serving it."""
        self.open_zone_bits = 0
        """Bit z set: an open window served zone z today (``open_windows_changed``)."""
        self.zone_states = [0] * (MAX_ZONES * len(TICKET_STATES))
        """Tickets per zone and state: index zone * 5 + state."""
        self.day_open_ms = -1
        """The day's first ticket or window opening (the day curves start there)."""
        start = day_start_ms(date.fromordinal(ordinal)) if ordinal else 0
        self.w_open_ms = [0] * MAX_WINDOWS
        """Open time today before the current open stretch."""
        self.w_open_from = [start if f >= 0 else -1 for f in self.w_open_from]
        self.free = {w for w, f in enumerate(self.w_open_from) if f >= 0}
        """Open windows with no ticket called or in service: only they can turn idle."""
        self.w_idle_ms = [0] * MAX_WINDOWS
        """Time today open, with no ticket, while a zone of the window had people waiting."""
        self.w_idle_from = [-1] * MAX_WINDOWS
        self.s_open_ms: dict[int, int] = {}
        """Staff index → open time today at any window, stretches ended so far."""
        self.s_idle_ms: dict[int, int] = {}
        """Staff index → idle-while-people-wait time today, stretches ended so far."""
        self.d_issued_ts = Column(np.int64)
        self.d_wait_ts = Column(np.int64)
        self.d_fin_staff = Column(np.int32)
        self.d_abandon_reason = Column(np.int8)
        self.d_abandon_called = Column(np.int8)
        self.d_rating_window = Column(np.int32)
        self.d_rating_score = Column(np.int8)
        self.d_rating_staff = Column(np.int32)
        self.d_walk_window = Column(np.int32)
        self.d_walk_staff = Column(np.int32)
        self.d_walk_ms = Column(np.int64)
        self.d_q_ts = Column(np.int64)
        self.d_q_zone = Column(np.int32)
        self.d_q_delta = Column(np.int8)
        self.d_issued_zone = Column(np.int32)
        self.d_issued_forecast = Column(np.float64)
        self.d_wait_zone = Column(np.int32)
        self.d_wait_ms = Column(np.int64)
        self.d_fin_ts = Column(np.int64)
        self.d_fin_window = Column(np.int32)
        self.d_fin_zone = Column(np.int32)
        self.d_fin_outcome = Column(np.int8)
        self.d_fin_service_ms = Column(np.int64)
        self.d_abandon_zone = Column(np.int32)

    def _end_day_edges(self, end_ms: int) -> None:
        """Idle and unattended stretches end with their day."""
        out, names = self.out, self.windows.names
        for w, since in enumerate(self.w_idle_from):
            if since >= 0:
                out.idle.append((self.hall, names[w], end_ms, False))
        bits, zones = self.alone_bits, self.zones.names
        while bits:
            low = bits & -bits
            out.unattended.append((self.hall, zones[low.bit_length() - 1], end_ms, False))
            bits ^= low

    def open_windows_changed(self, ts: int) -> None:
        """A window opened, or stopped being open: which zones open windows serve."""
        bits = 0
        zone_bits = self.w_zone_bits
        for w in self.open_windows:
            bits |= zone_bits[w]
        self.open_zone_bits = bits
        self.judge_unattended(ts)

    def judge_unattended(self, ts: int) -> None:
        """Re-judge which zones are unattended after a change of the queues, of the open
        windows or of the zones they serve. A zone is unattended when people wait in it
        and no open window has served it today; a zone no window served yet today counts
        as served by any open window (a comprehensive window may take it, 无差别受理)."""
        covered = self.open_zone_bits | (~self.served_bits if self.open_windows else 0)
        alone = self.waiting_bits & ~covered
        changed = alone ^ self.alone_bits
        if not changed:
            return
        self.alone_bits = alone
        out, zones = self.out.unattended, self.zones.names
        while changed:
            low = changed & -changed
            out.append((self.hall, zones[low.bit_length() - 1], ts, bool(alone & low)))
            changed ^= low

    def clock_step(self, ts: int, result: ApplyResult) -> None:
        """An event at ``ts`` (not ahead of the clock, or a leap, or back in step):
        count what is odd and report each change of state once (``ClockChange``)."""
        now = self.now_ms
        if ts > now:
            if now and ts - now >= CLOCK_LEAP_MS:
                self.clock_leaps += 1
                self.last_leap = (now, ts)
            self.advance_clock(ts)
            if self.late_since is not None:
                self.late_since = None
                result.clock.append(ClockChange(self.hall, ts, 0, self.last_leap))
        elif now - ts >= CLOCK_LATE_MS:
            self.late_events += 1
            if self.late_since is None:
                self.late_since = now
                result.clock.append(ClockChange(self.hall, now, now - ts, self.last_leap))
        elif self.late_since is not None:  # within the tolerance again: back in step
            self.late_since = None
            result.clock.append(ClockChange(self.hall, now, 0, self.last_leap))

    def advance_clock(self, ts: int) -> None:
        if ts > self.now_ms:
            ordinal = day_ordinal(ts)
            if ordinal != self.day_ordinal:
                self._new_day(ordinal)
            self.now_ms = ts

    def set_state(self, ticket: Ticket, state: int) -> None:
        counts = self.state_counts
        counts[ticket.state] -= 1
        counts[state] += 1
        by_zone = self.zone_states
        base = ticket.zone * 5
        by_zone[base + ticket.state] -= 1
        by_zone[base + state] += 1
        ticket.state = state

    def staff_index(self, window: int) -> int:
        """Dense index of the staff at ``window`` now; -1 when unknown."""
        return self.w_staff_index[window]

    def set_staff_name(self, window: int, name: str | None) -> None:
        """The one place that changes who is at a window (keeps the index in step)."""
        self.w_staff[window] = name
        self.w_staff_index[window] = -1 if name is None else self.staff.index(name)

    def complaint_answered(self, received_ms: int, at_ms: int) -> None:
        """A complaint's first answer (or its settlement, unanswered till then): counted
        in the time-to-first-answer histogram. Complaints are few: no buffering."""
        seconds = (at_ms - received_ms) / 1000 if at_ms > received_ms else 0.0
        self.c_answer_buckets[bisect_left(_ANSWER_BOUNDS, seconds)] += 1
        self.c_answer_sum += seconds

    def expected_wait(self, zone: int) -> float | None:
        """Forecast wait of a normal ticket of ``zone`` issued now (docs/figures.md):
        ``metrics.figures.expected_wait`` of the people waiting, the open windows that
        call the zone's tickets and the free ones among them, and the zone's mean cycle.

        The windows are the open ones that called a ticket of the zone today, but a free
        one idle while people of its zones wait for ``IDLE_GRACE_MS`` or more (it is not
        calling). The cycle counts the calls in progress too, for the time they have
        taken so far (the total time on test over the calls ended: the first calls to
        end are the short ones); None before ``MIN_CYCLES`` calls of the zone ended.
        Reads only the zone's few windows: a snapshot asks it for every zone, a state
        recording forecasts at every ticket issued.
        """
        ended = self.z_cycles[zone]
        if ended < MIN_CYCLES:
            return None
        now = self.now_ms
        busy_ms = self.z_cycle_ms[zone]
        windows = free = 0
        w_ticket, tickets, opened = self.w_ticket, self.tickets, self.open_windows
        for w in self.zone_windows[zone]:
            ticket = w_ticket[w]
            if ticket is not None:
                held = tickets[ticket]
                if held.zone == zone and now > held.called:
                    busy_ms += now - held.called
                if w in opened:
                    windows += 1
            elif w in opened:
                idle_from = self.w_idle_from[w]
                if idle_from < 0 or now - idle_from < IDLE_GRACE_MS:
                    windows += 1
                    free += 1
        return expected_wait(len(self.queues[zone]), windows, free, busy_ms / ended / 1000.0)

    # --- numpy side ----------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        return (len(self.b_queue[0]) + len(self.b_fin[0]) + len(self.b_rating[0])
                + len(self.b_walk[0]) + len(self.b_abandon[0]))  # fmt: skip

    def flush(self) -> None:
        """Apply buffered observations to the counters, histograms and day columns."""
        if self.b_issued:
            zone = np.asarray(self.b_issued, np.int64)
            self.z_issued += np.bincount(zone, minlength=MAX_ZONES)
            self.d_issued_zone.extend(zone)
            self.d_issued_ts.extend(np.asarray(self.b_issued_ts, np.int64))
            self.d_issued_forecast.extend(np.asarray(self.b_issued_forecast, np.float64))
            self.b_issued.clear()
            self.b_issued_ts.clear()
            self.b_issued_forecast.clear()
        if self.b_wait[0]:
            zone, wait_ms, call_ts = _take(self.b_wait)
            self.d_wait_ts.extend(call_ts)
            seconds = wait_ms / 1000.0
            np.add.at(self.z_wait_buckets, (zone, np.searchsorted(_WAIT_BOUNDS, seconds)), 1)
            np.add.at(self.z_wait_sum, zone, seconds)
            self.d_wait_zone.extend(zone)
            self.d_wait_ms.extend(wait_ms)
        if self.b_fin[0]:
            ts, window, zone, outcome, service_ms, staff = _take(self.b_fin)
            self.d_fin_staff.extend(staff)
            np.add.at(self.w_services, (window, outcome), 1)
            known = service_ms >= 0
            seconds = service_ms[known] / 1000.0
            win = window[known]
            np.add.at(self.w_service_buckets, (win, np.searchsorted(_SERVICE_BOUNDS, seconds)), 1)
            np.add.at(self.w_service_sum, win, seconds)
            self.d_fin_ts.extend(ts)
            self.d_fin_window.extend(window)
            self.d_fin_zone.extend(zone)
            self.d_fin_outcome.extend(outcome)
            self.d_fin_service_ms.extend(service_ms)
        if self.b_abandon[0]:
            zone, reason, called = _take(self.b_abandon)
            np.add.at(self.z_abandoned, (zone, reason), 1)
            self.d_abandon_zone.extend(zone)
            self.d_abandon_reason.extend(reason)
            self.d_abandon_called.extend(called)
        if self.b_rating[0]:
            window, score, staff = _take(self.b_rating)
            np.add.at(self.w_ratings, (window, score), 1)
            self.d_rating_window.extend(window)
            self.d_rating_score.extend(score)
            self.d_rating_staff.extend(staff)
        if self.b_walk[0]:
            window, staff, walk_ms = _take(self.b_walk)
            self.d_walk_window.extend(window)
            self.d_walk_staff.extend(staff)
            self.d_walk_ms.extend(walk_ms)
        if self.b_queue[0]:
            ts, zone, delta = _take(self.b_queue)
            self.d_q_ts.extend(ts)
            self.d_q_zone.extend(zone)
            self.d_q_delta.extend(delta)


def _take(columns: tuple[list[int], ...]) -> list[npt.NDArray[np.int64]]:
    """The buffered columns as int64 arrays; the buffers are emptied."""
    out = [np.asarray(c, np.int64) for c in columns]
    for c in columns:
        c.clear()
    return out


#: Flush a hall's buffers once they hold this many observations (bounds their memory).
FLUSH_AT: Final = 20_000
