"""The day's figures from the state's columns, vectorized: grouped wait and service
statistics, the 5-minute day curves, the expected wait and the windows needed.

Pure functions over numpy arrays (the caller hands in views of the day columns); every
definition is in docs/figures.md. Used by ``metrics.view`` when it builds a snapshot.

Imports: feeds.protocol (enumerations), metrics.erlang, metrics.snapshot, numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from feeds.protocol import SERVICE_OUTCOMES
from metrics.erlang import windows_needed as erlang_windows_needed
from metrics.snapshot import CURVE_BIN_MS, WaitStats

Array = npt.NDArray[Any]

HOUR_MS: Final = 3_600_000
MAX_CURVE_BINS: Final = 288
"""A day of 5-minute bins: the curves never grow past it."""
THIN_ARRIVALS: Final = 10
"""Fewer arrivals than this in the last hour: the rate comes from the day's curve."""
MIN_SERVICES: Final = 5
"""Fewer services than this in the last hour: the service time is the day's."""


def quantiles(sorted_values: Array, qs: Sequence[float]) -> list[float]:
    """Quantiles of an ascending, non-empty array with linear interpolation (numpy's
    default ``linear`` method), without numpy's per-call overhead."""
    n = len(sorted_values)
    out = []
    for q in qs:
        rank = q * (n - 1)
        lo = int(rank)
        hi = min(lo + 1, n - 1)
        a, b = float(sorted_values[lo]), float(sorted_values[hi])
        out.append(a + (b - a) * (rank - lo))
    return out


def group_sorted(values: Array, groups: Array, n: int) -> tuple[Array, Array]:
    """Sort ``values`` by (group, value) with one lexsort.

    Returns:
        The sorted values and ``bounds`` with group g at ``sorted[bounds[g]:bounds[g+1]]``.
    """
    order = np.lexsort((values, groups))
    bounds = np.searchsorted(groups[order], np.arange(n + 1))
    return values[order], bounds


def wait_stats(sorted_ms: Array, limit_s: float | Array) -> WaitStats:
    """Count, mean and p50/p90/p99 of sorted waits in ms; the service level is the share
    within ``limit_s`` (a number, or one limit per wait, aligned with ``sorted_ms``)."""
    n = len(sorted_ms)
    if n == 0:
        return WaitStats()
    p50, p90, p99 = quantiles(sorted_ms, (0.5, 0.9, 0.99))
    within = int(np.count_nonzero(sorted_ms <= np.asarray(limit_s) * 1000.0))
    return WaitStats(
        count=n,
        mean_s=float(sorted_ms.mean()) / 1000.0,
        p50_s=p50 / 1000.0,
        p90_s=p90 / 1000.0,
        p99_s=p99 / 1000.0,
        service_level=within / n,
    )


def grouped_waits(
    wait_ms: Array, zone: Array, limits_s: Array
) -> tuple[list[WaitStats], WaitStats]:
    """Per-zone wait statistics and the hall's (each wait against its own zone's limit)."""
    nz = len(limits_s)
    sorted_ms, bounds = group_sorted(wait_ms, zone, nz)
    per_zone = [wait_stats(sorted_ms[bounds[z] : bounds[z + 1]], float(limits_s[z]))
                for z in range(nz)]  # fmt: skip
    order = np.argsort(wait_ms, kind="stable")
    hall = wait_stats(wait_ms[order], limits_s[zone[order]] if nz else 0.0)
    return per_zone, hall


def grouped_mean_p90(
    values_ms: Array, groups: Array, n: int
) -> list[tuple[float | None, float | None]]:
    """(mean, p90) in seconds of ``values_ms`` per group; (None, None) for an empty group."""
    sorted_ms, bounds = group_sorted(values_ms, groups, n)
    if values_ms.dtype.kind in "iu" and _exact_sums(values_ms):
        return _grouped_mean_p90_ints(sorted_ms, bounds, groups, values_ms, n)
    out: list[tuple[float | None, float | None]] = []
    for g in range(n):
        part = sorted_ms[bounds[g] : bounds[g + 1]]
        if len(part):
            out.append((float(part.mean()) / 1000.0, quantiles(part, (0.9,))[0] / 1000.0))
        else:
            out.append((None, None))
    return out


def _exact_sums(values: Array) -> bool:
    """Whether every float64 partial sum of these integers is exact (all below 2**53),
    so any summation order gives numpy's ``mean`` to the last bit."""
    if not len(values):
        return True
    return int(np.abs(values).max()) * len(values) < 2**53


