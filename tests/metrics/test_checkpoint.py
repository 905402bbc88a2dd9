"""Checkpoints of the hall state (metrics/checkpoint.py, metrics/codec.py): a busy city
round-trips attribute by attribute, snapshots and later behaviour included; a value of a
type the codec does not know fails the checkpoint with its name; bytes of another
version, damaged or garbage are refused with ``CheckpointError``, never a traceback."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import random
from typing import Any, NamedTuple

import msgspec
import numpy as np
import pytest

from feeds.demo.city import city
from feeds.demo.play import demo_events
from feeds.protocol import Event
from metrics import codec
from metrics.checkpoint import saved_attributes
from metrics.codec import CheckpointError, Codec, sealed, unsealed
from metrics.columns import Column, Registry
from metrics.state import ApplyResult, CityState

DAY = dt.date(2025, 11, 24)


@pytest.fixture(scope="module")
def two_days() -> list[Event]:
    return demo_events(city(3), DAY, 1, days=2)


def _fed(events: list[Event]) -> CityState:
    state = CityState()
    for i in range(0, len(events), 500):
        state.apply(events[i : i + 500])
    return state


def assert_same(a: Any, b: Any, where: str = "") -> None:
    """``a`` and ``b`` equal and of the very same types all the way down (numpy arrays
    by dtype and values, columns by their filled part, dataclasses field by field)."""
    assert type(a) is type(b), (where, type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b), where
    elif isinstance(a, Column):
        assert_same(a.view(), b.view(), where)
    elif isinstance(a, Registry):
        assert (a.cap, a.overflow, a.names) == (b.cap, b.overflow, b.names), where
        assert [a.get(n) for n in a.names] == [b.get(n) for n in b.names], where
    elif isinstance(a, dict):
        assert list(a) == list(b), where  # same keys, of the same types, in order
        for k in a:
            assert type(k) is type(next(x for x in b if x == k)), (where, k)
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, msgspec.Struct):
        for name in a.__struct_fields__:
            assert_same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    else:
        assert a == b, where


def assert_same_halls(a: CityState, b: CityState) -> None:
    assert list(a.halls) == list(b.halls)
    for name in a.halls:
        mine, theirs = saved_attributes(a.halls[name]), saved_attributes(b.halls[name])
        assert list(mine) == list(theirs)
        for attr in mine:
            assert_same(mine[attr], theirs[attr], f"{name}.{attr}")


def test_a_busy_city_round_trips_attribute_by_attribute_and_behaves_the_same(
    two_days: list[Event],
) -> None:
    # The middle of day two: day one's cases open, queues and services under way.
    cut = len(two_days) * 3 // 4
    live = _fed(two_days[:cut])
    data = live.checkpoint()
    assert data == b"".join(live.checkpoint_stream())
    back = CityState()
    back.restore(data)

    assert_same_halls(live, back)
    assert any(h.cases for h in back.halls.values())
    assert any(any(q) for h in back.halls.values() for q in h.queues)
    for h in back.halls.values():  # a queued ticket is the day's ticket, not a copy
        assert h.settings is back.settings.of(h.hall) and not h.out.applied
        for queue in h.queues:
            assert all(t is h.tickets[tid] for tid, t in queue.items())
    assert_same(live.snapshots(), back.snapshots())

    for i in range(cut, len(two_days), 500):  # the rest of day two, to both
        assert_same_result(live.apply(two_days[i : i + 500]), back.apply(two_days[i : i + 500]))
    assert_same(live.snapshots(), back.snapshots())
    assert_same_halls(live, back)


def assert_same_result(a: ApplyResult, b: ApplyResult) -> None:
    """The same transitions, but in any order within the batch: a set read back holds the
    same members but may iterate them in another order (its hash table's history), so
    two windows' edges of one batch may swap — as the alert ids they get, which no
    figure depends on (tests/golden leaves them out for the same reason)."""
    for f in dataclasses.fields(a):
        mine, theirs = getattr(a, f.name), getattr(b, f.name)
        if isinstance(mine, list):
            assert sorted(map(repr, mine)) == sorted(map(repr, theirs)), f.name
        else:
            assert mine == theirs, f.name


def test_restore_takes_a_stream_as_a_memoryview_and_an_empty_city() -> None:
    empty = CityState()
    back = CityState()
    back.restore(memoryview(b"".join(empty.checkpoint_stream())))
    assert back.halls == {}


def test_an_attribute_of_an_unknown_type_fails_the_checkpoint_by_name(
    two_days: list[Event],
) -> None:
    state = _fed(two_days[:3000])
    hall = next(iter(state.halls.values()))
    hall.visitors_seen = collections.deque([1, 2])  # type: ignore[attr-defined]
    with pytest.raises(CheckpointError, match=r"visitors_seen: a collections\.deque"):
        state.checkpoint()
    hall.visitors_seen = {"p1": [np.int64(3)]}  # type: ignore[attr-defined]
    with pytest.raises(CheckpointError, match=r"visitors_seen\.p1\.0: a numpy\.int64"):
        state.checkpoint()


def test_halls_of_other_fields_are_refused(two_days: list[Event]) -> None:
    state = _fed(two_days[:3000])
    next(iter(state.halls.values())).queue_peak = 7  # type: ignore[attr-defined]
    back = CityState()
    with pytest.raises(CheckpointError, match=r"has \['queue_peak'\]"):
        back.restore(state.checkpoint())
    assert back.halls == {}


def _resealed(data: bytes, body: bytes) -> bytes:
    """``data``'s head and ``body`` with its CRC-32 made right."""
    return b"".join(sealed(data[8:12], [body]))


def test_other_versions_damage_and_garbage_are_refused_and_nothing_is_taken(
    two_days: list[Event],
) -> None:
    data = _fed(two_days[:3000]).checkpoint()
    kept = _fed(two_days[:100])
    halls = kept.halls

    def refused(bad: bytes, why: str) -> None:
        with pytest.raises(CheckpointError, match=why):
            kept.restore(bad)
        assert kept.halls is halls

    older = data[:12] + (codec.VERSION - 1).to_bytes(4, "big") + data[16:]
    refused(older, rf"made by an older hallwatch \(checkpoint version {codec.VERSION - 1}\)")
    refused(data[:100] + bytes([data[100] ^ 1]) + data[101:], "damaged")
    refused(data[: len(data) // 2], "damaged")
    refused(b"\x80\x04\x95pickle", "not a checkpoint")
    refused(_resealed(data, b"\xc1 not msgpack"), "undecodable")
    refused(_resealed(data, msgspec.msgpack.encode([b"x"])), "undecodable")
    wrong_class = msgspec.msgpack.encode([["hall", ["obj", "os.system"], ["id"]]])
    refused(_resealed(data, b"\xdd\x00\x00\x00\x01" + wrong_class), "does not know: 'os.system'")


def test_no_byte_flipped_under_a_good_crc_gets_past_checkpoint_error(
    two_days: list[Event],
) -> None:
    data = _fed(two_days[:1500]).checkpoint()
    body = bytes(unsealed(b"city", data))
    rng = random.Random(7)
    for _ in range(300):
        bad = bytearray(body)
        for _ in range(rng.randint(1, 4)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        with contextlib.suppress(CheckpointError):  # refused, or (rarely) still valid
            CityState().restore(_resealed(data, bytes(bad)))


# --- the codec on its own ---------------------------------------------------------------


class Point(NamedTuple):
    x: int
    y: int


@dataclasses.dataclass(slots=True)
class Box:
    label: str
    at: Point
    items: list[tuple[int, str]] = dataclasses.field(default_factory=list)


class Tag(msgspec.Struct):
    name: str
    seen: int = 0


CODEC = Codec(Point, Box, Tag)


def test_the_codec_keeps_types_keys_sharing_and_emptiness() -> None:
    shared = Box("b", Point(1, 2), [(1, "one")])
    tags = {"a": Tag("a"), "b": Tag("b", 3)}
    values = {
        "pairs": {("hall", "W1"): (1, "t", None), ("hall", "W2"): (2, "u", "item")},
        "ints": {3: True, 4: 2, 5: 2.5},
        "mixed_keys": {1: "one", "two": 2},
        "set_of_tuples": {("a", "b"), ("c", "d")},
        "frozen": frozenset({1, 2}),
        "tuple_of_lists": ([1, 2], [], ["x", None]),
        "varied_tuples": [(1, 2), (1, 2, 3), ()],
        "empty": [{}, []],
        "empty_set": set(),
        "empty_tuple": (),
        "boxes": {"b": shared},
        "again": [shared, Box("c", Point(0, 0))],
        "tags": tags,
        "tag_again": {"x": tags["b"]},
        "array": np.arange(12, dtype=np.int16).reshape(3, 4)[:, ::2],  # not contiguous
        "bools": np.array([True, False]),
        "column": _column(),
        "registry": _registry(),
        "big": 2**64 - 1,
        "nothing": None,
        "blob": b"\x00\xff",
    }
    back = CODEC.load(CODEC.dump(values))
    for name, value in values.items():
        if name not in ("array",):
            assert_same(value, back[name], name)
    assert_same(np.ascontiguousarray(values["array"]), back["array"])
    assert back["again"][0] is back["boxes"]["b"]
    assert back["tag_again"]["x"] is back["tags"]["b"]
    back["array"][0, 0] = 9  # writable, its own memory


def _column() -> Column:
    c = Column(np.int32, 4)
    c.extend([1, 2, 3, 4, 5])
    return c


def _registry() -> Registry:
    r = Registry(3, "(other)")
    for name in ("z1", "z2", "z3", "z4"):
        r.index(name)
    return r


def test_the_codec_refuses_what_it_cannot_read_back_naming_where() -> None:
    with pytest.raises(CheckpointError, match=r"arr: .*only plain numbers"):
        CODEC.dump({"arr": np.array([object()])})
    shared = [1]
    with pytest.raises(CheckpointError, match=r"t\.1: a list also held elsewhere"):
        CODEC.dump({"t": (shared, shared)})
    with pytest.raises(CheckpointError, match="cannot be read back"):
        CODEC.dump({"lists_and_tuples": [[1], (1, 2)]})  # one array-like kind per union
    with pytest.raises(CheckpointError, match=r"x: a builtins\.object"):
        CODEC.dump({"x": object()})
