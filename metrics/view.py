"""The read side of the state engine: build a frozen ``HallSnapshot`` from a ``HallState``.

Where numpy earns its keep: percentiles, per-window rolling counts and per-zone maxima
are a handful of vectorized calls over the day's columns, whatever the hall's size.

Imports: feeds.protocol (enumerations), feeds.hallclock, metrics.hall, metrics.snapshot,
metrics.figures, metrics.cases, metrics.staff_view, numpy.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

from feeds.hallclock import day_start_ms
from feeds.protocol import ABANDON_REASONS, SERVICE_OUTCOMES, WINDOW_STATES
from metrics import figures as fig
from metrics.cases import open_cases
from metrics.hall import CALLED, SERVING, TICKET_STATES, TRANSFERRED, HallState
from metrics.snapshot import (
    ComplaintView,
    Counters,
    HallSnapshot,
    QueuedTicket,
    WindowSnapshot,
    ZoneSnapshot,
    frozen,
)
from metrics.staff_view import staff_figures

HOUR_MS = 3_600_000
WINDOW_OPEN = WINDOW_STATES.index("open")
_NO_SHOW = ABANDON_REASONS.index("no_show")
_LEFT = ABANDON_REASONS.index("left")
_EXPIRED = ABANDON_REASONS.index("expired")
_NO = len(SERVICE_OUTCOMES)


def build_snapshot(h: HallState) -> HallSnapshot:
    """Build the frozen snapshot. The caller has flushed ``h``'s buffers."""
    now = h.now_ms
    nz, nw = len(h.zones), len(h.windows)
    znames, wnames = h.zones.names, h.windows.names
    settings = h.settings

    # The queue: few tickets (those waiting now), read straight from the zone queues.
    queue: list[QueuedTicket] = []
    longest = [0.0] * nz
    oldest_ticket: list[str | None] = [None] * nz
    prio_waiting = [0] * nz
    for z in range(nz):
        waiting = h.queues[z]
        if not waiting:
            continue
        oldest = min(waiting.values(), key=lambda t: t.queued)
        longest[z] = max(0.0, (now - oldest.queued) / 1000.0)
        oldest_ticket[z] = oldest.id
        for t in waiting.values():
            prio_waiting[z] += t.priority
            queue.append(QueuedTicket(t.id, znames[z], t.queued, t.issued, t.priority))
    queue.sort(key=lambda q: (not q.priority, q.queued_ms))

    # The day's observations: vectorized.
    wait_zone, wait_ms, wait_ts = h.d_wait_zone.view(), h.d_wait_ms.view(), h.d_wait_ts.view()
    fin_ts, fin_win, fin_zone = h.d_fin_ts.view(), h.d_fin_window.view(), h.d_fin_zone.view()
    fin_out, fin_ms, fin_staff = (
        h.d_fin_outcome.view(),
        h.d_fin_service_ms.view(),
        h.d_fin_staff.view(),
    )
    issued_ts, issued_zone = h.d_issued_ts.view(), h.d_issued_zone.view()
    ab_zone, ab_reason = h.d_abandon_zone.view(), h.d_abandon_reason.view()
    ab_called = h.d_abandon_called.view()
    served_mask = fin_out != TRANSFERRED
    served_by_zone = np.bincount(fin_zone[served_mask], minlength=nz)
    issued_by_zone = np.bincount(issued_zone, minlength=nz)
    arrivals_15 = np.bincount(issued_zone[issued_ts > now - HOUR_MS // 4], minlength=nz)
    arrivals_60 = np.bincount(issued_zone[issued_ts > now - HOUR_MS], minlength=nz)
    abandoned = np.bincount(ab_zone * 3 + ab_reason, minlength=nz * 3).reshape(nz, 3)
    ended = np.bincount(wait_zone, minlength=nz) + np.bincount(
        ab_zone[ab_called == 0], minlength=nz
    )
    in_hour = fin_ts > now - HOUR_MS
    known = fin_ms >= 0

    # Waits: day and rolling hour, per zone and for the hall.
    limits = np.asarray([settings.wait_limit(name) for name in znames], np.float64)
    day_z, day_all = fig.grouped_waits(wait_ms, wait_zone, limits)
    recent = wait_ts > now - HOUR_MS
    hour_z, hour_all = fig.grouped_waits(wait_ms[recent], wait_zone[recent], limits)

    # Windows: services, outcomes, service time, walk, ratings, time open / serving / idle.
    services_today = np.bincount(fin_win, minlength=nw)
    last_hour = np.bincount(fin_win[in_hour], minlength=nw)
    outcomes = np.bincount(fin_win * _NO + fin_out, minlength=nw * _NO).reshape(nw, _NO)
    service_stats = fig.grouped_mean_p90(fin_ms[known], fin_win[known], nw)
    service_sum = np.bincount(fin_win[known], weights=fin_ms[known], minlength=nw)
    walk_win, walk_ms = h.d_walk_window.view(), h.d_walk_ms.view()
    walk_n = np.bincount(walk_win, minlength=nw)
    walk_sum = np.bincount(walk_win, weights=walk_ms, minlength=nw)
    r_win, r_score = h.d_rating_window.view(), h.d_rating_score.view()
    r_n = np.bincount(r_win, minlength=nw)
    r_sum = np.bincount(r_win, weights=r_score + 1, minlength=nw)
    r_bad = np.bincount(r_win[r_score <= 1], minlength=nw)
    tickets = h.tickets
    # Python lists for the per-window loop: a list item is ~10x cheaper than a numpy
    # scalar, and ``tolist`` gives the very same ints and floats.
    services_l, last_hour_l = services_today.tolist(), last_hour.tolist()
    service_sum_l, walk_n_l, walk_sum_l = service_sum.tolist(), walk_n.tolist(), walk_sum.tolist()
    r_n_l, r_sum_l, r_bad_l = r_n.tolist(), r_sum.tolist(), r_bad.tolist()
    outcomes_l = outcomes.tolist()
    states = h.w_state.tolist()
    since = h.w_state_since.tolist()
    zone_bits = h.w_zone_bits
    windows = []
    serving_now = [False] * nw
    for w in range(nw):
        ticket = h.w_ticket[w]
        serving = ticket is not None and tickets[ticket].state == SERVING
        serving_now[w] = serving
        bits = zone_bits[w]
        mean_s, p90_s = service_stats[w]
        open_from, idle_from = h.w_open_from[w], h.w_idle_from[w]
        open_s = (h.w_open_ms[w] + (now - open_from if open_from >= 0 else 0)) / 1000.0
        serving_s = service_sum_l[w] / 1000.0
        if serving and ticket is not None:
            serving_s += max(0, now - tickets[ticket].start) / 1000.0
        idle_s = (h.w_idle_ms[w] + (now - idle_from if idle_from >= 0 else 0)) / 1000.0
        windows.append(
            WindowSnapshot(
                name=wnames[w],
                state=WINDOW_STATES[states[w]],
                state_since_ms=since[w],
                staff=h.w_staff[w],
                ticket=ticket,
                serving=serving,
                ticket_since_ms=h.w_ticket_since[w],
                services_today=services_l[w],
                services_last_hour=last_hour_l[w],
                mean_service_s=mean_s,
                zones=tuple(znames[z] for z in range(nz) if bits >> z & 1),
                p90_service_s=p90_s,
                outcomes=fig.outcome_counts(outcomes_l[w]),
                open_s=open_s,
                serving_s=serving_s,
                utilization=fig.ratio(serving_s, open_s),
                idle_waiting_s=idle_s,
                walks=walk_n_l[w],
                walk_mean_s=fig.ratio(walk_sum_l[w] / 1000.0, float(walk_n_l[w])),
                ratings_today=r_n_l[w],
                rating_mean=fig.ratio(r_sum_l[w], float(r_n_l[w])),
                bad_ratings_today=r_bad_l[w],
            )
        )

    # Forecast per zone: expected wait now, and Erlang C windows needed.
    open_mask = h.w_state[:nw] == WINDOW_OPEN
    cycle = _window_cycles(h, fin_ts, fin_win, fin_ms, known, now, nw)
    share = np.bincount(fin_win * nz + fin_zone, minlength=nw * nz).reshape(nw, nz)
    zone_service = fig.grouped_mean_p90(fin_ms[known], fin_zone[known], nz)
    hour_known = known & in_hour
    hour_service_n = np.bincount(fin_zone[hour_known], minlength=nz)
    hour_service_sum = np.bincount(fin_zone[hour_known], weights=fin_ms[hour_known], minlength=nz)
    start = 0
    if h.day_open_ms >= 0:  # an event dated before the service day counts in its first bin
        start = max(fig.curve_start(h.day_open_ms), day_start_ms(date.fromordinal(h.day_ordinal)))
    curve_arrivals, curve_waiting = fig.day_curves(
        start, now, nz, issued_ts, issued_zone,
        h.d_q_ts.view(), h.d_q_zone.view(), h.d_q_delta.view(),
    )  # fmt: skip
    zs = h.zone_states
    share_l, done_l = share.tolist(), share.sum(axis=1).tolist()
    open_l = open_mask.tolist()
    zones = []
    for z in range(nz):
        bit = 1 << z
        serves = [w for w in range(nw) if open_l[w] and zone_bits[w] & bit]
        capacity = 0.0
        for w in serves:
            done = done_l[w]
            part = share_l[w][z] / done if done else 1.0 / bin(zone_bits[w]).count("1")
            if cycle[w]:
                capacity += part / cycle[w]
        free = sum(1 for w in serves if h.w_ticket[w] is None)
        if hour_service_n[z] >= fig.MIN_SERVICES:
            service_s: float | None = float(hour_service_sum[z] / hour_service_n[z]) / 1000.0
        else:
            service_s = zone_service[z][0]
        rate = fig.arrival_rate(int(arrivals_60[z]), int(issued_by_zone[z]), h.day_open_ms, now)
        zones.append(
            ZoneSnapshot(
                name=znames[z],
                waiting=len(h.queues[z]),
                priority_waiting=prio_waiting[z],
                issued_today=int(issued_by_zone[z]),
                served_today=int(served_by_zone[z]),
                abandoned_today=int(abandoned[z].sum()),
                mean_wait_s=day_z[z].mean_s,
                p90_wait_s=day_z[z].p90_s,
                longest_wait_s=longest[z],
                windows_open=len(serves),
                oldest_ticket=oldest_ticket[z],
                called_not_started=zs[z * 5 + CALLED],
                serving=zs[z * 5 + SERVING],
                arrivals_15m=arrivals_15[z],
                arrivals_60m=arrivals_60[z],
                wait_limit_s=limit_s,
                day=day_z[z],
                hour=hour_z[z],
                no_show_today=no_show,
                left_today=left,
                expired_today=expired,
                no_show_rate=fig.ratio(float(no_show), float(ended[z])),
                abandonment_rate=fig.ratio(float(left + expired), float(ended[z])),
                mean_service_s=zone_service[z],
                arrivals_per_hour=rate,
                expected_wait_s=fig.expected_wait(waiting, free, capacity, len(serves)),
                windows_needed=fig.needed_windows(
                    rate, service_s, limit_s, settings.target_service_level
                ),
                curve_waiting=tuple(curve_waiting_l[z]),
                curve_arrivals=tuple(curve_arrivals_l[z]),
            )
        )
    total_ended = sum(ended)
    return HallSnapshot(
        hall=h.hall,
        now_ms=now,
        day=h.day,
        waiting=len(queue),
        served_today=sum(served_by_zone),
        issued_today=len(h.tickets),
        mean_wait_s=day_all.mean_s,
        p90_wait_s=day_all.p90_s,
        longest_wait_s=max(longest, default=0.0),
        windows_open=sum(open_l),
        windows_total=nw,
        tickets_by_state=dict(zip(TICKET_STATES, h.state_counts, strict=True)),
        zones=tuple(zones),
        windows=windows,
        queue=tuple(queue),
        complaints=tuple(
            ComplaintView(cid, ts, channel, window)
            # Oldest first; by id within a millisecond (the rest of the record may hold
            # None, which does not sort against a window name).
            for cid, (ts, channel, window) in sorted(
                h.complaints.items(), key=lambda kv: (kv[1][0], kv[0])
            )
        ),
        cases=open_cases(h),
        late_events=h.late_events,
        clock_leaps=h.clock_leaps,
        late_since=h.late_since,
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
        staff=staff_figures(h, fin_ts, fin_out, fin_ms, fin_staff, known, now),
        day_waits=day_all,
        hour_waits=hour_all,
        called_not_started=h.state_counts[CALLED],
        arrivals_15m=int(arrivals_15.sum()),
        arrivals_60m=int(arrivals_60.sum()),
        no_show_rate=fig.ratio(float(abandoned[:, _NO_SHOW].sum()), float(total_ended)),
        abandonment_rate=fig.ratio(
            float(abandoned[:, _LEFT].sum() + abandoned[:, _EXPIRED].sum()), float(total_ended)
        ),
        curve_start_ms=start,
    )


def _window_cycles(
    h: HallState,
    fin_ts: npt.NDArray[np.int64],
    fin_win: npt.NDArray[np.int32],
    fin_ms: npt.NDArray[np.int64],
    known: npt.NDArray[np.bool_],
    now: int,
    nw: int,
) -> list[float]:
    """Per window, the mean seconds from call to finish (walk + service): over the last
    hour when it finished ``MIN_SERVICES`` there, else today, else the hall's today; 0.0
    when the hall has finished nothing yet (the window adds no capacity to the forecast)."""
    walk_win, walk_ms = h.d_walk_window.view(), h.d_walk_ms.view()
    walk_n = np.bincount(walk_win, minlength=nw)
    walk_mean = np.bincount(walk_win, weights=walk_ms, minlength=nw) / np.maximum(walk_n, 1)
    hall_walk = float(walk_ms.mean()) if len(walk_ms) else 0.0
    hall_service = float(fin_ms[known].mean()) if known.any() else 0.0
    recent = known & (fin_ts > now - HOUR_MS)
    n_hour = np.bincount(fin_win[recent], minlength=nw)
    s_hour = np.bincount(fin_win[recent], weights=fin_ms[recent], minlength=nw)
    n_day = np.bincount(fin_win[known], minlength=nw)
    s_day = np.bincount(fin_win[known], weights=fin_ms[known], minlength=nw)
    out = []
    for w in range(nw):
        if n_hour[w] >= fig.MIN_SERVICES:
            service = s_hour[w] / n_hour[w]
        elif n_day[w]:
            service = s_day[w] / n_day[w]
        else:
            service = hall_service
        walk = walk_mean[w] if walk_n[w] else hall_walk
        out.append(float(service + walk) / 1000.0)
    return out
