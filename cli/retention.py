"""``hallwatch retention apply [--dry-run]``: strip the pseudonyms from recorded days older
than ``[retention] strip_person_after_days`` (default: the second-trip window plus 5
days), and delete recordings older than ``delete_after_days`` when that is set. The
pipeline applies the same at each turn of the service day.

Imports: feeds.retention, cli.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import ClassVar

from cli import options, wiring
from feeds.retention import apply_retention


class RetentionCommand:
    name: ClassVar[str] = "retention"
    help: ClassVar[str] = "strip pseudonyms from old recorded days, delete old recordings"

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action", choices=("apply",))
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be done, change nothing"
        )
        parser.add_argument(
            "--today",
            type=options.iso_day,
            metavar="YYYY-MM-DD",
            help="count the days from this one (default: today's date)",
        )
        options.add_data_dir(parser, "the recordings")
        options.add_config(parser, "[retention] and the second-trip window")

    def run(self, args: argparse.Namespace) -> int:
        config = wiring.config(args.config)
        today: dt.date = args.today or dt.date.today()
        run = apply_retention(
            wiring.data_dir(args.data_dir) / "journal",
            today,
            strip_after_days=config.retention.strip_days(config.rules),
            delete_after_days=config.retention.delete_after_days,
            dry_run=args.dry_run,
        )
        print("\n".join(run.lines()))
        return 0
