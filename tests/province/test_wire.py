"""The pure parts of the province layer, without a cluster: subjects and partitions,
a batch as messages, heartbeats that repeat, a partition's checkpoint and its alert book
round trip, the shards' views merged."""

from __future__ import annotations

import json

import msgspec
import pytest

from alerts.book import AlertBook
from feeds.decode import Rejection
from feeds.protocol import Event, Heartbeat, TicketCalled, TicketIssued, WindowState
from feeds.source import Batch, FeedStatus
from province import alertbook, checkpoint
from province.checkpoint import FORMAT, FeedPlace, Head
from province.gateway import _forwarded, split
from province.outbox import Outbox, fold
from province.shard import merge
from province.wire import (
    Mark,
    check_feed_name,
    decode,
    encode,
    feed_of,
    partition_filter,
    partition_of,
    rejections,
    subject,
)
from runtime.build import build_pipeline
from runtime.config import Config
from runtime.pipeline import Pipeline
from runtime.snapshot import code_digest
from tests.factories import H, Script, beat, morning, ms


def test_a_feed_keeps_its_partition() -> None:
    # CRC-32, not hash(): the same in every process, machine and release.
    assert [partition_of(f"f{i}", 8) for i in range(8)] == [2, 4, 6, 0, 3, 5, 7, 1]
    assert subject("f0", 8) == "hw.ev.2.f0"
    assert feed_of(subject("f0", 8)) == "f0"
    assert partition_filter(2) == "hw.ev.2.*"
    for bad in ("a.b", "x y", "*", ">", "", "a" * 65, "hall:8765/x"):
        with pytest.raises(ValueError, match="NAME=URL"):
            check_feed_name(bad)


def test_a_message_body_round_trips() -> None:
    events = [
        TicketIssued(seq=1, ts=ms(1), hall=H, ticket="A001", zone="z", person="p-1234"),
        Heartbeat(ts=ms(2), hall=H),
    ]
    body = encode(events, [Rejection("bad_value", "at `$.score`", 3, 2)], 1)
    carried = decode(body)
    assert carried.events == events and carried.gaps == 1
    assert rejections(carried) == [Rejection("bad_value", "at `$.score`", 3, 2)]
    with pytest.raises(msgspec.DecodeError):
        decode(b"\x01not msgpack")
    mark = Mark(0, 5, 2, 1.5)
    headers = mark.headers("f0", 7, "f0:0:3-5")
    assert Mark.of(headers) == mark
    assert headers["Nats-Expected-Last-Subject-Sequence"] == "7"
    with pytest.raises(ValueError):
        Mark.of({"Hw-Seq": "1"})


def _called(seq: int) -> TicketCalled:
    return TicketCalled(seq=seq, ts=ms(seq), hall=H, ticket=f"A{seq:03}", window="W01")


def test_a_big_batch_is_split_at_seqs() -> None:
    events = [_called(s) for s in range(11, 21)]
    rejected = [Rejection("bad_type", "x", 0, 13), Rejection("bad_frame", "y", None, None)]
    parts = split(events, rejected, 2, prev=10, last=21, most=4)
    assert [len(p.events) for p in parts] == [4, 4, 2]
    assert [p.seq for p in parts] == [14, 18, 21]  # the last ends where the batch does
    assert [p.rejections for p in parts] == [[rejected[0]], [], [rejected[1]]]
    assert [p.gaps for p in parts] == [0, 0, 2]
    assert split(events, [], 0, prev=10, last=20, most=500)[0].seq == 20


def test_a_heartbeat_that_repeats_is_dropped() -> None:
    clocks: dict[str, int] = {}
    beat = Heartbeat(ts=ms(5), hall=H)
    assert _forwarded([beat], clocks, lively=False) == [beat]
    assert _forwarded([beat], clocks, lively=False) == []  # the same clock again
    assert _forwarded([beat], clocks, lively=True) == [beat]  # but the feed must show life
    # Anything else for the hall in between: the next heartbeat goes (it may bring the
    # hall back in step, docs/protocol-notes.md).
    assert _forwarded([_called(1), beat], clocks, lively=False) == [_called(1), beat]
    assert _forwarded([Heartbeat(ts=ms(6), hall=H)], clocks, lively=False) != []


def test_a_partition_checkpoint_round_trips() -> None:
    config = Config()
    before = build_pipeline(config, forward=False)
    memory = alertbook.Resolutions()
    before.alerts.book.sink = memory
    status = FeedStatus(name="f0")
    before.apply(status, Batch("f0", morning()))
    before.alerts.book.fire("complaint", H, "K1", "notice", ms(30), "a complaint")
    resolved = before.alerts.book.fire("bad_rating", H, "W01", "notice", ms(31), "bad")
    assert resolved is not None
    before.alerts.book.resolve("bad_rating", H, "W01", ms(32))
    head = Head(FORMAT, 2, 8, 41, code_digest(), "", 0.0, {"f0": FeedPlace(0, 12, (H,))}, [])
    data = checkpoint.encode(
        head, before.checkpoint_state(), alertbook.save(before.alerts.book, memory)
    )

    got_head, state, book = checkpoint.decode(data)
    assert got_head.stream_seq == 41 and got_head.feeds["f0"].seq == 12
    assert checkpoint.refused(got_head, 2, 8, "") is None
    assert "partition" in (checkpoint.refused(got_head, 3, 8, "") or "")
    after = build_pipeline(config, forward=False)
    memory2 = alertbook.Resolutions()
    after.alerts.book.sink = memory2
    alertbook.restore(after.alerts.book, memory2, book)
    after.restore_state(state)
    assert after.state.checkpoint() == before.state.checkpoint()
    assert after.alerts.book.counts() == before.alerts.book.counts()
    assert memory2.last_resolved(("bad_rating", H, "W01")) == (resolved.id, ms(32))
    # The same history seen again is not a new alert; a new alert gets a new id.
    assert after.alerts.book.fire("bad_rating", H, "W01", "notice", ms(31), "bad") is None
    new = after.alerts.book.fire("complaint", H, "K2", "notice", ms(40), "another")
    assert new is not None and new.id > resolved.id
    with pytest.raises(ValueError):
        checkpoint.decode(data[:-5])


