"""Operators' actions as commands on the stream: acknowledge, resolve, silence, handover
and its acceptance.

A console over NATS does not change an alert itself: it sends a ``Command`` — what, to
which alert of which hall, who (the operator signed in at the console, and how), and the
hall time on the operator's screen — to ``hw.cmd.<user>.<city>.<county>.<hall>``, where
NATS lets it send only for the halls its credentials see, and only under its own user
(``province.access``). The shard that runs the hall's partition checks the hall is where
the subject says, stamps the user the subject names as the console that sent it, and
appends the command to the events stream on the partition's own subject
(``hw.op.<partition>``, ``Nats-Msg-Id`` the command's id: a console that sends again
after a lost answer does not act twice). The partition reads it there, between its
feeds' messages, in stream order, and carries it out on its alert book (``execute``):
the transition it makes goes into the alerts stream with the operator as actor
(``province.outbox``).

So a replay gives the same alerts: a new owner that restores a checkpoint and replays the
stream after it meets each command at the same place among the events, runs the
time-driven rules up to the hall clocks there (they tick at other moments in a replay),
and carries it out at the hall time the command carries — never at whatever the book's
clock says when the replay gets there. An
acknowledgement or resolution is stamped with that hall time, or with the alert's last
change if that came later (an alert's history never runs backwards); a silence starts
there.

The partition's answer (done, or refused and why: the alert is no longer open, a note is
missing …) goes back to the console through the shard that appended the command
(``PartitionCommands.outcome``). A command the console sees no answer to was either
never appended (send it again, with the same id) or will be carried out when read.

Imports: alerts.book (errors), runtime (desk, pipeline), msgspec, nats (its message),
structlog.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Final, Literal

import msgspec
import structlog
from nats.aio.msg import Msg

from alerts.book import ActionError
from runtime.desk import SIGN_IN_METHODS, Desk
from runtime.pipeline import Pipeline

log = structlog.get_logger("hallwatch.commands")

Kind = Literal["acknowledge", "resolve", "silence", "handover", "accept_handover"]
#: Outcomes a partition remembers for the shard that relays the answer.
REMEMBERED: Final = 1000


class Command(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """One operator's action on one hall."""

    id: str
    """Chosen by the console (random), the same when it sends again."""
    kind: Kind
    hall: str
    operator: str
    """The person signed in at the console (a roster person or an operators-file name)."""
    signed_in_by: str
    """How they signed in (``runtime.desk.SIGN_IN_METHODS``)."""
    at_ms: int
    """The hall clock on the operator's screen when they acted."""
    rule: str = ""
    """The alert (acknowledge, resolve): rule, scope and when it fired."""
    scope: str = ""
    fired_ms: int = 0
    note: str = ""
    """The note (acknowledge, resolve), the reason (silence), the notes (handover)."""
    minutes: float = 0.0
    """Silence: for how long, in hall minutes."""
    silence_rule: str | None = None
    """Silence: one rule only (None: every rule of the hall)."""
    scope_prefix: str = ""
    incoming: str | None = None
    """Handover: the incoming director."""
    handover: int = 0
    """Accept_handover: the shift report's number (in its hall's partition)."""
    console: str = ""
    """The NATS user the console connected as (the office): stamped by the shard from the
    command's subject, where the server lets each user publish under its own name only."""


class Outcome(msgspec.Struct, frozen=True, omit_defaults=True):
    """What became of a command."""

    ok: bool
    error: str | None = None
    at_ms: int = 0
    """The hall time it was carried out at."""
    stream_seq: int = 0
    """Where it is in the events stream."""
    alert: int = 0
    """The alert's number in its partition (acknowledge, resolve)."""
    report: str | None = None
    """Handover: the shift report (Markdown)."""


_command = msgspec.json.Decoder(Command)
_outcome = msgspec.json.Decoder(Outcome)
_json = msgspec.json.Encoder()


def encode(value: Command | Outcome) -> bytes:
    return _json.encode(value)


def decode_command(data: bytes) -> Command:
    """Raises: msgspec.DecodeError: not a command."""
    return _command.decode(data)


def decode_outcome(data: bytes) -> Outcome:
    """Raises: msgspec.DecodeError: not an outcome."""
    return _outcome.decode(data)


