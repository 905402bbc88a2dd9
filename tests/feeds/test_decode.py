"""The frame decoder: every kind round-trips; bad input rejected with its reason."""

from __future__ import annotations

import msgspec
import pytest

from feeds.decode import REASONS, FrameDecoder
from feeds.privacy import Pseudonymizer
from feeds.protocol import (
    EVENT_TYPES,
    CaseAccepted,
    CaseClosed,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintClosed,
    Gap,
    Heartbeat,
    Rating,
    ServiceFinished,
    ServiceStarted,
    TicketAbandoned,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from tests.conftest import T0

RAW_ID = "110105199001011234"
PSEUDO = Pseudonymizer(b"k" * 32)


def one_of_each() -> list:
    h = {"ts": T0, "hall": "lz"}
    return [
        WindowState(seq=1, window="W01", state="open", staff="s017", **h),
        TicketIssued(seq=2, ticket="A001", zone="biz", item="shdj-01", person=RAW_ID, **h),
        TicketCalled(seq=3, ticket="A001", window="W01", **h),
        ServiceStarted(seq=4, ticket="A001", window="W01", item="shdj-01", staff="s017", **h),
        ServiceFinished(seq=5, ticket="A001", window="W01", outcome="to_backend", case="C1", **h),
        TicketAbandoned(seq=6, ticket="A002", reason="no_show", **h),
        Rating(seq=7, window="W01", score=5, channel="device", ticket="A001", **h),
        Complaint(seq=8, complaint="K1", channel="hotline", window="W01", text="太慢", **h),
        ComplaintClosed(seq=9, complaint="K1", resolution="已回访", **h),
        CaseSubmitted(
            seq=10, case="C1", item="shdj-01", dept="市场监管", promised_days=3, person=RAW_ID, **h
        ),
        CaseAccepted(seq=11, case="C1", **h),
        CasePaused(seq=12, case="C1", reason="site survey", **h),
        CaseResumed(seq=13, case="C1", **h),
        CaseClosed(seq=14, case="C1", outcome="approved", **h),
        Heartbeat(**h),
    ]


def test_every_kind_round_trips() -> None:
    events = one_of_each()
    assert {type(e) for e in events} == set(EVENT_TYPES)
    decoder = FrameDecoder(lambda p: p)  # identity: compare the round trip exactly
    for ev in events:
        out = decoder.decode(msgspec.json.encode(ev))
        assert out.rejections == []
        assert out.events == [ev]
    batch = decoder.decode(msgspec.json.encode(events))
    assert batch.events == events


def test_person_is_pseudonymized_and_never_left_raw() -> None:
    decoder = FrameDecoder(PSEUDO)
    out = decoder.decode(msgspec.json.encode(one_of_each()))
    text = msgspec.json.encode(out.events).decode() + repr(out.events)
    assert RAW_ID not in text
    issued = next(e for e in out.events if isinstance(e, TicketIssued))
    case = next(e for e in out.events if isinstance(e, CaseSubmitted))
    assert issued.person == case.person == PSEUDO(RAW_ID)
    assert issued.person.startswith("p-")


def _event(**fields: object) -> dict:
    base = {"kind": "ticket_called", "seq": 1, "ts": T0, "hall": "lz", "ticket": "A1"}
    base["window"] = "W1"
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (_event(kind="teleported"), "unknown_kind"),
        (_event(window=...), "missing_field"),
        (_event(seq="3"), "bad_type"),
        (_event(ts=1.5), "bad_type"),
        (_event(ticket=None), "bad_type"),
        (_event(seq=0), "bad_value"),
        (_event(ticket=""), "bad_value"),
        (_event(ticket="x" * 65), "too_long"),
        (_event(extra=1), "unknown_field"),
        (
            {"kind": "window_state", "seq": 1, "ts": T0, "hall": "h", "window": "W", "state": "on"},
            "bad_value",
        ),
        (
            {
                "kind": "rating",
                "seq": 1,
                "ts": T0,
                "hall": "h",
                "window": "W",
                "score": 6,
                "channel": "qr",
            },
            "bad_value",
        ),
        (42, "bad_frame"),
    ],
)
def test_bad_event_rejected_with_reason_rest_of_batch_applies(bad: object, reason: str) -> None:
    good1 = _event(seq=1)
    good2 = _event(seq=3, ticket="A2")
    frame = msgspec.json.encode([good1, bad, good2])
    out = FrameDecoder(PSEUDO).decode(frame)
    assert [e.seq for e in out.events] == [1, 3]
    assert len(out.rejections) == 1
    assert out.rejections[0].reason == reason
    assert out.rejections[0].index == 1
    assert reason in REASONS


def test_not_json_frame_and_element() -> None:
    decoder = FrameDecoder(PSEUDO)
    out = decoder.decode(b"{not json")
    assert out.events == [] and [r.reason for r in out.rejections] == ["not_json"]
    assert [r.reason for r in decoder.decode(b"[1, 2").rejections] == ["not_json"]


def test_frame_and_batch_limits() -> None:
    decoder = FrameDecoder(PSEUDO, max_frame_bytes=1000, max_batch=3)
    big = msgspec.json.encode([_event(seq=i) for i in range(1, 40)])
    assert [r.reason for r in decoder.decode(big).rejections] == ["frame_too_large"]
    four = msgspec.json.encode([_event(seq=i) for i in range(1, 5)])
    assert len(four) < 1000
    assert [r.reason for r in decoder.decode(four).rejections] == ["batch_too_large"]


def test_control_op_in_data_stream() -> None:
    out = FrameDecoder(PSEUDO).decode(b'{"op":"gap","from":3,"to":9}')
    assert out.op == Gap(from_=3, to=9)
    assert out.events == [] and out.rejections == []


def test_rejected_event_keeps_its_seq_for_gap_accounting() -> None:
    frame = msgspec.json.encode([_event(seq=1), _event(seq=2, window=...), _event(seq=3)])
    out = FrameDecoder(PSEUDO).decode(frame)
    assert out.rejections[0].seq == 2


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    out = FrameDecoder(PSEUDO).decode(data)
    assert all(r.reason in REASONS for r in out.rejections)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values | st.builds(lambda f: _event(**f), st.dictionaries(
    st.sampled_from(["seq", "ts", "ticket", "window", "kind", "person"]), json_values,
    max_size=2)), max_size=6))  # fmt: skip
def test_arbitrary_json_batches_split_into_good_and_rejected(items: list) -> None:
    out = FrameDecoder(PSEUDO).decode(msgspec.json.encode(items))
    assert len(out.events) + len(out.rejections) == len(items)
    assert all(r.reason in REASONS for r in out.rejections)
