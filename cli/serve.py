"""``hallwatch serve``: headless ingest, alerts, journal and ``/metrics``; JSON-line logs;
stops cleanly on SIGTERM/SIGINT.

Imports: runtime, cli.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import ClassVar

import structlog

from cli import options, wiring
from runtime import logs
from runtime.recovery import recover


class ServeCommand:
    name: ClassVar[str] = "serve"
    help: ClassVar[str] = "headless: ingest, alerts, journal and /metrics"

    def define(self, parser: argparse.ArgumentParser) -> None:
        options.add_live(parser, feeds_required=True)
        parser.add_argument("--log-file", type=Path, help="JSON-line log file (default: stderr)")

    def run(self, args: argparse.Namespace) -> int:
        logs.configure(args.log_file)
        log = structlog.get_logger("hallwatch")
        feeds: list[tuple[str, str]] = args.feed
        sup = wiring.pipeline(
            feeds,
            config_path=args.config,
            data=args.data_dir,
            token_file=args.token_file,
            ca_file=args.ca_file,
        )
        recover(sup, args.recover_days)  # the journal rebuilds the state; feeds resume after it
        stop_metrics = wiring.start_metrics(
            sup,
            args.metrics_host,
            args.metrics_port,
            auth_file=args.metrics_auth_file,
            tls_cert=args.metrics_tls_cert,
            tls_key=args.metrics_tls_key,
        )
        log.info("serve_started", feeds=[url for _, url in feeds])
        try:
            wiring.run_until_signal(sup.run)
        finally:
            stop_metrics()
            sup.close()
            log.info("serve_stopped", events=sup.events_total)
        return 0
