"""The pipeline with the store: actions carry the operator, the view shows duty and
acknowledgements, a restart of the pipeline keeps what was open, counts reach /metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from alerts.book import ActionError
from alerts.store import AlertStore
from feeds.protocol import Complaint, Heartbeat
from feeds.source import Batch, FeedStatus
from metrics.exposition import HallCollector
from runtime.build import build_pipeline
from runtime.config import Config
from runtime.desk import Desk
from tests.factories import H, ms


def pipeline(tmp_path: Path, operator: str | None = "zhang") -> Desk:
    store = AlertStore(tmp_path / "alerts.db")
    return Desk(build_pipeline(Config(), store=store), operator=operator)


def feed(desk: Desk, *events) -> None:
    desk.pipeline.apply(FeedStatus(name="lz"), Batch("lz", list(events)))
    desk.pipeline.publish()


def test_actions_carry_the_operator_and_survive_a_restart(tmp_path: Path) -> None:
    desk = pipeline(tmp_path)
    feed(desk, Complaint(seq=1, ts=ms(0), hall=H, complaint="K1", channel="desk"))
    feed(desk, Heartbeat(ts=ms(3), hall=H))
    (view,) = desk.pipeline.view.alerts
    desk.acknowledge(view.id, "calling the citizen")
    desk.pipeline.publish()
    (view,) = desk.pipeline.view.alerts
    assert (view.state, view.ack_by, view.ack_ms, view.ack_note) == (
        "acknowledged",
        "zhang",
        ms(3),
        "calling the citizen",
    )
    assert desk.operator == "zhang"
    silence = desk.silence(H, "meeting with the complainant", 20, rule="complaint")
    assert silence.until_ms == ms(23) and desk.pipeline.publish().silences[0].created_by == "zhang"
    assert desk.pipeline.view.city.alerts_active == {(H, "complaint", "notice"): 1}
    desk.pipeline.close()

    again = pipeline(tmp_path, operator=None)
    feed(again, Complaint(seq=1, ts=ms(0), hall=H, complaint="K1", channel="desk"))
    (view,) = again.pipeline.view.alerts
    assert (view.id, view.state, view.ack_by, view.silenced_by) == (1, "acknowledged", "zhang", 1)
    with pytest.raises(ActionError, match="--operator"):
        again.resolve(view.id, "settled")
    again.pipeline.close()


def test_alert_counts_reach_metrics(tmp_path: Path) -> None:
    desk = pipeline(tmp_path)
    feed(
        desk,
        Complaint(seq=1, ts=ms(0), hall=H, complaint="K1", channel="desk"),
        Complaint(seq=2, ts=ms(1), hall=H, complaint="K2", channel="hotline"),
    )
    registry = CollectorRegistry()
    registry.register(HallCollector(lambda: desk.pipeline.view.city))
    text = generate_latest(registry).decode()
    # A complaint is a warning (预警), not a card: the kind label tells them apart.
    assert (
        'hall_alerts_active{hall="lz",kind="warning",rule="complaint",severity="notice"} 2.0'
        in text
    )
    report = desk.write_handover(H, notes="two complaints open")
    assert "## Complaints: 2" in report and "two complaints open" in report
    assert desk.pipeline.publish().handovers_unaccepted[0][1:3] == (H, "zhang")
    desk.pipeline.close()
