"""What a hall's day columns add up to: per window, staff and zone the services, their
outcomes and times, the walks, the ratings, the waits and the queue of the day, of the
last hour, and the day curves.

A total is kept per hall with what it was read from, and handed out again while that is
the same: the columns (by identity) and their length, and, for the last hour, which rows
it takes in (the mask of rows within the hour, as bytes), or for the curves, the bins.
Within a service day the columns are append-only (``metrics.columns.Column``) and a new
day brings new ones, so the same inputs give the same total, to the last bit. A hall is
published a few times a second and gets a new service, wait or rating every few
seconds: most of its snapshots reuse most of these. Under a flood every total is
recomputed (``bench/publish.py --moving``).

Imports: feeds.protocol (enumerations), metrics.figures, metrics.hall, metrics.snapshot,
numpy.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import numpy as np
import numpy.typing as npt

from feeds.protocol import SERVICE_OUTCOMES
from metrics import figures as fig
from metrics.hall import TRANSFERRED, HallState
from metrics.snapshot import CURVE_BIN_MS, WaitStats

_NO = len(SERVICE_OUTCOMES)
_T = TypeVar("_T")

_MEMOS: weakref.WeakKeyDictionary[HallState, dict[str, tuple[tuple[object, ...], Any]]] = (
    weakref.WeakKeyDictionary()
)
"""Per hall, per total: (the columns and sizes it was computed from, the total). Weakly
keyed: a hall restored from a checkpoint is a new one, and the old one's totals go."""


def _memos(h: HallState) -> dict[str, tuple[tuple[object, ...], Any]]:
    """The totals kept for ``h`` (a fresh dict, kept nowhere, for a hall that takes no
    weak reference: nothing is remembered, nothing is wrong)."""
    try:
        return _MEMOS.setdefault(h, {})
    except TypeError:
        return {}


def _memo(h: HallState, name: str, key: tuple[object, ...], compute: Callable[[], _T]) -> _T:
    """The total ``name`` of ``h`` computed from ``key`` (columns compare by identity),
    computed now if the last one was from other columns."""
    memo = _memos(h)
    seen = memo.get(name)
    if seen is not None and seen[0] == key:
        return cast(_T, seen[1])
    total = compute()
    memo[name] = (key, total)
    return total


class Services(NamedTuple):
    """The day's finished services (``service_finished``), per window, staff and zone.
    Lists are indexed by the registries' dense indices; treat them as read-only."""

    window_times: fig.GroupStats
    """Service times (where known) per window."""
    staff_times: fig.GroupStats
    """Service times (where known, and the staff) per staff."""
    zone_times: fig.GroupStats
    """Service times (where known) per zone."""
    per_window: list[int]
    window_outcomes: list[list[int]]
    """Per window, per outcome (``SERVICE_OUTCOMES`` order)."""
    share: list[list[int]]
    """Per window, per zone of the ticket."""
    served_per_zone: list[int]
    """Any outcome but ``transferred``."""
    per_staff: list[int]
    staff_outcomes: list[list[int]]


def services(h: HallState) -> Services:
    """The day's services of ``h`` (its buffers flushed)."""
    nz, nw, ns = len(h.zones), len(h.windows), len(h.staff)
    cols = (h.d_fin_service_ms, h.d_fin_window, h.d_fin_zone, h.d_fin_staff, h.d_fin_outcome)
    key = (*cols, len(h.d_fin_service_ms), nz, nw, ns)
    return _memo(h, "services", key, lambda: _services(h, nz, nw, ns))


def _services(h: HallState, nz: int, nw: int, ns: int) -> Services:
    fin_win, fin_zone, fin_out = h.d_fin_window.view(), h.d_fin_zone.view(), h.d_fin_outcome.view()
    fin_ms, fin_staff = h.d_fin_service_ms.view(), h.d_fin_staff.view()
    known = fin_ms >= 0
    has = fin_staff >= 0
    timed = known & has
    # Every grouping in one sort (figures.grouped_stats).
    window_times, staff_times, zone_times = fig.grouped_stats(
        [
            (fin_ms[known], fin_win[known], nw),
            (fin_ms[timed], fin_staff[timed], ns),
            (fin_ms[known], fin_zone[known], nz),
        ]
    )
    st = fin_staff[has]
    # Python lists: a list item is ~10x cheaper than a numpy scalar in the snapshot's
    # loops, and ``tolist`` gives the very same ints and floats.
    return Services(
        window_times,
        staff_times,
        zone_times,
        np.bincount(fin_win, minlength=nw).tolist(),
        np.bincount(fin_win * _NO + fin_out, minlength=nw * _NO).reshape(nw, _NO).tolist(),
        np.bincount(fin_win * nz + fin_zone, minlength=nw * nz).reshape(nw, nz).tolist(),
        np.bincount(fin_zone[fin_out != TRANSFERRED], minlength=nz).tolist(),
        np.bincount(st, minlength=ns).tolist(),
        np.bincount(st * _NO + fin_out[has], minlength=ns * _NO).reshape(ns, _NO).tolist(),
    )


