"""``hallwatch console``: the Textual console on live feeds, or on recorded days in
process (``--replay``) with replay keys, or over the province's NATS cluster (``--nats``:
every hall its credentials see, grouped by city and county; docs/scale.md).

Imports: feeds (replay), runtime, cli; the console (and province) through ``cli.wiring``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import ClassVar

from cli import options, wiring
from cli.nats_options import add_nats, credentials, need_cluster
from runtime import logs
from runtime.build import build_pipeline
from runtime.desk import Desk
from runtime.recovery import recover


class ConsoleCommand:
    name: ClassVar[str] = "console"
    help: ClassVar[str] = "the Textual console on live feeds"

    def define(self, parser: argparse.ArgumentParser) -> None:
        options.add_live(parser, feeds_required=False)
        parser.add_argument(
            "--replay",
            nargs="+",
            type=Path,
            metavar="FILE",
            help="open the console on recorded days instead of live feeds (space pauses, "
            ". and > step on, < steps back, + and - change the speed)",
        )
        parser.add_argument(
            "--speed", type=options.speed, default=60.0, help="replay: hall/real time, or max"
        )
        parser.add_argument("--from", dest="start", metavar="TIME", help="replay: start here")
        parser.add_argument("--until", metavar="TIME", help="replay: stop here")
        add_nats(parser, required=False, help="instead of --feed: the province's NATS cluster "
                 "(nats://HOST:PORT,...; the user: --nats-auth-file): every hall the user may "
                 "see, by city and county; actions go to the shard that runs the hall")  # fmt: skip
        options.add_screen(parser)

    def run(self, args: argparse.Namespace) -> int:
        if args.nats:
            return self._province(args)
        if args.replay:
            return self._replay(args)
        feeds: list[tuple[str, str]] = args.feed
        if not feeds:
            print("hallwatch: console needs --feed URL (or --replay FILE, or --nats URL)",
                  file=sys.stderr)  # fmt: skip
            return 2
        # Who may act is settled before anything starts: a readable operators file or an
        # unknown --operator stops here (exit 2).
        cfg = wiring.config(args.config)
        gate = wiring.console_sign_in(
            cfg.duty, wiring.operators(args.config, cfg, args.data_dir), args.operator
        )
        sup = wiring.pipeline(
            feeds,
            config_path=args.config,
            data=args.data_dir,
            token_file=args.token_file,
            ca_file=args.ca_file,
        )
        logs.configure(wiring.log_path(args.data_dir))
        recover(sup, args.recover_days)  # the journal rebuilds the state; feeds resume after it
        stop_metrics = wiring.start_live_metrics(sup, args)
        try:
            # Read-only until someone signs in (by itself when the OS account maps to a
            # roster person); every sign-in, sign-out and refusal goes to the audit trail.
            asyncio.run(
                wiring.run_console(
                    Desk(sup),
                    lang=args.lang,
                    big_screen=args.big_screen,
                    sign_in=gate,
                    theme=args.theme,
                    alarm=cfg.console,
                )
            )
        finally:
            stop_metrics()
            sup.close()
        return 0

    def _province(self, args: argparse.Namespace) -> int:
        """The console over the province's NATS cluster: what the credentials see."""
        if args.feed or args.replay:
            print("hallwatch: console takes --nats or --feed/--replay, not both", file=sys.stderr)
            return 2
        if (missing := need_cluster("console --nats")) is not None:
            print(missing, file=sys.stderr)
            return 2
        cfg = wiring.config(args.config)
        gate = wiring.console_sign_in(
            cfg.duty, wiring.operators(args.config, cfg, args.data_dir), args.operator
        )
        auth = credentials(args.nats_auth_file)
        logs.configure(wiring.log_path(args.data_dir))
        refusal = asyncio.run(
            wiring.run_province_console(
                args.nats,
                auth,
                roster=cfg.duty,
                lang=args.lang,
                big_screen=args.big_screen,
                sign_in=gate,
                theme=args.theme,
                alarm=cfg.console,
            )
        )
        if refusal is not None:
            print(f"hallwatch: console --nats: {refusal}", file=sys.stderr)
            return 2
        return 0

    def _replay(self, args: argparse.Namespace) -> int:
        """The console on recordings, in process, with replay keys. No journal (the
        recording is the journal) and no alert store (a replay must not mix its alerts
        into the live trail): alerts live in memory for the session."""
        from feeds.replay import ReplayDriver, ReplaySource, read_recording, window

        config = wiring.config(args.config)
        files: list[Path] = args.replay
        try:
            recording = read_recording(files)
            begin, end = window(recording, args.start, args.until)
        except (OSError, ValueError) as error:
            print(f"hallwatch: replay: {error}", file=sys.stderr)
            return 2
        driver = ReplayDriver(recording.events, speed=args.speed, start_ts=begin, until_ts=end)
        gate = wiring.console_sign_in(
            config.duty, wiring.operators(args.config, config, args.data_dir), args.operator
        )

        def rebuild() -> Desk:
            pipeline = build_pipeline(config, [ReplaySource(driver)], forward=False)
            return Desk(pipeline)

        logs.configure(wiring.log_path(args.data_dir))
        title = f"hallwatch — replay {' '.join(p.name for p in files)}"
        asyncio.run(
            wiring.run_console(
                rebuild(),
                lang=args.lang,
                title=title,
                replay=driver,
                rebuild=rebuild,
                big_screen=args.big_screen,
                sign_in=gate,
                theme=args.theme,
                alarm=config.console,
            )
        )
        return 0
