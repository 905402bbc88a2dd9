"""`serve` keeps its alerts in SQLite across restarts, real processes and sockets.

The demo day is applied whole, then `serve` is stopped and started twice: once with the
state snapshot its clean stop saved, once with that snapshot gone, so that the journal
replays the whole day through the state and the rules (docs/alerts.md, "Restart"). Both
restarts end with the first run's figures and alerts: nothing fired twice, nothing
lost. `audit verify` then passes, and catches a row edited by hand afterwards.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.e2e.test_chaos import Serve, _alerts, _demo_feed, _expected
from tests.e2e.test_serve import ROOT


def fired(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT subject FROM audit WHERE action LIKE 'fired %'")
        return Counter(subject for (subject,) in rows)


def recovered(log: Path) -> list[tuple[bool, int, int]]:
    """Each start's ``journal_recovered`` line: (from the snapshot?, events read back from
    the journal, the seq the feed resumes after)."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [
        (rec["from_snapshot"], rec["events"], rec["resume_since"])
        for rec in lines
        if rec.get("event") == "journal_recovered"
    ]


def stop(serve: Serve) -> None:
    """SIGTERM, and a clean exit (a clean stop saves the state snapshot)."""
    serve.stop()
    assert serve.proc is not None and serve.proc.returncode == 0


def test_alerts_survive_a_restart_and_the_trail_verifies(tmp_path: Path) -> None:
    last_seq, clocks = _expected()
    data = tmp_path / "data"
    snapshot = data / "state.snapshot"
    with _demo_feed(tmp_path, days=1) as url:
        serve = Serve(url, data)
        try:
            serve.start()
            figures = serve.final_figures(last_seq, clocks)  # the whole day, applied once
            stop(serve)
            first, alerts = fired(data / "alerts.db"), _alerts(data)
            assert first and max(first.values()) == 1
            assert any(rule == "bad_rating" for rule, *_ in alerts)
            assert snapshot.exists()

            serve.start()  # from the snapshot: nothing left to read from the journal
            assert serve.final_figures(last_seq, clocks) == figures
            stop(serve)

            snapshot.unlink()  # from the journal alone: the day replayed through the rules
            serve.start()
            assert serve.final_figures(last_seq, clocks) == figures
            stop(serve)
        finally:
            serve.stop()
    starts = recovered(serve.log)
    assert starts[0] == (False, 0, 0)  # a first start: nothing journaled yet
    assert starts[1] == (True, 0, last_seq)
    from_snapshot, replayed, since = starts[2]
    assert not from_snapshot and replayed >= last_seq and since == last_seq
    assert len(starts) == 3
    again = fired(data / "alerts.db")
    assert again == first  # the replayed day dedups against the store: none fired twice
    assert _alerts(data) == alerts

    env = {**os.environ, "HALLWATCH_DATA_DIR": str(data)}
    verify = [sys.executable, "run.py", "audit", "verify", "--data-dir", str(data)]
    ok = subprocess.run(verify, cwd=ROOT, capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and "intact" in ok.stdout, ok.stderr
    with sqlite3.connect(data / "alerts.db") as conn:
        conn.executescript(
            "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'x' WHERE seq = 3;"
        )
    broken = subprocess.run(verify, cwd=ROOT, capture_output=True, text=True, env=env)
    assert broken.returncode == 1 and "audit record 3: content edited" in broken.stderr
