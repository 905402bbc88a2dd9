"""`serve` as a subprocess against `demo-feed`: /metrics answers with the contract set,
logs are JSON lines, SIGTERM stops it cleanly. Real processes, sockets and files."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.metrics.test_exposition import CONTRACT

ROOT = Path(__file__).resolve().parents[2]
#: A Chinese resident ID number: 17 digits and a check digit. None may leave the decoder.
ID_NUMBER = re.compile(r"(?<![0-9a-f])[0-9]{17}[0-9X](?![0-9a-f])")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)


def get(url: str) -> str | None:
    try:
        return urllib.request.urlopen(url, timeout=2).read().decode()
    except OSError:
        return None


def test_serve_against_demo_feed(tmp_path: Path) -> None:
    env = {**os.environ, "HALLWATCH_DATA_DIR": str(tmp_path / "data")}
    feed = subprocess.Popen(
        [
            sys.executable,
            "run.py",
            "demo-feed",
            "--port",
            "0",
            "--speed",
            "max",
            "--date",
            "2025-11-24",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    serve = None
    try:
        assert feed.stdout is not None
        url = feed.stdout.readline().strip()
        assert url.startswith("ws://127.0.0.1:"), url
        port = free_port()
        log_path = tmp_path / "serve.log"
        serve = subprocess.Popen(
            [
                sys.executable,
                "run.py",
                "serve",
                "--feed",
                f"demo={url}",
                "--metrics-port",
                str(port),
                "--data-dir",
                str(tmp_path / "data"),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log_path.open("w"),
            env=env,
        )

        def served() -> str | None:
            body = get(f"http://127.0.0.1:{port}/metrics")
            return body if body and "hall_services_total{" in body else None

        body = wait_until(served, what="/metrics with services")
        for name in CONTRACT:
            assert name in body, name
        assert 'hall_feed_connected{feed="demo"} 1.0' in body
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=15) == 0
        lines = [json.loads(line) for line in log_path.read_text().splitlines() if line]
        events = [line["event"] for line in lines]
        assert "serve_started" in events and "serve_stopped" in events
        assert all("timestamp" in line and "level" in line for line in lines)
        journal = list((tmp_path / "data" / "journal" / "demo").glob("*.jsonl"))
        assert journal and journal[0].stat().st_size > 0
        everything = log_path.read_text() + body + journal[0].read_text()
        persons = re.findall(r'"person":"([^"]*)"', journal[0].read_text())
        assert persons and all(p.startswith("p-") for p in persons)
        assert not ID_NUMBER.search(everything)
    finally:
        for proc in (serve, feed):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
