"""``hallwatch demo`` (and ``hallwatch`` with no command, and ``make demo``): an embedded
demo city on loopback and the console on it. No argument, no config, no network.

The demo is a sandbox: its store is its own (``<data dir>/demo``) and it signs its
operator in by itself (``--operator NAME``, default 演示值班员), so a newcomer can try
every action — in a terminal; in a browser it stays read-only.

Imports: feeds (the demo, the feed server), runtime, cli.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import ClassVar

from cli import options, wiring
from runtime import logs
from runtime.desk import Desk


class DemoCommand:
    name: ClassVar[str] = "demo"
    help: ClassVar[str] = "the embedded demo hall and the console (the default)"

    def define(self, parser: argparse.ArgumentParser) -> None:
        # The console demo opens on a hall with a past: open cases (some late), people back.
        options.add_demo(parser, history=5)
        options.add_data_dir(parser, "journal and key")
        options.add_metrics(parser)
        parser.add_argument(
            "--operator",
            default=None,
            metavar="NAME",
            help=f"who the demo signs in (default {wiring.DEMO_OPERATOR})",
        )
        options.add_screen(parser)

    def run(self, args: argparse.Namespace) -> int:
        from alerts.names import Names
        from feeds.demo.city import city, display_names
        from feeds.demo.play import demo_day, demo_events, run_demo
        from feeds.hallclock import day_start_ms
        from feeds.server import FeedServer

        profiles = city(args.halls)
        day = demo_day(profiles, args.date)
        logs.configure(wiring.log_path(args.data_dir))

        async def play(server: FeedServer) -> None:
            # Simulated in a thread once the console is up: the first frame does not wait
            # for the days of history to be simulated.
            events = await asyncio.to_thread(
                demo_events, profiles, day, args.seed, days=args.days, history=args.history
            )
            await run_demo(server, events, speed=args.speed, backlog_until=day_start_ms(day))

        async def main() -> None:
            server = FeedServer("demo", [p.hall for p in profiles])
            await server.start()
            sup = wiring.pipeline(
                [("demo", server.url)],
                config_path=None,
                data=args.data_dir,
                token_file=None,
                ca_file=None,
                demo=True,
                names=Names(**display_names(profiles)),
            )
            stop_metrics = wiring.start_metrics(sup, args.metrics_host, args.metrics_port)
            driver = asyncio.create_task(play(server))
            try:
                await wiring.run_console(
                    Desk(sup),
                    sign_in=wiring.demo_sign_in(args.operator),
                    title=f"hallwatch — demo {day.isoformat()}",
                    lang=args.lang,
                    big_screen=args.big_screen,
                    theme=args.theme,
                    history_until_ms=day_start_ms(day) if args.history else 0,
                )
            finally:
                driver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await driver
                await server.stop()
                stop_metrics()
                sup.close()

        asyncio.run(main())
        return 0
