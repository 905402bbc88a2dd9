"""Chaos on the wire: garbage frames and cut connections, under a flood, while `serve` is
killed and restarted, end the day with exactly the figures and alerts of a clean run.

A WebSocket proxy in the test process (``ChaosProxy``: its own asyncio loop in a thread)
sits between a real `run.py demo-feed --speed max` and a real `run.py serve`. It forwards
the hello, the subscribe and every event, re-batched (protocol.md: servers batch as they
like), and injects garbage between the real frames and inside their arrays: no JSON, JSON
of the wrong shape, an unknown kind, missing and mistyped fields, over-long text, replayed
old events and frames, binary frames, a stale gap op, frames over the client's limits.
Garbage never carries a fresh seq: an event with a new seq is a real event (it would change
the day, and a rejected one is "received": its seq would be skipped). Now and then the
proxy cuts the connection with a TCP reset mid-stream. Every wait is on a condition.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import socket
import struct
import threading
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.journal import Journal
from runtime.pipeline import Pipeline
from tests.conftest import wait_for
from tests.e2e.test_chaos import FEED, Serve, _alerts, _demo_feed, _expected
from tests.e2e.test_serve import wait_until
from tests.factories import T0

_encode = msgspec.json.Encoder().encode
_RAWS = msgspec.json.Decoder(list[msgspec.Raw])
_REJECTED = re.compile(r'^hall_feed_rejected_total\{feed="[^"]+",reason="([a-z_]+)"\} (\S+)$')
#: Over the client's frame limit (8 MiB, docs/protocol-notes.md), under the transport's.
_BIG = b'{"kind":"complaint","text":"' + b"x" * (8 * 1024 * 1024) + b'"}'
#: Garbage that needs no seq: the same bytes every time.
_STATIC = [
    ("torn JSON", b'{"kind":"ticket_issued","seq":', Counter(not_json=1)),
    ("a number", b"42", Counter(bad_frame=1)),
    ("arrays of arrays", b'[[1,2],["a"]]', Counter(bad_frame=2)),
    ("no kind", b'{"tickets":["A001"]}', Counter(missing_field=1)),
    ("too many events", b"[" + b"0," * 100_000 + b"0]", Counter(batch_too_large=1)),
]


class _Seq(msgspec.Struct):
    seq: int | None = None


_SEQ = msgspec.json.Decoder(_Seq)


@dataclass(frozen=True)
class Garbage:
    """One injected frame (or array element) and the rejections it must cause."""

    name: str
    payload: bytes
    reasons: Counter[str]
    text: bool = True


def _event(kind: str, seq: int | None, hall: str, **fields: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"kind": kind, "ts": T0, "hall": hall, **fields}
    if seq is not None:
        ev["seq"] = seq
    return ev


def _elements(old: int, hall: str, replayed: bytes | None) -> list[Garbage]:
    """Good-looking bad events, to mix into arrays. ``old``: a seq already sent (0: none
    yet); ``replayed``: one real event already sent, verbatim."""
    g = [
        Garbage("no seq", _encode(_event("ticket_issued", None, hall, ticket="Z1", zone="z")),
                Counter(missing_field=1)),
        Garbage("a string", b'"ticket_issued"', Counter(bad_frame=1)),
        Garbage("mistyped seq", _encode(_event("ticket_called", None, hall, ticket="A1",
                window="W1") | {"seq": "7"}), Counter(bad_type=1)),
    ]  # fmt: skip
    if old:
        g += [
            Garbage("score 9", _encode(_event("rating", old, hall, window="W1", score=9,
                    channel="device")), Counter(bad_value=1)),
            Garbage("unknown field", _encode(_event("case_accepted", old, hall, case="k1",
                    by="x")), Counter(unknown_field=1)),
            Garbage("unknown kind", _encode(_event("ticket_teleported", old, hall)),
                    Counter(unknown_kind=1)),
            Garbage("hall of 65", _encode(_event("case_accepted", old, "h" * 65, case="k1")),
                    Counter(too_long=1)),
        ]  # fmt: skip
    if replayed is not None:
        g.append(Garbage("replayed event", replayed, Counter(old_seq=1)))
    return g


def _frames(old: int, hall: str, replayed: list[bytes] | None) -> list[Garbage]:
    """Whole garbage frames; ``replayed``: a real frame's events already sent."""
    one = replayed[-1] if replayed else None
    mixed = _elements(old, hall, one)
    g = [
        *(Garbage(name, payload, reasons) for name, payload, reasons in _STATIC),
        Garbage("binary", bytes(range(256)), Counter(not_json=1), text=False),
        Garbage("mixed array", b"[" + b",".join(e.payload for e in mixed) + b"]",
                sum((e.reasons for e in mixed), Counter())),
    ]  # fmt: skip
    if old:
        long_text = "投诉" * 2100  # 4200 characters > 4096
        g += [
            Garbage("unknown kind", _encode(_event("ticket_teleported", old, hall)),
                    Counter(unknown_kind=1)),
            Garbage("no window", _encode(_event("ticket_called", old, hall, ticket="A001")),
                    Counter(missing_field=1)),
            Garbage("text of 4200", _encode(_event("complaint", old, hall, complaint="c1",
                    channel="desk", text=long_text)), Counter(too_long=1)),
            Garbage("stale gap op", _encode({"op": "gap", "from": 1, "to": old}), Counter()),
        ]  # fmt: skip
    if replayed:
        g.append(Garbage("replayed event", replayed[0], Counter(old_seq=1)))
        g.append(Garbage("replayed frame", b"[" + b",".join(replayed) + b"]",
                         Counter(old_seq=len(replayed))))  # fmt: skip
    return g


