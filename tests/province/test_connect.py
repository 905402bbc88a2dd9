"""A connection whose cluster is gone keeps trying (every 0.25 s) without filling the log:
the first error of a kind is logged, then one line per ``ERROR_EVERY_S`` with a count."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from structlog.testing import capture_logs

from province.cluster import connect
from province.local import LocalCluster


async def test_a_dead_cluster_is_one_error_line_not_four_a_second(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path / "nats", size=1)
    cluster.start()
    try:
        nc = await connect(cluster.urls, "test")
    except BaseException:
        cluster.stop()
        raise
    try:
        with capture_logs() as logs:
            cluster.stop()
            deadline = time.monotonic() + 10
            while not any("Connect call failed" in e.get("error", "") for e in logs):
                assert time.monotonic() < deadline, "no error logged with the cluster gone"
                await asyncio.sleep(0.05)
            # Eight more attempts fail within the next two seconds: none is a new line.
            await asyncio.sleep(2)
        errors = [e for e in logs if e["event"] == "nats_error"]
        texts = [e["error"] for e in errors]
        # The lost connection (EOF), then the refused attempts: each kind once.
        assert len(texts) == len(set(texts)) <= 2, texts
        assert any("Connect call failed" in t for t in texts), texts
        assert all(e["repeated"] == 0 for e in errors)
    finally:
        with contextlib.suppress(OSError):  # (the lost connection's error, if data pending)
            await nc.close()
