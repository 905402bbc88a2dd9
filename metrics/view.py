"""The read side of the state engine: build a frozen ``HallSnapshot`` from a ``HallState``.

Where numpy earns its keep: percentiles, per-window rolling counts and per-zone maxima
are a handful of vectorized calls over the day's columns, whatever the hall's size.

Imports: metrics.state, metrics.snapshot, numpy.
"""

from __future__ import annotations

import numpy as np

from feeds.protocol import ABANDON_REASONS, WINDOW_STATES
from metrics.snapshot import (
    CaseView,
    ComplaintView,
    Counters,
    HallSnapshot,
    QueuedTicket,
    WindowSnapshot,
    ZoneSnapshot,
    frozen,
)
from metrics.state import _TRANSFERRED, TICKET_STATES, WAITING, HallState

HOUR_MS = 3_600_000
_OPEN = WINDOW_STATES.index("open")
_N_REASONS = len(ABANDON_REASONS)


def _mean_p90(values_ms: np.ndarray) -> tuple[float | None, float | None]:
    if len(values_ms) == 0:
        return None, None
    seconds = values_ms / 1000.0
    return float(seconds.mean()), float(np.percentile(seconds, 90))


def build_snapshot(h: HallState) -> HallSnapshot:
    now = h.now_ms
    nz, nw = len(h.zones), len(h.windows)
    znames, wnames = h.zones.names, h.windows.names

    # Tickets of the day.
    state = h.t_state.view()
    zone_of = h.t_zone.view()
    waiting_mask = state == WAITING
    by_state = np.bincount(state, minlength=len(TICKET_STATES))
    queued = h.t_queued.view()
    rows = np.flatnonzero(waiting_mask)
    longest = np.zeros(max(nz, 1))
    prio_waiting = np.zeros(max(nz, 1), np.int64)
    if len(rows):
        np.maximum.at(longest, zone_of[rows], (now - queued[rows]) / 1000.0)
        prio = h.t_priority.view()[rows]
        np.add.at(prio_waiting, zone_of[rows][prio], 1)
    issued_today = np.bincount(zone_of, minlength=nz)
    order = rows[np.lexsort((queued[rows], ~h.t_priority.view()[rows]))] if len(rows) else rows
    queue = tuple(
        QueuedTicket(
            h.t_ids[r],
            znames[zone_of[r]],
            int(queued[r]),
            int(h.t_issued[r]),
            bool(h.t_priority[r]),
        )
        for r in order
    )

    # Waits (issue to first call) and finished services of the day.
    wait_zone, wait_ms = h.d_wait_zone.view(), h.d_wait_ms.view()
    fin_ts, fin_win = h.d_fin_ts.view(), h.d_fin_window.view()
    fin_out, fin_ms = h.d_fin_outcome.view(), h.d_fin_service_ms.view()
    served_mask = fin_out != _TRANSFERRED
    services_today = np.bincount(fin_win, minlength=nw)
    last_hour = np.bincount(fin_win[fin_ts > now - HOUR_MS], minlength=nw)
    known = fin_ms >= 0
    service_sum = np.bincount(fin_win[known], weights=fin_ms[known], minlength=nw)
    service_n = np.bincount(fin_win[known], minlength=nw)
    abandoned_today = np.bincount(h.d_abandon_zone.view(), minlength=nz)
    # Served per zone: the day's tickets in DONE state carry their zone.
    done_zone = zone_of[state == 3]
    served_by_zone = np.bincount(done_zone, minlength=max(nz, 1))

    open_mask = h.w_state[:nw] == _OPEN
    zones = []
    for z in range(nz):
        mean, p90 = _mean_p90(wait_ms[wait_zone == z])
        zones.append(
            ZoneSnapshot(
                name=znames[z],
                waiting=int(h.z_waiting[z]),
                priority_waiting=int(prio_waiting[z]),
                issued_today=int(issued_today[z]),
                served_today=int(served_by_zone[z]),
                abandoned_today=int(abandoned_today[z]),
                mean_wait_s=mean,
                p90_wait_s=p90,
                longest_wait_s=float(longest[z]),
                windows_open=int(np.count_nonzero(open_mask & h.w_zones[:nw, z])),
            )
        )
    windows = []
    for w in range(nw):
        ticket = h.w_ticket[w]
        serving = False
        if ticket is not None:
            row = h.ticket_rows.get(ticket)
            serving = row is not None and state[row] == 2
        windows.append(
            WindowSnapshot(
                name=wnames[w],
                state=WINDOW_STATES[h.w_state[w]],
                state_since_ms=int(h.w_state_since[w]),
                staff=h.w_staff[w],
                ticket=ticket,
                serving=serving,
                ticket_since_ms=int(h.w_ticket_since[w]),
                services_today=int(services_today[w]),
                services_last_hour=int(last_hour[w]),
                mean_service_s=float(service_sum[w] / service_n[w] / 1000.0)
                if service_n[w]
                else None,
                zones=tuple(znames[z] for z in np.flatnonzero(h.w_zones[w, :nz])),
            )
        )
    mean, p90 = _mean_p90(wait_ms)
    return HallSnapshot(
        hall=h.hall,
        now_ms=now,
        day=h.day,
        waiting=int(h.z_waiting[:nz].sum()),
        served_today=int(np.count_nonzero(served_mask)),
        issued_today=len(state),
        mean_wait_s=mean,
        p90_wait_s=p90,
        longest_wait_s=float(longest.max()) if nz else 0.0,
        windows_open=int(open_mask.sum()),
        windows_total=nw,
        tickets_by_state=dict(zip(TICKET_STATES, (int(x) for x in by_state), strict=True)),
        zones=tuple(zones),
        windows=tuple(windows),
        queue=queue,
        complaints=tuple(
            ComplaintView(cid, ts, channel, window)
            for cid, (ts, channel, window) in sorted(h.complaints.items(), key=lambda kv: kv[1])
        ),
        cases=_cases(h),
        counters=Counters(
            zones=tuple(znames),
            windows=tuple(wnames),
            issued=frozen(h.z_issued[:nz]),
            abandoned=frozen(h.z_abandoned[:nz]),
            wait_buckets=frozen(h.z_wait_buckets[:nz]),
            wait_sum=frozen(h.z_wait_sum[:nz]),
            services=frozen(h.w_services[:nw]),
            service_buckets=frozen(h.w_service_buckets[:nw]),
            service_sum=frozen(h.w_service_sum[:nw]),
            ratings=frozen(h.w_ratings[:nw]),
            window_state=frozen(h.w_state[:nw].astype(np.int64)),
        ),
        version=h.version,
    )


