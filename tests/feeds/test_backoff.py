"""The reconnect back-off (docs/protocol-notes.md, "Reconnect"): from 0.2 s doubling to
15 s, each delay drawn uniformly from half to all of the cap, reset after a hello."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.server import FeedServer
from tests.conftest import wait_for
from tests.e2e.test_serve import free_port
from tests.factories import tickets


def test_delays_double_from_a_fifth_of_a_second_to_fifteen_with_jitter() -> None:
    backoff, rng = Backoff(), random.Random(7)
    # The cap of attempt n is 0.2 * 2**n, at most 15: 0.2 0.4 0.8 1.6 3.2 6.4 12.8 15 15.
    caps = [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 15.0, 15.0, 15.0, 15.0]
    for attempt, cap in enumerate(caps):
        draws = [backoff.delay(attempt, rng) for _ in range(400)]
        assert all(cap / 2 <= d <= cap for d in draws), (attempt, min(draws), max(draws))
        # Full jitter over the half-to-all range: both ends are reached, not a constant.
        assert min(draws) < 0.55 * cap and max(draws) > 0.95 * cap


def test_a_feed_down_for_hours_keeps_the_fifteen_second_cap() -> None:
    # Attempt 1024 comes after ~3.2 h of refused connects (7 short delays, then 1017 of
    # 11.25 s on average); 0.2 * 2.0**1024 overflows a float, and that error used to end
    # the whole run (every feed, the publisher) instead of waiting 7.5 to 15 s.
    rng = random.Random(7)
    for attempt in (1023, 1024, 10**6):
        assert 7.5 <= Backoff().delay(attempt, rng) <= 15.0


@dataclass(frozen=True)
class _Counted(Backoff):
    """A back-off that notes each attempt number it is asked for and waits 10 ms."""

    asked: list[int] = field(default_factory=list)

    def delay(self, attempt: int, rng: random.Random) -> float:
        self.asked.append(attempt)
        return 0.01


async def test_failures_count_up_and_a_hello_resets_the_count() -> None:
    port = free_port()
    backoff = _Counted()
    feed = WebSocketFeed(f"ws://127.0.0.1:{port}", FrameDecoder(lambda p: p), backoff=backoff)

    async def consume() -> None:
        async for _ in feed.batches():
            pass

    task = asyncio.create_task(consume())
    server = FeedServer("f", ["lz"], port=port)
    try:
        await wait_for(lambda: len(backoff.asked) >= 3)  # nothing listens yet: refused
        assert backoff.asked[:3] == [0, 1, 2]
        await server.start()
        await server.publish(tickets(2))
        await wait_for(lambda: feed.status.last_seq == 2)
        failures = len(backoff.asked)
        assert backoff.asked == list(range(failures))  # one count, up by one each time
        server.drop_connections()
        await wait_for(lambda: feed.status.connects == 2)
        assert backoff.asked[failures] == 0  # the hello reset it: the first delay again
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await server.stop()