def execute(pipeline: Pipeline, command: Command) -> Outcome:
    """Carry ``command`` out on ``pipeline``'s alert book (between two batches), as its
    operator, at its hall time.

    Raises:
        ActionError: it cannot be done (no such open alert, a note missing …).
    """
    if command.signed_in_by not in SIGN_IN_METHODS:
        raise ActionError(f"unknown sign-in method {command.signed_in_by!r}")
    # The time-driven rules first, up to the hall clocks here: the alerts a command finds
    # are those the events before it make, wherever the publisher's ticks fell (live they
    # ticked a moment ago; a replay reaches the command between two of its ticks).
    pipeline.publish()
    book = pipeline.alerts.book
    desk = Desk(pipeline, operator=command.operator, method=command.signed_in_by, store=None)
    hall = command.hall
    at = command.at_ms
    alert_id = 0
    if command.kind in ("acknowledge", "resolve"):
        alert = book.open.get((command.rule, hall, command.scope))
        if alert is None or alert.fired_ms != command.fired_ms:
            raise ActionError(
                f"{command.rule} {command.scope or ''} of {hall} is no longer open "
                "(resolved meanwhile, or fired again since)"
            )
        alert_id = alert.id
        at = max([at, alert.fired_ms, *(ms for ms, _ in alert.history)])
    before = book.now.get(hall)
    book.now[hall] = at  # the book stamps what people do with its hall clock
    report = None
    try:
        if command.kind == "acknowledge":
            desk.acknowledge(alert_id, command.note)
        elif command.kind == "resolve":
            desk.resolve(alert_id, command.note)
        elif command.kind == "silence":
            desk.silence(hall, command.note, command.minutes, command.silence_rule,
                         command.scope_prefix)  # fmt: skip
        elif command.kind == "handover":
            report = desk.write_handover(hall, command.note, command.incoming, at)
        else:
            _handover_of(pipeline, hall, command.handover)
            desk.accept_handover(command.handover, command.note or None)
    finally:
        if before is None:
            book.now.pop(hall, None)
        else:
            book.now[hall] = before
    return Outcome(ok=True, at_ms=at, alert=alert_id, report=report)


def _handover_of(pipeline: Pipeline, hall: str, handover_id: int) -> None:
    """Refuse an acceptance of a report not of ``hall`` (the command's subject is the
    hall's place: a console may accept only its halls' reports).

    Raises:
        ActionError: ``hall`` has no report ``handover_id`` waiting.
    """
    ledger = pipeline.alerts.handovers
    waiting = ledger.waiting if ledger is not None else ()
    if not any(h["id"] == handover_id and h["hall"] == hall for h in waiting):
        raise ActionError(f"{hall} has no shift report #{handover_id} waiting to be accepted")


class PartitionCommands:
    """A partition's commands: carried out as the partition reads them; the outcomes of
    the latest kept for the shard that relays them."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.outcomes: OrderedDict[str, Outcome] = OrderedDict()
        self._waiting: dict[str, asyncio.Event] = {}
        self.done = 0
        self.refused = 0

    def apply(self, pipeline: Pipeline, msg: Msg) -> None:
        """One message of ``hw.op.<partition>``: carry the command out (never raises:
        a command that cannot be done is refused, and said so)."""
        seq = msg.metadata.sequence.stream
        try:
            command = decode_command(msg.data)
        except msgspec.DecodeError as error:
            log.error("command_unreadable", partition=self.partition, stream_seq=seq,
                      error=str(error)[:200])  # fmt: skip
            return
        try:
            outcome = execute(pipeline, command)
            self.done += 1
        except (ActionError, ValueError) as error:
            outcome = Outcome(ok=False, error=str(error))
            self.refused += 1
        outcome = msgspec.structs.replace(outcome, stream_seq=seq)
        pipeline.changed()
        log.info("command_applied", partition=self.partition, kind=command.kind,
                 hall=command.hall, operator=command.operator, at_ms=outcome.at_ms,
                 ok=outcome.ok, error=outcome.error, stream_seq=seq)  # fmt: skip
        self.outcomes[command.id] = outcome
        while len(self.outcomes) > REMEMBERED:
            self.outcomes.popitem(last=False)
        waiting = self._waiting.pop(command.id, None)
        if waiting is not None:
            waiting.set()

    async def outcome(self, command_id: str, timeout: float) -> Outcome | None:
        """The outcome of the command once the partition has read it (None: not within
        ``timeout`` seconds)."""
        if command_id not in self.outcomes:
            event = self._waiting.setdefault(command_id, asyncio.Event())
            try:
                async with asyncio.timeout(timeout):
                    await event.wait()
            except TimeoutError:
                self._waiting.pop(command_id, None)
                return None
        return self.outcomes.get(command_id)
