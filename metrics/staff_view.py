"""Per-staff figures of a hall snapshot (docs/figures.md, "Staff").

A service, a walk and a rating belong to the staff at the window at that moment (or the
rating's own ``staff``); open and idle time are credited per stretch by the handlers, and
the stretches still running are added here at the hall clock.

Imports: feeds.protocol (enumerations), metrics.hall, metrics.snapshot, metrics.figures,
numpy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feeds.protocol import SERVICE_OUTCOMES, WINDOW_STATES
from metrics import figures as fig
from metrics.hall import SERVING, HallState
from metrics.snapshot import StaffSnapshot

HOUR_MS = 3_600_000
_NO = len(SERVICE_OUTCOMES)


def staff_figures(
    h: HallState,
    fin_ts: npt.NDArray[np.int64],
    fin_out: npt.NDArray[np.int8],
    fin_ms: npt.NDArray[np.int64],
    fin_staff: npt.NDArray[np.int32],
    known: npt.NDArray[np.bool_],
    now: int,
) -> tuple[StaffSnapshot, ...]:
    """Per staff today: who finished, walked and was rated (by the staff at the window
    at the time, or the rating's own ``staff``), plus anyone at a window now."""
    names = h.staff.names
    ns = len(names)
    has = fin_staff >= 0
    st = fin_staff[has]
    services = np.bincount(st, minlength=ns)
    last_hour = np.bincount(fin_staff[has & (fin_ts > now - HOUR_MS)], minlength=ns)
    outcomes = np.bincount(st * _NO + fin_out[has], minlength=ns * _NO).reshape(ns, _NO)
    timed = has & known
    service_stats = fig.grouped_mean_p90(fin_ms[timed], fin_staff[timed], ns)
    walk_staff, walk_ms = h.d_walk_staff.view(), h.d_walk_ms.view()
    wk = walk_staff >= 0
    walk_n = np.bincount(walk_staff[wk], minlength=ns)
    walk_sum = np.bincount(walk_staff[wk], weights=walk_ms[wk], minlength=ns)
    r_staff, r_score = h.d_rating_staff.view(), h.d_rating_score.view()
    rk = r_staff >= 0
    r_n = np.bincount(r_staff[rk], minlength=ns)
    r_sum = np.bincount(r_staff[rk], weights=r_score[rk] + 1, minlength=ns)
    r_bad = np.bincount(r_staff[rk & (r_score <= 1)], minlength=ns)
    serving_sum = np.bincount(fin_staff[timed], weights=fin_ms[timed], minlength=ns)
    open_ms = {names[i]: ms for i, ms in h.s_open_ms.items()}
    idle_ms = {names[i]: ms for i, ms in h.s_idle_ms.items()}
    serving_ms = dict(zip(names, serving_sum.tolist(), strict=True))
    at_window: dict[str, str] = {}
    closed = WINDOW_STATES.index("closed")
    w_state = h.w_state.tolist()  # list items, not numpy scalars, in the loops below
    for w, name in enumerate(h.w_staff[: len(h.windows)]):
        if name is None:
            continue
        if w_state[w] != closed:
            at_window.setdefault(name, h.windows.names[w])
        # The stretches still running are this person's so far.
        if h.w_open_from[w] >= 0:
            open_ms[name] = open_ms.get(name, 0) + max(0, now - h.w_open_from[w])
        if h.w_idle_from[w] >= 0:
            idle_ms[name] = idle_ms.get(name, 0) + max(0, now - h.w_idle_from[w])
        ticket = h.w_ticket[w]
        if ticket is not None and h.tickets[ticket].state == SERVING:
            serving_ms[name] = serving_ms.get(name, 0.0) + max(0, now - h.tickets[ticket].start)
    index = {name: i for i, name in enumerate(names)}
    empty = [0] * _NO
    services_l, last_hour_l, outcomes_l = services.tolist(), last_hour.tolist(), outcomes.tolist()
    walk_n_l, walk_sum_l = walk_n.tolist(), walk_sum.tolist()
    r_n_l, r_sum_l, r_bad_l = r_n.tolist(), r_sum.tolist(), r_bad.tolist()
    out = []
    for name in sorted(set(index) | set(at_window)):
        i = index.get(name)
        active = i is not None and bool(services_l[i] or walk_n_l[i] or r_n_l[i])
        if not (active or name in at_window or open_ms.get(name)):
            continue
        mean_s, p90_s = service_stats[i] if i is not None else (None, None)
        open_s = open_ms.get(name, 0) / 1000.0
        serving_s = serving_ms.get(name, 0.0) / 1000.0
        out.append(
            StaffSnapshot(
                name=name,
                window=at_window.get(name),
                services_today=services_l[i] if i is not None else 0,
                services_last_hour=last_hour_l[i] if i is not None else 0,
                mean_service_s=mean_s,
                p90_service_s=p90_s,
                outcomes=fig.outcome_counts(outcomes_l[i] if i is not None else empty),
                walks=walk_n_l[i] if i is not None else 0,
                walk_mean_s=fig.ratio(walk_sum_l[i] / 1000.0, float(walk_n_l[i]))
                if i is not None
                else None,
                ratings_today=r_n_l[i] if i is not None else 0,
                rating_mean=fig.ratio(r_sum_l[i], float(r_n_l[i])) if i is not None else None,
                bad_ratings_today=r_bad_l[i] if i is not None else 0,
                open_s=open_s,
                serving_s=serving_s,
                utilization=fig.ratio(serving_s, open_s),
                idle_waiting_s=idle_ms.get(name, 0) / 1000.0,
            )
        )
    return tuple(out)
