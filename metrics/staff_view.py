"""Per-staff figures of a hall snapshot (docs/figures.md, "Staff").

A service, a walk and a rating belong to the staff at the window at that moment (or the
rating's own ``staff``); open and idle time are credited per stretch by the handlers, and
the stretches still running are added here at the hall clock.

Imports: feeds.protocol (enumerations), metrics.hall, metrics.snapshot, metrics.figures,
metrics.day_totals.
"""

from __future__ import annotations

from feeds.protocol import WINDOW_STATES
from metrics import day_totals
from metrics import figures as fig
from metrics.hall import SERVING, HallState
from metrics.snapshot import StaffSnapshot


def staff_figures(
    h: HallState,
    sv: day_totals.Services,
    walks: day_totals.Walks,
    ratings: day_totals.Ratings,
    last_hour: list[int],
) -> tuple[StaffSnapshot, ...]:
    """Per staff today: who finished, walked and was rated (by the staff at the window
    at the time, or the rating's own ``staff``), plus anyone at a window now.

    ``sv``, ``walks``, ``ratings``: the day's totals of ``h``; ``last_hour``: services
    finished in the last hour, per staff."""
    names = h.staff.names
    now = h.now_ms
    services, outcomes, service = sv.per_staff, sv.staff_outcomes, sv.staff_times
    walk_n, walk_sum = walks.per_staff, walks.staff_ms
    r_n, r_sum, r_bad = ratings.per_staff, ratings.staff_points, ratings.staff_bad
    open_ms = {names[i]: ms for i, ms in h.s_open_ms.items()}
    idle_ms = {names[i]: ms for i, ms in h.s_idle_ms.items()}
    serving_ms = dict(zip(names, service.sum_ms, strict=True))
    at_window: dict[str, str] = {}
    closed = WINDOW_STATES.index("closed")
    nw = len(h.windows)
    w_state = h.w_state[:nw].tolist()
    tickets = h.tickets
    for name, window, state, open_from, idle_from, ticket in zip(
        h.w_staff[:nw], h.windows.names, w_state, h.w_open_from[:nw], h.w_idle_from[:nw],
        h.w_ticket[:nw], strict=True,
    ):  # fmt: skip
        if name is None:
            continue
        if state != closed:
            at_window.setdefault(name, window)
        # The stretches still running are this person's so far.
        if open_from >= 0:
            open_ms[name] = open_ms.get(name, 0) + max(0, now - open_from)
        if idle_from >= 0:
            idle_ms[name] = idle_ms.get(name, 0) + max(0, now - idle_from)
        if ticket is not None and tickets[ticket].state == SERVING:
            serving_ms[name] = serving_ms.get(name, 0.0) + max(0, now - tickets[ticket].start)
    index = {name: i for i, name in enumerate(names)}
    p90_ms = service.quantiles_ms[0]
    out = []
    for name in sorted(index.keys() | at_window.keys()):
        window = at_window.get(name)
        open_s = open_ms.get(name, 0) / 1000.0
        serving_s = serving_ms.get(name, 0.0) / 1000.0
        utilization = serving_s / open_s if open_s else None
        idle_s = idle_ms.get(name, 0) / 1000.0
        i = index.get(name)
        if i is None:  # at a window, beyond the staff cap: nothing counted by name
            nothing = fig.outcome_dict(0, 0, 0, 0, 0)
            out.append(StaffSnapshot(name, window, 0, 0, None, None, nothing, 0, None, 0, None, 0,
                                     open_s, serving_s, utilization, idle_s))  # fmt: skip
            continue
        n_walks, n_ratings = walk_n[i], r_n[i]
        if not (services[i] or n_walks or n_ratings or window is not None or open_ms.get(name)):
            continue
        # Positional, in field order: ~10x cheaper than keywords (msgspec).
        out.append(
            StaffSnapshot(
                name,
                window,
                services[i],
                last_hour[i],
                service.mean_s[i],
                p90_ms[i] / 1000.0 if service.counts[i] else None,
                fig.outcome_dict(*outcomes[i]),
                n_walks,
                walk_sum[i] / 1000.0 / n_walks if n_walks else None,  # walk_mean_s
                n_ratings,
                r_sum[i] / n_ratings if n_ratings else None,  # rating_mean
                r_bad[i],
                open_s,
                serving_s,
                utilization,
                idle_s,
            )
        )
    return tuple(out)
