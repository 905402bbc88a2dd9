"""The read side of the state engine: build a frozen ``HallSnapshot`` from a ``HallState``.

Where numpy earns its keep: percentiles, per-window rolling counts and per-zone maxima
are a handful of vectorized calls over the day's columns, whatever the hall's size.

Imports: metrics.state, metrics.snapshot, numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feeds.protocol import WINDOW_STATES
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
from metrics.state import _TRANSFERRED, SERVING, TICKET_STATES, HallState

HOUR_MS = 3_600_000
_OPEN = WINDOW_STATES.index("open")


def _mean_p90(sorted_ms: npt.NDArray[np.int64]) -> tuple[float | None, float | None]:
    """Mean and p90 (numpy's default linear interpolation) of sorted waits, in seconds."""
    n = len(sorted_ms)
    if n == 0:
        return None, None
    rank = 0.9 * (n - 1)
    lo = int(rank)
    hi = min(lo + 1, n - 1)
    p90 = sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (rank - lo)
    return float(sorted_ms.mean()) / 1000.0, float(p90) / 1000.0


def build_snapshot(h: HallState) -> HallSnapshot:
    """Build the frozen snapshot. The caller has flushed ``h``'s buffers."""
    now = h.now_ms
    nz, nw = len(h.zones), len(h.windows)
    znames, wnames = h.zones.names, h.windows.names

    # The queue: few tickets (those waiting now), read straight from the zone queues.
    queue: list[QueuedTicket] = []
    longest = [0.0] * nz
    prio_waiting = [0] * nz
    for z in range(nz):
        waiting = h.queues[z]
        if not waiting:
            continue
        oldest = min(t.queued for t in waiting.values())
        longest[z] = max(0.0, (now - oldest) / 1000.0)
        for t in waiting.values():
            prio_waiting[z] += t.priority
            queue.append(QueuedTicket(t.id, znames[z], t.queued, t.issued, t.priority))
    queue.sort(key=lambda q: (not q.priority, q.queued_ms))

    # The day's observations: vectorized.
    wait_zone, wait_ms = h.d_wait_zone.view(), h.d_wait_ms.view()
    fin_ts, fin_win, fin_zone = h.d_fin_ts.view(), h.d_fin_window.view(), h.d_fin_zone.view()
    fin_out, fin_ms = h.d_fin_outcome.view(), h.d_fin_service_ms.view()
    served_mask = fin_out != _TRANSFERRED
    served_by_zone = np.bincount(fin_zone[served_mask], minlength=nz)
    issued_by_zone = np.bincount(h.d_issued_zone.view(), minlength=nz)
    abandoned_by_zone = np.bincount(h.d_abandon_zone.view(), minlength=nz)
    services_today = np.bincount(fin_win, minlength=nw)
    last_hour = np.bincount(fin_win[fin_ts > now - HOUR_MS], minlength=nw)
    known = fin_ms >= 0
    service_sum = np.bincount(fin_win[known], weights=fin_ms[known], minlength=nw)
    service_n = np.bincount(fin_win[known], minlength=nw)
    # Per-zone wait statistics from one sort: group the waits by zone.
    order = np.lexsort((wait_ms, wait_zone))
    sorted_ms, sorted_zone = wait_ms[order], wait_zone[order]
    bounds = np.searchsorted(sorted_zone, np.arange(nz + 1))

    open_mask = h.w_state[:nw] == _OPEN
    zone_bits = h.w_zone_bits
    zones = []
    for z in range(nz):
        mean, p90 = _mean_p90(sorted_ms[bounds[z] : bounds[z + 1]])
        bit = 1 << z
        zones.append(
            ZoneSnapshot(
                name=znames[z],
                waiting=len(h.queues[z]),
                priority_waiting=prio_waiting[z],
                issued_today=int(issued_by_zone[z]),
                served_today=int(served_by_zone[z]),
                abandoned_today=int(abandoned_by_zone[z]),
                mean_wait_s=mean,
                p90_wait_s=p90,
                longest_wait_s=longest[z],
                windows_open=sum(1 for w in range(nw) if open_mask[w] and zone_bits[w] & bit),
            )
        )
    windows = []
    tickets = h.tickets
    states = h.w_state.tolist()
    since = h.w_state_since.tolist()
    for w in range(nw):
        ticket = h.w_ticket[w]
        serving = ticket is not None and tickets[ticket].state == SERVING
        bits = zone_bits[w]
        windows.append(
            WindowSnapshot(
                name=wnames[w],
                state=WINDOW_STATES[states[w]],
                state_since_ms=since[w],
                staff=h.w_staff[w],
                ticket=ticket,
                serving=serving,
                ticket_since_ms=h.w_ticket_since[w],
                services_today=int(services_today[w]),
                services_last_hour=int(last_hour[w]),
                mean_service_s=float(service_sum[w] / service_n[w] / 1000.0)
                if service_n[w]
                else None,
                zones=tuple(znames[z] for z in range(nz) if bits >> z & 1),
            )
        )
    mean, p90 = _mean_p90(np.sort(wait_ms))
    return HallSnapshot(
        hall=h.hall,
        now_ms=now,
        day=h.day,
        waiting=len(queue),
        served_today=int(np.count_nonzero(served_mask)),
        issued_today=len(h.tickets),
        mean_wait_s=mean,
        p90_wait_s=p90,
        longest_wait_s=max(longest, default=0.0),
        windows_open=int(open_mask.sum()),
        windows_total=nw,
        tickets_by_state=dict(zip(TICKET_STATES, h.state_counts, strict=True)),
        zones=tuple(zones),
        windows=tuple(windows),
        queue=tuple(queue),
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
