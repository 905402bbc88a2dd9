"""``hallwatch staffing``: Erlang C figures as a text table or one JSON object.

``hallwatch staffing`` answers a duty director's question without a live feed: how
many windows does a zone need for this arrival rate, service time and waiting target,
and what would one window fewer or more give. The numbers come from ``metrics.erlang``.

Imports: metrics.erlang, the standard library.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, ClassVar

from metrics.erlang import Staffing, staffing_plan


def plan_dict(
    arrivals_per_hour: float,
    mean_service_seconds: float,
    target_wait_seconds: float,
    service_level: float,
) -> dict[str, Any]:
    """The plan as a JSON-ready dict: ``windows_needed`` and ``candidates``.

    Each candidate has ``windows``, ``service_level``, ``wait_probability``,
    ``mean_wait_seconds`` (``None`` when the windows cannot keep up: the wait grows
    without end) and ``occupancy``.

    Raises:
        ValueError: on inputs out of range (see ``metrics.erlang.staffing_plan``).
    """
    needed, candidates = staffing_plan(
        arrivals_per_hour, mean_service_seconds, target_wait_seconds, service_level
    )
    return {
        "windows_needed": needed,
        "candidates": [_candidate(s) for s in candidates],
    }


def _candidate(s: Staffing) -> dict[str, Any]:
    return {
        "windows": s.windows,
        "service_level": s.service_level,
        "wait_probability": s.wait_probability,
        "mean_wait_seconds": s.mean_wait_seconds if math.isfinite(s.mean_wait_seconds) else None,
        "occupancy": s.occupancy,
    }


def render_json(plan: dict[str, Any]) -> str:
    """One JSON object on one line."""
    return json.dumps(plan, ensure_ascii=False)


def render_text(
    plan: dict[str, Any],
    arrivals_per_hour: float,
    mean_service_seconds: float,
    target_wait_seconds: float,
    service_level: float,
) -> str:
    """A short human-readable table, the needed count marked with ``*``."""
    load = arrivals_per_hour / 3600.0 * mean_service_seconds
    lines = [
        f"{arrivals_per_hour:g} arrivals/hour x {mean_service_seconds:g} s service = "
        f"{load:.2f} windows busy on average (erlangs)",
        f"target: {service_level:.0%} called within {target_wait_seconds:g} s",
        f"windows needed: {plan['windows_needed']}",
        "",
        "  windows  service level  wait probability  mean wait  occupancy",
    ]
    for c in plan["candidates"]:
        mark = "*" if c["windows"] == plan["windows_needed"] else " "
        wait = c["mean_wait_seconds"]
        wait_text = "unbounded" if wait is None else f"{wait:.1f} s"
        lines.append(
            f"{mark} {c['windows']:>7}  {c['service_level']:>13.1%}  "
            f"{c['wait_probability']:>16.1%}  {wait_text:>9}  {c['occupancy']:>9.1%}"
        )
    return "\n".join(lines)


class StaffingCommand:
    name: ClassVar[str] = "staffing"
    help: ClassVar[str] = (
        "Erlang C: windows needed for an arrival rate, service time and waiting target"
    )

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--arrivals-per-hour", type=float, required=True, metavar="X")
        parser.add_argument("--mean-service-seconds", type=float, required=True, metavar="Y")
        parser.add_argument("--target-wait-seconds", type=float, required=True, metavar="T")
        parser.add_argument(
            "--service-level", type=float, required=True, metavar="P", help="share, e.g. 0.9"
        )
        parser.add_argument(
            "--json", action="store_true", help="one JSON object instead of a table"
        )

    def run(self, args: argparse.Namespace) -> int:
        inputs: tuple[float, float, float, float] = (
            args.arrivals_per_hour,
            args.mean_service_seconds,
            args.target_wait_seconds,
            args.service_level,
        )
        try:
            plan = plan_dict(*inputs)
        except ValueError as error:
            print(f"hallwatch staffing: {error}", file=sys.stderr)
            return 2
        print(render_json(plan) if args.json else render_text(plan, *inputs))
        return 0
