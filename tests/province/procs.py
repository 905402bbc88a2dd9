"""Processes of the province tests: nats-server nodes (``province.local``), demo feeds,
gateways and shards as real subprocesses on loopback, each stopped by whoever started it.

Everything here waits on conditions (a line printed, a message in the stream, a scrape
that says so), never on a sleep for a result.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import msgspec
from prometheus_client.parser import text_string_to_metric_families

from feeds.protocol import Hello
from province.cluster import connect
from province.local import stop_processes
from province.outbox import ALERTS_STREAM, ALERTS_SUBJECTS, Transition
from province.reader import StreamReader

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def python(*args: str, log: Path | None = None, env: dict[str, str] | None = None,
           stdout: int | None = None, module: str | None = None,
           ) -> subprocess.Popen[str]:  # fmt: skip
    """``python run.py ARGS`` (or ``python -m MODULE ARGS``) in the repository, stderr to
    ``log`` (or nowhere)."""
    err = log.open("a") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [sys.executable, *(("-m", module) if module else ("run.py",)), *args],
            cwd=ROOT,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
        )
    finally:
        if log is not None and not isinstance(err, int):
            err.close()


def demo_feed(*args: str) -> tuple[subprocess.Popen[str], str]:
    """``demo-feed --port 0 ARGS``: the process and the URL it prints first."""
    proc = python("demo-feed", "--port", "0", *args, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("ws://127.0.0.1:"), url
    return proc, url


def demo_feeds(feeds: int, subscribers: int, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """``feeds`` demo feeds in one process (``tests.province.demo_feeds``: ARGS are its
    speed, date and halls) whose days start together once each feed has ``subscribers``
    subscribers: the process and the feeds' URLs."""
    proc = python(str(feeds), str(subscribers), *args, stdout=subprocess.PIPE,
                  module="tests.province.demo_feeds")  # fmt: skip
    assert proc.stdout is not None
    urls = [proc.stdout.readline().strip() for _ in range(feeds)]
    assert all(url.startswith("ws://127.0.0.1:") for url in urls), urls
    return proc, urls


def stop(*procs: subprocess.Popen[str] | None) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    stop_processes(procs)


def kill9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@contextlib.contextmanager
def stopping(procs: list[subprocess.Popen[str]]) -> Iterator[list[subprocess.Popen[str]]]:
    """Stops every process put into ``procs``, whatever happens."""
    try:
        yield procs
    finally:
        stop(*procs)


def key_dir(path: Path, key: bytes = b"hallwatch-test-pseudonym-key-0001") -> Path:
    """A data dir holding the installation's pseudonymization key (0600): every gateway
    and shard of one installation shares it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = path / "pseudonym.key"
    target.write_bytes(key)
    target.chmod(0o600)
    return path


async def until(
    check: Callable[[], Awaitable[T | None]],
    timeout: float,
    what: str,
    state: Callable[[], str] | None = None,
) -> T:
    """Await ``check()`` until it gives a value; fail after ``timeout``, saying ``state()``
    (where things stood) too."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            stood = f"\n{state()}" if state is not None else ""
            raise AssertionError(f"{what}: not within {timeout} s{stood}")
        await asyncio.sleep(0.05)


async def feed_last_seq(url: str) -> int:
    """The hello's ``last_seq`` of a protocol-v1 feed."""
    from websockets.asyncio.client import connect

    async with connect(url, compression=None) as ws:
        hello = msgspec.json.decode(await ws.recv(), type=Hello)
    return hello.last_seq


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return str(r.read().decode())
    except OSError:
        return None


def series(text: str) -> Series:
    """A /metrics page as (name, sorted labels) → value."""
    out: Series = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def owned(text: str) -> set[int]:
    """The partitions a shard's /metrics says it runs."""
    return {int(p) for p in re.findall(r'^hall_partition_owned\{partition="(\d+)"\} 1\.0$',
                                       text, re.M)}  # fmt: skip


async def busiest_at(ports: list[int], when_s: float) -> int | None:
    """The index of the shard that applied the most events, once its halls' clocks reach
    ``when_s`` (seconds since the epoch); None before."""
    scraped = [series(scrape(p) or "") for p in ports]
    events = [sum(v for k, v in s.items() if k[0] == "hall_feed_events_total") for s in scraped]
    busiest = events.index(max(events))
    clocks = [v for k, v in scraped[busiest].items() if k[0] == "hall_clock_seconds"]
    return busiest if clocks and max(clocks) >= when_s else None


async def alert_transitions(urls: list[str]) -> list[Transition]:
    """Every transition in the alerts stream, in order."""
    found = await stream_bodies(urls, ALERTS_STREAM, ALERTS_SUBJECTS)
    return [msgspec.json.decode(data, type=Transition) for data in found]


async def stream_bodies(urls: list[str], stream: str, subjects: str) -> list[bytes]:
    """The bodies of every message of ``stream`` on ``subjects``, in order."""
    nc = await connect(urls, "test")
    try:
        js = nc.jetstream(timeout=5)
        info = await js.stream_info(stream, subjects_filter=subjects)
        total = sum((info.state.subjects or {}).values())
        reader = StreamReader(js, subjects, stream=stream)
        out: list[bytes] = []
        if not total:
            return out
        async for batch in reader.batches(idle=True):
            out += [m.data for m in batch]
            if len(out) >= total:
                break
        return out
    finally:
        await nc.close()
