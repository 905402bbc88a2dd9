"""The day's figures from the state's columns, vectorized: grouped wait and service
statistics, the 5-minute day curves, the expected wait and the windows needed.

Pure functions over numpy arrays (the caller hands in views of the day columns); every
definition is in docs/figures.md. Used by ``metrics.view`` when it builds a snapshot.

Imports: feeds.protocol (enumerations), metrics.erlang, metrics.snapshot, numpy.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

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
MIN_CYCLES: Final = 3
"""Fewer calls of a zone ended today (finished, or a no-show) than this: no forecast of
its wait (the first to end are the shortest: they would promise a wait far too short)."""
IDLE_GRACE_MS: Final = 60_000
"""A window free this long while people of its zones wait is not calling (its staff away,
or a specialist window whose items nobody waits for): the forecast leaves it out."""


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


_WAIT_QS: Final = (0.5, 0.9, 0.99)
"""The quantiles of a ``WaitStats``."""


def grouped_waits(
    wait_ms: Array, zone: Array, limits_s: Array, subsets: Sequence[Array | None] = (None,)
) -> list[tuple[list[WaitStats], WaitStats]]:
    """Wait statistics per zone and for the hall (each wait against its own zone's
    limit) of each subset of the waits (a boolean mask; None: all of them). Bit for bit
    ``wait_stats`` of each, with one sort for all of them (``grouped_stats``)."""
    nz = len(limits_s)
    if not nz:  # no zone, no wait (the definition, as it stands)
        return [
            _grouped_waits_by_definition(wait_ms if m is None else wait_ms[m],
                                         zone if m is None else zone[m], limits_s)
            for m in subsets
        ]  # fmt: skip
    within_limit = wait_ms <= (limits_s * 1000.0)[zone]
    parts: list[tuple[Array, Array, int]] = []
    within: list[list[int]] = []
    for m in subsets:
        part_ms, part_zone = (wait_ms, zone) if m is None else (wait_ms[m], zone[m])
        parts.append((part_ms, part_zone, nz))
        parts.append((part_ms, np.zeros(len(part_ms), np.int32), 1))  # the hall's
        ok = within_limit if m is None else within_limit & m
        within.append(np.bincount(zone[ok], minlength=nz).tolist())
    stats = grouped_stats(parts, _WAIT_QS)
    return [
        (_wait_stats_of(stats[2 * i], ok), _wait_stats_of(stats[2 * i + 1], [sum(ok)])[0])
        for i, ok in enumerate(within)
    ]


def _wait_stats_of(groups: GroupStats, within: list[int]) -> list[WaitStats]:
    """``wait_stats`` of each group, from ``grouped_stats`` with ``_WAIT_QS``."""
    p50, p90, p99 = groups.quantiles_ms
    return [
        WaitStats(c, mean_s, a / 1000.0, b / 1000.0, d / 1000.0, ok / c) if c else WaitStats()
        for c, mean_s, a, b, d, ok in zip(
            groups.counts, groups.mean_s, p50, p90, p99, within, strict=True
        )
    ]


def _grouped_waits_by_definition(
    wait_ms: Array, zone: Array, limits_s: Array
) -> tuple[list[WaitStats], WaitStats]:
    """Per-zone wait statistics and the hall's, one ``wait_stats`` at a time."""
    nz = len(limits_s)
    sorted_ms, bounds = group_sorted(wait_ms, zone, nz)
    per_zone = [wait_stats(sorted_ms[bounds[z] : bounds[z + 1]], float(limits_s[z]))
                for z in range(nz)]  # fmt: skip
    order = np.argsort(wait_ms, kind="stable")
    hall = wait_stats(wait_ms[order], limits_s[zone[order]] if nz else 0.0)
    return per_zone, hall


class GroupStats(NamedTuple):
    """One grouping of ``grouped_stats``: lists indexed by group, values in ms."""

    counts: list[int]
    sum_ms: list[float]
    """The group's values added up by ``np.bincount`` (float64, in the column's order)."""
    mean_s: list[float | None]
    """``ndarray.mean`` of the group, in seconds; None for an empty group."""
    quantiles_ms: list[list[float]]
    """Per quantile asked for, per group: ``quantiles`` of the group (meaningless for
    an empty group)."""


