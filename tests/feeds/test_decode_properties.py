"""Property tests of the frame decoder: every event kind, valid and mutated, in batches.

Events are generated from the Structs of feeds.protocol (through ``msgspec.inspect``), so a
new kind or field is covered without touching this file. A mutated event has exactly one
fault, and must be rejected with exactly that fault's reason; the good events around it
must all be kept, in order. Frames also go over the decoder's limits (bytes, batch size,
nesting depth) and are cut short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import event, given, settings
from hypothesis import strategies as st

from feeds.decode import DEFAULT_MAX_BATCH, DEFAULT_MAX_FRAME_BYTES, REASONS, FrameDecoder
from feeds.protocol import EVENT_TYPES, Event

#: Planted in every ``person``: no rejection detail may ever show it.
ID_NUMBERS = ("11010519491231002X", "110105199001011234", "440300198807150021")
_one = msgspec.json.Decoder(Event)


_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


def _int_bounds(t: mi.IntType) -> tuple[int | None, int | None]:
    lo = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else None)
    hi = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else None)
    return lo, hi


def _repeat(lo: int, hi: int) -> st.SearchStrategy[str]:
    """Long strings, cheaply: one character repeated (1, 3 or 4 bytes in UTF-8)."""
    return st.builds(lambda c, n: c * n, st.sampled_from("x号😀"), st.integers(lo, hi))


def _valid(name: str, t: mi.Type) -> st.SearchStrategy[Any]:
    if name == "person":
        return st.sampled_from(ID_NUMBERS)
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.IntType):
        lo, hi = _int_bounds(t)
        edges = [st.just(b) for b in (lo, hi) if b is not None]
        return st.one_of(st.integers(lo, hi), *edges)
    assert isinstance(t, mi.StrType) and t.max_length is not None, (name, t)
    lo, hi = t.min_length or 0, t.max_length
    return st.one_of(st.text(min_size=lo, max_size=min(hi, 12)), _repeat(max(lo, 1), hi))


def _wrong_type(t: mi.Type, nullable: bool) -> st.SearchStrategy[Any]:
    """JSON values of a type the field does not accept (a float is never an int here)."""
    others = [
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),  # msgspec writes inf as null
        st.lists(_ANY_JSON, max_size=2),
        st.dictionaries(st.text(max_size=4), _ANY_JSON, max_size=2),
        st.text(max_size=8) if isinstance(t, mi.IntType) else st.integers(),
    ]
    return st.one_of(others if nullable else [*others, st.none()])


def _bad_value(t: mi.Type) -> st.SearchStrategy[Any] | None:
    """Values of the right type outside the enumeration, range or minimum length."""
    if isinstance(t, mi.LiteralType):
        return st.text(max_size=16).filter(lambda s: s not in t.values)
    if isinstance(t, mi.IntType):
        lo, hi = _int_bounds(t)
        outside = [st.integers(max_value=lo - 1)] if lo is not None else []
        outside += [st.integers(min_value=hi + 1)] if hi is not None else []
        return st.one_of(outside) if outside else None
    return st.just("") if isinstance(t, mi.StrType) and t.min_length else None


def _too_long(t: mi.Type) -> st.SearchStrategy[str] | None:
    if isinstance(t, mi.StrType) and t.max_length is not None:
        return _repeat(t.max_length + 1, t.max_length + 40)
    return None


@dataclass(frozen=True)
class FieldSpec:
    """One field of one kind as feeds.protocol defines it, with its value strategies."""

    name: str
    required: bool
    valid: st.SearchStrategy[Any]
    wrong_type: st.SearchStrategy[Any]
    bad_value: st.SearchStrategy[Any] | None
    too_long: st.SearchStrategy[str] | None


@dataclass(frozen=True)
class KindSpec:
    kind: str
    fields: dict[str, FieldSpec]
    required: frozenset[str]
    """Required fields, ``kind`` included."""
    valid: st.SearchStrategy[dict[str, Any]]
    unknown_name: st.SearchStrategy[str]


def _field(f: mi.Field) -> FieldSpec:
    members = f.type.types if isinstance(f.type, mi.UnionType) else (f.type,)
    (t,) = [m for m in members if not isinstance(m, mi.NoneType)]
    nullable = len(members) > 1
    valid = _valid(f.encode_name, t)
    return FieldSpec(
        f.encode_name,
        f.required,
        st.none() | valid if nullable else valid,
        _wrong_type(t, nullable),
        _bad_value(t),
        _too_long(t),
    )


def _kinds() -> tuple[KindSpec, ...]:
    union = mi.type_info(Event)
    assert isinstance(union, mi.UnionType)
    kinds = []
    for struct in union.types:
        assert isinstance(struct, mi.StructType) and struct.tag_field == "kind"
        fields = {f.encode_name: _field(f) for f in struct.fields}
        names = {"kind", *fields}
        valid = st.fixed_dictionaries(
            {"kind": st.just(struct.tag)} | {n: f.valid for n, f in fields.items() if f.required},
            optional={n: f.valid for n, f in fields.items() if not f.required},
        )
        unknown = st.text(min_size=1, max_size=12).filter(lambda k, names=names: k not in names)
        required = frozenset(["kind", *(n for n, f in fields.items() if f.required)])
        kinds.append(KindSpec(str(struct.tag), fields, required, valid, unknown))
    return tuple(kinds)


KINDS = _kinds()
TAGS = frozenset(k.kind for k in KINDS)
_UNKNOWN_KIND = st.text(max_size=20).filter(lambda k: k not in TAGS)
_NOT_A_STRING = _ANY_JSON.filter(lambda v: not isinstance(v, str))
_NOT_AN_OBJECT = st.integers() | st.text(max_size=8) | st.none() | st.lists(_ANY_JSON, max_size=3)


@dataclass(frozen=True)
class Element:
    """One element of a frame and what the decoder must make of it."""

    payload: bytes
    event: Any = None
    """The Struct the decoder must return; None when the element is bad."""
    reason: str | None = None
    seq: object = None
    """The seq a rejection must carry (``_peek_seq``), when the mutation left it alone."""
    seq_checked: bool = False


MUTATIONS = (
    "none",
    "none",
    "none",
    "missing_field",
    "bad_type",
    "bad_value",
    "too_long",
    "unknown_field",
    "unknown_kind",
    "bad_frame",
)


def _mutate(draw: st.DrawFn, spec: KindSpec, ev: dict[str, Any], mutation: str) -> str | None:
    """Give ``ev`` one fault, in place; return the field changed (None for a new one). A
    fault no field of the kind can have (``too_long`` of a kind with no string, say)
    leaves ``ev`` as it was."""
    if mutation == "missing_field":
        present = [n for n in ("kind", *spec.fields) if n in ev and n in spec.required]
        if not present:
            return None
        touched = draw(st.sampled_from(present))
        del ev[touched]
        return touched
    if mutation == "unknown_field":
        ev[draw(spec.unknown_name)] = draw(_ANY_JSON)
        return None
    if mutation == "unknown_kind":
        ev["kind"] = draw(_UNKNOWN_KIND)
        return "kind"
    if mutation == "bad_type":
        touched = draw(st.sampled_from(["kind", *spec.fields]))
        ev[touched] = draw(spec.fields[touched].wrong_type if touched != "kind" else _NOT_A_STRING)
        return touched
    assert mutation in ("bad_value", "too_long")
    can = [f for f in spec.fields.values() if getattr(f, mutation) is not None]
    if not can:
        return None
    f = draw(st.sampled_from(can))
    ev[f.name] = draw(getattr(f, mutation))
    return f.name


def _shuffled(draw: st.DrawFn, ev: dict[str, Any]) -> bytes:
    """``ev`` encoded with its keys in any order: a reason must not depend on it."""
    return msgspec.json.encode({k: ev[k] for k in draw(st.permutations(list(ev)))})


@st.composite
def element(draw: st.DrawFn) -> Element:
    spec = draw(st.sampled_from(KINDS))
    ev = draw(spec.valid)
    mutation = draw(st.sampled_from(MUTATIONS))
    if mutation == "bad_frame":
        return Element(msgspec.json.encode(draw(_NOT_AN_OBJECT)), reason="bad_frame")
    if mutation != "none":
        before = msgspec.json.encode(ev)
        touched = _mutate(draw, spec, ev, mutation)
        if msgspec.json.encode(ev) != before:  # not ==: True == 1, and 1 is no bool
            payload = _shuffled(draw, ev)
            return Element(
                payload, reason=mutation, seq=ev.get("seq"), seq_checked=touched != "seq"
            )
    payload = msgspec.json.encode(ev)
    return Element(payload, event=_one.decode(payload))


@dataclass(frozen=True)
class Frame:
    data: bytes
    elements: list[Element]
    shape: str
    """``array``; ``single``: one element, not in an array; ``deep``: an array with an
    element nested past msgspec's limit; ``torn``: an array cut short."""


