"""``hallwatch import-csv``: turn another queue system's CSV ticket log into recordings
for ``replay``, counting every bad row.

Imports: feeds (csv import, journal names, privacy), cli.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import ClassVar

from cli import options, wiring
from feeds.privacy import Pseudonymizer, ensure_data_dir


class ImportCsvCommand:
    name: ClassVar[str] = "import-csv"
    help: ClassVar[str] = "turn a queue system's CSV ticket log into recordings for replay"

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, metavar="FILE")
        parser.add_argument(
            "--map",
            required=True,
            metavar="FIELD=COLUMN,...",
            help="arrival (required), call, start, end, window, item, outcome, ticket, zone, "
            "person, staff",
        )
        parser.add_argument(
            "--hall", default="imported", help="hall id of the events (default imported)"
        )
        parser.add_argument(
            "--out", type=Path, help="folder (default: <data dir>/journal/import-HALL)"
        )
        options.add_data_dir(parser, "pseudonymization key")
        parser.add_argument("--encoding", default="utf-8-sig", help="e.g. gbk (default utf-8)")
        parser.add_argument(
            "--outcome", metavar="WORD=OUTCOME,...", help="extra outcome words of the log"
        )

    def run(self, args: argparse.Namespace) -> int:
        from feeds.csv_import import CsvImportError, import_csv, parse_map, parse_outcomes
        from feeds.journal import safe_name

        root = ensure_data_dir(wiring.data_dir(args.data_dir))
        out: Path = args.out or root / "journal" / f"import-{safe_name(args.hall)}"
        try:
            report = import_csv(
                args.file,
                parse_map(args.map),
                out,
                hall=args.hall,
                pseudonymize=Pseudonymizer.from_data_dir(root),
                encoding=args.encoding,
                outcomes=parse_outcomes(args.outcome),
            )
        except (CsvImportError, OSError, LookupError) as error:
            print(f"hallwatch: import-csv: {error}", file=sys.stderr)
            return 2
        print("\n".join(report.lines()))
        return 0
