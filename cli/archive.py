"""``hallwatch archive --nats URL --nats-auth-file FILE --data-dir DIR [--day D]``: closed
days of the stream as the journal files a local ``serve`` writes, so ``replay`` and
``report --month`` keep working once the stream has let them go (``province.archive``;
docs/scale.md).

Without ``--day``: every day the stream holds but its newest, each feed-day not yet in
the data dir's journal (run it nightly). A feed-day is written only once the feed has
gone past it (closed) and its messages follow each other; one that does not is named
and left out. Exit 0: done; 1: a feed-day broken, or (``--day``) not closed yet; 2: no
cluster, or a bad data dir.

Imports: province.archive (nats: the ``cluster`` extra, loaded when run), runtime
(datadir, storage), feeds.privacy, cli.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import ClassVar

from cli import options
from cli.nats_options import add_nats, credentials, need_cluster
from feeds.privacy import ensure_data_dir
from runtime.datadir import DataDirLock
from runtime.storage import starting


class ArchiveCommand:
    name: ClassVar[str] = "archive"
    help: ClassVar[str] = "closed days of the NATS stream into journal files (replay, report)"

    def define(self, parser: argparse.ArgumentParser) -> None:
        add_nats(parser, required=True)
        parser.add_argument(
            "--data-dir", type=Path, required=True, help="the archive: <DIR>/journal/<feed>/"
        )
        parser.add_argument(
            "--day",
            type=options.iso_day,
            action="append",
            metavar="YYYY-MM-DD",
            help="this service day only (may be given again; default: every closed day)",
        )

    def run(self, args: argparse.Namespace) -> int:
        if (missing := need_cluster("archive")) is not None:
            print(missing, file=sys.stderr)
            return 2
        from province.archive import fetch
        from province.cluster import ClusterError

        auth = credentials(args.nats_auth_file)
        with starting(args.data_dir):  # read-only, not ours: said, exit 2
            folder = ensure_data_dir(args.data_dir)
            DataDirLock(folder).acquire()  # one writer per data dir
        try:
            outcomes = fetch(args.nats, args.day, folder, closed_only=True, credentials=auth)
        except ClusterError as error:
            print(f"hallwatch archive: {error}", file=sys.stderr)
            return 2
        failed = False
        for outcome in sorted(outcomes, key=lambda o: (o.day, o.feed)):
            bad = outcome.what == "broken" or (outcome.what == "open" and args.day)
            failed |= bool(bad)
            if outcome.what != "already" or args.day:
                print(outcome.line(), file=sys.stderr if bad else sys.stdout)
        if not outcomes:
            print("hallwatch archive: nothing to archive (no closed day in the stream)")
        return 1 if failed else 0
