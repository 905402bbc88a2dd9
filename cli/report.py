"""``hallwatch report --day DATE | --month YYYY-MM | --quarter YYYY-Qn``: the day's,
month's or quarter's report from the recordings and the alert store (``reports``).

With ``--nats``: from the stream, read into journal files as ``archive`` writes them:
the same report as from the archive of those days. Registered agents in the config are
then matched with the gateways' ``pseudonym.key``, copied into ``--data-dir``.

Imports: reports, runtime.config, feeds.privacy, cli, province.archive (nats: loaded with
``--nats`` only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

from cli import options, wiring
from cli.nats_options import add_nats, credentials, need_cluster
from feeds.privacy import KEY_FILE, Pseudonymizer, load_key
from reports.tables import MIN_RATINGS
from runtime.config import Config


class ReportCommand:
    name: ClassVar[str] = "report"
    help: ClassVar[str] = "daily, monthly or quarterly report from the recordings and alerts"

    def define(self, parser: argparse.ArgumentParser) -> None:
        when = parser.add_mutually_exclusive_group(required=True)
        when.add_argument("--day", type=options.iso_day, metavar="YYYY-MM-DD")
        when.add_argument("--month", metavar="YYYY-MM")
        when.add_argument("--quarter", metavar="YYYY-Qn", help="e.g. 2025-Q4 (October to December)")
        options.add_data_dir(parser, "recordings and alerts.db")
        options.add_config(parser, "limits, rules and holidays")
        add_nats(parser, required=False, help="from the NATS stream instead of --data-dir: "
                 "every feed of the province, read as `archive` would write it")  # fmt: skip
        parser.add_argument(
            "--out", type=Path, help="write the files here (default: print to stdout)"
        )
        parser.add_argument(
            "--format", choices=("md", "csv", "all"), default="md", help="default md"
        )
        parser.add_argument(
            "--min-ratings",
            type=options.positive,
            default=MIN_RATINGS,
            metavar="N",
            help=f"the window evaluation ranks windows with N ratings or more (default "
            f"{MIN_RATINGS}, ours: the documents give none); the others follow, unranked",
        )

    def run(self, args: argparse.Namespace) -> int:
        from reports.gather import ReportError, gather, month_days, quarter_days, tty_progress
        from reports.render import write

        config = wiring.config(args.config)
        period: str | None = args.month or args.quarter
        try:
            if period:
                days = quarter_days(period) if args.quarter else month_days(period)
            else:
                days = [args.day]
            progress = tty_progress() if period else None
            if args.nats:  # the stream read into journal files, as `archive` writes them
                auth = credentials(args.nats_auth_file)
                config = _agents_as_pseudonyms(config, wiring.data_dir(args.data_dir))
                with tempfile.TemporaryDirectory(prefix="hallwatch-report-") as folder:
                    _from_stream(args.nats, auth, days, Path(folder))
                    gathered = gather(days, Path(folder), config, progress)
            else:
                gathered = gather(days, wiring.data_dir(args.data_dir), config, progress)
            text, files = write(gathered, args.out, args.format, period, config.duty.name_of,
                                args.min_ratings, config.names())  # fmt: skip
        except (ReportError, OSError) as error:
            print(f"hallwatch report: {error}", file=sys.stderr)
            return 2
        if text:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        for path in files:
            print(path, file=sys.stderr)
        return 0


def _from_stream(
    urls: list[str], auth: tuple[str, str] | None, days: list[dt.date], folder: Path
) -> None:
    """Every feed's ``days`` read from the stream into ``folder``'s journal, as
    ``archive`` writes them (``province.archive``), open days too.

    Raises:
        ReportError: no NATS client, no node answered, or a feed's messages broken.
    """
    from reports.gather import ReportError

    if (missing := need_cluster("report --nats")) is not None:
        raise ReportError(missing)
    from province.archive import fetch
    from province.cluster import ClusterError

    try:
        outcomes = fetch(urls, days, folder, closed_only=False, credentials=auth)
    except ClusterError as error:
        raise ReportError(str(error)) from None
    broken = [o.line() for o in outcomes if o.what == "broken"]
    if broken:
        raise ReportError("the stream is broken: " + "; ".join(broken))


def _agents_as_pseudonyms(config: Config, data_dir: Path) -> Config:
    """``config`` with its registered agents as the stream has them: pseudonyms of the
    gateways' key, read from ``data_dir`` (never made: a new key would match nobody).

    Raises:
        ReportError: agents, but no key in ``data_dir``: what to copy where.
    """
    from reports.gather import ReportError

    if not config.has_agents():
        return config
    try:
        key = load_key(data_dir)
    except (OSError, ValueError) as error:
        raise ReportError(
            f"[rules.scalping] agents are matched by pseudonym, made with the gateways' key: "
            f"copy {KEY_FILE} from a gateway's --data-dir into {data_dir} (or give --data-dir "
            f"DIR holding it; mode 0600): {getattr(error, 'strerror', None) or error}"
        ) from None
    return config.pseudonymized(Pseudonymizer(key))
