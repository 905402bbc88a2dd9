"""The SQLite store: one transaction per change with its audit record, the hash chain
catches edits, a restart restores open alerts and a replayed day does not duplicate."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

import run
from alerts.case_rules import ADDED_MATERIALS
from alerts.rules import COMPLAINT, WAIT_OVERTIME, AlertEngine
from alerts.store import ALERT_FIELDS, AUDIT_FIELDS, AlertStore, record_hash
from cli.audit import export, verify
from feeds.protocol import (
    CaseMaterialsChanged,
    CaseSubmitted,
    Complaint,
    ComplaintClosed,
    Heartbeat,
    TicketIssued,
)
from metrics.state import CityState
from tests.factories import H, ms, only

RULES = only(WAIT_OVERTIME, COMPLAINT, ADDED_MATERIALS)

#: A complaint (a warning), a case asked for materials off its list (a red card, which
#: escalates), a long wait (a warning that rises).
DAY = [
    TicketIssued(seq=1, ts=ms(0), hall=H, ticket="B1", zone="biz"),
    Complaint(seq=2, ts=ms(1), hall=H, complaint="K1", channel="desk"),
    CaseSubmitted(seq=3, ts=ms(2), hall=H, case="C2", item="i", dept="d", promised_days=5),
    CaseMaterialsChanged(seq=4, ts=ms(2), hall=H, case="C2", change="materials_added"),
    ComplaintClosed(seq=5, ts=ms(10), hall=H, complaint="K1"),
    Heartbeat(ts=ms(31), hall=H),
]


def run_day(store: AlertStore, events, tick_every: bool = True) -> AlertEngine:
    city, engine = CityState(), AlertEngine(rules=RULES, sink=store)
    for ev in events:
        engine.on_batch(city.apply([ev]))
        if tick_every:
            engine.on_tick(city.snapshots())
    return engine


def test_every_change_is_audited_and_the_chain_verifies(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.db")
    engine = run_day(store, DAY)
    engine.book.now[H] = ms(32)
    (k2,) = [a for a in engine.book.active() if a.scope == "C2"]
    engine.book.acknowledge(k2.id, "zhang", "calling back")
    records = list(store.audit_records())
    assert [(r["action"], r["subject"], r["actor"]) for r in records] == [
        ("fired notice", "alert 1", "system"),  # K1
        ("fired red", "alert 2", "system"),  # C2
        ("resolved", "alert 1", "system"),
        ("fired notice", "alert 3", "system"),  # B1 at 24 min
        ("raised to urgent", "alert 3", "system"),
        ("escalated to level 1", "alert 2", "system"),  # red, unacknowledged 15 min
        ("acknowledged", "alert 2", "zhang"),
    ]
    assert json.loads(records[5]["detail"])["note"] == "department: d"  # to whom
    assert json.loads(records[-1]["detail"])["note"] == "calling back"
    assert records[0]["prev"] == "0" * 64 and records[1]["prev"] == records[0]["hash"]
    assert verify(store)[0]
    out = io.StringIO()
    assert export(store, out) == 7
    assert [json.loads(line)["hash"] for line in out.getvalue().splitlines()] == [
        r["hash"] for r in records
    ]
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("UPDATE audit SET actor = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("DELETE FROM audit WHERE seq = 1")
    store.close()


def tamper(path: Path, *sql: str) -> None:
    db = sqlite3.connect(path)
    db.executescript("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;" + ";".join(sql))
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("sql", "expect"),
    [
        (["UPDATE audit SET actor = 'nobody' WHERE seq = 2"], "audit record 2: content edited"),
        (["DELETE FROM audit WHERE seq = 3"], "audit record 3: missing"),
        (["UPDATE alerts SET severity = 'yellow' WHERE id = 2"], "alert 2: row differs"),
    ],
)
def test_audit_verify_catches_an_edited_row(tmp_path: Path, capsys, sql, expect) -> None:
    store = AlertStore(tmp_path / "alerts.db")
    run_day(store, DAY)
    store.close()
    assert run.main(["audit", "verify", "--data-dir", str(tmp_path)]) == 0
    assert "intact: 6 records" in capsys.readouterr().out
    tamper(tmp_path / "alerts.db", *sql)
    assert run.main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    assert expect in capsys.readouterr().err


def _forge(db: sqlite3.Connection, seq: int, prev_seq: int, **fields: object) -> tuple:
    """An audit row at ``seq`` like record 6 but for ``fields``, hashed the way the store
    hashes (the algorithm is no secret), chained onto record ``prev_seq``'s hash."""
    row = db.execute(f"SELECT {', '.join(AUDIT_FIELDS)} FROM audit WHERE seq = 6").fetchone()
    record = dict(zip(AUDIT_FIELDS, row, strict=True))
    record |= {"seq": seq, **fields}
    (prev,) = db.execute("SELECT hash FROM audit WHERE seq = ?", (prev_seq,)).fetchone()
    return (*(record[f] for f in AUDIT_FIELDS), prev, record_hash(prev, record))


