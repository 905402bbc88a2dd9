"""`run.py web` in a real headless Chromium: the page loads, the console process starts
behind it and its first screen reaches the browser.

Chromium is driven over the DevTools protocol with the project's own websockets client
(no extra browser tooling). Without a Chromium on the machine the test is skipped with
the reason; .ci/run installs Debian's chromium so CI runs it.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.e2e.test_serve import ROOT, free_port, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")
#: A screenshot of the drawn console is larger than this; a blank page far smaller.
DRAWN_BYTES = 20_000


class DevTools:
    """The few DevTools-protocol calls the test needs, over one page's websocket."""

    def __init__(self, ws) -> None:  # type: ignore[no-untyped-def]
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: object) -> dict:
        call_id = next(self.ids)
        await self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(message["error"])
                return message["result"]

    async def evaluate(self, expression: str) -> object:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


async def _browse(devtools_port: int, url: str, shot: Path) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list", timeout=5) as r:
        pages = [p for p in json.load(r) if p["type"] == "page"]
    async with connect(pages[0]["webSocketDebuggerUrl"], max_size=None, proxy=None) as ws:
        tools = DevTools(ws)
        await tools.call("Page.enable")
        await tools.call("Page.navigate", url=url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        # textual-serve marks the body once the console's first bytes have arrived.
        while not await tools.evaluate(
            "document.body !== null && document.body.classList.contains('-first-byte')"
        ):
            assert loop.time() < deadline, "the console never drew in the browser"
            await asyncio.sleep(0.2)
        assert await tools.evaluate("document.querySelectorAll('canvas').length") >= 1
        # Until the demo hall has opened and the board filled: a screenshot of a drawn
        # console (text and colours) is large, a blank or half-drawn one small.
        while True:
            image = await tools.call("Page.captureScreenshot", format="png")
            png = base64.b64decode(image["data"])
            if len(png) > DRAWN_BYTES or loop.time() > deadline:
                break
            await asyncio.sleep(0.2)
        shot.write_bytes(png)


def test_web_serves_the_console_to_a_browser(tmp_path: Path) -> None:
    port, devtools_port = free_port(), free_port()
    env = {**os.environ, "HALLWATCH_DATA_DIR": str(tmp_path / "data")}
    web = subprocess.Popen(
        [
            sys.executable,
            "run.py",
            "web",
            "--port",
            str(port),
            "--",
            "demo",
            "--speed",
            "600",
            "--lang",
            "en",
            "--date",
            "2025-11-24",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,
    )
    browser = None
    try:
        assert web.stdout is not None
        url = web.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}"

        def page() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    return b"textual.js" in r.read()
            except OSError:
                return False

        wait_until(page, what="the web page")
        browser = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={tmp_path / 'chromium'}",
                f"--remote-debugging-port={devtools_port}",
                "--window-size=1280,800",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def devtools() -> bool:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/version", timeout=2)
            except OSError:
                return False
            return True

        wait_until(devtools, what="chromium's devtools")
        shot = tmp_path / "web.png"
        asyncio.run(_browse(devtools_port, url, shot))
        # A drawn console, not a blank page: a screenshot of text and colours is large.
        assert shot.stat().st_size > DRAWN_BYTES
        if os.environ.get("HALLWATCH_KEEP_SHOT"):
            shutil.copy(shot, os.environ["HALLWATCH_KEEP_SHOT"])
    finally:
        if browser is not None:
            browser.kill()
            browser.wait()
        os.killpg(web.pid, signal.SIGTERM)  # the server and the console processes it ran
        try:
            web.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()