def _grouped_mean_p90_ints(
    sorted_ms: Array, bounds: Array, groups: Array, values_ms: Array, n: int
) -> list[tuple[float | None, float | None]]:
    """``grouped_mean_p90`` for integer values, every group at once (a snapshot asks for
    this per window, zone and staff: the per-group numpy calls were its largest cost).
    Bit for bit the same: exact integer sums divided by the count as ``ndarray.mean``
    does, and ``quantiles``' interpolation as float64 operations in the same order."""
    counts = np.diff(bounds)
    sums = np.bincount(groups, weights=values_ms, minlength=n)[:n]
    has = counts > 0
    last = np.maximum(counts - 1, 0)
    rank = 0.9 * last
    lo = rank.astype(np.int64)
    hi = np.minimum(lo + 1, last)
    start = bounds[:-1]
    flat = sorted_ms.astype(np.float64)
    a = np.where(has, flat[np.where(has, start + lo, 0)] if len(flat) else 0.0, 0.0)
    b = np.where(has, flat[np.where(has, start + hi, 0)] if len(flat) else 0.0, 0.0)
    p90 = a + (b - a) * (rank - lo)
    out: list[tuple[float | None, float | None]] = []
    for c, total, q in zip(counts.tolist(), sums.tolist(), p90.tolist(), strict=True):
        if c:
            out.append((total / c / 1000.0, q / 1000.0))
        else:
            out.append((None, None))
    return out


def curve_start(day_open_ms: int) -> int:
    """The day curves' first bin: the day's opening floored to 5 minutes (hall clock;
    CST is a whole number of hours from UTC, so the floor lands on local 5 minutes)."""
    return day_open_ms - day_open_ms % CURVE_BIN_MS


def day_curves(
    start_ms: int,
    now_ms: int,
    nz: int,
    issued_ts: Array,
    issued_zone: Array,
    q_ts: Array,
    q_zone: Array,
    q_delta: Array,
) -> tuple[Array, Array]:
    """Per zone, arrivals per 5-minute bin and people waiting at the end of each bin.

    Returns:
        ``(arrivals, waiting)``, int arrays of shape (zones, bins); bins run from
        ``start_ms`` to the bin holding ``now_ms`` (at most a day: the latest 288).
    """
    if start_ms <= 0 or now_ms < start_ms or nz == 0:
        empty = np.zeros((nz, 0), np.int64)
        return empty, empty
    nbins = int((now_ms - start_ms) // CURVE_BIN_MS) + 1
    size = nz * nbins
    a_bin = np.clip((issued_ts - start_ms) // CURVE_BIN_MS, 0, nbins - 1)
    arrivals = np.bincount(issued_zone * nbins + a_bin, minlength=size).reshape(nz, nbins)
    q_bin = np.clip((q_ts - start_ms) // CURVE_BIN_MS, 0, nbins - 1)
    change = np.bincount(q_zone * nbins + q_bin, weights=q_delta, minlength=size)
    waiting = np.cumsum(change.reshape(nz, nbins), axis=1).round().astype(np.int64)
    return arrivals[:, -MAX_CURVE_BINS:], waiting[:, -MAX_CURVE_BINS:]


def arrival_rate(arrivals_hour: int, arrivals_day: int, day_open_ms: int, now_ms: int) -> float:
    """Arrivals per hour behind the windows-needed figure.

    The last hour's count when the day has run an hour and the count is not thin
    (``THIN_ARRIVALS``) or is nothing at all (after closing nobody comes: the day's
    average would ask for windows nobody needs); otherwise the day's curve so far:
    arrivals since the opening per hour open (at least a quarter of an hour, so the first
    minutes do not explode).
    """
    open_h = (now_ms - day_open_ms) / HOUR_MS if day_open_ms >= 0 else 0.0
    if open_h >= 1.0 and (arrivals_hour >= THIN_ARRIVALS or arrivals_hour == 0):
        return float(arrivals_hour)
    return arrivals_day / max(open_h, 0.25)


def needed_windows(
    arrivals_per_hour: float, mean_service_s: float | None, limit_s: float, level: float
) -> int | None:
    """Erlang C windows needed for ``level`` of waits within ``limit_s``; None without a
    service time or when even 1000 windows would not do."""
    if mean_service_s is None or mean_service_s <= 0:
        return None
    if arrivals_per_hour <= 0:
        return 0
    try:
        return erlang_windows_needed(arrivals_per_hour, mean_service_s, limit_s, level)
    except ValueError:
        return None


def expected_wait(
    ahead: int, free_windows: int, capacity_per_s: float, serving_windows: int
) -> float | None:
    """Forecast wait of a ticket issued now.

    ``ahead`` people wait before it; ``free_windows`` open windows of the zone have no
    ticket; ``capacity_per_s`` is the zone's calls per second from its open windows (each
    window's share of this zone times 1 / its mean call-to-finish cycle). The ticket is
    called after ``ahead + 1 - free_windows`` windows have become free.
    """
    if serving_windows == 0 or capacity_per_s <= 0:
        return None
    turns = ahead + 1 - free_windows
    return turns / capacity_per_s if turns > 0 else 0.0


def ratio(num: float, den: float) -> float | None:
    """``num / den``, or None when ``den`` is 0 (a figure undefined so far)."""
    return num / den if den else None


def outcome_counts(row: Array | Sequence[int]) -> dict[str, int]:
    """One row of per-outcome counts (an array row or a list) as ``{outcome: count}``."""
    return dict(zip(SERVICE_OUTCOMES, row.tolist() if isinstance(row, np.ndarray) else row,
                    strict=True))  # fmt: skip
