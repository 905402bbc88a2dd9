"""``hallwatch serve --nats``: a shard of the province (``province.shard``): the stream's
partitions shared with the other shards, their halls on ``/metrics``. JSON-line logs;
stops cleanly on SIGTERM/SIGINT (each partition checkpointed and given back).

``[outbound] alertmanager`` (one URL, or every peer of an Alertmanager cluster): the
partitions' alerts go to every peer; webhooks are refused here (route them in
Alertmanager). ``--data-dir``: the node keeps its alert store there as a read model of
the alerts stream (``province.readmodel``; ``audit verify`` checks it).

Imports: alerts (outbound, store), metrics.exposition, province, runtime (build, config,
datadir, logs, snapshot, storage), feeds.privacy, cli.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

import structlog

from alerts.outbound import Outbound
from alerts.store import AlertStore
from cli import wiring
from cli.nats_options import owner_id
from feeds.privacy import ensure_data_dir
from metrics.exposition import serve_metrics
from province import cluster
from province.cluster import ClusterError, connect, setup
from province.outbox import alerts_stream
from province.places import Places
from province.readmodel import AlertsReadModel
from province.shard import Shard
from province.wire import LEASES
from runtime import logs
from runtime.build import build_pipeline
from runtime.config import field_error, read_token
from runtime.datadir import DataDirLock
from runtime.snapshot import config_digest
from runtime.storage import open_alert_store, starting


def run_shard(args: argparse.Namespace) -> int:
    """Run a shard until a signal; the exit code."""
    logs.configure(args.log_file)
    log = structlog.get_logger("hallwatch")
    cfg = wiring.config(args.config)
    if cfg.outbound.webhooks:
        raise field_error(args.config, ["outbound", "webhooks"],
                          "a shard sends its alerts to Alertmanager only: give [outbound] "
                          "alertmanager = [every peer] and route webhooks there "
                          "(deploy/alertmanager.yml)")  # fmt: skip
    digest = config_digest(args.config)
    store: AlertStore | None = None
    if args.data_dir is not None:  # one writer per data dir, as for serve --feed
        with starting(args.data_dir):
            folder = ensure_data_dir(args.data_dir)
            DataDirLock(folder).acquire()
        store = open_alert_store(folder / "alerts.db")
    outbound = Outbound(cfg.outbound) if cfg.outbound.peers else None
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
        follow: asyncio.Task[None] | None = None
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
                outbound=outbound,
                nc=nc,  # the consoles' side: halls by place (province.consoles)
                places=Places.of(cfg),
            )
            if store is not None:
                follow = asyncio.create_task(AlertsReadModel(store).run(js))
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
            if follow is not None:
                follow.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follow
            if stop_metrics is not None:
                stop_metrics()
            await nc.close()

    try:
        wiring.run_until_signal(main)
    except ClusterError as error:
        print(f"hallwatch: {error}", file=sys.stderr)
        return 2
    finally:
        if outbound is not None:
            outbound.close()
        if store is not None:
            store.close()
    log.info("serve_stopped")
    return 0
