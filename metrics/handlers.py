"""Event handlers of the hall state: one function per event kind.

Each returns None when the event applied, else the rejection reason (docs/protocol-notes.md
lists them); a rejected event changes nothing. Besides the ticket's own state they keep
the time integrals that need every change: a window's open time and its idle time while
its zones have people waiting (docs/figures.md).

Imports: feeds.protocol, metrics.hall, metrics.cases (a closing case's view).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from feeds.protocol import (
    CaseAccepted,
    CaseClosed,
    CaseMaterialsChanged,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintAnswered,
    ComplaintClosed,
    Heartbeat,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketAbandoned,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from metrics.cases import case_view
from metrics.hall import (
    ABANDONED,
    CALLED,
    DONE,
    OUTCOME_INDEX,
    REASON_INDEX,
    SERVING,
    TRANSFERRED,
    WAITING,
    WINDOW_CLOSED,
    WINDOW_OPEN,
    WINDOW_STATE_INDEX,
    ApplyResult,
    Case,
    ComplaintChange,
    HallState,
    Ticket,
)

Handler = Callable[[HallState, Any, ApplyResult], "str | None"]

# --- event handlers: return None when applied, else the rejection reason ----------------


def _idle(h: HallState, window: int, ts: int) -> None:
    """Re-evaluate whether ``window`` is idle while its zones have people waiting (open,
    no ticket called or in service, a zone it served today has a queue) and integrate."""
    if h.w_open_from[window] >= 0 and h.w_ticket[window] is None:
        h.free.add(window)
        idle = h.w_zone_bits[window] & h.waiting_bits != 0
    else:
        h.free.discard(window)
        idle = False
    since = h.w_idle_from[window]
    if idle:
        if since < 0:
            h.w_idle_from[window] = ts
            h.out.idle.append((h.hall, h.windows.names[window], ts, True))
    elif since >= 0:
        elapsed = ts - since if ts > since else 0
        h.w_idle_ms[window] += elapsed
        _credit(h.s_idle_ms, h.staff_index(window), elapsed)
        h.w_idle_from[window] = -1
        h.out.idle.append((h.hall, h.windows.names[window], ts, False))


def _busy(h: HallState, window: int, ts: int) -> None:
    """``window`` just got a ticket (called or started): not free, so not idle."""
    h.free.discard(window)
    if h.w_idle_from[window] >= 0:
        _idle(h, window, ts)


def _credit(acc: dict[int, int], staff: int, elapsed: int) -> None:
    """Add a stretch of ``elapsed`` ms to ``staff``'s total (unknown staff: nobody)."""
    if staff >= 0 and elapsed > 0:
        acc[staff] = acc.get(staff, 0) + elapsed


def _set_staff(h: HallState, window: int, staff: str | None, ts: int) -> None:
    """A new person at ``window`` (shift, A/B post): the open and idle stretches so far
    are credited to the one leaving, and go on for the one arriving."""
    if h.w_staff[window] == staff:
        return
    leaving = h.staff_index(window)
    since = h.w_open_from[window]
    if since >= 0 and ts > since:
        h.w_open_ms[window] += ts - since
        _credit(h.s_open_ms, leaving, ts - since)
        h.w_open_from[window] = ts
    since = h.w_idle_from[window]
    if since >= 0 and ts > since:
        h.w_idle_ms[window] += ts - since
        _credit(h.s_idle_ms, leaving, ts - since)
        h.w_idle_from[window] = ts
    h.set_staff_name(window, staff)


