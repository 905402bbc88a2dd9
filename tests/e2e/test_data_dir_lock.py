"""One writer per data dir: a second serve is refused at start with the first one's pid
and command; a lock left by a killed process does not block the next start. Real
processes on one data dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def serve(data: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "run.py", "serve", "--feed", "ws://127.0.0.1:9", "--data-dir",
         str(data), "--log-file", str(data.parent / f"serve-{time.monotonic_ns()}.log")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def holds(data: Path, pid: int, timeout: float = 30.0) -> bool:
    """Wait until process ``pid`` has written itself into the data dir's lock."""
    deadline = time.monotonic() + timeout
    lock = data / "hallwatch.lock"
    while time.monotonic() < deadline:
        try:
            if int(json.loads(lock.read_text())["pid"]) == pid:
                return True
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    return False


def test_a_second_writer_is_refused_and_a_killed_ones_lock_does_not_block(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = serve(data)
    try:
        assert holds(data, first.pid)
        second = serve(data)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2
        assert f"in use by pid {first.pid}" in err and "serve" in err, err
        assert "Traceback" not in err
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        third = serve(data)  # the dead holder's file is still there: no matter
        try:
            assert holds(data, third.pid)
            assert third.poll() is None
        finally:
            third.send_signal(signal.SIGTERM)
            third.wait(timeout=30)
        assert third.returncode == 0
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
