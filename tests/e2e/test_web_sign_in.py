"""A browser tab of ``run.py web`` is read-only: even the demo, which signs its operator in
by itself in a terminal, does not in a browser. The tab is driven the way the page's
JavaScript drives it — textual-serve's websocket (``resize``, ``stdin``), reading the
console's terminal output — with the project's own websockets client; no browser needed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect

from alerts.store import AlertStore
from tests.e2e.test_serve import ROOT, free_port, wait_until


async def _tab(port: int) -> str:
    """Open a tab, wait for the read-only notice, press ``i``; everything it showed."""
    shown = bytearray()
    url = f"ws://127.0.0.1:{port}/ws?width=120&height=40"
    async with connect(url, max_size=None, proxy=None) as ws:
        await ws.send(json.dumps(["resize", {"width": 120, "height": 40}]))

        async def until(text: str) -> None:
            while text not in shown.decode("utf-8", "ignore"):
                message = await ws.recv()
                if isinstance(message, bytes):
                    shown.extend(message)

        await asyncio.wait_for(until("press i to sign in"), 60)
        await ws.send(json.dumps(["stdin", "i"]))
        await asyncio.wait_for(until("nobody can sign in by password here"), 30)
    return shown.decode("utf-8", "ignore")


def test_a_browser_tab_is_read_only_even_in_the_demo(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HALLWATCH_DATA_DIR": str(tmp_path / "data")}
    demo = ["demo", "--speed", "600", "--lang", "en", "--date", "2025-11-24", "--history", "0"]
    web = subprocess.Popen(
        [sys.executable, "run.py", "web", "--port", str(port), "--", *demo],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert web.stdout is not None
        url = web.stdout.readline().strip()

        def page() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    return b"textual.js" in r.read()
            except OSError:
                return False

        wait_until(page, what="the web page")
        shown = asyncio.run(_tab(port))
        assert "signed in: 演示值班员" not in shown
        store = AlertStore(tmp_path / "data" / "demo" / "alerts.db")
        try:
            assert not [r for r in store.audit_records() if r["action"] == "signed in"]
        finally:
            store.close()
    finally:
        os.killpg(web.pid, signal.SIGTERM)  # the server and the console processes it ran
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()
