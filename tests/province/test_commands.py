"""Without a cluster: an operator's command carried out on a partition's alert book —
as its operator, at the hall time it carries (so a replay, whose time-driven rules tick
at other moments, stamps it the same), and refused with the reason when it cannot be.

Every action leaves its trace with who and when: seed 001 asks for 全程留痕、過往可溯、
進度可查的辦事記錄與督查機制 (a full trace, the past traceable, progress checkable).
"""

from __future__ import annotations

import msgspec
import pytest

from alerts.book import ActionError, AlertBook
from alerts.duty import HANDOVER_UNACCEPTED
from alerts.model import Change
from province import alertbook
from province.alertbook import Handovers
from province.commands import Command, Outcome, decode_command, decode_outcome, encode, execute
from runtime.pipeline import Pipeline
from tests.factories import H, beat, ms


def book_with_a_complaint() -> tuple[Pipeline, list[Change]]:
    """A complaint fired at 09:01, a card at 09:02; the book's clock at 09:10."""
    pipeline = Pipeline()
    changes: list[Change] = []
    book = pipeline.alerts.book
    book.listeners.append(changes.append)
    book.fire("complaint", H, "K1", "notice", ms(1), "complaint K1")
    book.fire("case_deadline", H, "C1", "yellow", ms(2), "case C1 due today")
    book.tick(H, ms(10))
    return pipeline, changes


def command(kind: str = "acknowledge", at: int = ms(6), **fields: object) -> Command:
    """A command of zhang's (signed in by password) on the complaint, at hall time ``at``."""
    values: dict[str, object] = {
        "id": "c1", "kind": kind, "hall": H, "operator": "zhang", "signed_in_by": "password",
        "at_ms": at, "rule": "complaint", "scope": "K1", "fired_ms": ms(1),
    }  # fmt: skip
    values.update(fields)
    return Command(**values)  # type: ignore[arg-type]


def test_an_acknowledgement_is_stamped_with_the_commands_hall_time_and_operator() -> None:
    pipeline, changes = book_with_a_complaint()
    # The operator saw the hall at 09:06; the shard's book is at 09:10 when it reads the
    # command (its clock moves with the publisher's ticks: elsewhere in a replay).
    outcome = execute(pipeline, command(note="on it"))
    assert outcome == Outcome(ok=True, at_ms=ms(6), alert=1)
    last = changes[-1]
    assert (last.what, last.at_ms, last.actor, last.note) == ("acknowledged", ms(6), "zhang",
                                                              "on it")  # fmt: skip
    alert = pipeline.alerts.book.open[("complaint", H, "K1")]
    assert (alert.state, alert.ack_by, alert.ack_ms) == ("acknowledged", "zhang", ms(6))
    assert pipeline.alerts.book.now[H] == ms(10)  # the book's clock is left as it was


def test_an_action_never_stamps_an_alert_before_its_last_change() -> None:
    pipeline, _ = book_with_a_complaint()
    book = pipeline.alerts.book
    book.fire("complaint", H, "K1", "urgent", ms(8), "complaint K1 again")  # raised at 09:08
    # A console still showing 09:05 acknowledges: its history must not run backwards.
    outcome = execute(pipeline, command(at=ms(5)))
    assert outcome.at_ms == ms(8)
    assert [(at, what) for at, what in book.open[("complaint", H, "K1")].history] == [
        (ms(1), "fired notice"), (ms(8), "raised to urgent"), (ms(8), "acknowledged"),
    ]  # fmt: skip


def test_a_resolution_needs_a_note_and_an_alert_still_open() -> None:
    pipeline, _ = book_with_a_complaint()
    with pytest.raises(ActionError, match="needs a note"):
        execute(pipeline, command("resolve", note=" "))
    outcome = execute(pipeline, command("resolve", note="settled with the complainant"))
    assert outcome.ok and outcome.at_ms == ms(6)
    resolved = pipeline.alerts.book.resolved[-1]
    assert (resolved.state, resolved.resolved_by, resolved.resolved_ms) == (
        "resolved", "zhang", ms(6),
    )  # fmt: skip
    # Sent again by another console meanwhile: the alert is no longer open.
    with pytest.raises(ActionError, match="no longer open"):
        execute(pipeline, command("resolve", note="again"))
    # A new alert of the same identity is another alert (fired at another time).
    pipeline.alerts.book.fire("complaint", H, "K1", "notice", ms(20), "complaint K1")
    with pytest.raises(ActionError, match="no longer open"):
        execute(pipeline, command(note="the old one"))


