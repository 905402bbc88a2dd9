"""One-event frames that are already received are applied as one batch, and nothing in
their seq accounting changes: real WebSockets on 127.0.0.1."""

from __future__ import annotations

import msgspec
from websockets.asyncio.server import ServerConnection, serve

from feeds.client import COALESCE, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.protocol import Heartbeat, TicketIssued
from tests.factories import ms


async def test_a_burst_of_one_event_frames_becomes_few_batches() -> None:
    encode = msgspec.json.encode
    frames: list[bytes] = []
    for s in range(1, 1501):
        if s == 101:
            frames.append(b'{"op":"gap","from":101,"to":110}')  # the server lost 101..110
        elif 101 < s <= 110:
            continue
        elif s == 400:  # a bad event: rejected, its seq still received
            frames.append(b'{"kind":"ticket_issued","ts":1763946000000,"hall":"h","seq":400}')
        else:
            ev = TicketIssued(seq=s, ts=ms(seconds=s), hall="h", ticket=f"T{s}", zone="z")
            frames.append(encode(ev))
            if s == 500:
                frames.append(encode(ev))  # a duplicate
                frames.append(encode(Heartbeat(ts=ms(1), hall="h")))

    async def handler(ws: ServerConnection) -> None:
        await ws.send(b'{"op":"hello","protocol":1,"feed":"f","halls":["h"],'
                      b'"first_seq":1,"last_seq":1500}')  # fmt: skip
        await ws.recv()  # subscribe
        for frame in frames:  # one burst: the client finds many frames buffered
            await ws.send(frame)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        feed = WebSocketFeed(f"ws://127.0.0.1:{port}", FrameDecoder(lambda p: p))
        batches, events, rejected, gaps = 0, [], [], 0
        async for batch in feed.batches():
            batches += 1
            assert len(batch.events) <= COALESCE + 1  # whole frames, up to the limit
            events += batch.events
            rejected += [r.reason for r in batch.rejections]
            gaps += batch.gaps
            if feed.status.last_seq == 1500:
                break
    seqs = [ev.seq for ev in events if ev.seq is not None]
    assert seqs == [s for s in range(1, 1501) if not 101 <= s <= 110 and s != 400]
    assert sum(1 for ev in events if ev.seq is None) == 1  # the heartbeat
    assert rejected == ["missing_field", "old_seq"]  # the bad event, the duplicate
    assert gaps == 10
    assert batches < len(frames) // 10  # coalesced: not a batch per frame
