"""A gateway stops on SIGTERM within two seconds even while the cluster does not answer.

It used to take ~12 s: a gateway whose publish waits on a cluster that does not answer
stops reading its feed; the feed's frames pile up, the WebSocket connection pauses
reading, and on the stop the closing handshake waited for the server's close frame —
queued behind frames nobody would read — until ``close_timeout`` (10 s); then each
lease's give-back waited out the KV request's 2 s. Now a feed connection whose consumer
stops is dropped at once (``feeds.client``), and a give-back waits at most
``province.lease.RELEASE_WAIT_S``.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from pathlib import Path

import pytest

from feeds.protocol import TicketIssued
from feeds.server import FeedServer
from province.local import LocalCluster
from tests.factories import H, ms
from tests.province.procs import key_dir, python, stopping, until

pytestmark = pytest.mark.timeout(90)

#: Far more frames than a paused connection holds (websockets queues 16) and than one
#: batch of the feed client takes (1000 events): most wait unread.
FRAMES = 3000


async def test_sigterm_stops_a_gateway_within_two_seconds_while_the_cluster_is_silent(
    tmp_path: Path,
) -> None:
    server = FeedServer("stop-feed", [H], max_batch=1, max_queue=10 * FRAMES)  # a frame each
    await server.start()
    try:
        with LocalCluster(tmp_path / "nats", size=1) as cluster, stopping([]) as procs:
            gateway = python("gateway", "--feed", f"lz={server.url}", "--nats", cluster.nats_arg,
                             "--partitions", "1", "--lease-seconds", "60",  # held throughout
                             "--data-dir", str(key_dir(tmp_path / "gateway")),
                             "--log-file", str(tmp_path / "gateway.log"),
                             log=tmp_path / "stderr")  # fmt: skip
            procs.append(gateway)

            async def subscribed() -> bool:  # it holds the lease and resumed from the stream
                return server.subscriber_count == 1

            await until(subscribed, 60, "the gateway subscribed to the feed")
            (node,) = cluster.nodes
            assert node.process is not None
            node.process.send_signal(signal.SIGSTOP)  # silent: connections open, no answers
            try:
                await server.publish([
                    TicketIssued(seq=1, ts=ms(i / 10), hall=H, ticket=f"A{i + 1}", zone="biz")
                    for i in range(FRAMES)
                ])  # fmt: skip

                async def sent() -> bool:  # every frame left the server's queue
                    return all(s.queue.empty() for s in server._subscribers)

                await until(sent, 30, "the feed's frames sent")
                signalled, wall = time.monotonic(), time.time()
                gateway.send_signal(signal.SIGTERM)

                async def exited() -> bool:
                    return gateway.poll() is not None

                await until(exited, 5, "the gateway's exit after SIGTERM")
                took = time.monotonic() - signalled
            finally:
                node.process.send_signal(signal.SIGCONT)
    finally:
        await server.stop()
    lines = (tmp_path / "gateway.log").read_text(encoding="utf-8").splitlines()
    (last,) = [json.loads(line) for line in lines if '"gateway_stopped"' in line]
    stopped = dt.datetime.fromisoformat(last["timestamp"]).timestamp() - wall
    # Stopped (leases given back, connections closed) within 2 s; the process gone soon
    # after (the interpreter's own teardown: ~0.3 s here on a loaded machine).
    assert gateway.returncode == 0 and stopped < 2.0 and took < 3.0, (stopped, took)
    assert "Traceback" not in (tmp_path / "stderr").read_text(encoding="utf-8")
