"""The frame decoder: every kind round-trips; bad input rejected with its reason."""

from __future__ import annotations

import msgspec
import pytest

from feeds.decode import REASONS, FrameDecoder, event_fault
from feeds.privacy import Pseudonymizer
from feeds.protocol import (
    EVENT_TYPES,
    CaseAccepted,
    CaseClosed,
    CaseMaterialsChanged,
    CasePaused,
    CaseResumed,
    CaseSubmitted,
    Complaint,
    ComplaintAnswered,
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
        ServiceStarted(
            seq=4, ticket="A001", window="W01", item="shdj-01", staff="s017", person=RAW_ID, **h
        ),
        ServiceFinished(seq=5, ticket="A001", window="W01", outcome="to_backend", case="C1", **h),
        TicketAbandoned(seq=6, ticket="A002", reason="no_show", **h),
        Rating(seq=7, window="W01", score=5, channel="device", ticket="A001", **h),
        Complaint(seq=8, complaint="K1", channel="hotline", window="W01", text="太慢", **h),
        ComplaintAnswered(seq=9, complaint="K1", text="已现场答复", staff="s001", **h),
        ComplaintClosed(seq=10, complaint="K1", resolution="已回访", **h),
        CaseSubmitted(
            seq=11, case="C1", item="shdj-01", dept="市场监管", promised_days=3, person=RAW_ID, **h
        ),
        CaseAccepted(seq=12, case="C1", **h),
        CasePaused(seq=13, case="C1", reason="site survey", **h),
        CaseResumed(seq=14, case="C1", **h),
        CaseMaterialsChanged(
            seq=15, case="C1", change="materials_added", materials="租赁合同原件", **h
        ),
        CaseClosed(seq=16, case="C1", outcome="approved", **h),
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
    started = next(e for e in out.events if isinstance(e, ServiceStarted))
    case = next(e for e in out.events if isinstance(e, CaseSubmitted))
    assert issued.person == started.person == case.person == PSEUDO(RAW_ID)
    assert issued.person.startswith("p-")


def _event(**fields: object) -> dict:
    base = {"kind": "ticket_called", "seq": 1, "ts": T0, "hall": "lz", "ticket": "A1"}
    base["window"] = "W1"
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def _of(kind: str, **fields: object) -> dict:
    return {"kind": kind, "seq": 1, "ts": T0, "hall": "h", **fields}


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
        ("ticket_called", "bad_frame"),
        (None, "bad_frame"),
        (["A1"], "bad_frame"),
        (_event(kind=...), "missing_field"),  # as msgspec had it: the tag is a field
        (_event(kind=5), "bad_type"),
        (_event(kind=None), "bad_type"),
        (_event(seq=True), "bad_type"),  # a bool is no int
        (_event(window=["W1"]), "bad_type"),
        (_event(seq=2**70), "bad_value"),
        (_event(ts=4_102_444_800_000), "bad_value"),  # 2100-01-01: the bound is exclusive
        (_event(hall="h" * 65), "too_long"),
        (_event(ticket="号" * 65), "too_long"),  # characters, not bytes
        (_event(person="x"), "unknown_field"),  # ticket_called carries no person
        (_of("case_submitted", case="C", item="i", dept="d", promised_days=1001), "bad_value"),
        (_of("case_paused", case="C", reason="x" * 4097), "too_long"),
        (_of("ticket_issued", ticket="A", zone="z", channel=None), "bad_type"),
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


def test_single_event_frame_rejected_with_reason() -> None:
    decoder = FrameDecoder(PSEUDO)
    for bad, reason in [
        (_event(kind="teleported", seq=4), "unknown_kind"),
        (_event(window=..., seq=4), "missing_field"),
        (_event(ticket="", seq=4), "bad_value"),
        ("ticket_called", "bad_frame"),
    ]:
        out = decoder.decode(msgspec.json.encode(bad))
        assert out.events == [] and out.op is None
        assert [(r.reason, r.index) for r in out.rejections] == [(reason, None)]
        assert out.rejections[0].seq == (4 if isinstance(bad, dict) else None)


_TYPO = {"kind": "ticket_called", "seq": 1, "ts": T0, "hall": "h", "ticket": "A1", "windw": "W"}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (_event(kind="teleported", extra=1, seq=...), "unknown_kind"),
        (_TYPO, "unknown_field"),  # a misspelt field is also a missing one
        (_event(window=..., seq="1"), "missing_field"),
        (_event(seq=0, window=5), "bad_type"),  # the worse fault wins over field order
        (_event(ticket="", window="x" * 65), "bad_value"),
        (_event(hall="x" * 65, window=""), "bad_value"),
        (_event(hall="x" * 65, ticket=""), "bad_value"),
        (_event(ts=1, ticket=7), "bad_type"),
    ],
)
def test_several_faults_the_documented_order_decides(bad: dict, reason: str) -> None:
    """The order of feeds/decode.py's docstring, whatever the order of the keys (msgspec
    reports the first fault it reads)."""
    decoder = FrameDecoder(PSEUDO)
    for keys in (list(bad), list(reversed(bad))):
        frame = msgspec.json.encode([{k: bad[k] for k in keys}])
        assert [r.reason for r in decoder.decode(frame).rejections] == [reason]


