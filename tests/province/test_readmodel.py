"""Without a cluster: a node's alert store written from alert transitions (the read
model), what Alertmanager is posted of a transition, and a shard refusing webhooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alerts.book import AlertBook
from alerts.outbound import alertmanager_alert
from alerts.store import AlertStore
from province.alertmanager import alertmanager_transition, reader_name
from province.outbox import Outbox, Transition
from province.readmodel import AlertsReadModel
from tests.factories import H, ms
from tests.province.procs import ROOT


def transitions_of_a_book() -> tuple[AlertBook, list[Transition]]:
    """A yellow card raised to red, escalated, acknowledged and resolved by hand; a
    notice that fires and clears; a second card — as the outbox derives them."""
    book = AlertBook()
    outbox = Outbox(3)
    book.listeners.append(outbox.changed)
    book.fire("case_deadline", H, "C1", "yellow", ms(0), "case C1 due today")
    book.fire("complaint", H, "K1", "notice", ms(1), "complaint K1")
    book.fire("case_deadline", H, "C1", "red", ms(2), "case C1 overdue")  # raised
    book.tick(H, ms(20))  # 15 min unacknowledged: escalated to level 1
    book.resolve("complaint", H, "K1", ms(21))
    card = next(a for a in book.open.values() if a.rule == "case_deadline")
    book.acknowledge(card.id, "zhang", "on it")
    book.resolve_by_hand(card.id, "zhang", "case closed with the dept")
    book.fire("case_deadline", H, "C2", "yellow", ms(30), "case C2 due today")
    return book, list(outbox.unsent)


def test_the_read_model_holds_each_transition_once_and_verifies(tmp_path: Path) -> None:
    _, transitions = transitions_of_a_book()
    whats = [t.what for t in transitions]
    assert whats == ["fired yellow", "fired notice", "raised to red", "escalated to level 1",
                     "resolved", "acknowledged", "resolved by hand", "fired yellow"]  # fmt: skip
    store = AlertStore(tmp_path / "alerts.db")
    model = AlertsReadModel(store)
    walls = [f"2025-11-24T01:{i:02d}:00Z" for i in range(len(transitions))]
    for t, wall in zip(transitions, walls, strict=True):
        assert model.write(t, wall)
    for t, wall in zip(transitions[3:5], walls[3:5], strict=True):  # seen again: skipped
        assert not model.write(t, wall)
    assert (model.applied, model.skipped) == (8, 2)
    assert store.verify() == []
    records = list(store.audit_records())
    assert [r["action"] for r in records] == whats
    assert [r["wall"] for r in records] == walls  # the stream's time, not this node's
    # The card's row is the card as its transitions left it, under the store's number.
    rows = {(a.rule, a.scope): a for a in store.alerts()}
    card = rows[("case_deadline", "C1")]
    assert (card.id, card.severity, card.state) == (1, "red", "resolved")
    assert (card.raised_ms, card.level, card.escalated_ms) == (ms(2), 1, ms(17))
    assert (card.ack_by, card.ack_note, card.resolved_by) == ("zhang", "on it", "zhang")
    assert card.resolve_note == "case closed with the dept"
    assert rows[("case_deadline", "C2")].id == 3 and rows[("case_deadline", "C2")].state == (
        "firing"
    )
    # Another node reading the same stream writes the same chain.
    other = AlertStore(tmp_path / "other.db")
    for t, wall in zip(transitions, walls, strict=True):
        AlertsReadModel(other).write(t, wall)
    assert [r["hash"] for r in other.audit_records()] == [r["hash"] for r in records]
    store.close()
    other.close()


def test_alertmanager_is_posted_a_transition_as_the_alert_it_leaves() -> None:
    book, transitions = transitions_of_a_book()
    last = transitions[-1]  # C2 firing, still open in the book
    alert = next(a for a in book.open.values() if a.scope == "C2")
    body, direct = alertmanager_transition(last), alertmanager_alert(alert)
    assert body["labels"] == direct["labels"] and body["startsAt"] == direct["startsAt"]
    assert "endsAt" not in body
    resolved = alertmanager_transition(transitions[6])
    assert resolved["labels"]["severity"] == "red"
    assert resolved["endsAt"] == "2025-11-24T01:21:00.000+00:00"  # hall time, UTC
    assert alertmanager_transition(transitions[3])["annotations"]["level"] == "1"
    assert reader_name(3, "http://am1:9093") == reader_name(3, "http://am1:9093")
    assert reader_name(3, "http://am1:9093") != reader_name(3, "http://am2:9093")


def test_a_shard_refuses_webhooks_naming_file_line_and_field(tmp_path: Path) -> None:
    config = tmp_path / "province.toml"
    config.write_text('[outbound]\nalertmanager = ["http://am1:9093"]\n\n'
                      '[[outbound.webhooks]]\nurl = "https://robot.example/send"\n')  # fmt: skip
    # (A process of its own: a command configures the logs for the whole process.)
    done = subprocess.run(
        [sys.executable, "run.py", "serve", "--nats", "nats://127.0.0.1:1", "--config",
         str(config), "--log-file", str(tmp_path / "shard.log")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    want = f"{config}:4: field outbound.webhooks: a shard sends its alerts to Alertmanager"
    assert want in done.stderr
