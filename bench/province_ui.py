"""Province screen benchmark: a console over 2,000 halls, headless (``console.province``).

The province screen (``ProvinceApp``, Textual headless at 200x60) is shown 2,000 hall
summaries (``province.views.HallSummary``, with their cities' and counties' names) in 12
cities of 9 counties each, as a ``ProvinceWatch`` holds them; between two paints a tenth
of the halls get new figures (the watch's generation moves, as when summaries come in),
spread over every county. Measured, for three shapes of the table — every city closed
(the screen as it opens: 12 rows), one city open with its counties and their halls (188
rows), every city and county open (2,120 rows):

- paint: ``app.paint_province()`` alone — the halls with a new summary read again, their
  counties added up again, the rows that changed made again where they can be seen (a
  screen above and below the view: the others when they come near it) and synced into
  the table (the lines that changed marked dirty); the summaries of the 200 halls that
  changed are new objects, as the watch keeps them;
- paint+draw CPU: the same plus Textual drawing what changed, until ``pilot.pause()``
  finds the app idle (CPU, not wall: the pause waits in 20 ms sleeps); the floor row is
  ``pilot.pause()`` alone, nothing new to draw (the harness' own cost);
- page down+draw CPU, all open: what the rows left out of view cost when they come into
  it — a page down after a paint, the new screen's rows made and drawn.

Read the minimum and the median (the machine is shared).

    python bench/province_ui.py              # 10 runs of each
    python bench/province_ui.py --runs 30 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from province.views import HallSummary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZE = (200, 60)
HALLS = 2000
CITIES = 12
COUNTIES = 9


def summaries(round_: int) -> list[HallSummary]:
    """2,000 halls; figures that move with ``round_`` for a tenth of them."""
    from province.views import HallSummary

    out = []
    for i in range(HALLS):
        moved = round_ if i % 10 == round_ % 10 else 0
        city, county = i % CITIES, i // CITIES % COUNTIES
        out.append(
            HallSummary(
                hall=f"h{i:04d}", name=f"第{i}政务服务中心", city=f"city{city:02d}",
                county=f"county{city:02d}{county}", partition=i % 32,
                now_ms=1763960400000 + moved * 1000, waiting=(i + moved) % 40,
                longest_wait_s=float((i * 37 + moved) % 2400), windows_open=8,
                windows_total=10, served_today=i % 300, complaints_open=i % 3,
                cases_yellow=i % 5, cases_red=i % 11 == 0, red=i % 13 == 0,
                urgent=(i + moved) % 7 == 0, yellow=i % 4 == 0, notice=i % 3,
                backlog=i % 6, silenced=0, city_name=f"第{city}市", county_name=f"第{county}区",
            )
        )  # fmt: skip
    return out


async def bench(runs: int) -> dict[str, list[float]]:
    from console.province import ProvinceApp, ProvinceTable
    from province.places import Scope
    from province.watch import ProvinceWatch, RemoteDesk

    watch = ProvinceWatch(None, "prov", [Scope()])  # type: ignore[arg-type]  # (no connection)

    def heard(round_: int) -> None:
        """As the summaries come: a new one for each hall that changed (a tenth)."""
        now = time.monotonic()
        for i, s in enumerate(summaries(round_)):
            if round_ == 0 or i % 10 == round_ % 10:
                watch.summaries[s.hall] = s
            watch.heard[s.hall] = now
        watch.generation += 1

    async def no_shard(hall: str) -> None:
        return None

    heard(0)
    app = ProvinceApp(RemoteDesk(watch), watch, no_shard, lang="zh", refresh_hz=0.5)
    shapes = {
        "closed": set(),
        "one city open": {"c/city00"} | {f"k/city00/county00{k}" for k in range(COUNTIES)},
        "all open": {f"c/city{c:02d}" for c in range(CITIES)}
        | {f"k/city{c:02d}/county{c:02d}{k}" for c in range(CITIES) for k in range(COUNTIES)},
    }
    out: dict[str, list[float]] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(ProvinceTable)
        round_ = 0
        for shape, opened in shapes.items():
            table.open = set(opened)
            app.paint_province()
            await pilot.pause()
            paint, drawn = [], []
            for _ in range(runs):
                round_ += 1
                heard(round_)
                cpu, start = time.process_time(), time.perf_counter()
                app.paint_province()
                paint.append((time.perf_counter() - start) * 1e3)
                await pilot.pause()
                drawn.append((time.process_time() - cpu) * 1e3)
            out[f"paint, {shape} ({table.row_count} rows)"] = paint
            out[f"paint+draw CPU, {shape}"] = drawn
        # Rows out of view are made when they come into view: what a page down costs,
        # all open, with a tenth of the halls new since the last paint.
        paged = []
        table.move_cursor(0)
        for _ in range(runs):
            round_ += 1
            heard(round_)
            app.paint_province()
            await pilot.pause()
            cpu = time.process_time()
            table.action_page_down()
            await pilot.pause()
            paged.append((time.process_time() - cpu) * 1e3)
        out["page down+draw CPU, all open"] = paged
        floor = []
        for _ in range(runs):
            cpu = time.process_time()
            await pilot.pause()
            floor.append((time.process_time() - cpu) * 1e3)
        out["floor: pilot.pause() alone, CPU"] = floor
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(bench(args.runs))
    if args.json:
        print(json.dumps(results))
        return
    print(f"{'ms':44} {'min':>7} {'median':>7} {'max':>7}")
    for name, values in results.items():
        print(f"{name:44} {min(values):7.1f} {statistics.median(values):7.1f} {max(values):7.1f}")


if __name__ == "__main__":
    main()
