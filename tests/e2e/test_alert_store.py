"""`serve` keeps its alerts in SQLite across a restart, real processes and sockets: the
second run (the feed replays the day) duplicates nothing, `audit verify` passes, and
catches a row edited by hand afterwards."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.e2e.test_serve import ROOT, free_port, get, wait_until


def serve_until_alerts(url: str, data: Path, env: dict[str, str]) -> str:
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "run.py", "serve", "--feed", f"demo={url}", "--metrics-port",
         str(port), "--data-dir", str(data)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:

        def settled() -> str | None:
            body = get(f"http://127.0.0.1:{port}/metrics")
            done = body and 'hall_alerts_active{hall="city",rule="bad_rating"' in body
            return body if done else None

        body = wait_until(settled, timeout=60, what="alerts in /metrics")
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=15) == 0
        return body
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def fired(db: Path) -> Counter[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT subject FROM audit WHERE action LIKE 'fired %'")
        return Counter(subject for (subject,) in rows)


def test_alerts_survive_a_restart_and_the_trail_verifies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "HALLWATCH_DATA_DIR": str(data)}
    feed = subprocess.Popen(
        [sys.executable, "run.py", "demo-feed", "--port", "0", "--speed", "max", "--date",
         "2025-11-24"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert feed.stdout is not None
        url = feed.stdout.readline().strip()
        serve_until_alerts(url, data, env)
        first = fired(data / "alerts.db")
        assert first and max(first.values()) == 1
        serve_until_alerts(url, data, env)  # the day again, from seq 1
        again = fired(data / "alerts.db")
        assert set(again) >= set(first) and max(again.values()) == 1  # none fired twice
        verify = [sys.executable, "run.py", "audit", "verify", "--data-dir", str(data)]
        ok = subprocess.run(verify, cwd=ROOT, capture_output=True, text=True, env=env)
        assert ok.returncode == 0 and "intact" in ok.stdout, ok.stderr
        with sqlite3.connect(data / "alerts.db") as conn:
            conn.executescript(
                "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'x' WHERE seq = 3;"
            )
        broken = subprocess.run(verify, cwd=ROOT, capture_output=True, text=True, env=env)
        assert broken.returncode == 1 and "audit record 3: content edited" in broken.stderr
    finally:
        feed.kill()
        feed.wait()
