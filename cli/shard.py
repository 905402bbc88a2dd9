"""``hallwatch serve --nats``: a shard of the province (``province.shard``): the stream's
partitions shared with the other shards, their halls on ``/metrics``. JSON-line logs;
stops cleanly on SIGTERM/SIGINT (each partition checkpointed and given back).

Registered agents (``[rules.scalping] agents``) are matched by pseudonym, as the gateways
made them: a shard whose config names any needs the gateways' ``pseudonym.key`` in its
``--data-dir`` (copied there; never a new one, which would match nobody).

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
from pathlib import Path

import structlog

from alerts.outbound import Outbound
from alerts.store import AlertStore
from cli import wiring
from cli.nats_options import credentials, owner_id
from feeds.privacy import KEY_FILE, Pseudonymizer, ensure_data_dir, load_key
from metrics.exposition import serve_metrics
from province import cluster
from province.access import without_password
from province.cluster import ClusterError, connect, setup
from province.outbox import alerts_stream
from province.places import Places
from province.readmodel import AlertsReadModel
from province.shard import Shard
from province.wire import LEASES
from runtime import logs
from runtime.build import build_pipeline
from runtime.config import Config, ConfigError, field_error, read_token
from runtime.datadir import DataDirLock
from runtime.snapshot import config_digest
from runtime.storage import open_alert_store, starting


def run_shard(args: argparse.Namespace) -> int:
    """Run a shard until a signal; the exit code."""
    logs.configure(args.log_file)
    log = structlog.get_logger("hallwatch")
    # A stop before the loop runs (systemd, while the data dir is taken) ends cleanly too.
    wiring.interrupt_on_sigterm()
    try:
        nats_user, nats_password = credentials(args.nats_auth_file) or (None, None)
        cfg = wiring.config(args.config)
        if cfg.outbound.webhooks:
            raise field_error(args.config, ["outbound", "webhooks"],
                              "a shard sends its alerts to Alertmanager only: give [outbound] "
                              "alertmanager = [every peer] and route webhooks there "
                              "(deploy/alertmanager.yml)")  # fmt: skip
        cfg = agents_as_pseudonyms(cfg, args.config, args.data_dir)
        digest = config_digest(args.config)
    except KeyboardInterrupt:
        return 0
    store: AlertStore | None = None
    if args.data_dir is not None:  # one writer per data dir, as for serve --feed
        try:
            with starting(args.data_dir):
                folder = ensure_data_dir(args.data_dir)
                DataDirLock(folder).acquire()
            store = open_alert_store(folder / "alerts.db")
        except KeyboardInterrupt:
            return 0
    outbound = Outbound(cfg.outbound) if cfg.outbound.peers else None
    user, _, password = (
        read_token(args.metrics_auth_file).partition(":")
        if args.metrics_auth_file
        else ("", "", "")
    )
    tls = wiring.server_tls(args.metrics_tls_cert, args.metrics_tls_key)

    async def main() -> None:
        owner = owner_id()
        nc = await connect(args.nats, f"hallwatch-shard {owner}", user=nats_user,
                           password=nats_password)  # fmt: skip
        # The leases on a connection of their own: on the stream's, a renewal's answer
        # queues behind the megabytes a replay fetches (read in pieces between the
        # partitions' turns), and a shard catching up a day could lose every lease, again
        # and again (bench/NOTES.md, "Province goals").
        leases = await connect(
            args.nats, f"hallwatch-shard {owner} leases", user=nats_user, password=nats_password
        )
        stop_metrics = None
        follow: asyncio.Task[None] | None = None
        try:
            js, layout = await setup(
                nc, partitions=args.partitions, lease_s=args.lease_seconds, replicas=args.replicas
            )
            await alerts_stream(js, layout.replicas)
            shard = Shard(
                js,
                await leases.jetstream(timeout=cluster.REQUEST_TIMEOUT_S).key_value(LEASES),
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
            log.info("serve_started", nats=[without_password(u) for u in args.nats],
                     partitions=layout.partitions, lease_s=layout.lease_s)  # fmt: skip
            await shard.run()
        finally:
            if follow is not None:
                follow.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follow
            if stop_metrics is not None:
                stop_metrics()
            # (nats-py raises the lost connection's error when it has data pending)
            with contextlib.suppress(OSError):
                await nc.close()
            with contextlib.suppress(OSError):
                await leases.close()

    try:
        wiring.run_until_signal(main)
    except KeyboardInterrupt:  # a stop as the loop starts, or one after it
        pass
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


def agents_as_pseudonyms(cfg: Config, config_path: Path | None, data_dir: Path | None) -> Config:
    """``cfg`` with its registered agents as the gateways' pseudonyms (their key, copied
    into ``data_dir``), as ``serve --feed`` has them with its own key; ``cfg`` as it is
    when it names no agent. Neither the ids nor the key are logged.

    Raises:
        ConfigError: agents, but no ``--data-dir`` or no key in it: what to copy where.
    """
    if not cfg.has_agents():
        return cfg
    why = (
        f"{config_path}: [rules.scalping] agents are matched by pseudonym, made with the "
        f"gateways' key: copy {KEY_FILE} from a gateway's --data-dir into this shard's"
    )
    if data_dir is None:
        raise ConfigError(f"{why} (give --data-dir DIR, and the key in it, mode 0600)")
    with starting(data_dir):  # (unreadable: the file and what to do)
        try:
            key = load_key(data_dir)
        except FileNotFoundError:
            raise ConfigError(
                f"{why}: {data_dir / KEY_FILE} is missing (mode 0600; a new key would match "
                "no agent)"
            ) from None
        except ValueError as error:  # too short: not the gateways' key
            raise ConfigError(str(error)) from None
    return cfg.pseudonymized(Pseudonymizer(key))
