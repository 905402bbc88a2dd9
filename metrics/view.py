"""The read side of the state engine: build a frozen ``HallSnapshot`` from a ``HallState``.

Where numpy earns its keep: percentiles, per-window rolling counts and per-zone maxima
are a handful of vectorized calls over the day's columns, whatever the hall's size; and
what those columns add up to is kept while they do not grow (``metrics.day_totals``). The
rest is a Python loop per zone, window and staff that builds their frozen views.

Imports: feeds.protocol (enumerations), feeds.hallclock, metrics.hall, metrics.snapshot,
metrics.figures, metrics.day_totals, metrics.cases, metrics.staff_view, numpy.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from feeds.hallclock import day_start_ms
from feeds.protocol import ABANDON_REASONS, WINDOW_STATES
from metrics import day_totals
from metrics import figures as fig
from metrics.cases import open_cases
from metrics.hall import CALLED, SERVING, TICKET_STATES, HallState
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

    # The day's and the last hour's totals (metrics.day_totals: kept while what they
    # read is the same), per zone, window and staff as Python lists: a list item is ~10x
    # cheaper than a numpy scalar in the loops below, and ``tolist`` gives the very same
    # ints and floats.
    hour_ago = now - HOUR_MS
    sv, walks, ratings = day_totals.services(h), day_totals.walks(h), day_totals.ratings(h)
    hour = day_totals.hour_services(h, h.d_fin_ts.view() > hour_ago)
    queued = day_totals.queue(h)
    issued_by_zone, abandoned, ended = queued.issued, queued.abandoned, queued.ended
    issued_ts, issued_zone = h.d_issued_ts.view(), h.d_issued_zone.view()
    arrivals_15 = np.bincount(issued_zone[issued_ts > now - HOUR_MS // 4], minlength=nz).tolist()
    arrivals_60 = np.bincount(issued_zone[issued_ts > hour_ago], minlength=nz).tolist()

    # Waits: day and rolling hour, per zone and for the hall.
    limits = np.asarray([settings.wait_limit(name) for name in znames], np.float64)
    day_z, day_all, hour_z, hour_all = day_totals.waits(h, limits, h.d_wait_ts.view() > hour_ago)

    # Windows: services, outcomes, service time, walk, ratings, time open / serving / idle.
    windows = _windows(h, sv, walks, ratings, hour)

    # Forecast per zone: expected wait now, and Erlang C windows needed.
    open_l = (h.w_state[:nw] == WINDOW_OPEN).tolist()
    hour_service_n, hour_service_sum = hour.timed_per_zone, hour.zone_ms
    start = 0
    if h.day_open_ms >= 0:  # an event dated before the service day counts in its first bin
        start = max(fig.curve_start(h.day_open_ms), day_start_ms(date.fromordinal(h.day_ordinal)))
    curve_arrivals, curve_waiting = day_totals.curves(h, start)
    zs = h.zone_states
    zone_bits = h.w_zone_bits
    zones = []
    for z in range(nz):
        bit = 1 << z
        serves = [w for w in range(nw) if open_l[w] and zone_bits[w] & bit]
        if hour_service_n[z] >= fig.MIN_SERVICES:
            service_s: float | None = hour_service_sum[z] / hour_service_n[z] / 1000.0
        else:
            service_s = sv.zone_times.mean_s[z]
        rate = fig.arrival_rate(arrivals_60[z], issued_by_zone[z], h.day_open_ms, now)
        reasons = abandoned[z]
        no_show, left, expired = reasons[_NO_SHOW], reasons[_LEFT], reasons[_EXPIRED]
        n_waiting = len(h.queues[z])
        limit_s = float(limits[z])
        zones.append(
            ZoneSnapshot(
                name=znames[z],
                waiting=n_waiting,
                priority_waiting=prio_waiting[z],
                issued_today=issued_by_zone[z],
                served_today=sv.served_per_zone[z],
                abandoned_today=sum(reasons),
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
                mean_service_s=sv.zone_times.mean_s[z],
                arrivals_per_hour=rate,
                expected_wait_s=h.expected_wait(z),
                windows_needed=fig.needed_windows(
                    rate, service_s, limit_s, settings.target_service_level
                ),
                curve_waiting=curve_waiting[z],
                curve_arrivals=curve_arrivals[z],
            )
        )
    total_ended = sum(ended)
    return HallSnapshot(
        hall=h.hall,
        now_ms=now,
        day=h.day,
        waiting=len(queue),
        served_today=sum(sv.served_per_zone),
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
            ComplaintView(cid, ts, channel, window, answered)
            # Oldest first; by id within a millisecond (the rest of the record may hold
            # None, which does not sort against a window name).
            for cid, (ts, channel, window, answered) in sorted(
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
            complaint_answer_buckets=frozen(h.c_answer_buckets),
            complaint_answer_sum=h.c_answer_sum,
        ),
        version=h.version,
        staff=staff_figures(h, sv, walks, ratings, hour.per_staff),
        day_waits=day_all,
        hour_waits=hour_all,
        called_not_started=h.state_counts[CALLED],
        arrivals_15m=sum(arrivals_15),
        arrivals_60m=sum(arrivals_60),
        no_show_rate=fig.ratio(float(sum(r[_NO_SHOW] for r in abandoned)), float(total_ended)),
        abandonment_rate=fig.ratio(
            float(sum(r[_LEFT] for r in abandoned) + sum(r[_EXPIRED] for r in abandoned)),
            float(total_ended),
        ),
        curve_start_ms=start,
    )


def _windows(
    h: HallState,
    sv: day_totals.Services,
    walks: day_totals.Walks,
    ratings: day_totals.Ratings,
    hour: day_totals.HourServices,
) -> tuple[WindowSnapshot, ...]:
    """The windows' snapshots."""
    now, nw = h.now_ms, len(h.windows)
    znames, tickets = h.zones.names, h.tickets
    service = sv.window_times
    walk_n, walk_sum = walks.per_window, walks.window_ms
    r_n, r_sum, r_bad = ratings.per_window, ratings.window_points, ratings.window_bad
    services_today, outcomes = sv.per_window, sv.window_outcomes
    last_hour = hour.per_window
    states, since = h.w_state[:nw].tolist(), h.w_state_since[:nw].tolist()
    zone_sets: dict[int, tuple[str, ...]] = {}  # zone bits -> names (windows share them)
    windows = []
    per_window = zip(
        h.windows.names, h.w_zone_bits[:nw], h.w_ticket[:nw], h.w_open_ms[:nw],
        h.w_open_from[:nw], h.w_idle_ms[:nw], h.w_idle_from[:nw], service.mean_s,
        service.quantiles_ms[0], service.counts, service.sum_ms, strict=True,
    )  # fmt: skip
    for w, (name, bits, ticket, open_ms, open_from, idle_ms, idle_from, mean_s, p90_ms, n_day,
            s_day) in enumerate(per_window):  # fmt: skip
        serving = ticket is not None and tickets[ticket].state == SERVING
        open_s = (open_ms + (now - open_from if open_from >= 0 else 0)) / 1000.0
        serving_s = s_day / 1000.0
        if serving and ticket is not None:
            serving_s += max(0, now - tickets[ticket].start) / 1000.0
        idle_s = (idle_ms + (now - idle_from if idle_from >= 0 else 0)) / 1000.0
        zones = zone_sets.get(bits)
        if zones is None:
            zones = zone_sets[bits] = tuple(z for i, z in enumerate(znames) if bits >> i & 1)
        n_walks, n_ratings = walk_n[w], r_n[w]
        # Positional, in field order: ~0.1 µs a window, keywords ~1 µs (msgspec).
        windows.append(
            WindowSnapshot(
                name,
                WINDOW_STATES[states[w]],
                since[w],
                h.w_staff[w],
                ticket,
                serving,
                h.w_ticket_since[w],
                services_today[w],
                last_hour[w],
                mean_s,
                zones,
                p90_ms / 1000.0 if n_day else None,  # p90_service_s
                fig.outcome_dict(*outcomes[w]),
                open_s,
                serving_s,
                serving_s / open_s if open_s else None,  # utilization
                idle_s,
                n_walks,
                walk_sum[w] / 1000.0 / n_walks if n_walks else None,  # walk_mean_s
                n_ratings,
                r_sum[w] / n_ratings if n_ratings else None,  # rating_mean
                r_bad[w],
            )
        )
    return tuple(windows)