def _zone_queue_changed(h: HallState, zone: int, ts: int) -> None:
    """Zone ``zone``'s queue went from empty to not empty or back: it may turn (or stop
    being) unattended, and free windows serving it start or stop being idle-while-waiting
    (busy ones cannot change). Inlined ``_idle``: this runs at every flip of a short
    queue, the hot path of a quiet hall."""
    h.judge_unattended(ts)
    if not h.free:
        return
    bit = 1 << zone
    bits, idle_from, waiting = h.w_zone_bits, h.w_idle_from, h.waiting_bits
    for w in h.free:
        if bits[w] & bit:
            if waiting & bit:  # people wait now: a free window of the zone is idle
                if idle_from[w] < 0:
                    idle_from[w] = ts
                    h.out.idle.append((h.hall, h.windows.names[w], ts, True))
            elif idle_from[w] >= 0 and not bits[w] & waiting:
                _idle(h, w, ts)  # its last waiting zone emptied: the stretch ends


def _enqueue(h: HallState, t: Ticket, ts: int) -> None:
    """The ticket enters its zone's queue (issued, or transferred back)."""
    zone = t.zone
    queue = h.queues[zone]
    queue[t.id] = t
    at, zones, delta = h.b_queue
    at.append(ts)
    zones.append(zone)
    delta.append(1)
    if len(queue) == 1:
        h.waiting_bits |= 1 << zone
        _zone_queue_changed(h, zone, ts)


def _leave_queue(h: HallState, t: Ticket, ts: int, r: ApplyResult) -> None:
    """The ticket leaves the queue (called, started or abandoned)."""
    zone = t.zone
    queue = h.queues[zone]
    del queue[t.id]
    r.departures.append((h.hall, t.id, h.zones.names[zone], t.queued, ts))
    at, zones, delta = h.b_queue
    at.append(ts)
    zones.append(zone)
    delta.append(-1)
    if not queue:
        h.waiting_bits &= ~(1 << zone)
        _zone_queue_changed(h, zone, ts)


def _end_open(h: HallState, window: int, ts: int) -> None:
    """The window's open stretch ends at ``ts``: its time goes to the window and staff."""
    since = h.w_open_from[window]
    if since >= 0:
        elapsed = ts - since if ts > since else 0
        h.w_open_ms[window] += elapsed
        _credit(h.s_open_ms, h.staff_index(window), elapsed)
        h.w_open_from[window] = -1
    h.w_open_until_done[window] = False


def _release(h: HallState, t: Ticket, ts: int) -> None:
    """The ticket leaves the window it was at (if that window still shows it): the call
    ended, and its time from call to free window counts in the zone's cycle."""
    window = t.window
    if window >= 0 and h.w_ticket[window] == t.id:
        zone = t.zone
        h.z_cycle_ms[zone] += ts - t.called if ts > t.called else 0
        h.z_cycles[zone] += 1
        h.w_ticket[window] = None
        h.w_ticket_since[window] = ts
        if h.w_open_until_done[window]:  # paused mid-service: staffed until now
            _end_open(h, window, ts)
        _idle(h, window, ts)


def _called(h: HallState, t: Ticket, window: int, ts: int, r: ApplyResult) -> None:
    """The ticket is called to (or starts at) ``window``: it leaves the queue or the
    window it was at before."""
    if t.state == WAITING:
        _leave_queue(h, t, ts, r)
        t.called = ts
    elif t.window != window:
        _release(h, t, ts)
        t.called = ts
    if t.first_call < 0:
        t.first_call = ts
        w_zone, w_ms, w_ts = h.b_wait
        w_zone.append(t.zone)
        w_ms.append(ts - t.issued if ts > t.issued else 0)
        w_ts.append(ts)
    t.window = window
    bit = 1 << t.zone
    if not h.w_zone_bits[window] & bit:  # the window serves this zone from now on
        h.w_zone_bits[window] |= bit
        h.zone_windows[t.zone].append(window)
        h.served_bits |= bit
        if window in h.open_windows:
            h.open_zone_bits |= bit
        h.judge_unattended(ts)


