"""Erlang C (M/M/c): how many windows a zone needs for a waiting-time target.

A zone with Poisson arrivals at rate λ, exponential service at rate μ per window and c
identical windows serving one FIFO queue is the M/M/c queue. With offered load
A = λ/μ (erlangs) and c > A:

- wait probability (Erlang C): C(c, A) = c·B / (c − A·(1 − B)), B = Erlang B(c, A),
  computed with the stable recursion B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1));
- mean wait in queue: W_q = C / (c·μ − λ);
- service level: P(W ≤ t) = 1 − C·exp(−(c·μ − λ)·t).

Pure functions on floats; no numpy needed at this size. Used by the forecast and the
windows-needed figures, the ``staffing`` command and the demo hall's M/M/c check.

Imports: the standard library only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Staffing:
    """What ``windows`` open windows give for one arrival rate and service time."""

    windows: int
    service_level: float
    """Share of tickets called within the target wait (0..1)."""
    wait_probability: float
    """Share of tickets that wait at all (Erlang C)."""
    mean_wait_seconds: float
    """Mean wait in the queue; ``inf`` when the windows cannot keep up."""
    occupancy: float
    """Offered load per window (λ / (c·μ)); ≥ 1 means the queue grows without end."""


def erlang_b(windows: int, load: float) -> float:
    """Blocking probability of Erlang B for ``windows`` servers and ``load`` erlangs."""
    b = 1.0
    for k in range(1, windows + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(windows: int, load: float) -> float:
    """Probability that an arrival waits (Erlang C); 1.0 when ``load >= windows``."""
    if windows <= 0 or load >= windows:
        return 1.0
    if load <= 0:
        return 0.0
    b = erlang_b(windows, load)
    return windows * b / (windows - load * (1.0 - b))


def staffing(
    windows: int, arrivals_per_hour: float, mean_service_seconds: float, target_wait_seconds: float
) -> Staffing:
    """The M/M/c figures for ``windows`` windows.

    Args:
        windows: Open windows serving the zone (c).
        arrivals_per_hour: Arrival rate λ.
        mean_service_seconds: Mean service time 1/μ.
        target_wait_seconds: The wait t of the service level P(W ≤ t).
    """
    lam = arrivals_per_hour / 3600.0
    load = lam * mean_service_seconds
    occupancy = load / windows if windows > 0 else math.inf
    if windows <= 0 or load >= windows:
        return Staffing(windows, 0.0, 1.0, math.inf, occupancy)
    c = erlang_c(windows, load)
    drain = windows / mean_service_seconds - lam  # c·μ − λ, per second
    level = 1.0 - c * math.exp(-drain * target_wait_seconds)
    return Staffing(windows, level, c, c / drain, occupancy)


def windows_needed(
    arrivals_per_hour: float,
    mean_service_seconds: float,
    target_wait_seconds: float,
    service_level: float,
    *,
    most: int = 1000,
) -> int:
    """The fewest windows whose service level reaches ``service_level`` (0 for no load).

    Raises:
        ValueError: when even ``most`` windows cannot reach the target.
    """
    load = arrivals_per_hour / 3600.0 * mean_service_seconds
    if load <= 0:
        return 0
    c = max(1, math.floor(load) + 1)  # fewer than the load can never keep up
    while c <= most:
        if (
            staffing(c, arrivals_per_hour, mean_service_seconds, target_wait_seconds).service_level
            >= service_level
        ):
            return c
        c += 1
    raise ValueError(f"more than {most} windows needed")


def staffing_plan(
    arrivals_per_hour: float,
    mean_service_seconds: float,
    target_wait_seconds: float,
    service_level: float,
) -> tuple[int, list[Staffing]]:
    """Windows needed for a target, with the figures for that number and one either side.

    Args:
        arrivals_per_hour: Arrival rate λ (> 0).
        mean_service_seconds: Mean service time 1/μ (> 0).
        target_wait_seconds: The wait t of the target P(W ≤ t) (≥ 0).
        service_level: The target share P(W ≤ t), strictly between 0 and 1.

    Returns:
        ``(needed, candidates)``: candidates are ``needed - 1`` (when ≥ 1), ``needed`` and
        ``needed + 1`` windows, in that order.

    Raises:
        ValueError: on an input outside the ranges above, or when no count up to 1000
            windows reaches the target.
    """
    if not arrivals_per_hour > 0:
        raise ValueError(f"arrivals per hour must be > 0, not {arrivals_per_hour}")
    if not mean_service_seconds > 0:
        raise ValueError(f"mean service seconds must be > 0, not {mean_service_seconds}")
    if not target_wait_seconds >= 0:
        raise ValueError(f"target wait seconds must be >= 0, not {target_wait_seconds}")
    if not 0 < service_level < 1:
        raise ValueError(f"service level must be between 0 and 1 (e.g. 0.9), not {service_level}")
    needed = windows_needed(arrivals_per_hour, mean_service_seconds, target_wait_seconds,
                            service_level)  # fmt: skip
    counts = [c for c in (needed - 1, needed, needed + 1) if c >= 1]
    return needed, [
        staffing(c, arrivals_per_hour, mean_service_seconds, target_wait_seconds) for c in counts
    ]