def _resolved_k2(db: sqlite3.Connection) -> str:
    """Alert 2 (K2) as a forged resolution would leave it."""
    found = db.execute(f"SELECT {', '.join(ALERT_FIELDS)} FROM alerts WHERE id = 2").fetchone()
    row = dict(zip(ALERT_FIELDS, found, strict=True))
    row |= {"state": "resolved", "resolved_ms": ms(20), "resolved_by": "nobody"}
    return json.dumps(row, ensure_ascii=False, sort_keys=True)


@pytest.mark.parametrize(
    ("forge", "expect"),
    [
        # Appended, its own hash right, but written onto record 5 (an older copy of the
        # trail), not onto the last record: only the chain's link shows it.
        (lambda db: [_forge(db, 7, 5, actor="nobody", action="silence ended",
                            subject="silence 9", detail="{}")],
         "audit record 7: does not follow the one before"),
        # Slipped in between 3 and 4 (the records after it renumbered to make room).
        (lambda db: ["UPDATE audit SET seq = seq + 100 WHERE seq >= 4",
                     "UPDATE audit SET seq = seq - 99 WHERE seq >= 100",
                     _forge(db, 4, 3, actor="nobody", action="silence ended",
                            subject="silence 9", detail="{}")],
         "audit record 5: does not follow the one before"),
        # Appended and chained right, resolving K2 in the trail but not in its row.
        (lambda db: [_forge(db, 7, 6, actor="nobody", action="resolved",
                            detail=_resolved_k2(db))],
         "alert 2: row differs from its audit trail"),
    ],
    ids=["onto-an-older-record", "in-between", "chained-right"],
)  # fmt: skip
def test_audit_verify_catches_an_inserted_record(tmp_path: Path, capsys, forge, expect) -> None:
    path = tmp_path / "alerts.db"
    store = AlertStore(path)
    run_day(store, DAY)
    store.close()
    assert run.main(["audit", "verify", "--data-dir", str(tmp_path)]) == 0
    assert "intact: 6 records" in capsys.readouterr().out
    db = sqlite3.connect(path)
    db.executescript("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
    for step in forge(db):
        if isinstance(step, str):
            db.execute(step)
        else:
            db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", step)
    db.commit()
    db.close()
    assert run.main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    assert expect in capsys.readouterr().err
    store = AlertStore(path)
    intact, text = verify(store)
    store.close()
    assert not intact and expect in text
    assert "intact" not in text


def test_restart_restores_open_alerts_and_replay_does_not_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    store = AlertStore(path)
    first = run_day(store, DAY)
    first.book.now[H] = ms(32)
    k2 = next(a for a in first.book.active() if a.scope == "C2")
    first.book.acknowledge(k2.id, "zhang", "on it")
    before = [(a.id, a.scope, a.severity, a.state) for a in first.book.active()]
    records = len(list(store.audit_records()))
    store.close()

    # A new process: the feed replays the day from the start, sparsely ticked.
    store = AlertStore(path)
    second = run_day(store, DAY, tick_every=False)
    second.on_tick(second_city_snapshots(DAY))
    assert [(a.id, a.scope, a.severity, a.state) for a in second.book.active()] == before
    restored = next(a for a in second.book.active() if a.scope == "C2")
    assert (restored.ack_by, restored.ack_note) == ("zhang", "on it")
    assert [w for _, w in restored.history] == ["fired red", "escalated to level 1", "acknowledged"]
    assert len(list(store.audit_records())) == records  # nothing fired twice

    # The day goes on: B1 is called (resolved), K1 comes back (a new alert, linked).
    second.book.resolve(WAIT_OVERTIME, H, "biz/B1", ms(40))
    second.book.fire(COMPLAINT, H, "K1", "notice", ms(41), "again")
    k1 = next(a for a in second.book.active() if a.scope == "K1")
    assert k1.id == 4 and k1.previous == 1
    assert verify(store)[0]
    store.close()


def second_city_snapshots(events):
    city = CityState()
    city.apply(events)
    return city.snapshots()