class Walks(NamedTuple):
    """The day's walks (call to start), per window and per staff (where known)."""

    per_window: list[int]
    window_ms: list[float]
    """Their sum (``np.bincount``), per window."""
    per_staff: list[int]
    staff_ms: list[float]


def walks(h: HallState) -> Walks:
    """The day's walks of ``h`` (its buffers flushed)."""
    nw, ns = len(h.windows), len(h.staff)
    cols = (h.d_walk_window, h.d_walk_staff, h.d_walk_ms)
    key = (*cols, len(h.d_walk_ms), nw, ns)
    return _memo(h, "walks", key, lambda: _walks(h, nw, ns))


def _walks(h: HallState, nw: int, ns: int) -> Walks:
    win, staff, ms = h.d_walk_window.view(), h.d_walk_staff.view(), h.d_walk_ms.view()
    known = staff >= 0
    return Walks(
        np.bincount(win, minlength=nw).tolist(),
        np.bincount(win, weights=ms, minlength=nw).tolist(),
        np.bincount(staff[known], minlength=ns).tolist(),
        np.bincount(staff[known], weights=ms[known], minlength=ns).tolist(),
    )


class Ratings(NamedTuple):
    """The day's ratings, per window and per staff (where known)."""

    per_window: list[int]
    window_points: list[float]
    """The scores (1-5) added up (``np.bincount``), per window."""
    window_bad: list[int]
    """Ratings of 1 or 2."""
    per_staff: list[int]
    staff_points: list[float]
    staff_bad: list[int]


def ratings(h: HallState) -> Ratings:
    """The day's ratings of ``h`` (its buffers flushed)."""
    nw, ns = len(h.windows), len(h.staff)
    cols = (h.d_rating_window, h.d_rating_staff, h.d_rating_score)
    key = (*cols, len(h.d_rating_score), nw, ns)
    return _memo(h, "ratings", key, lambda: _ratings(h, nw, ns))


def _ratings(h: HallState, nw: int, ns: int) -> Ratings:
    win, staff = h.d_rating_window.view(), h.d_rating_staff.view()
    score = h.d_rating_score.view()  # 0-4: the score less one
    bad = score <= 1
    known = staff >= 0
    return Ratings(
        np.bincount(win, minlength=nw).tolist(),
        np.bincount(win, weights=score + 1, minlength=nw).tolist(),
        np.bincount(win[bad], minlength=nw).tolist(),
        np.bincount(staff[known], minlength=ns).tolist(),
        np.bincount(staff[known], weights=score[known] + 1, minlength=ns).tolist(),
        np.bincount(staff[known & bad], minlength=ns).tolist(),
    )


def waits(
    h: HallState, limits_s: npt.NDArray[np.float64], recent: npt.NDArray[np.bool_]
) -> tuple[list[WaitStats], WaitStats, list[WaitStats], WaitStats]:
    """Wait statistics per zone and for the hall, of the day and of the ``recent`` waits
    (those of the last hour, by the hall clock): ``limits_s`` are the zones' limits."""
    wait_ms, zone = h.d_wait_ms.view(), h.d_wait_zone.view()
    day_key = (h.d_wait_ms, h.d_wait_zone, len(h.d_wait_ms), len(h.zones), h.settings)
    hour_key = (*day_key, recent.tobytes())
    memo = _memos(h)
    day, hour = memo.get("waits"), memo.get("hour waits")
    if day is not None and day[0] == day_key:
        day_z, day_all = day[1]
        if hour is not None and hour[0] == hour_key:
            hour_z, hour_all = hour[1]
        else:
            ((hour_z, hour_all),) = fig.grouped_waits(wait_ms, zone, limits_s, (recent,))
    else:  # both in one sort
        (day_z, day_all), (hour_z, hour_all) = fig.grouped_waits(
            wait_ms, zone, limits_s, (None, recent)
        )
        _memo(h, "waits", day_key, lambda: (day_z, day_all))
    _memo(h, "hour waits", hour_key, lambda: (hour_z, hour_all))
    return day_z, day_all, hour_z, hour_all


