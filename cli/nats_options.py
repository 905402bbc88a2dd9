"""The NATS options of ``gateway``, ``serve --nats``, ``archive``, ``report --nats`` and
``console --nats`` (province scale, docs/scale.md).

Imports: cli.options, province.access (the credentials reader; no nats), the standard
library (never nats: it is the optional ``cluster`` extra, loaded by the commands only
when used: ``need_cluster``).
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from cli import options
from province.access import read_credentials


def add_nats(
    p: argparse.ArgumentParser,
    *,
    required: bool,
    help: str = "the NATS JetStream cluster (any of its nodes; give several)",
) -> None:
    """``--nats URL[,URL...]``: where the cluster is; ``--nats-auth-file FILE``: as whom."""
    p.add_argument("--nats", type=_servers, required=required, metavar="URL[,URL...]", help=help)
    p.add_argument(
        "--nats-auth-file",
        type=Path,
        metavar="FILE",
        help="with --nats: USER:PASSWORD of this process's NATS user, one line, mode 0600 "
        "(credentials in a --nats URL are seen by every user of the machine in ps)",
    )


def credentials(auth_file: Path | None) -> tuple[str, str] | None:
    """``--nats-auth-file`` read (``province.access.read_credentials``), or None.

    Raises:
        ConfigError: a missing, unreadable, malformed file, or one others may read; the
            message names it (exit 2).
    """
    return read_credentials(auth_file) if auth_file is not None else None


def add_cluster(p: argparse.ArgumentParser, *, required: bool) -> None:
    """Where the cluster is, and what a process sets when it makes the stream and the
    lease bucket."""
    add_nats(p, required=required)
    p.add_argument(
        "--partitions",
        type=options.positive,
        default=None,
        help="partitions of the stream, fixed when it is made (default: the stream's; a "
        "new stream gets 32)",
    )
    p.add_argument(
        "--lease-seconds",
        type=_seconds,
        default=5.0,
        help="lease TTL, set when the lease bucket is made (default 5): a dead gateway's "
        "feeds and a dead shard's partitions are taken over about this long after",
    )
    p.add_argument(
        "--replicas",
        type=options.positive,
        default=None,
        help="copies of the stream and buckets when made (default: 3, or the cluster's size)",
    )


def _servers(text: str) -> list[str]:
    """``URL[,URL...]`` → the URLs (``nats://`` added where missing)."""
    urls = [u.strip() for u in text.split(",") if u.strip()]
    if not urls:
        raise argparse.ArgumentTypeError("no URL given")
    return [u if "://" in u else f"nats://{u}" for u in urls]


def need_cluster(command: str) -> str | None:
    """Why ``command`` cannot run here (nats-py missing), or None."""
    try:
        import nats  # noqa: F401
    except ImportError:
        return (
            f"hallwatch {command}: the NATS client is not installed: "
            "pip install 'hallwatch[cluster]' (nats-py)"
        )
    return None


def _seconds(text: str) -> float:
    value = float(text)
    if not 0.5 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 0.5 and 3600")
    return value


def owner_id() -> str:
    """Who holds a lease: this host and process (never a metrics label)."""
    return f"{socket.gethostname()}:{os.getpid()}"
