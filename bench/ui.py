"""Console benchmark: screen refresh, key press, idle CPU and start-up, headless.

The console (``console.app.HallwatchApp`` with ``run_pipeline=False``, Textual headless
at 200x60) is shown views of 100 halls x 30 windows (``bench.figures.big_hall_day``):
two views, mid-day and end of day, alternate so every refresh has something to draw.

- refresh: ``app._render(view)`` alone (the widgets' update), and the CPU of render +
  the paint Textual does after it (until ``pilot.pause()`` finds the app idle, and paints
  once more), on the overview, windows and queue screens. The view rendered is also the
  pipeline's, so the app's own 4 Hz timer finds nothing new and paints nothing extra in
  the measured span (it used to repaint the other view in some runs); read the minimum:
  the machine is shared, and CPU time still grows under load. "same view again" is the
  floor: the view on screen rendered again (nothing to paint), i.e. ``_render`` of an
  unchanged view plus what ``pilot.pause()`` itself costs (it posts to every widget);
- key: ``]`` (next hall), wall time of ``pilot.press`` and CPU until the repaint is done;
- idle: CPU share of the process over 3 s with nothing new to show (the refresh timer
  still ticks at 4 Hz);
- loop stall: the longest the event loop is blocked while the pipeline ingests a flood
  (in-memory feed of 1000-event frames, 100 halls, publisher running): what a key press
  waits for before the console can answer it;
- start-up: from spawning ``python bench/ui.py --first-frame`` to the first frame drawn.

    python bench/ui.py                  # 5 runs each
    python bench/ui.py --json
    python bench/ui.py --refresh-only --runs 10   # the refresh rows alone (~30 s)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

T_SPAWN = time.time()  # as early as possible: start-up is measured from here too

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZE = (200, 60)


def views() -> tuple[object, object]:
    """A mid-day and an end-of-day view of 100 big halls."""
    from figures import big_hall_day

    from runtime.pipeline import Pipeline

    events = list(heapq.merge(*(big_hall_day(f"h{h:03d}") for h in range(100)),
                              key=lambda e: e.ts))  # fmt: skip
    sup = Pipeline()
    half = len(events) // 2
    sup.state.apply(events[:half])
    first = sup.publish()
    sup.state.apply(events[half:])
    return first, sup.publish()


async def console(runs: int, refresh_only: bool = False) -> dict[str, list[float]]:
    from console.app import HallwatchApp
    from runtime.desk import Desk
    from runtime.pipeline import Pipeline

    a, b = views()
    sup = Pipeline()
    sup.view = b  # type: ignore[assignment]
    app = HallwatchApp(Desk(sup), run_pipeline=False)
    out: dict[str, list[float]] = {}
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for screen in ("overview", "windows", "queue"):
            app.action_screen(screen)
            await pilot.pause()
            render, paint = [], []
            for i in range(runs * 2):
                view = (a, b)[i % 2]
                sup.view = view  # type: ignore[assignment]
                cpu, start = time.process_time(), time.perf_counter()
                app._render(view)  # type: ignore[arg-type]
                render.append((time.perf_counter() - start) * 1e3)
                # CPU, not wall: pilot.pause() waits for idle in 20 ms sleeps.
                await pilot.pause()
                paint.append((time.process_time() - cpu) * 1e3)
            out[f"render {screen}"] = render
            out[f"render+paint CPU {screen}"] = paint
            same = []  # the floor: the view on screen again (the harness, no new paint)
            for _ in range(runs):
                cpu = time.process_time()
                app._render(sup.view)
                await pilot.pause()
                same.append((time.process_time() - cpu) * 1e3)
            out[f"  same view again {screen}"] = same
        if refresh_only:
            return out
        app.action_screen("overview")
        await pilot.pause()
        keys, keys_cpu = [], []
        for _ in range(runs):
            cpu, start = time.process_time(), time.perf_counter()
            await pilot.press("right_square_bracket")
            keys.append((time.perf_counter() - start) * 1e3)
            await pilot.pause()
            keys_cpu.append((time.process_time() - cpu) * 1e3)
        out["key ] to drawn"] = keys
        out["key ] CPU incl. repaint"] = keys_cpu
        idle = []
        for _ in range(max(1, runs // 2)):
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.sleep(3.0)
            idle.append((time.process_time() - cpu) / (time.perf_counter() - wall) * 100)
        out["idle CPU %"] = idle
    return out


async def loop_stall(seconds: float = 3.0) -> float:
    """The longest event-loop stall (ms) while the pipeline ingests a flood."""
    from feeds.decode import FrameDecoder
    from feeds.privacy import Pseudonymizer
    from feeds.source import MemorySource
    from runtime.pipeline import Pipeline

    frames = _frames(400_000)  # only bytes stay alive: the GC has the pipeline's objects
    source = MemorySource("flood", frames, FrameDecoder(Pseudonymizer(b"bench-key-0123456789")))
    sup = Pipeline([source])
    task = asyncio.create_task(sup.run())
    worst = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end and sup.events_total < 400_000:
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        worst = max(worst, time.perf_counter() - before - 0.001)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return worst * 1e3


def _frames(n: int) -> list[bytes]:
    import msgspec
    from ingest import stream

    events = stream(n)
    return [msgspec.json.encode(events[i : i + 1000]) for i in range(0, n, 1000)]


def first_frame() -> None:
    """Child mode: the console as ``run.py console`` builds it; exit at its first frame."""
    from console.app import HallwatchApp
    from runtime.desk import Desk
    from runtime.pipeline import Pipeline

    class Timed(HallwatchApp):
        def on_mount(self) -> None:
            super().on_mount()
            self.call_after_refresh(self._drawn)

        def _drawn(self) -> None:
            print(time.time(), flush=True)
            self.exit()

    Timed(Desk(Pipeline()), run_pipeline=False).run(headless=True, size=SIZE)


def startup(runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        spawned = time.time()
        done = subprocess.run(
            [sys.executable, __file__, "--first-frame"],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append((float(done.stdout.split()[-1]) - spawned) * 1e3)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", action="store_true", help="one JSON line for bench/table.py")
    p.add_argument("--refresh-only", action="store_true", help="only the refresh rows")
    p.add_argument("--first-frame", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.first_frame:
        first_frame()
        return
    results = asyncio.run(console(args.runs, args.refresh_only))
    if args.refresh_only:
        _print(results, args.json)
        return
    results["loop stall under flood"] = [asyncio.run(loop_stall()) for _ in range(3)]
    results["start-up to first frame"] = startup(args.runs)
    _print(results, args.json)


def _print(results: dict[str, list[float]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(results))
        return
    for name, values in results.items():
        unit = "%" if "%" in name else "ms"
        print(f"{name:>26}: {statistics.median(values):8.1f} {unit} "
              f"[{min(values):.1f}-{max(values):.1f}]")  # fmt: skip


if __name__ == "__main__":
    main()