def test_fault_msgspec_alone_sees_falls_back_to_bad_type() -> None:
    # A repeated key: msgspec rejects the first value, a generic decode keeps the last.
    frame = (
        b'[{"kind":"ticket_issued","seq":"one","seq":2,"ts":%d,"hall":"h","ticket":"A1",'
        b'"zone":"z","person":1,"person":"%s"}]' % (T0, RAW_ID.encode())
    )
    out = FrameDecoder(PSEUDO).decode(frame)
    assert [(r.reason, r.index, r.seq) for r in out.rejections] == [("bad_type", 0, None)]
    assert "`$.seq`" in out.rejections[0].detail  # msgspec's own message


def test_number_beyond_float_range_is_bad_type() -> None:
    frame = b'[{"kind":"heartbeat","ts":1e400,"hall":"h"}]'
    out = FrameDecoder(PSEUDO).decode(frame)
    assert [r.reason for r in out.rejections] == ["bad_type"]
    assert "`$.ts`" in out.rejections[0].detail


def test_invalid_string_escape_is_not_json() -> None:
    decoder = FrameDecoder(PSEUDO)
    for frame in (b'{"kind":"heartbeat","ts":%d,"hall":"\\ud800"}' % T0,
                  b'[{"kind":"heartbeat","ts":"x","hall":"\\ud800"}]'):  # fmt: skip
        assert [r.reason for r in decoder.decode(frame).rejections] == ["not_json"]


@pytest.mark.parametrize("shape", ["array", "object", "element"])
def test_frame_nested_too_deep_is_bad_frame(shape: str) -> None:
    n = 5000
    deep = {
        "array": b"[" * n + b"]" * n,
        "object": b'{"a":' * n + b"1" + b"}" * n,
        "element": b"[%s,%s]" % (msgspec.json.encode(_event()), b"[" * n + b"]" * n),
    }[shape]
    out = FrameDecoder(PSEUDO).decode(deep)
    assert out.events == []  # the frame is rejected whole, as it cannot be split
    assert [r.reason for r in out.rejections] == ["bad_frame"]


def test_details_name_the_field_never_its_value() -> None:
    issued = {"kind": "ticket_issued", "seq": 1, "ts": T0, "hall": "h", "ticket": "A1",
              "zone": "z", "person": RAW_ID}  # fmt: skip
    bad = [
        issued | {"person": RAW_ID * 4},
        issued | {"person": ""},
        issued | {"kind": RAW_ID},
        issued | {RAW_ID: 1},
        issued | {"zone": RAW_ID * 4},
        issued | {"priority": RAW_ID},
        issued | {"extra": RAW_ID},
        issued | {"seq": RAW_ID},
        {k: v for k, v in issued.items() if k != "zone"},
    ]
    out = FrameDecoder(PSEUDO).decode(msgspec.json.encode(bad))
    assert len(out.rejections) == len(bad)
    for r in out.rejections:
        assert RAW_ID[:8] not in r.detail, r
        assert r.detail, r


def test_an_unknown_kind_or_field_is_named_when_it_looks_like_a_name() -> None:
    bad = [_event(kind="ticket_teleported"), _event(Windw="W1")]
    details = [r.detail for r in FrameDecoder(PSEUDO).decode(msgspec.json.encode(bad)).rejections]
    assert "`ticket_teleported`" in details[0] and "`Windw`" in details[1]


def test_checks_accept_every_valid_event() -> None:
    """The decoder's own checks, derived from feeds.protocol, pass what msgspec passes."""
    for ev in one_of_each():
        assert event_fault(msgspec.to_builtins(ev)) is None, ev
