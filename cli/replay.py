"""``hallwatch replay``: serve recorded days (journal files) again as a protocol-v1 feed;
prints its URL on the first line.

Imports: feeds (replay), runtime, cli.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, ClassVar

import structlog

from cli import options, wiring
from runtime import logs
from runtime.config import read_token


class ReplayCommand:
    name: ClassVar[str] = "replay"
    help: ClassVar[str] = "serve recorded days (journal files) as a protocol-v1 feed"

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "files", nargs="+", type=Path, metavar="FILE", help="journal .jsonl(.gz)"
        )
        parser.add_argument(
            "--speed", type=options.speed, default=60.0, help="hall time / real time, or max"
        )
        options.add_replay_window(parser)
        options.add_serving(parser, default_port=8766)

    def run(self, args: argparse.Namespace) -> int:
        from feeds.replay import read_recording, serve_replay, window

        logs.configure(None)
        log = structlog.get_logger("hallwatch")
        token = read_token(args.token_file) if args.token_file else None
        tls = wiring.server_tls(args.tls_cert, args.tls_key)
        try:
            recording = read_recording(args.files)
            window(recording, args.start, args.until)
        except (OSError, ValueError) as error:
            print(f"hallwatch: replay: {error}", file=sys.stderr)
            return 2
        if recording.bad_lines:
            log.warning("replay_bad_lines", files=recording.bad_lines)

        def ready(server: Any) -> None:
            log.info(
                "replay_listening",
                url=server.url,
                events=len(recording.events),
                halls=list(recording.halls),
            )
            print(server.url, flush=True)  # a script (or a test) reads the first line

        wiring.run_until_signal(
            lambda: serve_replay(
                recording,
                args.host,
                args.port,
                speed=args.speed,
                start=args.start,
                until=args.until,
                token=token,
                ready=ready,
                ssl_context=tls,
            )
        )
        return 0
