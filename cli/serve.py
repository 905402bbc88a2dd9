"""``hallwatch serve``: headless ingest, alerts, journal and ``/metrics``; JSON-line logs;
stops cleanly on SIGTERM/SIGINT. With ``--nats`` instead of ``--feed``: a shard of the
province (``cli.shard``).

Imports: runtime, cli.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import structlog

from cli import options, wiring
from cli.nats_options import add_cluster, need_cluster
from runtime import logs
from runtime.recovery import recover


class ServeCommand:
    name: ClassVar[str] = "serve"
    help: ClassVar[str] = "headless: ingest, alerts, journal and /metrics"

    def define(self, parser: argparse.ArgumentParser) -> None:
        options.add_live(parser, feeds_required=False)
        parser.add_argument("--log-file", type=Path, help="JSON-line log file (default: stderr)")
        # A shard of the province instead of --feed (docs/scale.md): cli.shard.
        add_cluster(parser, required=False)
        parser.add_argument(
            "--checkpoint-minutes",
            type=float,
            default=10.0,
            help="with --nats: checkpoint each partition at least this often (wall time; "
            "default 10) and at each service-day turn",
        )

    def run(self, args: argparse.Namespace) -> int:
        if bool(args.feed) == bool(args.nats):
            print("hallwatch serve: give --feed URL ... or --nats URL[,URL...]", file=sys.stderr)
            return 2
        if args.nats:
            if (missing := need_cluster("serve --nats")) is not None:
                print(missing, file=sys.stderr)
                return 2
            from cli.shard import run_shard  # (nats: the optional cluster extra)

            return run_shard(args)
        logs.configure(args.log_file)
        log = structlog.get_logger("hallwatch")
        feeds: list[tuple[str, str]] = args.feed
        # A stop (SIGTERM, as from systemd) before the loop runs — while the data dir is
        # taken or the day's journal replayed — ends as cleanly as one during the run.
        wiring.interrupt_on_sigterm()
        try:
            sup = wiring.pipeline(
                feeds,
                config_path=args.config,
                data=args.data_dir,
                token_file=args.token_file,
                ca_file=args.ca_file,
            )
        except KeyboardInterrupt:
            return 0
        stop_metrics: Callable[[], None] | None = None
        try:
            recover(sup, args.recover_days)  # the journal rebuilds the state; feeds resume
            stop_metrics = wiring.start_live_metrics(sup, args)
            log.info("serve_started", feeds=[url for _, url in feeds])
            wiring.run_until_signal(sup.run)
        except KeyboardInterrupt:
            pass
        finally:
            if stop_metrics is not None:
                stop_metrics()
            sup.close()
            log.info("serve_stopped", events=sup.events_total)
        return 0
