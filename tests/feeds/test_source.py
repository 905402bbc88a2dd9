"""SeqGuard: duplicates dropped and counted, gaps recorded, rejected seqs not lost."""

from __future__ import annotations

import msgspec

from feeds.decode import FrameDecoder
from feeds.protocol import Gap
from feeds.source import MemorySource, SeqGuard
from tests.factories import T0


def frame(*seqs: int, bad: tuple[int, ...] = ()) -> bytes:
    events = []
    for s in seqs:
        ev = {
            "kind": "heartbeat" if False else "rating",
            "seq": s,
            "ts": T0,
            "hall": "h",
            "window": "W1",
            "score": 5,
            "channel": "device",
        }
        if s in bad:
            ev["score"] = 9
        events.append(ev)
    return msgspec.json.encode(events)


def check(guard: SeqGuard, data: bytes):
    return guard.check("f", FrameDecoder(lambda p: p).decode(data))


def test_in_order_no_gaps() -> None:
    g = SeqGuard()
    b = check(g, frame(1, 2, 3))
    assert [e.seq for e in b.events] == [1, 2, 3] and b.gaps == 0 and g.last_seq == 3


def test_duplicates_and_going_back_are_dropped_and_counted() -> None:
    g = SeqGuard()
    check(g, frame(1, 2, 3))
    b = check(g, frame(2, 3, 4))
    assert [e.seq for e in b.events] == [4]
    assert [r.reason for r in b.rejections] == ["old_seq", "old_seq"]


def test_forward_jump_is_a_gap_but_the_event_applies() -> None:
    g = SeqGuard()
    b = check(g, frame(1, 5))
    assert [e.seq for e in b.events] == [1, 5] and b.gaps == 3


def test_rejected_event_is_not_a_gap() -> None:
    g = SeqGuard()
    b = check(g, frame(1, 2, 3, bad=(2,)))
    assert b.gaps == 0 and [e.seq for e in b.events] == [1, 3]
    b = check(g, frame(4, bad=(4,)))
    assert b.gaps == 0 and g.last_seq == 4


def test_gap_op_counts_lost_seqs_once() -> None:
    g = SeqGuard(2)
    assert g.gap("f", Gap(from_=3, to=10)).gaps == 8
    assert g.last_seq == 10
    assert check(g, frame(11)).gaps == 0


async def test_memory_source_yields_checked_batches() -> None:
    src = MemorySource(
        "m",
        [frame(1, 2), frame(2, 3), b'{"op":"gap","from":4,"to":6}', frame(7)],
        FrameDecoder(lambda p: p),
    )
    batches = [b async for b in src.batches()]
    assert [len(b.events) for b in batches] == [2, 1, 0, 1]
    assert sum(b.gaps for b in batches) == 3
    assert src.status.last_seq == 7