def grouped_stats(
    parts: Sequence[tuple[Array, Array, int]], qs: Sequence[float] = (0.9,)
) -> list[GroupStats]:
    """Count, sum, mean and quantiles ``qs`` of ``values_ms`` per group ``0..n-1``, for
    each ``(values_ms, groups, n)`` of ``parts``.

    Bit for bit the definition (each group's sorted values, ``ndarray.mean``,
    ``quantiles``), but every group of every part at once: a snapshot asks for these
    per window, staff and zone, and at a hall's sizes numpy's per-call overhead, not the
    data, was its largest cost. Integers whose float64 partial sums are all exact (below
    2**53, so any order of summation gives numpy's mean) are sorted once by a composite
    key (group, value); anything else goes group by group.
    """
    sizes = [n for _, _, n in parts]
    total = sum(sizes)
    offsets = [sum(sizes[:i]) for i in range(len(parts))]
    if len(parts) == 1:
        values, gids = parts[0][0], parts[0][1]
    else:
        values = np.concatenate([v for v, _, _ in parts])
        gids = np.concatenate(
            [g + off if off else g for (_, g, _), off in zip(parts, offsets, strict=True)]
        )
    n_values = len(values)
    # (np.bincount gives int zeros for no values at all: 0.0 here, as with some values.)
    sums = (
        np.bincount(gids, weights=values, minlength=total).tolist() if n_values else [0.0] * total
    )
    kind, size = values.dtype.kind, values.dtype.itemsize
    if (kind == "i" or (kind == "u" and size < 8)) and n_values and total:  # key: int64
        low, high = int(values.min()), int(values.max())
        span = high - low + 1
        if max(abs(low), abs(high)) * n_values < 2**53 and total * span < 2**62:
            return _grouped_stats_exact(parts, qs, values, gids, sums, offsets, low, span)
    out = []
    for (part_values, groups, n), off in zip(parts, offsets, strict=True):
        sorted_ms, bounds = group_sorted(part_values, groups, n)
        means: list[float | None] = []
        per_q: list[list[float]] = [[] for _ in qs]
        for g in range(n):
            part = sorted_ms[bounds[g] : bounds[g + 1]]
            got = quantiles(part, qs) if len(part) else [0.0] * len(qs)
            for q, value in zip(per_q, got, strict=True):
                q.append(value)
            means.append(float(part.mean()) / 1000.0 if len(part) else None)
        out.append(GroupStats(np.diff(bounds).tolist(), sums[off : off + n], means, per_q))
    return out


def _grouped_stats_exact(
    parts: Sequence[tuple[Array, Array, int]],
    qs: Sequence[float],
    values: Array,
    gids: Array,
    sums: list[float],
    offsets: list[int],
    low: int,
    span: int,
) -> list[GroupStats]:
    """``grouped_stats`` of exact integers: one sort of ``group * span + value - low``.
    The means are the exact sums divided by the count, as ``ndarray.mean`` divides;
    the quantiles ``quantiles``' interpolation as the same float64 operations."""
    total = sum(n for _, _, n in parts)
    key = gids.astype(np.int64) * span
    key += values
    key -= low
    key.sort()
    bounds = np.searchsorted(key, np.arange(total + 1, dtype=np.int64) * span)
    counts = np.diff(bounds)
    # The sorted values, with one more slot: an empty group's indices below stay in range.
    flat = np.empty(len(key) + 1)
    np.add(key % span, low, out=flat[:-1], casting="unsafe")
    flat[-1] = 0.0
    last = counts - 1
    rank = np.asarray(qs, np.float64)[:, None] * last
    lo = rank.astype(np.int64)
    hi = np.minimum(lo + 1, last)
    start = bounds[:-1]
    a = flat[start + lo]
    b = flat[start + hi]
    q_all: list[list[float]] = (a + (b - a) * (rank - lo)).tolist()
    count_l: list[int] = counts.tolist()
    out = []
    for (_, _, n), off in zip(parts, offsets, strict=True):
        count = count_l[off : off + n]
        part_sums = sums[off : off + n]
        means = [t / c / 1000.0 if c else None for c, t in zip(count, part_sums, strict=True)]
        out.append(GroupStats(count, part_sums, means, [q[off : off + n] for q in q_all]))
    return out


