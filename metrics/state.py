"""The hall state engine: events in, frozen snapshots out. Pure: no I/O, no wall clock.

Per hall, fixed-size numpy arrays hold the zone and window figures (zones and windows are
registered on first sight, capped per hall so labels stay bounded) and growable columns
hold the day's tickets, waits and finished services. The per-event Python work is the
unavoidable part (ticket ids are strings); counters and histograms are collected per
batch and applied with one ``np.add.at`` each. Every rule runs on the hall clock: the
newest ``ts`` seen from the hall, heartbeats included (contract.md, "Time").

Imports: feeds.protocol, feeds.decode (Rejection), metrics.*, numpy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import numpy as np

from feeds.decode import Rejection
from feeds.hallclock import day_ordinal
from feeds.protocol import (
    ABANDON_REASONS,
    SERVICE_OUTCOMES,
    WINDOW_STATES,
    CaseAccepted,
    CaseClosed,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintClosed,
    Event,
    Heartbeat,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketAbandoned,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from metrics.columns import Column, Registry
from metrics.snapshot import SERVICE_BUCKETS, WAIT_BUCKETS, HallSnapshot
from metrics.workdays import WorkCalendar

# Ticket states. A ticket is in exactly one of them.
WAITING: Final = 0  # issued or transferred back, not yet called
CALLED: Final = 1  # called to a window, service not started (walking)
SERVING: Final = 2
DONE: Final = 3  # service finished (any outcome but transferred)
ABANDONED: Final = 4
TICKET_STATES: Final = ("waiting", "called", "serving", "done", "abandoned")

MAX_ZONES: Final = 64
MAX_WINDOWS: Final = 256
OVERFLOW: Final = "(other)"
"""Label for zones/windows beyond the per-hall cap."""

_OUTCOME = {name: i for i, name in enumerate(SERVICE_OUTCOMES)}
_TRANSFERRED: Final = _OUTCOME["transferred"]
_REASON = {name: i for i, name in enumerate(ABANDON_REASONS)}
_WSTATE = {name: i for i, name in enumerate(WINDOW_STATES)}
_CLOSED: Final = _WSTATE["closed"]
_OPEN: Final = _WSTATE["open"]
_WAIT_BOUNDS = np.asarray(WAIT_BUCKETS)
_SERVICE_BOUNDS = np.asarray(SERVICE_BUCKETS)


@dataclass(frozen=True, slots=True)
class Settings:
    """Hall-state settings (thresholds live with the alert rules)."""

    deemed_accept_minutes: int = 10
    """A case not accepted within this many minutes counts as accepted (Anqiu rule)."""
    calendar: WorkCalendar = field(default_factory=WorkCalendar)


@dataclass(frozen=True, slots=True)
class Departure:
    """A ticket left the queue (called, started, abandoned): rule input for waits."""

    hall: str
    ticket: str
    zone: str
    queued_ms: int
    left_ms: int


@dataclass(frozen=True, slots=True)
class ComplaintChange:
    hall: str
    complaint: str
    ts: int
    opened: bool
    channel: str | None = None
    window: str | None = None


@dataclass(slots=True)
class ApplyResult:
    """What one batch did: rejections with reasons, and the changes rules care about."""

    applied: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    departures: list[Departure] = field(default_factory=list)
    complaints: list[ComplaintChange] = field(default_factory=list)
    halls: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Case:
    item: str
    dept: str
    promised_days: int
    submitted_ms: int
    accepted_ms: int | None = None
    paused_since: int | None = None
    paused_ms: int = 0


class HallState:
    """Live state of one hall. Mutated only by ``CityState.apply``."""

    def __init__(self, hall: str, settings: Settings) -> None:
        self.hall = hall
        self.settings = settings
        self.now_ms = 0
        self.day: str = ""
        self.day_ordinal = 0
        self.version = 0
        self.zones = Registry(MAX_ZONES, OVERFLOW)
        self.windows = Registry(MAX_WINDOWS, OVERFLOW)
        nz, nw = MAX_ZONES, MAX_WINDOWS
        i8 = np.int64
        # Cumulative (Prometheus counters).
        self.z_issued = np.zeros(nz, i8)
        self.z_abandoned = np.zeros((nz, len(ABANDON_REASONS)), i8)
        self.z_wait_buckets = np.zeros((nz, len(WAIT_BUCKETS) + 1), i8)
        self.z_wait_sum = np.zeros(nz)
        self.w_services = np.zeros((nw, len(SERVICE_OUTCOMES)), i8)
        self.w_service_buckets = np.zeros((nw, len(SERVICE_BUCKETS) + 1), i8)
        self.w_service_sum = np.zeros(nw)
        self.w_ratings = np.zeros((nw, 5), i8)
        # Current.
        self.z_waiting = np.zeros(nz, i8)
        self.w_state = np.full(nw, _CLOSED, np.int8)
        self.w_state_since = np.zeros(nw, i8)
        self.w_zones = np.zeros((nw, nz), bool)
        self.w_staff: list[str | None] = [None] * nw
        self.w_ticket: list[str | None] = [None] * nw
        self.w_ticket_since = np.zeros(nw, i8)
        self.complaints: dict[str, tuple[int, str, str | None]] = {}
        self.cases: dict[str, _Case] = {}
        self._new_day(0)

    # --- day -----------------------------------------------------------------------------

    def _new_day(self, ordinal: int) -> None:
        """Start a service day: the day's tickets and figures start empty."""
        self.day_ordinal = ordinal
        self.day = date.fromordinal(ordinal).isoformat() if ordinal else ""
        self.ticket_rows: dict[str, int] = {}
        self.t_ids: list[str] = []
        self.t_state = Column(np.int8)
        self.t_zone = Column(np.int32)
        self.t_priority = Column(np.bool_)
        self.t_issued = Column(np.int64)
        self.t_queued = Column(np.int64)
        self.t_first_call = Column(np.int64)
        self.t_window = Column(np.int32)
        self.t_start = Column(np.int64)
        # The day's observations, for percentiles and rolling counts at snapshot time.
        self.d_wait_zone = Column(np.int32)
        self.d_wait_ms = Column(np.int64)
        self.d_fin_ts = Column(np.int64)
        self.d_fin_window = Column(np.int32)
        self.d_fin_outcome = Column(np.int8)
        self.d_fin_service_ms = Column(np.int64)
        self.d_abandon_zone = Column(np.int32)
        self.z_waiting[:] = 0
        self.w_zones[:] = False
        self.w_ticket = [None] * MAX_WINDOWS

    def advance_clock(self, ts: int) -> None:
        if ts > self.now_ms:
            ordinal = day_ordinal(ts)
            if ordinal != self.day_ordinal:
                self._new_day(ordinal)
            self.now_ms = ts

    # --- snapshot ------------------------------------------------------------------------

    def snapshot(self) -> HallSnapshot:
        from metrics.view import build_snapshot  # the read side lives in its own module

        return build_snapshot(self)