class HourServices(NamedTuple):
    """The services finished in the last hour."""

    per_window: list[int]
    timed_per_window: list[int]
    """With a service time."""
    window_ms: list[float]
    """Their service times added up (``np.bincount``), per window."""
    timed_per_zone: list[int]
    zone_ms: list[float]
    per_staff: list[int]


def hour_services(h: HallState, in_hour: npt.NDArray[np.bool_]) -> HourServices:
    """The services of ``h`` finished in the last hour: ``in_hour``, per finished
    service (``d_fin_*``), by the hall clock."""
    nz, nw, ns = len(h.zones), len(h.windows), len(h.staff)
    cols = (h.d_fin_service_ms, h.d_fin_window, h.d_fin_zone, h.d_fin_staff)
    key = (*cols, len(h.d_fin_service_ms), nz, nw, ns, in_hour.tobytes())
    return _memo(h, "hour services", key, lambda: _hour_services(h, in_hour, nz, nw, ns))


def _hour_services(
    h: HallState, in_hour: npt.NDArray[np.bool_], nz: int, nw: int, ns: int
) -> HourServices:
    fin_win, fin_zone = h.d_fin_window.view(), h.d_fin_zone.view()
    fin_ms, fin_staff = h.d_fin_service_ms.view(), h.d_fin_staff.view()
    timed = in_hour & (fin_ms >= 0)
    timed_win, timed_zone, timed_ms = fin_win[timed], fin_zone[timed], fin_ms[timed]
    staff = fin_staff[in_hour]
    return HourServices(
        np.bincount(fin_win[in_hour], minlength=nw).tolist(),
        np.bincount(timed_win, minlength=nw).tolist(),
        np.bincount(timed_win, weights=timed_ms, minlength=nw).tolist(),
        np.bincount(timed_zone, minlength=nz).tolist(),
        np.bincount(timed_zone, weights=timed_ms, minlength=nz).tolist(),
        np.bincount(staff[staff >= 0], minlength=ns).tolist(),
    )


class Queue(NamedTuple):
    """The day's tickets in and out of the queues, per zone."""

    issued: list[int]
    abandoned: list[list[int]]
    """Per zone, per reason (``ABANDON_REASONS`` order)."""
    ended: list[int]
    """Waits that ended: first calls, and abandons before any call."""


def queue(h: HallState) -> Queue:
    """The day's queue totals of ``h`` (its buffers flushed)."""
    nz = len(h.zones)
    cols = (h.d_issued_zone, h.d_abandon_zone, h.d_abandon_reason, h.d_abandon_called,
            h.d_wait_zone)  # fmt: skip
    key = (*cols, len(h.d_issued_zone), len(h.d_abandon_zone), len(h.d_wait_zone), nz)
    return _memo(h, "queue", key, lambda: _queue(h, nz))


def _queue(h: HallState, nz: int) -> Queue:
    ab_zone, ab_reason = h.d_abandon_zone.view(), h.d_abandon_reason.view()
    ab_called, wait_zone = h.d_abandon_called.view(), h.d_wait_zone.view()
    return Queue(
        np.bincount(h.d_issued_zone.view(), minlength=nz).tolist(),
        np.bincount(ab_zone * 3 + ab_reason, minlength=nz * 3).reshape(nz, 3).tolist(),
        (np.bincount(wait_zone, minlength=nz)
         + np.bincount(ab_zone[ab_called == 0], minlength=nz)).tolist(),
    )  # fmt: skip


def curves(h: HallState, start_ms: int) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Per zone, arrivals and people waiting per 5-minute bin from ``start_ms``
    (``figures.day_curves``): the same while no ticket came or moved and the clock
    stays in its bin."""
    now, nz = h.now_ms, len(h.zones)
    bins = (now - start_ms) // CURVE_BIN_MS if start_ms > 0 and now >= start_ms else -1
    cols = (h.d_issued_ts, h.d_issued_zone, h.d_q_ts, h.d_q_zone, h.d_q_delta)
    key = (*cols, len(h.d_issued_ts), len(h.d_q_ts), start_ms, bins, nz)
    return _memo(h, "curves", key, lambda: _curves(h, start_ms))


def _curves(h: HallState, start_ms: int) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    arrivals, waiting = fig.day_curves(
        start_ms, h.now_ms, len(h.zones), h.d_issued_ts.view(), h.d_issued_zone.view(),
        h.d_q_ts.view(), h.d_q_zone.view(), h.d_q_delta.view(),
    )  # fmt: skip
    return [tuple(row) for row in arrivals.tolist()], [tuple(row) for row in waiting.tolist()]
