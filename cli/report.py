"""``hallwatch report --day DATE | --month YYYY-MM``: the day's or month's report from the
recordings and the alert store (``reports``).

Imports: reports, cli.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import ClassVar

from cli import options, wiring


class ReportCommand:
    name: ClassVar[str] = "report"
    help: ClassVar[str] = "daily or monthly report from the recordings and alerts"

    def define(self, parser: argparse.ArgumentParser) -> None:
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--day", type=options.iso_day, metavar="YYYY-MM-DD")
        when.add_argument("--month", metavar="YYYY-MM")
        options.add_data_dir(parser, "recordings and alerts.db")
        options.add_config(parser, "limits, rules and holidays")
        parser.add_argument(
            "--out", type=Path, help="write the files here (default: print to stdout)"
        )
        parser.add_argument(
            "--format", choices=("md", "csv", "all"), default="md", help="default md"
        )

    def run(self, args: argparse.Namespace) -> int:
        from reports.gather import ReportError, gather, month_days, tty_progress
        from reports.render import write

        config = wiring.config(args.config)
        month: str | None = args.month
        try:
            days = month_days(month) if month else [args.day]
            progress = tty_progress() if month else None
            gathered = gather(days, wiring.data_dir(args.data_dir), config, progress)
            text, files = write(gathered, args.out, args.format, month, config.duty.name_of)
        except (ReportError, OSError) as error:
            print(f"hallwatch report: {error}", file=sys.stderr)
            return 2
        if text:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        for path in files:
            print(path, file=sys.stderr)
        return 0