def _ticket_issued(h: HallState, ev: TicketIssued, r: ApplyResult) -> str | None:
    if ev.ticket in h.tickets:
        return "duplicate_ticket"
    zone = h.zones.index(ev.zone)
    ts, person, item = ev.ts, ev.person, ev.item
    t = h.tickets[ev.ticket] = Ticket(
        ev.ticket, zone, ev.priority == "priority", ts, ts, -1, -1, -1, -1, WAITING,
        person, item, item,
    )  # fmt: skip
    if person is not None:
        mine = h.person_tickets.get(person)
        if mine is None:
            mine = h.person_tickets[person] = []
        mine.append(ev.ticket)
        r.person_tickets.append((h.hall, ts, len(mine), mine, person))
        if item is not None:
            r.visits.append((h.hall, ev.ticket, person, item, ts, None))
    h.state_counts[WAITING] += 1
    h.zone_states[zone * 5 + WAITING] += 1
    if h.record_forecasts:  # as it stood just before the ticket: for metrics.calibration
        forecast = h.expected_wait(zone)
        h.b_issued_forecast.append(-1.0 if forecast is None else forecast)
    _enqueue(h, t, ts)
    h.b_issued.append(zone)
    h.b_issued_ts.append(ts)
    if h.day_open_ms < 0:
        h.day_open_ms = ts
    return None


def _ticket_called(h: HallState, ev: TicketCalled, r: ApplyResult) -> str | None:
    t = h.tickets.get(ev.ticket)
    if t is None:
        return "unknown_ticket"
    if t.state > CALLED:
        return "bad_state"
    window = h.windows.index(ev.window)
    _called(h, t, window, ev.ts, r)
    h.set_state(t, CALLED)
    if h.w_ticket[window] != ev.ticket:
        h.w_ticket[window] = ev.ticket
        h.w_ticket_since[window] = ev.ts
        _busy(h, window, ev.ts)
    return None


def _service_started(h: HallState, ev: ServiceStarted, r: ApplyResult) -> str | None:
    t = h.tickets.get(ev.ticket)
    if t is None:
        return "unknown_ticket"
    if t.state > CALLED:
        return "bad_state"
    window = h.windows.index(ev.window)
    walked = t.state == CALLED and t.window == window
    _called(h, t, window, ev.ts, r)  # a start without a call is a call at the start
    h.set_state(t, SERVING)
    t.start = ev.ts
    item = ev.item
    if item is not None:
        t.service_item = item
        if t.item is None:
            t.item = item
            if t.person is not None:
                r.visits.append((h.hall, t.id, t.person, item, ev.ts, None))
    r.services.append((h.hall, ev.window, t.id, ev.ts, t.service_item, True))
    if ev.person is not None and t.person is not None and ev.person != t.person:
        r.other_holders.append((h.hall, t.id, ev.window, ev.ts))  # 盗号?
    h.w_ticket[window] = ev.ticket
    h.w_ticket_since[window] = ev.ts
    if ev.staff is not None:
        _set_staff(h, window, ev.staff, ev.ts)
    if walked:
        walk = h.b_walk
        walk[0].append(window)
        walk[1].append(h.staff_index(window))
        walk[2].append(ev.ts - t.called if ev.ts > t.called else 0)
    _busy(h, window, ev.ts)
    return None


def _service_finished(h: HallState, ev: ServiceFinished, r: ApplyResult) -> str | None:
    t = h.tickets.get(ev.ticket)
    if t is None:
        return "unknown_ticket"
    state = t.state
    if state != CALLED and state != SERVING:
        return "bad_state"
    window = h.windows.index(ev.window)
    outcome = OUTCOME_INDEX[ev.outcome]
    if state == SERVING and t.start >= 0:
        service_ms = ev.ts - t.start if ev.ts > t.start else 0
    else:
        service_ms = -1  # never started: counted as a service, no service time
    f_ts, f_window, f_zone, f_outcome, f_ms, f_staff = h.b_fin
    f_ts.append(ev.ts)
    f_window.append(window)
    f_zone.append(t.zone)
    f_outcome.append(outcome)
    f_ms.append(service_ms)
    f_staff.append(h.w_staff_index[window])
    _release(h, t, ev.ts)
    r.services.append((h.hall, ev.window, t.id, ev.ts, None, False))
    if outcome == TRANSFERRED:  # back to the queue, for another window
        h.set_state(t, WAITING)
        t.queued = ev.ts
        t.start = -1
        _enqueue(h, t, ev.ts)
    else:
        h.set_state(t, DONE)
        if t.person is not None and t.item is not None:
            r.visits.append((h.hall, t.id, t.person, t.item, ev.ts, ev.outcome))
    return None