def grouped_mean_p90(
    values_ms: Array, groups: Array, n: int
) -> list[tuple[float | None, float | None]]:
    """(mean, p90) in seconds of ``values_ms`` per group; (None, None) for an empty group."""
    (stats,) = grouped_stats([(values_ms, groups, n)], (0.9,))
    return [
        (mean_s, q / 1000.0) if c else (None, None)
        for c, mean_s, q in zip(stats.counts, stats.mean_s, stats.quantiles_ms[0], strict=True)
    ]


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
    a_bin = _bins(issued_ts, start_ms, nbins)
    arrivals = np.bincount(issued_zone * nbins + a_bin, minlength=size).reshape(nz, nbins)
    q_bin = _bins(q_ts, start_ms, nbins)
    change = np.bincount(q_zone * nbins + q_bin, weights=q_delta, minlength=size)
    waiting = np.cumsum(change.reshape(nz, nbins), axis=1).round().astype(np.int64)
    return arrivals[:, -MAX_CURVE_BINS:], waiting[:, -MAX_CURVE_BINS:]


def _bins(ts: Array, start_ms: int, nbins: int) -> Array:
    """The 5-minute bin of each ``ts``, clipped to ``0..nbins-1`` (what ``np.clip``
    gives, without its Python wrapper: a snapshot bins two columns per zone)."""
    out = ts - start_ms
    out //= CURVE_BIN_MS
    np.maximum(out, 0, out=out)
    np.minimum(out, nbins - 1, out=out)
    return out


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


@functools.lru_cache(maxsize=4096)
def needed_windows(
    arrivals_per_hour: float, mean_service_s: float | None, limit_s: float, level: float
) -> int | None:
    """Erlang C windows needed for ``level`` of waits within ``limit_s``; None without a
    service time or when even 1000 windows would not do. Remembered (a pure function,
    up to ~50 µs): a zone's rate and service time stay put between most snapshots."""
    if mean_service_s is None or mean_service_s <= 0:
        return None
    if arrivals_per_hour <= 0:
        return 0
    try:
        return erlang_windows_needed(arrivals_per_hour, mean_service_s, limit_s, level)
    except ValueError:
        return None


def expected_wait(ahead: int, windows: int, free: int, cycle_s: float | None) -> float | None:
    """Forecast wait of a normal ticket issued now in a zone (docs/figures.md).

    The ticket is called at the ``ahead + 1 - free``-th time one of the ``windows`` calls:
    at once (0.0) when a free window is left for it; otherwise each window calls once a
    ``cycle_s`` (the zone's mean call-to-finish time), so the turns come ``windows`` times
    as often: ``(ahead + 1 - free) * cycle_s / windows``.

    Args:
        ahead: People waiting in the zone now.
        windows: Open windows calling the zone's tickets (``HallState.expected_wait``
            says which).
        free: Of those, the ones with no ticket called or in service.
        cycle_s: The zone's mean seconds from a call to the window being free again;
            None when too few are known.

    Returns:
        Seconds, or None without a calling window or a cycle (no figure is better than
        one made up).
    """
    if windows <= 0 or cycle_s is None:
        return None
    turns = ahead + 1 - free
    return turns * cycle_s / windows if turns > 0 else 0.0


def ratio(num: float, den: float) -> float | None:
    """``num / den``, or None when ``den`` is 0 (a figure undefined so far)."""
    return num / den if den else None


def wilson_lower(good: int, n: int, z: float = 1.96) -> float | None:
    """The Wilson score interval's lower bound of a share ``good / n`` (z 1.96: 95 %);
    None when ``n`` is 0. A share of few trials gets a low bound, so ranking by it puts
    499 good of 500 (0.9888) above 1 of 1 (0.2065) — docs/reports.md works both out."""
    if n <= 0:
        return None
    p, z2 = good / n, z * z
    spread = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (p + z2 / (2 * n) - spread) / (1 + z2 / n)


def outcome_counts(row: Array | Sequence[int]) -> dict[str, int]:
    """One row of per-outcome counts (an array row or a list) as ``{outcome: count}``."""
    return outcome_dict(*(row.tolist() if isinstance(row, np.ndarray) else row))


def outcome_dict(
    done: int, to_backend: int, incomplete: int, rejected: int, transferred: int
) -> dict[str, int]:
    """``{outcome: count}`` from the counts in ``SERVICE_OUTCOMES`` order: a dict display,
    2x cheaper than ``dict(zip(...))``, and a snapshot makes one per window and staff."""
    return {"done": done, "to_backend": to_backend, "incomplete": incomplete,
            "rejected": rejected, "transferred": transferred}  # fmt: skip


if SERVICE_OUTCOMES != ("done", "to_backend", "incomplete", "rejected", "transferred"):
    raise ImportError("metrics.figures.outcome_dict must list feeds.protocol's outcomes")