def test_an_empty_book_round_trips() -> None:
    book, memory = AlertBook(), alertbook.Resolutions()
    other = AlertBook()
    alertbook.restore(other, alertbook.Resolutions(), alertbook.save(book, memory))
    assert not other.open


def _clock_day() -> list[Batch]:
    """One hall's day as stream messages, one batch each, worked out by hand against
    docs/protocol-notes.md, "Hall clock": "A leap is the hall clock moving on an hour or
    more in one step"; "A late event is one 5 minutes or more behind its hall's clock"."""
    e = Script()
    events: list[Event] = [
        e(WindowState, ms(0), window="W01", state="open", staff="s1"),  # 09:00, the first
        e(TicketIssued, ms(1), ticket="B001", zone="biz"),  # 09:01
        beat(60),  # 10:00: 59 min on
        beat(120),  # 11:00: an hour on, leap 1
        e(TicketIssued, ms(190), ticket="B002", zone="biz"),  # 12:10: 70 min on, leap 2
        e(TicketIssued, ms(180), ticket="B003", zone="biz"),  # 12:00: late (10 min behind)
        e(TicketIssued, ms(188), ticket="B004", zone="biz"),  # 12:08: in step again
        beat(250),  # 13:10: an hour on from 12:10, leap 3
        beat(280),  # 13:40
        beat(340),  # 14:40: an hour on, leap 4
    ]
    return [Batch("f0", [ev]) for ev in events]


def _clock(pipeline: Pipeline) -> tuple[object, ...]:
    hall, shown = pipeline.state.halls[H], pipeline.state.snapshot(H)
    assert (shown.clock_leaps, shown.late_since) == (hall.clock_leaps, hall.late_since)
    return hall.now_ms, hall.clock_leaps, hall.last_leap, hall.late_since, hall.late_events


def test_a_partition_taken_over_anywhere_counts_the_clock_as_one_run() -> None:
    # A new owner restores the checkpoint the dead one took between two messages and
    # applies the messages after it: the hall clock ends as if nobody had died, whatever
    # the message it was taken after (mid-leap, while late, between heartbeats).
    day = _clock_day()
    config = Config()
    whole = build_pipeline(config, forward=False)
    for batch in day:
        whole.apply(FeedStatus(name="f0"), batch)
    assert _clock(whole) == (ms(340), 4, (ms(280), ms(340)), None, 1)
    for cut in range(1, len(day)):
        dead = build_pipeline(config, forward=False)
        memory = alertbook.Resolutions()
        dead.alerts.book.sink = memory
        for batch in day[:cut]:
            dead.apply(FeedStatus(name="f0"), batch)
        head = Head(FORMAT, 0, 8, cut, code_digest(), "", 0.0, {"f0": FeedPlace(0, cut)}, [])
        data = checkpoint.encode(
            head, dead.checkpoint_state(), alertbook.save(dead.alerts.book, memory)
        )
        _, state, book = checkpoint.decode(data)
        heir = build_pipeline(config, forward=False)
        memory = alertbook.Resolutions()
        heir.alerts.book.sink = memory
        alertbook.restore(heir.alerts.book, memory, book)
        heir.restore_state(state)
        assert _clock(heir) == _clock(dead), cut
        for batch in day[cut:]:
            heir.apply(FeedStatus(name="f0"), batch)
        assert _clock(heir) == _clock(whole), cut


def test_views_merge_hall_by_hall() -> None:
    a = build_pipeline(Config(), forward=False)
    a.apply(FeedStatus(name="f0"), Batch("f0", morning()))
    one = a.publish().city
    empty = build_pipeline(Config(), forward=False).publish().city
    merged = merge([one, empty])
    assert list(merged.halls) == [H]
    assert merge([one]) is one


def test_serve_takes_feeds_or_a_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    assert main(["serve"]) == 2
    assert main(["serve", "--feed", "ws://127.0.0.1:1", "--nats", "nats://127.0.0.1:1"]) == 2
    assert "--feed URL ... or --nats" in capsys.readouterr().err


def test_a_transition_has_one_id_wherever_it_is_derived() -> None:
    book, live = AlertBook(), Outbox(3)
    book.listeners.append(live.changed)
    book.fire("complaint_overdue", H, "K1", "notice", ms(30), "overdue")
    book.fire("complaint_overdue", H, "K1", "urgent", ms(40), "overdue")
    assert fold(list(live.unsent)) == {(H, "complaint_overdue", "urgent"): 1}
    # A partition that replayed without a checkpoint sends the open alerts' history:
    # the same ids, so the stream drops what the first owner had sent.
    again = Outbox(3)
    again.open_alerts(book.open.values())
    assert [t.id for t in again.unsent] == [t.id for t in live.unsent]
    assert len({t.id for t in live.unsent}) == 2
    book.resolve("complaint_overdue", H, "K1", ms(50))
    assert fold(list(live.unsent)) == {}
    assert json.loads(msgspec.json.encode(live.unsent[-1]))["state"] == "resolved"