def _cases(h: HallState) -> tuple[CaseView, ...]:
    """Open cases with their working-day deadline and card at the hall clock.

    The deadline counts ``promised_days`` working days from acceptance (actual, or deemed
    at submission + the configured minutes); time paused for a special procedure moves it
    back by as long as the pause lasted. Yellow: one working day or less is left.
    """
    now = h.now_ms
    calendar = h.settings.calendar
    deem_ms = h.settings.deemed_accept_minutes * 60_000
    out = []
    for cid, c in h.cases.items():
        late = c.accepted_ms is None or c.accepted_ms > c.submitted_ms + deem_ms
        # Not accepted and not yet deemed: the clock will start at submission + minutes.
        accepted = c.submitted_ms + deem_ms if late or c.accepted_ms is None else c.accepted_ms
        deemed = late and now >= c.submitted_ms + deem_ms
        paused = c.paused_ms + (now - c.paused_since if c.paused_since is not None else 0)
        deadline = calendar.deadline_ms(accepted, c.promised_days) + paused
        yellow_from = calendar.deadline_ms(accepted, max(c.promised_days - 1, 0)) + paused
        if c.promised_days == 0:
            yellow_from = accepted
        card = "red" if now >= deadline else "yellow" if now >= yellow_from else "none"
        out.append(
            CaseView(
                case=cid,
                item=c.item,
                dept=c.dept,
                promised_days=c.promised_days,
                submitted_ms=c.submitted_ms,
                accepted_ms=accepted,
                deemed=deemed,
                paused=c.paused_since is not None,
                deadline_ms=deadline,
                card=card,
            )
        )
    return tuple(out)