@dataclass
class Session:
    """One connection through the proxy, as the proxy saw it."""

    epoch: int
    since: int = -1
    top: int = 0
    """The newest real seq sent to the client (``since`` before any)."""
    chunks: int = 0
    cut: bool = False
    injected: Counter[str] = field(default_factory=Counter)
    """Rejections the garbage sent so far must cause."""


class ChaosProxy:
    """serve -> proxy -> feed, with garbage and cuts; ``epoch`` tags the sessions opened
    from then on (the test bumps it at each start of serve), ``cutting`` allows cuts."""

    def __init__(self, upstream: str, seed: int = 7) -> None:
        self.upstream = upstream
        self.epoch = 0
        self.cutting = True
        self.sessions: list[Session] = []
        self.errors: list[str] = []
        self.url = ""
        self._rng = random.Random(seed)
        self._history: deque[tuple[int, list[bytes]]] = deque(maxlen=1000)
        """Real chunks sent (the newest seq sent then, the events), for replays."""
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> ChaosProxy:
        self._thread.start()
        assert self._ready.wait(10), "proxy not listening"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)

    def injected(self, epoch: int) -> Counter[str]:
        with self._lock:
            return sum((s.injected for s in self.sessions if s.epoch == epoch), Counter())

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with serve(self._session, "127.0.0.1", 0, compression=None, max_size=None) as srv:
            self.url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
            self._ready.set()
            await self._stop.wait()

    async def _session(self, client: ServerConnection) -> None:
        s = Session(self.epoch)
        self.sessions.append(s)
        try:
            async with connect(self.upstream, compression=None, max_size=None, proxy=None) as up:
                await self._relay(client, up, s)
        except ConnectionClosed:
            pass  # serve killed, or our own cut
        except Exception as error:  # a proxy bug must fail the test, not hide
            self.errors.append(f"{type(error).__name__}: {error}")

    async def _relay(self, client: ServerConnection, up: Any, s: Session) -> None:
        hello = await up.recv(decode=False)
        await client.send(hello, text=True)
        subscribe = await client.recv(decode=False)
        s.since = s.top = int(json.loads(subscribe)["since"])
        await up.send(subscribe, text=True)
        hall = json.loads(hello)["halls"][0]
        # A session that made no progress (the reset also lost what serve had not read
        # yet) gets a longer run before its cut, so the day always gets through.
        before = [p for p in self.sessions[: self.sessions.index(s)] if p.epoch == s.epoch]
        stalls = 0
        while len(before) > stalls and before[-1 - stalls].since == s.since:
            stalls += 1
        cut_after = self._rng.randint(3, 8) << stalls if self.cutting else None
        # A burst first: every kind of garbage reaches every session.
        for g in [*_frames(s.top, hall, self._replay(s.top)), Garbage("8 MiB", _BIG,
                  Counter(frame_too_large=1))]:  # fmt: skip
            await self._send(client, s, g)
        while True:
            frame = await up.recv(decode=False)
            if frame[:1] != b"[":  # a heartbeat, a lone event, an op: as it is
                await client.send(frame, text=True)
                s.top = max(s.top, _SEQ.decode(frame).seq or 0)
                continue
            raws = [bytes(r) for r in _RAWS.decode(frame)]
            while raws:
                size = self._rng.randint(1, 400)
                chunk, raws = raws[:size], raws[size:]
                for g in self._rng.sample(_frames(s.top, hall, self._replay(s.top)), 2):
                    await self._send(client, s, g)
                await self._send(client, s, self._spliced(chunk, s.top, hall))
                s.top = max(s.top, *(_SEQ.decode(r).seq or 0 for r in chunk))
                s.chunks += 1
                self._history.append((s.top, chunk))
                if cut_after is not None and s.chunks >= cut_after:
                    self._cut(client)
                    s.cut = True
                    return

    def _replay(self, old: int) -> list[bytes] | None:
        """The newest real chunk already sent whose seqs are all at most ``old``."""
        return next((c for top, c in reversed(self._history) if top <= old), None)

    def _spliced(self, chunk: list[bytes], old: int, hall: str) -> Garbage:
        """The real events of ``chunk`` with 0-3 bad ones mixed in among them."""
        pool = _elements(old, hall, (self._replay(old) or [None])[-1])
        bad = self._rng.sample(pool, self._rng.randint(0, 3))
        items = list(chunk)
        for g in bad:
            items.insert(self._rng.randint(0, len(items)), g.payload)
        reasons = sum((g.reasons for g in bad), Counter())
        return Garbage("spliced", b"[" + b",".join(items) + b"]", reasons)

    async def _send(self, client: ServerConnection, s: Session, g: Garbage) -> None:
        with self._lock:  # counted first: once serve has it all, the count is complete
            s.injected.update(g.reasons)
        await client.send(g.payload, text=g.text)

    @staticmethod
    def _cut(client: ServerConnection) -> None:
        """A network cut: a TCP reset, whatever is still in flight is lost."""
        sock = client.transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.transport.abort()