_DEEP = 5000  # well past msgspec's nesting limit (about 1000)


@st.composite
def frame(draw: st.DrawFn) -> Frame:
    elements = draw(st.lists(element(), min_size=1, max_size=8))
    shape = draw(st.sampled_from(["array"] * 5 + ["single", "deep", "torn"]))
    if shape == "single" and not elements[0].payload.startswith(b"["):
        return Frame(elements[0].payload, elements[:1], shape)
    parts = [e.payload for e in elements]
    if shape == "deep":
        nested = draw(
            st.sampled_from([b"[" * _DEEP + b"]" * _DEEP, b'{"a":' * _DEEP + b"1" + b"}" * _DEEP])
        )
        parts.insert(draw(st.integers(0, len(parts))), nested)
    data = b"[" + b",".join(parts) + b"]"
    if shape == "torn":  # any strict prefix of an array is not JSON
        data = data[: draw(st.integers(0, len(data) - 1))]
    return Frame(data, elements, "array" if shape == "single" else shape)


@settings(max_examples=300, deadline=None)
@given(
    frame(),
    st.one_of(st.just(DEFAULT_MAX_BATCH), st.integers(1, 8)),
    st.one_of(st.just(DEFAULT_MAX_FRAME_BYTES), st.integers(200, 20_000)),
)
def test_every_kind_good_and_mutated_in_batches(f: Frame, max_batch: int, max_bytes: int) -> None:
    decoder = FrameDecoder(lambda p: p, max_frame_bytes=max_bytes, max_batch=max_batch)
    out = decoder.decode(f.data)  # never raises
    reasons = [r.reason for r in out.rejections]
    for reason in reasons:
        event(reason)  # pytest --hypothesis-show-statistics: every reason is reached
    assert out.op is None
    for r in out.rejections:
        assert r.reason in REASONS
        assert not any(number in r.detail for number in ID_NUMBERS), r
    if len(f.data) > max_bytes:
        assert (out.events, reasons) == ([], ["frame_too_large"])
    elif f.shape == "torn":
        assert (out.events, reasons) == ([], ["not_json"])
    elif f.shape == "deep":
        assert (out.events, reasons) == ([], ["bad_frame"])
    elif f.shape == "array" and len(f.elements) > max_batch:
        assert (out.events, reasons) == ([], ["batch_too_large"])
    else:
        assert out.events == [e.event for e in f.elements if e.event is not None]
        single = f.shape == "single"
        bad = [(i, e) for i, e in enumerate(f.elements) if e.event is None]
        got = [(r.index, r.reason) for r in out.rejections]
        assert got == [(None if single else i, e.reason) for i, e in bad]
        for (_, e), r in zip(bad, out.rejections, strict=True):
            if e.seq_checked and e.reason != "bad_frame":
                assert r.seq == e.seq, (e, r)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_several_faults_give_one_reason_whatever_the_key_order(data: st.DataObject) -> None:
    """The decoder decides by its own checks in a fixed order (feeds/decode.py), not by
    which fault msgspec happens to read first."""
    spec = data.draw(st.sampled_from(KINDS))
    ev = data.draw(spec.valid)
    mutations = data.draw(st.lists(st.sampled_from(MUTATIONS[3:-1]), min_size=2, max_size=4))
    for mutation in mutations:
        _mutate(data.draw, spec, ev, mutation)
    decoder = FrameDecoder(lambda p: p)
    reasons = {
        tuple(r.reason for r in decoder.decode(b"[%s]" % _shuffled(data.draw, ev)).rejections)
        for _ in range(3)
    }
    assert len(reasons) == 1
    assert len(reasons.pop()) <= 1


