"""Demo hall feeds for the province tests, all in one process, whose service days start
together once every feed has its subscribers: ``python -m tests.province.demo_feeds
FEEDS SUBSCRIBERS SPEED DATE HALLS`` prints each feed's URL on a line of its own, then
plays feed ``i`` (seed ``i + 1``, halls ``h<i>-city``, ``h<i>-county-a`` …) as
``hallwatch demo-feed`` would, until it is stopped.

``demo-feed`` starts its day as it starts listening. Its heartbeats are live only (a late
subscriber's backlog has the events, never the heartbeats) and each connection times
its own on the wall clock, so two subscribers that join a feed at different moments of
its quiet evening see its hall clock move in different steps: at ``--speed 3600`` a
heartbeat every second is an hour of hall time, and ``hall_clock_leaps_total`` differs
between them. Here no feed's clock moves before every subscriber is there.

Imports: feeds (demo, server), the standard library.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from dataclasses import replace

from feeds.demo.city import city
from feeds.demo.play import demo_day, demo_events, run_demo
from feeds.server import FeedServer

#: Seconds between two looks at the subscribers while waiting for them.
LOOK_S = 0.01


async def main(feeds: int, subscribers: int, speed: float, day: dt.date, halls: int) -> None:
    servers, days = [], []
    for i in range(feeds):
        profiles = [replace(p, hall=f"h{i}-{p.hall}") for p in city(halls)]
        first = demo_day(profiles, day)
        days.append(demo_events(profiles, first, i + 1))
        server = FeedServer("demo", [p.hall for p in profiles])
        await server.start()
        servers.append(server)
    for server in servers:
        print(server.url, flush=True)
    while any(s.subscriber_count < subscribers for s in servers):
        await asyncio.sleep(LOOK_S)
    await asyncio.gather(
        *(run_demo(s, events, speed=speed) for s, events in zip(servers, days, strict=True))
    )
    await asyncio.Future()  # the days are over; heartbeats go on until stopped


if __name__ == "__main__":
    feeds, subscribers, speed, day, halls = sys.argv[1:6]
    asyncio.run(
        main(int(feeds), int(subscribers), float(speed), dt.date.fromisoformat(day), int(halls))
    )
