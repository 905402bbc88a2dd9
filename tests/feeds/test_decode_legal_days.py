"""``legal_days?`` on ``case_submitted`` (法定办结时限, seed 004: 法定办结时限、承诺办结时限):
added to protocol v1 without changing it. A frame with it decodes, one without it
decodes as before (and encodes byte for byte as before), and a bad value is rejected with
its reason while the rest of the batch applies."""

from __future__ import annotations

import msgspec
import pytest

from feeds.decode import FrameDecoder
from feeds.protocol import CaseSubmitted
from tests.factories import T0


def _submitted(**fields: object) -> dict[str, object]:
    return {"kind": "case_submitted", "seq": 2, "ts": T0, "hall": "lz", "case": "C1",
            "item": "bdc-01", "dept": "bdcdj", "promised_days": 5, **fields}  # fmt: skip


def _decode(*elements: object) -> tuple[list[object], list[str]]:
    out = FrameDecoder(lambda p: "p-" + p).decode(msgspec.json.encode(list(elements)))
    return list(out.events), [r.reason for r in out.rejections]


def test_legal_days_decodes_beside_promised_days() -> None:
    # 二手房转移登记: promised 5 working days, legal 30 (a vendor's catalogue says so).
    (ev,), rejected = _decode(_submitted(legal_days=30, person="370784199001011234"))
    assert rejected == []
    assert isinstance(ev, CaseSubmitted)
    assert (ev.promised_days, ev.legal_days) == (5, 30)
    assert ev.person == "p-370784199001011234"  # pseudonymized as before


def test_a_v1_frame_without_it_is_unchanged() -> None:
    (ev,), rejected = _decode(_submitted())
    assert rejected == [] and isinstance(ev, CaseSubmitted) and ev.legal_days is None
    # Encoded again, the field is left out: journals and recordings of feeds that never
    # send it keep their bytes.
    assert b"legal_days" not in msgspec.json.encode(ev)
    assert msgspec.json.decode(msgspec.json.encode(ev)) == _submitted()
    (zero,), _ = _decode(_submitted(legal_days=0))  # 0: due the same day, like promised
    assert isinstance(zero, CaseSubmitted) and zero.legal_days == 0


@pytest.mark.parametrize(
    ("value", "reason"),
    [(-1, "bad_value"), (1001, "bad_value"), ("30", "bad_type"), (2.5, "bad_type")],
)
def test_a_bad_legal_days_is_rejected_and_the_batch_applies(value: object, reason: str) -> None:
    good = {"kind": "case_accepted", "seq": 1, "ts": T0, "hall": "lz", "case": "C0"}
    events, rejected = _decode(good, _submitted(legal_days=value), {**good, "seq": 3})
    assert [e.seq for e in events] == [1, 3]  # type: ignore[attr-defined]
    assert rejected == [reason]
