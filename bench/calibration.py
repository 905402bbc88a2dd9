"""Calibration benchmark: the expected wait against "the last hour's mean wait".

For every ticket of a day, the zone's expected wait at its issue (what the console showed
for a ticket issued then) and the zone's mean wait over the hour before, each against
the ticket's realized wait (issue to first call): bias, mean absolute error (MAE) and the
share within ±5 min, on the tickets where both forecasts have a value
(``metrics.calibration``; docs/figures.md, "Calibration"). Over:

- the demo city's service days (``feeds.demo``: ``--halls``, ``--date``, ``--days``,
  ``--seed``), each hall and the whole city;
- the M/M/c validation hall (``demo-feed --mmc``), one day per ``--mmc`` spec: by default
  λ 2/min, μ 0.25/min, 10 windows (ρ 0.8, the golden day's) and λ 2.4 (ρ 0.96: long,
  swinging queues).

The events go through ``CityState`` in 1000-event batches, as ``serve`` applies them (the
forecast is recorded at each issue whatever the batching). Deterministic: no runs.

    python bench/calibration.py                          # 3 halls, 2025-11-24, seed 3
    python bench/calibration.py --days 5 --halls 5 --seed 7
    python bench/calibration.py --mmc 2,0.25,10 --mmc 1.8,0.2,10
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds.demo.city import city
from feeds.demo.hall import simulate_days
from feeds.demo.mmc import MMC, simulate_mmc
from metrics.calibration import Calibration, calibrate_days
from metrics.state import CityState

DEFAULT_MMC = ("2,0.25,10", "2.4,0.25,10")


def city_rows(halls: int, first: dt.date, days: int, seed: int) -> list[tuple[str, Calibration]]:
    """(label, calibration) per hall and day, then the city's total."""
    events = simulate_days(city(halls), first, days, seed)
    dates = [first + dt.timedelta(days=k) for k in range(days)]
    rows: list[tuple[str, Calibration]] = []
    total = Calibration()
    for day, per_hall in calibrate_days(CityState(record_forecasts=True), events, dates):
        for name, cal in per_hall.items():
            rows.append((f"{day.isoformat()} {name}", cal.hall))
            total = total.plus(cal.hall)
    rows.append((f"demo city, {halls} halls x {days} day(s)", total))
    return rows


def mmc_row(spec: str, day: dt.date, seed: int) -> tuple[str, Calibration]:
    queue = MMC.parse(spec)
    rho = queue.arrivals_per_min / (queue.windows * queue.services_per_min)
    [(_, per_hall)] = calibrate_days(
        CityState(record_forecasts=True), simulate_mmc(queue, day, seed), [day]
    )
    return f"M/M/c {spec} (rho {rho:.2f})", per_hall["mmc"].hall


def _m(seconds: float | None, sign: bool = False) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 60:+.2f}" if sign else f"{seconds / 60:.2f}"


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def print_table(rows: Sequence[tuple[str, Calibration]]) -> None:
    print(
        "| day / hall | tickets | called | compared | no forecast | expected wait: bias / "
        "MAE (min), ±5 min | last hour's mean: bias / MAE (min), ±5 min | beats it |"
    )
    print("|---|---:|---:|---:|---:|---|---|---|")
    for label, c in rows:
        f, b = c.forecast, c.baseline
        verdict = {None: "-", True: "yes", False: "no"}[c.beats_baseline]
        print(
            f"| {label} | {c.issued} | {c.called} | {f.tickets} | {c.no_forecast} | "
            f"{_m(f.bias_s, True)} / {_m(f.mae_s)}, {_pct(f.within_share)} | "
            f"{_m(b.bias_s, True)} / {_m(b.mae_s)}, {_pct(b.within_share)} | {verdict} |"
        )


def summary(rows: Sequence[tuple[str, Calibration]]) -> dict[str, dict[str, float | None]]:
    """Per label: the figures, for ``--json`` (``bench/table.py``)."""
    return {
        label: {"compared": c.forecast.tickets, "mae_s": c.forecast.mae_s,
                "within": c.forecast.within_share, "bias_s": c.forecast.bias_s,
                "baseline_mae_s": c.baseline.mae_s, "baseline_within": c.baseline.within_share,
                "baseline_bias_s": c.baseline.bias_s,
                "beats": None if c.beats_baseline is None else float(c.beats_baseline)}
        for label, c in rows
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--halls", type=int, default=3)
    p.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2025, 11, 24))
    p.add_argument("--days", type=int, default=1)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--mmc", action="append", help="LAMBDA,MU,C (repeatable)")
    p.add_argument("--json", action="store_true", help="the totals as one JSON line")
    args = p.parse_args(argv)
    rows = city_rows(args.halls, args.date, args.days, args.seed)
    mmc = [mmc_row(spec, args.date, args.seed) for spec in (args.mmc or DEFAULT_MMC)]
    if args.json:
        print(json.dumps(summary([rows[-1], *mmc])))
        return
    print(f"Expected wait vs the last hour's mean wait, per ticket at its issue "
          f"(seed {args.seed}; errors = forecast - realized wait)\n")  # fmt: skip
    print_table([*rows, *mmc])


if __name__ == "__main__":
    main()