class CityState:
    """Every hall's state; routes each event to its hall. Not thread-safe: one writer."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.halls: dict[str, HallState] = {}
        self._snapshots: dict[str, HallSnapshot] = {}
        self._handlers: dict[type, Callable[[HallState, Any, _Pending], str | None]] = {
            TicketIssued: _ticket_issued,
            TicketCalled: _ticket_called,
            ServiceStarted: _service_started,
            ServiceFinished: _service_finished,
            TicketAbandoned: _ticket_abandoned,
            WindowState: _window_state,
            Rating: _rating,
            Complaint: _complaint,
            ComplaintClosed: _complaint_closed,
            CaseSubmitted: _case_submitted,
            CaseAccepted: _case_accepted,
            CasePaused: _case_paused,
            CaseResumed: _case_resumed,
            CaseClosed: _case_closed,
            Heartbeat: _heartbeat,
        }

    def hall(self, hall: str) -> HallState:
        state = self.halls.get(hall)
        if state is None:
            state = self.halls[hall] = HallState(hall, self.settings)
        return state

    def apply(self, events: Iterable[Event]) -> ApplyResult:
        """Apply a batch in order. A rejected event changes nothing; the rest apply."""
        result = ApplyResult()
        pending: dict[str, _Pending] = {}
        handlers = self._handlers
        for ev in events:
            hall = self.halls.get(ev.hall) or self.hall(ev.hall)
            hall.advance_clock(ev.ts)
            p = pending.get(ev.hall)
            if p is None:
                p = pending[ev.hall] = _Pending(result)
            reason = handlers[type(ev)](hall, ev, p)
            if reason is None:
                result.applied += 1
                hall.version += 1
            else:
                result.rejections.append(Rejection(reason, type(ev).__name__, None, ev.seq))
        for name, p in pending.items():
            p.flush(self.halls[name])
            result.halls.add(name)
        return result

    def snapshot(self, hall: str) -> HallSnapshot:
        """A frozen snapshot of one hall, rebuilt only when the hall changed."""
        state = self.halls[hall]
        cached = self._snapshots.get(hall)
        if cached is not None and cached.version == state.version and cached.now_ms == state.now_ms:
            return cached
        snap = self._snapshots[hall] = state.snapshot()
        return snap

    def snapshots(self) -> dict[str, HallSnapshot]:
        return {name: self.snapshot(name) for name in sorted(self.halls)}


class _Pending:
    """Per-batch, per-hall observations, applied to the arrays once at the end."""

    __slots__ = ("fin", "result", "waits")

    def __init__(self, result: ApplyResult) -> None:
        self.result = result
        self.waits: list[tuple[int, int]] = []  # (zone, wait ms)
        self.fin: list[tuple[int, int, int, int]] = []  # (ts, window, outcome, service ms)

    def flush(self, h: HallState) -> None:
        if self.waits:
            zone, wait_ms = np.asarray(self.waits, np.int64).T
            seconds = wait_ms / 1000.0
            np.add.at(h.z_wait_buckets, (zone, np.searchsorted(_WAIT_BOUNDS, seconds)), 1)
            np.add.at(h.z_wait_sum, zone, seconds)
            h.d_wait_zone.extend(zone)
            h.d_wait_ms.extend(wait_ms)
        if self.fin:
            ts, window, outcome, service_ms = np.asarray(self.fin, np.int64).T
            np.add.at(h.w_services, (window, outcome), 1)
            known = service_ms >= 0
            seconds = service_ms[known] / 1000.0
            win = window[known]
            np.add.at(h.w_service_buckets, (win, np.searchsorted(_SERVICE_BOUNDS, seconds)), 1)
            np.add.at(h.w_service_sum, win, seconds)
            h.d_fin_ts.extend(ts)
            h.d_fin_window.extend(window)
            h.d_fin_outcome.extend(outcome)
            h.d_fin_service_ms.extend(service_ms)


# --- event handlers: return None when applied, else the rejection reason ----------------


def _leave_queue(h: HallState, row: int, ts: int, p: _Pending) -> None:
    """The ticket at ``row`` leaves WAITING (called, started or abandoned)."""
    zone = int(h.t_zone[row])
    h.z_waiting[zone] -= 1
    p.result.departures.append(
        Departure(h.hall, h.t_ids[row], h.zones.names[zone], int(h.t_queued[row]), ts)
    )


def _release(h: HallState, row: int, ts: int) -> None:
    """The ticket at ``row`` leaves the window it was at (if that window still shows it)."""
    window = int(h.t_window[row])
    if window >= 0 and h.w_ticket[window] == h.t_ids[row]:
        h.w_ticket[window] = None
        h.w_ticket_since[window] = ts


def _called(h: HallState, row: int, window: int, ts: int, p: _Pending) -> None:
    """The ticket is called to (or starts at) ``window``: it leaves the queue or the
    window it was at before."""
    if h.t_state[row] == WAITING:
        _leave_queue(h, row, ts, p)
    if h.t_first_call[row] < 0:
        h.t_first_call[row] = ts
        p.waits.append((int(h.t_zone[row]), max(0, ts - int(h.t_issued[row]))))
    elif int(h.t_window[row]) != window:
        _release(h, row, ts)
    h.t_window[row] = window
    h.w_zones[window, h.t_zone[row]] = True


def _ticket_issued(h: HallState, ev: TicketIssued, p: _Pending) -> str | None:
    if ev.ticket in h.ticket_rows:
        return "duplicate_ticket"
    zone = h.zones.index(ev.zone)
    h.ticket_rows[ev.ticket] = len(h.t_ids)
    h.t_ids.append(ev.ticket)
    h.t_state.append(WAITING)
    h.t_zone.append(zone)
    h.t_priority.append(ev.priority == "priority")
    h.t_issued.append(ev.ts)
    h.t_queued.append(ev.ts)
    h.t_first_call.append(-1)
    h.t_window.append(-1)
    h.t_start.append(-1)
    h.z_waiting[zone] += 1
    h.z_issued[zone] += 1
    return None


def _ticket_called(h: HallState, ev: TicketCalled, p: _Pending) -> str | None:
    row = h.ticket_rows.get(ev.ticket)
    if row is None:
        return "unknown_ticket"
    state = h.t_state[row]
    if state not in (WAITING, CALLED):
        return "bad_state"
    window = h.windows.index(ev.window)
    _called(h, row, window, ev.ts, p)
    h.t_state[row] = CALLED
    if h.w_ticket[window] != ev.ticket:
        h.w_ticket[window] = ev.ticket
        h.w_ticket_since[window] = ev.ts
    return None


def _service_started(h: HallState, ev: ServiceStarted, p: _Pending) -> str | None:
    row = h.ticket_rows.get(ev.ticket)
    if row is None:
        return "unknown_ticket"
    if h.t_state[row] not in (WAITING, CALLED):
        return "bad_state"
    window = h.windows.index(ev.window)
    _called(h, row, window, ev.ts, p)  # a start without a call is a call at the start
    h.t_state[row] = SERVING
    h.t_start[row] = ev.ts
    h.w_ticket[window] = ev.ticket
    h.w_ticket_since[window] = ev.ts
    if ev.staff is not None:
        h.w_staff[window] = ev.staff
    return None


def _service_finished(h: HallState, ev: ServiceFinished, p: _Pending) -> str | None:
    row = h.ticket_rows.get(ev.ticket)
    if row is None:
        return "unknown_ticket"
    state = h.t_state[row]
    if state not in (CALLED, SERVING):
        return "bad_state"
    window = h.windows.index(ev.window)
    outcome = _OUTCOME[ev.outcome]
    start = int(h.t_start[row])
    service_ms = max(0, ev.ts - start) if state == SERVING and start >= 0 else -1
    p.fin.append((ev.ts, window, outcome, service_ms))
    _release(h, row, ev.ts)
    if outcome == _TRANSFERRED:  # back to the queue, for another window
        h.t_state[row] = WAITING
        h.t_queued[row] = ev.ts
        h.t_start[row] = -1
        h.z_waiting[h.t_zone[row]] += 1
    else:
        h.t_state[row] = DONE
    return None


def _ticket_abandoned(h: HallState, ev: TicketAbandoned, p: _Pending) -> str | None:
    row = h.ticket_rows.get(ev.ticket)
    if row is None:
        return "unknown_ticket"
    state = h.t_state[row]
    if state not in (WAITING, CALLED):
        return "bad_state"
    if state == WAITING:
        _leave_queue(h, row, ev.ts, p)
    else:
        _release(h, row, ev.ts)
    zone = int(h.t_zone[row])
    h.t_state[row] = ABANDONED
    h.z_abandoned[zone, _REASON[ev.reason]] += 1
    h.d_abandon_zone.append(zone)
    return None


def _window_state(h: HallState, ev: WindowState, p: _Pending) -> str | None:
    window = h.windows.index(ev.window)
    state = _WSTATE[ev.state]
    if h.w_state[window] != state:
        h.w_state[window] = state
        h.w_state_since[window] = ev.ts
    if ev.staff is not None:
        h.w_staff[window] = ev.staff
    elif state == _CLOSED:
        h.w_staff[window] = None
    return None


def _rating(h: HallState, ev: Rating, p: _Pending) -> str | None:
    h.w_ratings[h.windows.index(ev.window), ev.score - 1] += 1
    return None


def _complaint(h: HallState, ev: Complaint, p: _Pending) -> str | None:
    if ev.complaint in h.complaints:
        return None  # the same complaint again through another channel: one complaint
    h.complaints[ev.complaint] = (ev.ts, ev.channel, ev.window)
    p.result.complaints.append(
        ComplaintChange(h.hall, ev.complaint, ev.ts, True, ev.channel, ev.window)
    )
    return None


def _complaint_closed(h: HallState, ev: ComplaintClosed, p: _Pending) -> str | None:
    if h.complaints.pop(ev.complaint, None) is None:
        return "unknown_complaint"
    p.result.complaints.append(ComplaintChange(h.hall, ev.complaint, ev.ts, False))
    return None


def _case_submitted(h: HallState, ev: CaseSubmitted, p: _Pending) -> str | None:
    if ev.case not in h.cases:
        h.cases[ev.case] = _Case(ev.item, ev.dept, ev.promised_days, ev.ts)
    return None


def _case(h: HallState, case: str) -> _Case | None:
    return h.cases.get(case)


def _case_accepted(h: HallState, ev: CaseAccepted, p: _Pending) -> str | None:
    case = _case(h, ev.case)
    if case is None:
        return "unknown_case"
    if case.accepted_ms is None:
        case.accepted_ms = ev.ts
    return None


def _case_paused(h: HallState, ev: CasePaused, p: _Pending) -> str | None:
    case = _case(h, ev.case)
    if case is None:
        return "unknown_case"
    if case.paused_since is None:
        case.paused_since = ev.ts
    return None


def _case_resumed(h: HallState, ev: CaseResumed, p: _Pending) -> str | None:
    case = _case(h, ev.case)
    if case is None:
        return "unknown_case"
    if case.paused_since is not None:
        case.paused_ms += max(0, ev.ts - case.paused_since)
        case.paused_since = None
    return None


def _case_closed(h: HallState, ev: CaseClosed, p: _Pending) -> str | None:
    if h.cases.pop(ev.case, None) is None:
        return "unknown_case"
    return None


def _heartbeat(h: HallState, ev: Heartbeat, p: _Pending) -> str | None:
    return None