def _ticket_abandoned(h: HallState, ev: TicketAbandoned, r: ApplyResult) -> str | None:
    t = h.tickets.get(ev.ticket)
    if t is None:
        return "unknown_ticket"
    if t.state > CALLED:
        return "bad_state"
    if t.state == WAITING:
        _leave_queue(h, t, ev.ts, r)
    else:
        _release(h, t, ev.ts)
    h.set_state(t, ABANDONED)
    h.b_abandon[0].append(t.zone)
    h.b_abandon[1].append(REASON_INDEX[ev.reason])
    h.b_abandon[2].append(1 if t.first_call >= 0 else 0)
    return None


def _window_state(h: HallState, ev: WindowState, r: ApplyResult) -> str | None:
    window = h.windows.index(ev.window)
    state = WINDOW_STATE_INDEX[ev.state]
    if h.w_state[window] != state:
        was_open = h.w_state[window] == WINDOW_OPEN
        h.w_state[window] = state
        h.w_state_since[window] = ev.ts
        if was_open != (state == WINDOW_OPEN):
            if state == WINDOW_OPEN:
                h.open_windows.add(window)
            else:
                h.open_windows.discard(window)
            h.open_windows_changed(ev.ts)
        if state == WINDOW_OPEN:
            if h.w_open_from[window] < 0:
                h.w_open_from[window] = ev.ts
            # else: reopened before the service it paused in ended: one stretch goes on
            h.w_open_until_done[window] = False
            if h.day_open_ms < 0:
                h.day_open_ms = ev.ts
        elif h.w_open_from[window] >= 0:
            ticket = h.w_ticket[window]
            if ticket is not None and h.tickets[ticket].state == SERVING:
                h.w_open_until_done[window] = True  # staffed until that service ends
            else:
                _end_open(h, window, ev.ts)
        _idle(h, window, ev.ts)
    if ev.staff is not None:
        _set_staff(h, window, ev.staff, ev.ts)
    elif state == WINDOW_CLOSED:
        h.set_staff_name(window, None)  # its stretches ended above, credited to the leaver
    r.windows.append((h.hall, ev.window, ev.state, ev.ts, ev.reason))
    return None


def _rating(h: HallState, ev: Rating, r: ApplyResult) -> str | None:
    window = h.windows.index(ev.window)
    r_window, r_score, r_staff = h.b_rating
    r_window.append(window)
    r_score.append(ev.score - 1)
    r_staff.append(h.w_staff_index[window] if ev.staff is None else h.staff.index(ev.staff))
    r.ratings.append(ev)
    return None


def _complaint(h: HallState, ev: Complaint, r: ApplyResult) -> str | None:
    if ev.complaint in h.complaints:
        return None  # the same complaint again through another channel: one complaint
    h.complaints[ev.complaint] = (ev.ts, ev.channel, ev.window, None)
    r.complaints.append(
        ComplaintChange(h.hall, ev.complaint, ev.ts, True, ev.channel, ev.window, ev.category)
    )
    return None


def _complaint_answered(h: HallState, ev: ComplaintAnswered, r: ApplyResult) -> str | None:
    """The first answer counts (time to first answer); a later one changes nothing."""
    open_ = h.complaints.get(ev.complaint)
    if open_ is None:
        return "unknown_complaint"  # never received, or settled already
    received, channel, window, answered = open_
    if answered is None:
        h.complaints[ev.complaint] = (received, channel, window, ev.ts)
        h.complaint_answered(received, ev.ts)
    return None