def test_a_silence_starts_at_the_commands_hall_time() -> None:
    pipeline, _ = book_with_a_complaint()
    outcome = execute(pipeline, command("silence", at=ms(7), note="fire drill", minutes=30,
                                        silence_rule="complaint"))  # fmt: skip
    assert outcome.ok
    (silence,) = pipeline.alerts.book.silences.values()
    assert (silence.created_by, silence.created_ms, silence.until_ms, silence.rule) == (
        "zhang", ms(7), ms(37), "complaint",
    )  # fmt: skip
    assert pipeline.alerts.book.open[("complaint", H, "K1")].silenced_by == silence.id


def test_a_handover_answers_with_the_shift_report() -> None:
    # 交接班: the director on duty hands the hall over with a shift report (seed 002:
    # 主任、科室輪流坐班制).
    pipeline, _ = book_with_a_complaint()
    outcome = execute(pipeline, command("handover", note="two complaints pending",
                                        incoming="li"))  # fmt: skip
    assert outcome.ok and outcome.report is not None
    assert "two complaints pending" in outcome.report


def test_a_shift_report_is_kept_in_its_partition_until_the_incoming_director_accepts() -> None:
    # In a shard the report is kept by the hall's partition (no store there): listed as
    # waiting, warned of when nobody accepts it within [handover] accept_minutes (30),
    # accepted by the incoming director only, and kept through a checkpoint.
    pipeline = Pipeline()
    handovers = Handovers()
    pipeline.alerts.keep_handovers(handovers)
    pipeline.state.apply([beat(10)])  # the hall at 09:10
    written = execute(pipeline, command("handover", id="h1", note="W4's printer jams",
                                        incoming="li"))  # fmt: skip
    assert written.ok and written.report is not None and "W4's printer jams" in written.report
    # Written at the hall time on zhang's screen (09:06), as every command is carried out.
    assert pipeline.publish().handovers_unaccepted == ((1, H, "zhang", ms(6)),)
    accept = command("accept_handover", id="a1", handover=1, note="seen")
    with pytest.raises(ActionError, match="incoming director accepts"):
        execute(pipeline, accept)  # zhang wrote it
    with pytest.raises(ActionError, match="no shift report #1 waiting"):
        execute(pipeline, msgspec.structs.replace(accept, hall="elsewhere", operator="li"))
    pipeline.state.apply([beat(37)])  # 31 minutes on, nobody accepted it: warned
    pipeline.publish()
    (late,) = [a for a in pipeline.alerts.book.active() if a.rule == HANDOVER_UNACCEPTED]
    assert (late.severity, late.fired_ms, late.scope) == ("urgent", ms(36), "handover/1")
    # A checkpoint here, restored into another shard's partition: the same report.
    saved = alertbook.save(pipeline.alerts.book, alertbook.Resolutions(), (), handovers)
    again = Handovers()
    alertbook.restore(AlertBook(), alertbook.Resolutions(), saved, again)
    assert again.handovers() == handovers.handovers() and again.next_id == 2
    done = execute(pipeline, msgspec.structs.replace(accept, operator="li", at_ms=ms(42)))
    assert done.ok and done.at_ms == ms(42)
    (kept,) = handovers.handovers()
    assert (kept["accepted_by"], kept["accepted_ms"], kept["accept_note"]) == ("li", ms(42), "seen")
    assert pipeline.publish().handovers_unaccepted == ()
    assert not [a for a in pipeline.alerts.book.active() if a.rule == HANDOVER_UNACCEPTED]
    with pytest.raises(ActionError, match="no shift report #1 waiting"):
        execute(pipeline, msgspec.structs.replace(accept, operator="wang"))  # accepted already


def test_an_unknown_sign_in_method_is_refused() -> None:
    pipeline, _ = book_with_a_complaint()
    with pytest.raises(ActionError, match="sign-in method"):
        execute(pipeline, command(signed_in_by="trust-me"))


def test_commands_and_outcomes_travel_as_json() -> None:
    sent = command(note="on it")
    assert decode_command(encode(sent)) == sent
    answer = Outcome(ok=False, error="no longer open", stream_seq=7)
    assert decode_outcome(encode(answer)) == answer
