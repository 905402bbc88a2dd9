"""Issue 14 point 5, durability set on purpose: the feeds' stream keeps 45 days (the 30-day
second-trip rule, and room for a late archive), the alerts stream a year, and neither lets
a client delete or purge a message — a hole in a feed's sequence or in the audit chain's
order could only come from a message ageing out. A stream made by an older hallwatch is
brought up to these settings at start, never loosened."""

from __future__ import annotations

from pathlib import Path

import nats.js.errors
import pytest
from nats.js import api

from province.cluster import MAX_AGE_DAYS, connect, setup
from province.local import LocalCluster
from province.outbox import ALERTS_MAX_AGE_S, ALERTS_STREAM, alerts_stream
from province.wire import OPS_SUBJECTS, PARTITIONS_KEY, STREAM, SUBJECTS

DAY_S = 86400


async def test_messages_cannot_be_deleted_or_purged(tmp_path: Path) -> None:
    with LocalCluster(tmp_path / "nats", size=1) as cluster:
        nc = await connect(cluster.urls, "test")
        try:
            js, _ = await setup(nc, partitions=2, lease_s=2)
            await alerts_stream(js, 1)
            events = await js.stream_info(STREAM)
            alerts = await js.stream_info(ALERTS_STREAM)
            assert events.config.max_age == MAX_AGE_DAYS * DAY_S == 45 * DAY_S
            assert alerts.config.max_age == ALERTS_MAX_AGE_S >= 365 * DAY_S
            for stream, subject in ((STREAM, "hw.ev.0.f"), (ALERTS_STREAM, "hw.alerts.0")):
                ack = await js.publish(subject, b"x")
                with pytest.raises(nats.js.errors.APIError):
                    await js.delete_msg(stream, ack.seq)
                with pytest.raises(nats.js.errors.APIError):
                    await js.purge_stream(stream)
                assert (await js.stream_info(stream)).state.messages == 1, stream
        finally:
            await nc.close()


async def test_an_older_stream_is_hardened_at_start(tmp_path: Path) -> None:
    with LocalCluster(tmp_path / "nats", size=1) as cluster:
        nc = await connect(cluster.urls, "test")
        try:
            js = nc.jetstream()
            await js.add_stream(  # as an earlier release made them: 30 days, deletes allowed
                api.StreamConfig(
                    name=STREAM,
                    subjects=[SUBJECTS, OPS_SUBJECTS],
                    max_age=30 * DAY_S,
                    metadata={PARTITIONS_KEY: "2"},
                )
            )
            await js.add_stream(
                api.StreamConfig(name=ALERTS_STREAM, subjects=["hw.alerts.>"], max_age=500 * DAY_S)
            )
            await setup(nc, partitions=None, lease_s=2)
            await alerts_stream(js, 1)
            events = (await js.stream_info(STREAM)).config
            alerts = (await js.stream_info(ALERTS_STREAM)).config
            assert (events.deny_delete, events.deny_purge) == (True, True)
            assert (alerts.deny_delete, alerts.deny_purge) == (True, True)
            assert events.max_age == 45 * DAY_S
            assert alerts.max_age == 500 * DAY_S  # longer than ours: kept, never shortened
            assert (events.metadata or {})[PARTITIONS_KEY] == "2"
        finally:
            await nc.close()
