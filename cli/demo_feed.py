"""``hallwatch demo-feed``: only the demo hall feed server (protocol v1), for other
consoles and tests; prints its URL on the first line.

Imports: feeds (the demo), runtime, cli.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import ClassVar

import structlog

from cli import options, wiring
from runtime import logs
from runtime.config import read_token


class DemoFeedCommand:
    name: ClassVar[str] = "demo-feed"
    help: ClassVar[str] = "only the demo hall feed server (protocol v1)"

    def define(self, parser: argparse.ArgumentParser) -> None:
        options.add_serving(parser, default_port=8765)
        options.add_demo(parser, history=0)
        parser.add_argument(
            "--mmc",
            type=options.mmc,
            metavar="LAMBDA,MU,C",
            help="instead of the city: one M/M/c hall (rates per minute, C windows, FCFS)",
        )
        parser.add_argument(
            "--hall-prefix",
            metavar="PREFIX",
            help="hall ids PREFIX-city, PREFIX-county-a…: several demo feeds, one province",
        )

    def run(self, args: argparse.Namespace) -> int:
        from feeds.demo.city import city
        from feeds.demo.play import serve_demo

        profiles = None
        if args.hall_prefix:
            profiles = [replace(p, hall=f"{args.hall_prefix}-{p.hall}") for p in city(args.halls)]

        logs.configure(None)
        log = structlog.get_logger("hallwatch")
        token = read_token(args.token_file) if args.token_file else None
        tls = wiring.server_tls(args.tls_cert, args.tls_key)

        def ready(url: str) -> None:
            log.info("demo_feed_listening", url=url)
            print(url, flush=True)  # a script (or a test) reads the URL from the first line

        wiring.run_until_signal(
            lambda: serve_demo(
                args.host,
                args.port,
                speed=args.speed,
                seed=args.seed,
                day=args.date,
                token=token,
                halls=args.halls,
                days=args.days,
                history=args.history,
                mmc=args.mmc,
                halls_profiles=profiles,
                ready=ready,
                ssl_context=tls,
            )
        )
        return 0
