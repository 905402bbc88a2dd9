"""``hallwatch gateway``: hall feeds into the province's NATS JetStream stream
(``province.gateway``); several gateways may be given the same feeds, one publishes each
feed at a time. JSON-line logs; stops cleanly on SIGTERM/SIGINT (its leases given back).

Imports: feeds (decoder, pseudonymizer, TLS), province (wire; the rest, which needs
nats, when run), runtime (config, logs), cli.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import ClassVar

import structlog

from cli import options, wiring
from cli.nats_options import add_cluster, credentials, need_cluster, owner_id
from feeds.decode import FrameDecoder
from feeds.privacy import Pseudonymizer, ensure_data_dir
from feeds.tls import client_context
from province.wire import check_feed_name
from runtime import logs
from runtime.config import read_token
from runtime.storage import starting


class GatewayCommand:
    name: ClassVar[str] = "gateway"
    help: ClassVar[str] = "publish hall feeds into the NATS JetStream stream (province scale)"

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--feed",
            action="append",
            type=options.feed,
            required=True,
            metavar="NAME=URL",
            help="a protocol-v1 feed (ws:// or wss://) and its name on the stream; repeat",
        )
        add_cluster(parser, required=True)
        options.add_data_dir(parser, "the pseudonymization key (the same file on every gateway)")
        parser.add_argument("--token-file", type=Path, help="bearer token for the feeds (0600)")
        parser.add_argument("--ca-file", type=Path, help="wss:// trusts only this CA")
        parser.add_argument(
            "--max-events",
            type=options.positive,
            default=500,
            help="events in one message at most (default 500; a bigger batch is split)",
        )
        parser.add_argument("--log-file", type=Path, help="JSON-line log file (default: stderr)")

    def run(self, args: argparse.Namespace) -> int:
        if (missing := need_cluster(self.name)) is not None:
            print(missing, file=sys.stderr)
            return 2
        from province.cluster import ClusterError, connect, setup
        from province.gateway import FeedGateway, log_stats
        from province.wire import LEASES

        logs.configure(args.log_file)
        log = structlog.get_logger("hallwatch")
        feeds: list[tuple[str, str]] = args.feed
        try:
            for name, _ in feeds:
                check_feed_name(name)
        except ValueError as error:
            print(f"hallwatch: {error}", file=sys.stderr)
            return 2
        if len({name for name, _ in feeds}) != len(feeds):
            print("hallwatch: --feed: a name given twice", file=sys.stderr)
            return 2
        # A stop before the loop runs (systemd, while the key is read) ends cleanly too.
        wiring.interrupt_on_sigterm()
        try:
            user, password = credentials(args.nats_auth_file) or (None, None)
            root = wiring.data_dir(args.data_dir)
            with starting(root):
                pseudonymize = Pseudonymizer.from_data_dir(ensure_data_dir(root))
            token = read_token(args.token_file) if args.token_file is not None else None
            wss = any(u.startswith("wss:") for _, u in feeds)
            tls = client_context(args.ca_file) if wss else None
        except KeyboardInterrupt:
            return 0

        async def main() -> None:
            owner = owner_id()
            nc = await connect(args.nats, f"hallwatch-gateway {owner}", user=user,
                               password=password)  # fmt: skip
            try:
                js, layout = await setup(
                    nc,
                    partitions=args.partitions,
                    lease_s=args.lease_seconds,
                    replicas=args.replicas,
                )
                kv = await js.key_value(LEASES)
                gateways = [
                    FeedGateway(
                        js,
                        kv,
                        layout,
                        feed=name,
                        url=url,
                        decoder=lambda: FrameDecoder(pseudonymize),
                        owner=owner,
                        token=token,
                        ssl_context=tls,
                        max_events=args.max_events,
                    )
                    for name, url in feeds
                ]
                log.info(
                    "gateway_started",
                    feeds={g.feed: g.subject for g in gateways},
                    partitions=layout.partitions,
                    replicas=layout.replicas,
                    lease_s=layout.lease_s,
                )
                async with asyncio.TaskGroup() as group:
                    for g in gateways:
                        group.create_task(g.run())
                    group.create_task(log_stats(gateways))
            finally:
                # (nats-py raises the lost connection's error when it has data pending)
                with contextlib.suppress(OSError):
                    await nc.close()

        try:
            wiring.run_until_signal(main)
        except KeyboardInterrupt:  # a stop as the loop starts, or one after it
            pass
        except ClusterError as error:
            print(f"hallwatch: {error}", file=sys.stderr)
            return 2
        log.info("gateway_stopped")
        return 0
