"""``hallwatch serve --nats``: a shard of the province (``province.shard``): the stream's
partitions shared with the other shards, their halls on ``/metrics``. JSON-line logs;
stops cleanly on SIGTERM/SIGINT (each partition checkpointed and given back).

Imports: metrics.exposition, province, runtime (build, config, logs, snapshot), cli.
"""

from __future__ import annotations

import argparse
import sys

import structlog

from cli import wiring
from cli.nats_options import owner_id
from metrics.exposition import serve_metrics
from province import cluster
from province.cluster import ClusterError, connect, setup
from province.outbox import alerts_stream
from province.shard import Shard
from province.wire import LEASES
from runtime import logs
from runtime.build import build_pipeline
from runtime.config import read_token
from runtime.snapshot import config_digest


def run_shard(args: argparse.Namespace) -> int:
    """Run a shard until a signal; the exit code."""
    logs.configure(args.log_file)
    log = structlog.get_logger("hallwatch")
    cfg = wiring.config(args.config)
    digest = config_digest(args.config)
    user, _, password = (
        read_token(args.metrics_auth_file).partition(":")
        if args.metrics_auth_file
        else ("", "", "")
    )
    tls = wiring.server_tls(args.metrics_tls_cert, args.metrics_tls_key)

    async def main() -> None:
        owner = owner_id()
        nc = await connect(args.nats, f"hallwatch-shard {owner}")
        stop_metrics = None
        try:
            js, layout = await setup(
                nc, partitions=args.partitions, lease_s=args.lease_seconds, replicas=args.replicas
            )
            await alerts_stream(js, layout.replicas)
            shard = Shard(
                js,
                await js.key_value(LEASES),
                await cluster.checkpoints(js, layout.replicas),
                layout,
                pipeline=lambda: build_pipeline(cfg, forward=False),
                config_digest=digest,
                owner=owner,
                checkpoint_every_s=args.checkpoint_minutes * 60,
            )
            if args.metrics_port:
                _, port, stop_metrics = serve_metrics(
                    lambda: shard.city,
                    args.metrics_host,
                    args.metrics_port,
                    basic_auth=(user, password) if args.metrics_auth_file else None,
                    ssl_context=tls,
                    renders=shard.metrics,
                )
                log.info("metrics_listening", host=args.metrics_host, port=port)
            log.info("serve_started", nats=args.nats, partitions=layout.partitions,
                     lease_s=layout.lease_s)  # fmt: skip
            await shard.run()
        finally:
            if stop_metrics is not None:
                stop_metrics()
            await nc.close()

    try:
        wiring.run_until_signal(main)
    except ClusterError as error:
        print(f"hallwatch: {error}", file=sys.stderr)
        return 2
    log.info("serve_stopped")
    return 0
