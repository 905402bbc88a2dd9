"""Playing the demo city into a feed server: ``run.py demo`` and ``run.py demo-feed``.

``run_demo`` plays simulated events into a ``FeedServer`` on the hall clock at a chosen
speed (earlier days, ``--history``, at once first); ``serve_demo`` is ``run.py
demo-feed``: the city (or the M/M/c hall) simulated, served and played until cancelled.

Imports: feeds.protocol, feeds.hallclock, feeds.demo.city, feeds.demo.hall, feeds.demo.mmc,
feeds.server, the standard library.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import ssl
from collections.abc import Callable, Sequence
from typing import Final

from feeds.demo.city import HallProfile, city, last_open_day
from feeds.demo.hall import simulate_days
from feeds.demo.mmc import HALL as MMC_HALL
from feeds.demo.mmc import MMC, simulate_mmc
from feeds.hallclock import HALL_TZ, day_start_ms
from feeds.protocol import Event
from feeds.server import FeedServer

#: How often ``run_demo`` publishes while the day is being played.
DEMO_TICK_S: Final = 0.1


async def run_demo(
    server: FeedServer,
    events: Sequence[Event],
    *,
    speed: float | None = 60.0,
    start_offset_s: float = 0.0,
    backlog_until: int | None = None,
) -> None:
    """Play a simulated day into ``server``, then return.

    Hall time starts at the first event's ``ts`` plus ``start_offset_s`` and runs at
    ``speed`` times wall time: every ``DEMO_TICK_S`` all events with ``ts`` up to the hall
    time go out in one ``publish``, and every hall's heartbeat clock follows the hall
    time. After the last event the clock keeps running (one tick per heartbeat interval)
    until the end of the last event's service day, local midnight, where it stops; the
    server stays up.
    ``speed=None`` publishes everything at once in batches of 1000 and returns.

    Args:
        server: A started server.
        events: Events sorted by ``ts`` (``simulate_day`` / ``simulate_city``).
        speed: Hall seconds per wall second, or None for as fast as possible.
        start_offset_s: Start this many hall seconds into the day.
        backlog_until: Events before this hall time (earlier days: ``--history``) go
            out at once first; the paced play starts after them.
    """
    if backlog_until is not None:
        cut = bisect.bisect_left([e.ts for e in events], backlog_until)
        for i in range(0, cut, 1000):
            await server.publish(events[i : min(i + 1000, cut)])
        events = events[cut:]
    if not events:
        return
    if speed is None:
        for i in range(0, len(events), 1000):
            await server.publish(events[i : i + 1000])
        return
    loop = asyncio.get_running_loop()
    start_ts = events[0].ts + int(start_offset_s * 1000)
    local_day = dt.datetime.fromtimestamp(events[-1].ts / 1000, HALL_TZ).date()
    midnight = dt.datetime.combine(local_day + dt.timedelta(days=1), dt.time(), HALL_TZ)
    end_of_day = int(midnight.timestamp()) * 1000 - 1
    started = loop.time()
    sent = 0
    while True:
        hall_ts = min(start_ts + int((loop.time() - started) * speed * 1000), end_of_day)
        upto = sent
        while upto < len(events) and events[upto].ts <= hall_ts:
            upto += 1
        if upto > sent:
            await server.publish(events[sent:upto])
            sent = upto
        for hall in server.halls:
            server.advance_clock(hall, hall_ts)
        if hall_ts >= end_of_day:
            return
        tick = DEMO_TICK_S if sent < len(events) else server.heartbeat_interval
        tick = min(tick, (end_of_day - hall_ts) / 1000 / speed)
        await asyncio.sleep(tick)


def demo_events(
    profiles: Sequence[HallProfile], day: dt.date, seed: int, *, days: int = 1, history: int = 0
) -> list[Event]:
    """``days`` days of ``profiles`` from ``day``, preceded by ``history`` calendar days
    (send those with ``run_demo(..., backlog_until=day_start_ms(day))``)."""
    return simulate_days(profiles, day - dt.timedelta(days=history), history + days, seed)


def demo_day(profiles: Sequence[HallProfile], day: dt.date | None) -> dt.date:
    """The service day a demo plays: ``day``, else today (hall time) when a hall opens
    today, else the last day one did (a demo on a Sunday shows Saturday or Friday)."""
    if day is not None:
        return day
    return last_open_day(list(profiles), dt.datetime.now(HALL_TZ).date())


async def serve_demo(
    host: str,
    port: int,
    *,
    speed: float | None,
    seed: int,
    day: dt.date | None,
    token: str | None,
    halls: int = 3,
    days: int = 1,
    history: int = 0,
    halls_profiles: Sequence[HallProfile] | None = None,
    mmc: MMC | None = None,
    ready: Callable[[str], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """``run.py demo-feed``: simulate ``days`` days of a city of ``halls`` halls (or of
    ``halls_profiles``, or the M/M/c hall), serve them on ``host:port`` and play them at
    ``speed`` until cancelled.

    Args:
        host: Interface to listen on.
        port: TCP port (0: any free port).
        speed: Hall seconds per wall second, or None for as fast as possible.
        seed: Simulation seed.
        day: The (first) service day; None: see ``demo_day``.
        token: Bearer token to require, or None.
        halls: How many halls (``city.city``) when ``halls_profiles`` is None.
        days: Consecutive days to play (cases and returning people carry over).
        history: Days before ``day`` simulated too and sent at once at the start, so
            the console opens on open cases (some late) and people coming back.
        halls_profiles: The halls; ``city(halls)`` when None.
        mmc: Instead of the city, one day of the M/M/c validation hall (``mmc``).
        ready: Called with the server's URL once it listens.
        ssl_context: Serve ``wss://`` with this context (``feeds.tls.server_context``).
    """
    if mmc is not None:
        hall_ids = [MMC_HALL]
        events = simulate_mmc(mmc, day or dt.datetime.now(HALL_TZ).date(), seed)
    else:
        profiles = list(halls_profiles) if halls_profiles is not None else city(halls)
        hall_ids = [p.hall for p in profiles]
        first = demo_day(profiles, day)
        events = demo_events(profiles, first, seed, days=days, history=history)
        day = first
    server = FeedServer(
        "demo", hall_ids, token=token, host=host, port=port, ssl_context=ssl_context
    )
    await server.start()
    try:
        if ready is not None:
            ready(server.url)
        backlog = day_start_ms(day) if day is not None and history else None
        await run_demo(server, events, speed=speed, backlog_until=backlog)
        await asyncio.Future()  # the day is over; heartbeats go on until cancelled
    finally:
        await server.stop()