@pytest.fixture(scope="module")
def feed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with _demo_feed(tmp_path_factory.mktemp("feed"), 1) as url:
        yield url


def _rejected(text: str | None) -> Counter[str]:
    """hall_feed_rejected_total by reason, without start-up recovery's journal_* ones."""
    out: Counter[str] = Counter()
    for line in (text or "").splitlines():
        m = _REJECTED.match(line)
        if m and not m.group(1).startswith("journal_"):
            out[m.group(1)] = int(float(m.group(2)))
    return out


def _logged(log: Path) -> Counter[str]:
    """Rejections logged by the newest process in ``log`` (events_rejected lines)."""
    complete = log.read_text().split("\n")[:-1]  # not a line still being written
    lines = [json.loads(ln) for ln in complete if ln.strip()]
    start = max(i for i, ln in enumerate(lines) if ln["event"] == "serve_started")
    out: Counter[str] = Counter()
    for ln in lines[start:]:
        if ln["event"] == "events_rejected":
            out.update(ln["reasons"])
    return out


def _metric(text: str | None, name: str) -> float | None:
    """A feed metric of ``FEED`` from /metrics text; None if absent (not up yet)."""
    prefix = f'{name}{{feed="{FEED}"}} '
    line = next((ln for ln in (text or "").splitlines() if ln.startswith(prefix)), None)
    return None if line is None else float(line.rsplit(" ", 1)[1])


def test_garbage_and_cuts_under_a_flood_with_kill_9_end_with_the_clean_runs_figures(
    feed_url: str, tmp_path: Path
) -> None:
    last_seq, clocks = _expected()
    clean = Serve(feed_url, tmp_path / "clean")
    try:
        clean.start()
        expected = clean.final_figures(last_seq, clocks)
    finally:
        clean.stop()
    with ChaosProxy(feed_url) as proxy:
        chaos = Serve(proxy.url, tmp_path / "chaos")
        try:
            for epoch, share in ((1, 0.25), (2, 0.6)):  # SIGKILL twice, mid-stream
                proxy.epoch = epoch
                chaos.start()

                def received(share: float = share) -> bool:
                    seq = _metric(chaos.metrics(), "hall_feed_last_seq")
                    return seq is not None and seq >= share * last_seq

                wait_until(received, 30, f"{share:.0%} of the day received")
                assert chaos.proc is not None and chaos.proc.poll() is None, "serve crashed"
                chaos.kill()
            proxy.epoch, proxy.cutting = 3, False
            chaos.start()
            got = chaos.final_figures(last_seq, clocks)
            # Garbage goes only ahead of real events: with the whole day in, no more comes.
            want = proxy.injected(3)
            with contextlib.suppress(AssertionError):
                wait_until(lambda: _rejected(chaos.metrics()) == want, 10, "every rejection")
                wait_until(lambda: _logged(chaos.log) == want, 10, "every rejection logged")
            text = chaos.metrics() or ""
            assert chaos.proc is not None and chaos.proc.poll() is None, "serve crashed"
        finally:
            chaos.stop()
    assert chaos.proc.returncode == 0  # stopped by SIGTERM, cleanly
    assert not proxy.errors
    assert got == expected  # the day's figures, exactly
    alerts = _alerts(clean.data)
    assert len(alerts) > 10 and _alerts(chaos.data) == alerts  # none lost, none twice
    # Every kind of garbage was counted by reason, exactly (none twice, as old_seq shows).
    assert _rejected(text) == want
    assert set(want) >= {"not_json", "bad_frame", "unknown_kind", "missing_field", "bad_type",
                         "bad_value", "too_long", "unknown_field", "old_seq", "frame_too_large",
                         "batch_too_large"}  # fmt: skip
    assert _logged(chaos.log) == want
    assert _metric(text, "hall_feed_gaps_total") == 0  # a rejected seq is no gap
    assert _metric(text, "hall_feed_connects_total") == 1
    # Cut and killed mid-stream; every reconnect resumed where serve had got to.
    # A serve SIGKILLed between its reconnect and its subscribe leaves one session that
    # never subscribed (since -1), the last of its epoch (1 or 2): nothing to resume.
    for n, s in enumerate(proxy.sessions[:-1]):
        if s.since == -1:
            assert s.epoch in (1, 2) and proxy.sessions[n + 1].epoch != s.epoch, s
    sessions = [s for s in proxy.sessions if s.since != -1]
    assert sum(s.cut for s in sessions) >= 3
    assert [s.epoch for s in sessions].count(3) == 1
    for epoch in (2, 3):
        first = next(s for s in sessions if s.epoch == epoch)
        assert 0 < first.since < last_seq  # resumed from the journal, not from 0, not done
    for prev, nxt in itertools.pairwise(sessions):
        if prev.cut and nxt.epoch == prev.epoch:
            assert prev.since <= nxt.since <= prev.top, (prev, nxt)


