"""The publisher's cheap paths: alert copies reused while unchanged, snapshots built in
slices while ingest waits (the console gets turns; the view is still one moment)."""

from __future__ import annotations

import asyncio

import msgspec

from feeds.decode import FrameDecoder
from feeds.protocol import Complaint, Heartbeat, TicketIssued
from feeds.source import Batch, FeedStatus, MemorySource
from runtime.desk import Desk
from runtime.pipeline import Pipeline
from runtime.view import AlertView
from tests.conftest import wait_for
from tests.factories import ms


def test_unchanged_alerts_keep_their_frozen_copy() -> None:
    sup = Pipeline()
    status = FeedStatus(name="f")
    sup.apply(status, Batch("f", [Complaint(seq=1, ts=ms(0), hall="h1", complaint="K1",
                                            channel="desk"),
                                  Complaint(seq=2, ts=ms(1), hall="h2", complaint="K2",
                                            channel="desk")]))  # fmt: skip
    first = {a.id: a for a in sup.publish().alerts}
    assert len(first) == 2
    k1 = next(a for a in first.values() if a.hall == "h1")
    Desk(sup, operator="zhang").acknowledge(k1.id, "on it")
    second = {a.id: a for a in sup.publish().alerts}
    changed, same = second[k1.id], next(a for a in second.values() if a.hall == "h2")
    assert changed is not k1 and changed.state == "acknowledged" and changed.ack_by == "zhang"
    assert same is first[same.id]  # nothing changed: the very same copy
    for view in second.values():  # every copy is the alert's values, as AlertView.of makes
        alert = sup.alerts.book.open[(view.rule, view.hall, view.scope)]
        assert view == AlertView.of(alert)


async def test_ingest_waits_while_snapshots_are_built_in_slices() -> None:
    frames = [
        msgspec.json.encode([TicketIssued(seq=f * 50 + i + 1, ts=ms(f, i), hall=f"h{i:02d}",
                                          ticket=f"T{f}-{i}", zone="z")
                             for i in range(50)])
        for f in range(4)
    ]  # fmt: skip
    sup = Pipeline([MemorySource("m", frames, FrameDecoder(lambda p: p))])
    sup.apply(FeedStatus(name="pre"), Batch("pre", [Heartbeat(ts=ms(0), hall=f"h{i:02d}")
                                                    for i in range(50)]))  # fmt: skip
    for hall in sup.state.halls.values():
        hall.version += 1  # every hall needs a new snapshot
    before = sup.events_total
    slicer = asyncio.create_task(sup._snapshots_in_slices(slice_s=0.0))
    await asyncio.sleep(0)  # the slicer built one hall and gave the loop a turn
    consumer = asyncio.create_task(sup.consume(sup.sources[0]))
    turns = 0
    while not slicer.done():
        assert sup.events_total == before  # the state stands still while snapshots are built
        turns += 1
        await asyncio.sleep(0)
    assert turns >= 10  # others got turns in between
    assert all(
        sup.state._snapshots[name].version == hall.version for name, hall in sup.state.halls.items()
    )
    await wait_for(lambda: sup.events_total == before + 200)
    await consumer
    view = sup.publish()
    assert sum(h.issued_today for h in view.city.halls.values()) == 200


async def test_publisher_always_obeys_a_cancel() -> None:
    """A cancel that lands as the publisher's wait completes still stops it (Python
    3.11's ``wait_for`` swallowed such a cancel: the TaskGroup of ``run`` then hung)."""
    for i in range(21):
        sup = Pipeline(publish_interval=0.0)
        task = asyncio.create_task(sup.publisher())
        for _ in range(i % 7):
            await asyncio.sleep(0)
        sup._changed.set()
        for _ in range(i // 7):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        assert done, f"publisher ignored its cancel (case {i})"
        assert task.cancelled()