def test_the_strategies_cover_every_kind() -> None:
    assert {t.__struct_config__.tag for t in EVENT_TYPES} == TAGS
    assert all({"ts", "hall", "seq"} <= set(k.fields) for k in KINDS)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    out = FrameDecoder(lambda p: p).decode(data)
    assert all(r.reason in REASONS for r in out.rejections)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)
_CALLED = {"kind": "ticket_called", "seq": 1, "ts": 1763946000000, "hall": "lz", "ticket": "A1"}
_NEAR_EVENTS = st.builds(
    lambda f: {**_CALLED, "window": "W1", **f},
    st.dictionaries(
        st.sampled_from(["seq", "ts", "ticket", "window", "kind", "person"]), _JSON, max_size=2
    ),
)


def _accepted(item: object) -> Any:
    try:
        return _one.decode(msgspec.json.encode(item))
    except msgspec.DecodeError:
        return None


@settings(max_examples=300, deadline=None)
@given(st.lists(_JSON | _NEAR_EVENTS, max_size=6))
def test_arbitrary_json_batches_split_into_good_and_rejected(items: list[Any]) -> None:
    out = FrameDecoder(lambda p: p).decode(msgspec.json.encode(items))
    accepted = [_accepted(item) for item in items]
    assert out.events == [ev for ev in accepted if ev is not None]
    assert [r.index for r in out.rejections] == [i for i, ev in enumerate(accepted) if ev is None]
    assert all(r.reason in REASONS for r in out.rejections)
