"""The pipeline ingests and publishes without touching the alert store; the desk acts as
its operator. Real SQLite file, its statements traced."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.book import ActionError
from alerts.store import AlertStore
from feeds.protocol import Complaint, Heartbeat
from feeds.source import Batch, FeedStatus
from runtime.build import build_pipeline
from runtime.config import Config
from runtime.desk import Desk
from tests.factories import H, ms


def test_publish_never_touches_the_store_the_sync_does(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.db")
    pipeline = build_pipeline(Config(), store=store)
    status = FeedStatus(name="lz")
    pipeline.apply(status, Batch("lz", [Heartbeat(ts=ms(0), hall=H)]))
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    for minute in (1, 2, 3):
        pipeline.apply(status, Batch("lz", [Heartbeat(ts=ms(minute), hall=H)]))
        pipeline.publish()
    assert statements == []  # the publish path: memory only
    pipeline.sync_store()
    assert statements  # the clocks (and the shift reports) go through their own task
    store.db.set_trace_callback(None)
    assert store.clocks() == {H: ms(3)}
    assert store.figures(H) is not None
    pipeline.close()


def test_a_shift_report_is_seen_at_once_by_its_desk_and_accepted_by_another(
    tmp_path: Path,
) -> None:
    store = AlertStore(tmp_path / "alerts.db")
    pipeline = build_pipeline(Config(), store=store)
    pipeline.apply(
        FeedStatus(name="lz"),
        Batch("lz", [Complaint(seq=1, ts=ms(0), hall=H, complaint="K1", channel="desk")]),
    )
    pipeline.publish()
    zhang, li = Desk(pipeline, operator="zhang"), Desk(pipeline, operator="li")
    zhang.write_handover(H, "one complaint open")
    (waiting,) = pipeline.publish().handovers_unaccepted  # no store sync needed
    with pytest.raises(ActionError, match="incoming director"):
        zhang.accept_handover(waiting[0])  # nobody accepts their own report
    li.accept_handover(waiting[0], "taken over")
    assert pipeline.publish().handovers_unaccepted == ()
    assert store.handovers()[0]["accepted_by"] == "li"
    with pytest.raises(ActionError, match="no operator"):
        Desk(pipeline).acknowledge(pipeline.view.alerts[0].id)
    pipeline.close()