# --- Bugs found by the garbage above, as minimal failing tests ----------------------------


@dataclass
class Scripted:
    """A supervisor (journal on disk) consuming a feed that sends a hello, some frames,
    then one good event, and holds."""

    feed: WebSocketFeed
    sup: Pipeline
    task: asyncio.Task[None]

    async def settled(self, events: int = 1) -> None:
        """Until a published view holds ``events`` applied events, or the run has died."""

        def done() -> bool:
            feeds = self.sup.view.city.feeds
            return self.task.done() or bool(feeds and feeds[0].events_total >= events)

        await wait_for(done)


@contextlib.asynccontextmanager
async def _scripted(
    frames: list[bytes], journal: Path, good_seq: int = 1
) -> AsyncIterator[Scripted]:
    hello = b'{"op":"hello","protocol":1,"feed":"f","halls":["lz"],"first_seq":1,"last_seq":1}'
    good = _encode(_event("ticket_issued", good_seq, "lz", ticket="A001", zone="z"))

    async def session(ws: ServerConnection) -> None:
        await ws.send(hello, text=True)
        await ws.recv()
        for frame in [*frames, good]:
            await ws.send(frame, text=True)
        await ws.wait_closed()

    async with serve(session, "127.0.0.1", 0, compression=None) as srv:
        url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
        feed = WebSocketFeed(url, FrameDecoder(lambda p: p), name="f", backoff=Backoff(0.02, 0.1))
        sup = Pipeline([feed], journal=Journal(journal), publish_interval=0.02)
        task = asyncio.create_task(sup.run())
        try:
            yield Scripted(feed, sup, task)
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            sup.close()


async def test_a_frame_nested_1000_deep_is_rejected_and_the_feed_goes_on(tmp_path: Path) -> None:
    async with _scripted([b"[" * 1000 + b"]" * 1000], tmp_path) as run:
        await run.settled()
        assert not run.task.done()
        assert run.feed.status.rejected == Counter(bad_frame=1)


async def test_a_hello_or_subscribe_in_the_data_stream_is_counted_as_unexpected_op(
    tmp_path: Path,
) -> None:
    hello = b'{"op":"hello","protocol":1,"feed":"f","halls":["lz"],"first_seq":1,"last_seq":9}'
    async with _scripted([hello, b'{"op":"subscribe","since":0}'], tmp_path) as run:
        await run.settled()
        assert run.feed.status.rejected == Counter(unexpected_op=2)


async def test_a_heartbeat_in_the_year_10000_is_rejected_and_the_feed_goes_on(
    tmp_path: Path,
) -> None:
    year_10000 = _encode(_event("heartbeat", None, "lz") | {"ts": 253_402_300_800_000})
    async with _scripted([year_10000], tmp_path) as run:
        await run.settled()
        assert not run.task.done()
        assert run.feed.status.rejected == Counter(bad_value=1)


async def test_a_case_promised_in_a_trillion_days_does_not_end_the_run(tmp_path: Path) -> None:
    case = _event("case_submitted", 1, "lz", case="k1", item="i", dept="d")
    async with _scripted([_encode(case | {"promised_days": 10**12})], tmp_path, 2) as run:
        await run.settled()  # the ticket, whatever became of the case
        assert not run.task.done()
        assert run.feed.status.rejected == Counter(bad_value=1)