def _complaint_closed(h: HallState, ev: ComplaintClosed, r: ApplyResult) -> str | None:
    open_ = h.complaints.pop(ev.complaint, None)
    if open_ is None:
        return "unknown_complaint"
    if open_[3] is None:  # settled unanswered: the settlement is its first answer
        h.complaint_answered(open_[0], ev.ts)
    r.complaints.append(ComplaintChange(h.hall, ev.complaint, ev.ts, False))
    return None


def _case_submitted(h: HallState, ev: CaseSubmitted, r: ApplyResult) -> str | None:
    if ev.case not in h.cases:
        case = Case(ev.item, ev.dept, ev.promised_days, ev.ts, legal_days=ev.legal_days)
        h.cases[ev.case] = case
    r.cases.append((h.hall, ev.case, ev.ts, "submitted"))
    return None


def _case_accepted(h: HallState, ev: CaseAccepted, r: ApplyResult) -> str | None:
    case = h.cases.get(ev.case)
    if case is None:
        return "unknown_case"
    if case.accepted_ms is None:
        case.accepted_ms = ev.ts
    r.cases.append((h.hall, ev.case, ev.ts, "accepted"))
    return None


def _case_paused(h: HallState, ev: CasePaused, r: ApplyResult) -> str | None:
    case = h.cases.get(ev.case)
    if case is None:
        return "unknown_case"
    if case.paused_since is None:
        case.paused_since = ev.ts
        case.paused_reason = ev.reason
        r.case_pauses.append((h.hall, ev.case, ev.ts, None, ev.reason))
    r.cases.append((h.hall, ev.case, ev.ts, "paused"))
    return None


def _case_resumed(h: HallState, ev: CaseResumed, r: ApplyResult) -> str | None:
    case = h.cases.get(ev.case)
    if case is None:
        return "unknown_case"
    if case.paused_since is not None:
        since, end, reason = case.paused_since, max(ev.ts, case.paused_since), case.paused_reason
        case.pauses.append((since, end, reason or ""))
        case.paused_since = case.paused_reason = None
        r.case_pauses.append((h.hall, ev.case, since, end, reason or ""))
    r.cases.append((h.hall, ev.case, ev.ts, "resumed"))
    return None


def _case_closed(h: HallState, ev: CaseClosed, r: ApplyResult) -> str | None:
    case = h.cases.pop(ev.case, None)
    if case is None:
        return "unknown_case"
    r.closed_cases.append((h.hall, ev.ts, case_view(h, ev.case, case)))
    if case.paused_since is not None:  # closed while paused: the pause ends with it
        end = max(ev.ts, case.paused_since)
        r.case_pauses.append((h.hall, ev.case, case.paused_since, end, case.paused_reason or ""))
    r.cases.append((h.hall, ev.case, ev.ts, "closed"))
    return None


def _case_materials_changed(h: HallState, ev: CaseMaterialsChanged, r: ApplyResult) -> str | None:
    case = h.cases.get(ev.case)
    if case is None:
        return "unknown_case"
    case.materials_changed += 1
    r.materials.append((h.hall, ev.case, ev.ts, ev.change, case.dept, ev.materials))
    return None


def _heartbeat(h: HallState, ev: Heartbeat, r: ApplyResult) -> str | None:
    return None


HANDLERS: Final[dict[type, Handler]] = {
    TicketIssued: _ticket_issued,
    TicketCalled: _ticket_called,
    ServiceStarted: _service_started,
    ServiceFinished: _service_finished,
    TicketAbandoned: _ticket_abandoned,
    WindowState: _window_state,
    Rating: _rating,
    Complaint: _complaint,
    ComplaintAnswered: _complaint_answered,
    ComplaintClosed: _complaint_closed,
    CaseSubmitted: _case_submitted,
    CaseAccepted: _case_accepted,
    CasePaused: _case_paused,
    CaseResumed: _case_resumed,
    CaseClosed: _case_closed,
    CaseMaterialsChanged: _case_materials_changed,
    Heartbeat: _heartbeat,
}
"""Event type → its handler."""
