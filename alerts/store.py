"""The alert store: SQLite (WAL) under the data dir, with a hash-chained audit trail.

Every state change (an alert fired, rose, was acknowledged, escalated, resolved; a
silence; a handover) is written with its audit record in ONE transaction, so the trail
and the state never disagree. The ``audit`` table is append-only (triggers refuse UPDATE
and DELETE) and hash-chained: each record carries the SHA-256 of its content and of the
record before it, so editing any row — with the triggers dropped, by hand — breaks the
chain from that row on (``verify``). Each alert's row must also equal the alert as its
latest audit record left it, so an edited alert row is caught too. What the chain cannot
show alone is the last records cut off the end: compare with an export (``export``).

Who: each record's ``actor`` is the person who acted (``system`` for the rules). A
person's records written inside ``signed_in(person, how)`` say in their detail how that
person signed in (``signed_in_by``: password, os_account, demo, given); signing in and
out and a refused sign-in are records of their own (``session_changed``), subject
``operator <person>``.

Restart: ``open_alerts`` and ``live_silences`` give the book back what was open; the
feed replaying the day then dedups against them (see alerts.book). Several processes may
share the file (``serve`` and ``run.py handover``): each write takes the chain's head
inside its own ``BEGIN IMMEDIATE`` transaction.

Imports: alerts.book, the standard library (sqlite3, hashlib, json).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

from alerts.book import Alert, Change, Key, Silence

GENESIS: Final = "0" * 64
SCHEMA_VERSION: Final = 1

#: The columns of an alert row, in order (also what an audit record keeps of the alert).
ALERT_FIELDS: Final = (
    "id", "rule", "hall", "scope", "severity", "state", "fired_ms", "raised_ms",
    "resolved_ms", "previous", "summary", "ack_by", "ack_ms", "ack_note", "resolved_by",
    "resolve_note", "level", "escalated_ms", "due_ms", "hold_ms",
)  # fmt: skip
SILENCE_FIELDS: Final = (
    "id", "hall", "rule", "scope_prefix", "created_by", "reason", "created_ms", "until_ms",
    "ended_ms",
)  # fmt: skip
AUDIT_FIELDS: Final = ("seq", "hall_ms", "wall", "actor", "action", "subject", "hall", "detail")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts ({", ".join(ALERT_FIELDS)}, PRIMARY KEY (id));
CREATE INDEX IF NOT EXISTS alerts_key ON alerts (rule, hall, scope, id);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state);
CREATE TABLE IF NOT EXISTS silences ({", ".join(SILENCE_FIELDS)}, PRIMARY KEY (id));
CREATE TABLE IF NOT EXISTS clocks (hall TEXT PRIMARY KEY, now_ms INTEGER NOT NULL,
    figures TEXT);
CREATE TABLE IF NOT EXISTS handovers (
    id INTEGER PRIMARY KEY, hall TEXT NOT NULL, written_by TEXT NOT NULL,
    written_ms INTEGER NOT NULL, shift_start_ms INTEGER NOT NULL, report TEXT NOT NULL,
    incoming TEXT, accepted_by TEXT, accepted_ms INTEGER, accept_note TEXT);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, hall_ms INTEGER NOT NULL, wall TEXT NOT NULL,
    actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL, hall TEXT NOT NULL,
    detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


def record_hash(prev: str, record: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the record's fields, canonical JSON."""
    body = json.dumps([prev, *(record[f] for f in AUDIT_FIELDS)], ensure_ascii=False,
                      separators=(",", ":"))  # fmt: skip
    return hashlib.sha256(body.encode()).hexdigest()


def _alert_row(a: Alert) -> tuple[Any, ...]:
    return tuple(getattr(a, f) for f in ALERT_FIELDS)


def _detail(a: Alert, note: str | None = None) -> str:
    """The alert as this change left it (plus the person's note, if any)."""
    fields: dict[str, Any] = dict(zip(ALERT_FIELDS, _alert_row(a), strict=True))
    if note:
        fields["note"] = note
    return json.dumps(fields, ensure_ascii=False, sort_keys=True)


#: The actor of a refused sign-in: nobody was signed in.
NOBODY: Final = "-"

