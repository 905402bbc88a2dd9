"""Report benchmark: how long ``run.py report`` takes for a day and for a month.

Records ``--days`` consecutive demo days of the default city (three halls) through the
journal into a temporary data dir (finished days gzip-compressed, as live), then times
``reports.gather.gather`` (read, replay into the state engine, alert engine, samples) and
the rendering (tables, Markdown, CSV, SVG) for the first day and for the whole month.
No alert store: the alerts come from the alert engine over the replay (the slower path).

    python bench/report.py               # 22 days (a month of working days)
    python bench/report.py --days 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds.demo.city import default_city
from feeds.demo.hall import simulate_days
from feeds.journal import Journal
from feeds.protocol import Heartbeat
from reports.gather import gather
from reports.render import write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=22)
    args = parser.parse_args()
    first = dt.date(2025, 12, 1)
    events = simulate_days(default_city(), first, args.days, 7)
    events = [
        e if isinstance(e, Heartbeat) else msgspec.structs.replace(e, seq=i + 1)
        for i, e in enumerate(events)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        journal = Journal(data_dir / "journal")
        for i in range(0, len(events), 500):
            journal.append("demo", events[i : i + 500])
        journal.close()
        days = [first + dt.timedelta(k) for k in range(args.days)]
        print(f"{len(events)} events, {args.days} days, 3 halls")
        for label, period, month in (("day", days[:1], None), ("month", days, "2025-12")):
            t0 = time.perf_counter()
            got = gather(period, data_dir)
            t1 = time.perf_counter()
            write(got, data_dir / "out", "all", month)
            t2 = time.perf_counter()
            print(f"{label:5}: gather {t1 - t0:6.2f} s  render {t2 - t1:5.2f} s  ({len(got)} days)")


if __name__ == "__main__":
    main()
