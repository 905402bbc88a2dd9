"""Who may connect: wss:// verified against a CA (made here with trustme), bearer tokens,
/metrics with basic auth over HTTPS. Real TLS on 127.0.0.1 sockets, real processes."""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
import trustme

from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.server import FeedServer
from feeds.tls import TLSConfigError, client_context, server_context
from metrics.exposition import serve_metrics
from metrics.snapshot import CitySnapshot
from tests.conftest import wait_for
from tests.e2e.test_serve import ROOT, free_port, get, wait_until
from tests.factories import tickets


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, and a server certificate for 127.0.0.1 signed by it, as PEM files."""
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    for blob in cert.cert_chain_pems:
        blob.write_to_path(str(paths["cert"]), append=True)
    return paths


def _feed(url: str, token: str | None, context: ssl.SSLContext) -> WebSocketFeed:
    return WebSocketFeed(
        url,
        FrameDecoder(lambda raw: "p"),
        token=token,
        ssl_context=context,
        backoff=Backoff(initial=0.05, maximum=0.1),
        seed=1,
    )


async def _run(feed: WebSocketFeed, until: Callable[[], bool], got: list[object]) -> None:
    async def consume() -> None:
        async for batch in feed.batches():
            got.extend(batch.events)

    task = asyncio.create_task(consume())
    try:
        await wait_for(until, 10)
    finally:
        task.cancel()


async def test_wss_with_the_ca_file_and_the_token_gets_the_events(pki: dict[str, Path]) -> None:
    server = FeedServer(
        "tls", ["lz"], token="s3cret", ssl_context=server_context(pki["cert"], pki["key"])
    )
    await server.start()
    try:
        assert server.url.startswith("wss://127.0.0.1:")
        await server.publish(tickets(5))
        got: list[object] = []
        good = _feed(server.url, "s3cret", client_context(pki["ca"]))
        await _run(good, lambda: len(got) == 5, got)
        assert good.status.connects == 1 and good.status.last_seq == 5

        # The system CA store does not know this CA: verification fails, nothing arrives.
        stranger = _feed(server.url, "s3cret", client_context())
        await _run(stranger, lambda: stranger.status.last_error is not None, [])
        assert "CERTIFICATE_VERIFY_FAILED" in (stranger.status.last_error or "")
        assert stranger.status.connects == 0

        # The right CA but a wrong token: refused at the handshake.
        intruder = _feed(server.url, "guess", client_context(pki["ca"]))
        await _run(intruder, lambda: intruder.status.last_error is not None, [])
        assert intruder.status.last_error == "HTTP 401 at handshake"
        assert intruder.status.connects == 0
    finally:
        await server.stop()


def test_tls_files_that_cannot_be_loaded_are_named(tmp_path: Path, pki: dict[str, Path]) -> None:
    with pytest.raises(TLSConfigError, match=r"nope\.pem"):
        client_context(tmp_path / "nope.pem")
    with pytest.raises(TLSConfigError, match=r"cert\.pem"):
        server_context(pki["cert"], pki["ca"])  # a certificate is not its key


def test_metrics_basic_auth_over_https(pki: dict[str, Path]) -> None:
    _, port, stop = serve_metrics(
        lambda: CitySnapshot({}, ()),
        "127.0.0.1",
        0,
        basic_auth=("prom", "pa:ss"),
        ssl_context=server_context(pki["cert"], pki["key"]),
    )
    trusted = client_context(pki["ca"])
    url = f"https://127.0.0.1:{port}/metrics"

    def fetch(auth: str | None, context: ssl.SSLContext = trusted) -> int:
        request = urllib.request.Request(url)
        if auth is not None:
            request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
        try:
            with urllib.request.urlopen(request, context=context, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    try:
        assert fetch(None) == 401
        assert fetch("prom:wrong") == 401
        assert fetch("prom:pa:ss") == 200
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            fetch("prom:pa:ss", client_context())
        assert get(f"http://127.0.0.1:{port}/metrics") is None  # no plain HTTP
    finally:
        stop()


def test_demo_feed_over_tls_with_a_token_into_serve_with_metrics_auth(
    tmp_path: Path, pki: dict[str, Path]
) -> None:
    secret = tmp_path / "token"
    secret.write_text("t0ken\n")
    auth = tmp_path / "metrics-auth"
    auth.write_text("prom:pw\n")
    for path in (secret, auth):
        path.chmod(0o600)
    tls = ["--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"])]
    feed = subprocess.Popen(
        [sys.executable, "run.py", "demo-feed", "--port", "0", "--speed", "max", "--date",
         "2025-11-24", "--token-file", str(secret), *tls],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    port = free_port()
    serve = None
    try:
        assert feed.stdout is not None
        url = feed.stdout.readline().decode().strip()
        assert url.startswith("wss://127.0.0.1:")
        serve = subprocess.Popen(
            [sys.executable, "run.py", "serve", "--feed", f"f={url}", "--ca-file", str(pki["ca"]),
             "--token-file", str(secret), "--data-dir", str(tmp_path / "data"),
             "--metrics-port", str(port), "--metrics-auth-file", str(auth),
             "--log-file", str(tmp_path / "serve.log")],
            cwd=ROOT,
        )  # fmt: skip
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
        request.add_header("Authorization", "Basic " + base64.b64encode(b"prom:pw").decode())

        def connected() -> bool:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    body = response.read().decode()
            except OSError:
                return False
            return 'hall_feed_connected{feed="f"} 1' in body

        wait_until(connected, 30, "serve connected over wss with the token")
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
    finally:
        for proc in (serve, feed):
            if proc is not None:
                proc.terminate()
                proc.wait(10)


@pytest.mark.parametrize("mode", [0o640, 0o604], ids=["group", "others"])
@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--feed", "ws://127.0.0.1:9", "--token-file", "SECRET"],
        ["serve", "--feed", "ws://127.0.0.1:9", "--metrics-port", "PORT",
         "--metrics-auth-file", "SECRET"],
        ["demo-feed", "--port", "0", "--token-file", "SECRET"],
        ["replay", "RECORDING", "--port", "0", "--token-file", "SECRET"],
    ],
    ids=["serve-token", "serve-metrics-auth", "demo-feed-token", "replay-token"],
)  # fmt: skip
def test_a_secret_file_its_group_or_others_can_read_is_refused(
    tmp_path: Path, argv: list[str], mode: int
) -> None:
    """Every command that reads a token or auth file refuses it unless it is 0600 (or
    stricter): readable by the file's group is as refused as readable by everyone."""
    secret = tmp_path / "secret"
    secret.write_text("prom:t0ken\n")
    os.chmod(secret, mode)
    recording = tmp_path / "2025-11-24.jsonl"
    recording.write_bytes(msgspec.json.encode(tickets(1)[0]) + b"\n")
    values = {"SECRET": str(secret), "PORT": str(free_port()), "RECORDING": str(recording)}
    done = subprocess.run(
        [sys.executable, "run.py", *(values.get(a, a) for a in argv),
         *(["--data-dir", str(tmp_path / "data")] if argv[0] == "serve" else [])],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "readable by others" in done.stderr and str(secret) in done.stderr
    assert f"mode {stat.filemode(0o100000 | mode)}" in done.stderr


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("t0ken\n")
    os.chmod(secret, 0o644)
    done = subprocess.run(
        [sys.executable, "run.py", "serve", "--feed", "ws://127.0.0.1:9", "--token-file",
         str(secret), "--data-dir", str(tmp_path / "data")],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert "readable by others" in done.stderr and str(secret) in done.stderr