_SIGNED_IN: ContextVar[tuple[str, str] | None] = ContextVar("signed_in", default=None)


@contextlib.contextmanager
def signed_in(person: str, how: str) -> Iterator[None]:
    """Inside, every audit record whose actor is ``person`` carries ``signed_in_by: how``
    in its detail (the desk wraps each action in it)."""
    token = _SIGNED_IN.set((person, how))
    try:
        yield
    finally:
        _SIGNED_IN.reset(token)


_RECORDED_AT: ContextVar[str | None] = ContextVar("recorded_at", default=None)


@contextlib.contextmanager
def recorded_at(wall: str) -> Iterator[None]:
    """Inside, audit records carry ``wall`` (``%Y-%m-%dT%H:%M:%SZ``) as their wall time
    instead of now: a change held in memory while the store could not be written keeps
    the time it was made (``runtime.held_alerts``)."""
    token = _RECORDED_AT.set(wall)
    try:
        yield
    finally:
        _RECORDED_AT.reset(token)


def wall_now() -> str:
    """This machine's time as an audit record's ``wall`` (UTC, to the second)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class StoreError(Exception):
    """The database cannot be opened or is not ours."""


class AlertStore:
    """SQLite store for alerts, silences, handovers and the audit trail (a ``Sink``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Made 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
            # database's mode, and they hold the same alerts (they were 0644).
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            for made in (
                path,
                path.with_name(path.name + "-wal"),
                path.with_name(path.name + "-shm"),
            ):
                if made.exists():
                    made.chmod(0o600)
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                      timeout=10.0)  # fmt: skip
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self.db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        except sqlite3.Error as error:
            raise StoreError(f"{path}: cannot open the alert database: {error}") from error
        except OSError as error:
            raise StoreError(f"{path}: cannot create the alert database: {error}") from error
        self._lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    # --- writing: one transaction per change, with its audit record --------------------

    def _audit(self, hall_ms: int, actor: str, action: str, subject: str, hall: str,
               detail: str) -> None:  # fmt: skip
        """Append one audit record; the caller holds the transaction."""
        session = _SIGNED_IN.get()
        if session is not None and session[0] == actor:
            fields = json.loads(detail)
            fields["signed_in_by"] = session[1]
            detail = json.dumps(fields, ensure_ascii=False, sort_keys=True)
        row = self.db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        wall = _RECORDED_AT.get() or wall_now()
        record = dict(zip(AUDIT_FIELDS, (seq, hall_ms, wall, actor, action, subject, hall,
                                         detail), strict=True))  # fmt: skip
        self.db.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*record.values(), prev, record_hash(prev, record)),
        )

    def _transaction(self) -> _Tx:
        return _Tx(self)

    def alert_changed(self, change: Change) -> None:
        a = change.alert
        marks = ", ".join("?" * len(ALERT_FIELDS))
        with self._transaction():
            self.db.execute(f"INSERT OR REPLACE INTO alerts VALUES ({marks})", _alert_row(a))
            detail = _detail(a, change.note)
            self._audit(change.at_ms, change.actor, change.what, f"alert {a.id}", a.hall, detail)

    def silence_changed(self, silence: Silence, what: str, actor: str, at_ms: int) -> None:
        row = tuple(getattr(silence, f) for f in SILENCE_FIELDS)
        detail = json.dumps(dict(zip(SILENCE_FIELDS, row, strict=True)), ensure_ascii=False,
                            sort_keys=True)  # fmt: skip
        with self._transaction():
            marks = ", ".join("?" * len(SILENCE_FIELDS))
            self.db.execute(f"INSERT OR REPLACE INTO silences VALUES ({marks})", row)
            self._audit(at_ms, actor, f"silence {what}", f"silence {silence.id}", silence.hall,
                        detail)  # fmt: skip

    def session_changed(self, actor: str, what: str, person: str, at_ms: int,
                        detail: Mapping[str, Any]) -> None:  # fmt: skip
        """Record what happened to ``person``'s sign-in (``what``): signed in, signed out,
        sign-in refused; operator added, password changed, operator removed."""
        text = json.dumps(dict(detail), ensure_ascii=False, sort_keys=True)
        with self._transaction():
            self._audit(at_ms, actor, what, f"operator {person}", "", text)

    def set_clocks(self, clocks: Mapping[str, int],
                   figures: Mapping[str, Mapping[str, Any]] | None = None) -> None:  # fmt: skip
        """Remember each hall's clock and headline figures, for commands run in another
        process (``run.py handover``): they stamp hall time, never wall time."""
        figs = figures or {}
        rows = [
            (hall, ms, json.dumps(figs[hall], ensure_ascii=False) if hall in figs else None)
            for hall, ms in clocks.items()
        ]
        with self._lock:
            self.db.executemany(
                "INSERT INTO clocks VALUES (?, ?, ?) ON CONFLICT (hall) DO UPDATE SET "
                "now_ms = max(now_ms, excluded.now_ms), "
                "figures = coalesce(excluded.figures, figures)",
                rows,
            )

    def clocks(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT hall, now_ms FROM clocks ORDER BY hall"))

    def figures(self, hall: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT figures FROM clocks WHERE hall = ?", (hall,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    # --- handovers (alerts.duty) ---------------------------------------------------------

    def write_handover(self, hall: str, who: str, at_ms: int, shift_start_ms: int, report: str,
                       incoming: str | None) -> int:  # fmt: skip
        """Record the outgoing director's shift report; returns its id."""
        with self._transaction():
            cur = self.db.execute(
                "INSERT INTO handovers (hall, written_by, written_ms, shift_start_ms, report, "
                "incoming) VALUES (?, ?, ?, ?, ?, ?)",
                (hall, who, at_ms, shift_start_ms, report, incoming),
            )
            hid = int(cur.lastrowid or 0)
            digest = hashlib.sha256(report.encode()).hexdigest()
            detail = json.dumps({"incoming": incoming, "report_sha256": digest}, sort_keys=True)
            self._audit(at_ms, who, "handover written", f"handover {hid}", hall, detail)
        return hid

    def accept_handover(self, hid: int, who: str, at_ms: int, note: str | None) -> str:
        """The incoming director accepts the shift report ``hid``; returns its hall."""
        with self._transaction():
            row = self.db.execute(
                "SELECT hall, accepted_by FROM handovers WHERE id = ?", (hid,)
            ).fetchone()
            if row is None:
                raise StoreError(f"no handover #{hid}")
            if row[1] is not None:
                raise StoreError(f"handover #{hid} was already accepted by {row[1]}")
            self.db.execute(
                "UPDATE handovers SET accepted_by = ?, accepted_ms = ?, accept_note = ? "
                "WHERE id = ?",
                (who, at_ms, note, hid),
            )
            detail = json.dumps({"note": note}, ensure_ascii=False)
            self._audit(at_ms, who, "handover accepted", f"handover {hid}", row[0], detail)
        return str(row[0])

    def handovers(self, unaccepted_only: bool = False) -> list[dict[str, Any]]:
        """Shift reports, oldest first."""
        names = ("id", "hall", "written_by", "written_ms", "shift_start_ms", "report",
                 "incoming", "accepted_by", "accepted_ms", "accept_note")  # fmt: skip
        where = " WHERE accepted_by IS NULL" if unaccepted_only else ""
        rows = self.db.execute(f"SELECT {', '.join(names)} FROM handovers{where} ORDER BY id")
        return [dict(zip(names, row, strict=True)) for row in rows]

    # --- reading -------------------------------------------------------------------------

    def last_resolved(self, key: Key) -> tuple[int, int] | None:
        row = self.db.execute(
            "SELECT id, resolved_ms FROM alerts WHERE rule = ? AND hall = ? AND scope = ? "
            "AND state = 'resolved' ORDER BY id DESC LIMIT 1",
            key,
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def open_alerts(self) -> list[Alert]:
        """Firing and acknowledged alerts, with their history from the audit trail."""
        rows = self.db.execute(
            f"SELECT {', '.join(ALERT_FIELDS)} FROM alerts "
            "WHERE state IN ('firing', 'acknowledged') ORDER BY id"
        ).fetchall()
        out = []
        for row in rows:
            a = Alert(**dict(zip(ALERT_FIELDS, row, strict=True)))
            a.history = [
                (int(ms), str(what))
                for ms, what in self.db.execute(
                    "SELECT hall_ms, action FROM audit WHERE subject = ? ORDER BY seq",
                    (f"alert {a.id}",),
                )
            ]
            out.append(a)
        return out

    def alerts(self, since_ms: int = 0, until_ms: int | None = None) -> list[Alert]:
        """Alerts that fired, or were still open, in a hall-time window (for reports)."""
        end = until_ms if until_ms is not None else 2**62
        rows = self.db.execute(
            f"SELECT {', '.join(ALERT_FIELDS)} FROM alerts WHERE fired_ms <= ? AND "
            "(resolved_ms IS NULL OR resolved_ms >= ?) ORDER BY id",
            (end, since_ms),
        ).fetchall()
        return [Alert(**dict(zip(ALERT_FIELDS, row, strict=True))) for row in rows]

    def live_silences(self) -> list[Silence]:
        rows = self.db.execute(
            f"SELECT {', '.join(SILENCE_FIELDS)} FROM silences WHERE ended_ms IS NULL"
        ).fetchall()
        return [Silence(**dict(zip(SILENCE_FIELDS, row, strict=True))) for row in rows]

    def next_ids(self) -> tuple[int, int]:
        """The next alert id and silence id."""
        a = self.db.execute("SELECT coalesce(max(id), 0) FROM alerts").fetchone()[0]
        s = self.db.execute("SELECT coalesce(max(id), 0) FROM silences").fetchone()[0]
        return int(a) + 1, int(s) + 1

    def trail(self, subject: str) -> list[dict[str, Any]]:
        """The audit records of one subject (``alert 12``, ``silence 3``), oldest first."""
        names = (*AUDIT_FIELDS, "prev", "hash")
        rows = self.db.execute(
            f"SELECT {', '.join(names)} FROM audit WHERE subject = ? ORDER BY seq", (subject,)
        ).fetchall()
        return [dict(zip(names, row, strict=True)) for row in rows]

    def audit_records(self) -> Iterator[dict[str, Any]]:
        """Every audit record in order, with ``prev`` and ``hash``."""
        names = (*AUDIT_FIELDS, "prev", "hash")
        for row in self.db.execute(f"SELECT {', '.join(names)} FROM audit ORDER BY seq"):
            yield dict(zip(names, row, strict=True))

    # --- verification --------------------------------------------------------------------

    def verify(self) -> list[str]:
        """Check the chain and the alert rows against it; the problems found (none: [])."""
        problems: list[str] = []
        prev, expected_seq = GENESIS, 1
        latest: dict[str, str] = {}
        for rec in self.audit_records():
            if rec["seq"] != expected_seq:
                problems.append(f"audit record {expected_seq}: missing (next is {rec['seq']})")
            if rec["prev"] != prev:
                problems.append(f"audit record {rec['seq']}: does not follow the one before")
            if record_hash(rec["prev"], rec) != rec["hash"]:
                problems.append(f"audit record {rec['seq']}: content edited (hash mismatch)")
            prev, expected_seq = rec["hash"], rec["seq"] + 1
            if rec["subject"].startswith("alert "):
                latest[rec["subject"]] = rec["detail"]
        for row in self.db.execute(f"SELECT {', '.join(ALERT_FIELDS)} FROM alerts ORDER BY id"):
            fields = dict(zip(ALERT_FIELDS, row, strict=True))
            detail = latest.get(f"alert {fields['id']}")
            recorded = json.loads(detail) if detail else None
            if recorded is not None:
                recorded.pop("note", None)
                recorded.pop("signed_in_by", None)
            if recorded != fields:
                problems.append(f"alert {fields['id']}: row differs from its audit trail")
        return problems


class _Tx:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on error), under the store's lock."""

    def __init__(self, store: AlertStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        self.store._lock.acquire()
        try:
            self.store.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise

    def __exit__(self, kind: object, value: object, tb: object) -> None:
        try:
            self.store.db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.store._lock.release()
