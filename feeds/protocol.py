"""Hall event protocol v1: the wire types (docs/protocol.md, followed exactly).

One msgspec Struct per event kind, tagged on ``kind``; the control messages (hello,
subscribe, gap, error) are tagged on ``op``. The same Structs encode what the demo hall
sends and decode what the console receives, so the two can never disagree.

Imports: msgspec only. Every other package may import this module.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

#: Identifiers (ticket, window, zone, item, staff, case, complaint, dept, person, hall):
#: strings of 1 to 64 characters (docs/protocol.md, "Identifiers").
Ident = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
#: Free text (reasons, comments, complaint text). The protocol sets no length; a bound
#: keeps one hostile event from holding megabytes in memory.
Text = Annotated[str, msgspec.Meta(max_length=4096)]
#: Seqs stay exact in any JSON reader (2**53 - 1): a seq beyond is a vendor bug, and one
#: accepted would make every later real event an ``old_seq``.
Seq = Annotated[int, msgspec.Meta(ge=1, le=2**53 - 1)]
#: A seq in a control op (0: none yet), bounded like ``Seq``.
SeqOrZero = Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)]
Score = Annotated[int, msgspec.Meta(ge=1, le=5)]
#: Promised working days: statutory limits are tens of days; 1000 (about four years)
#: leaves room while the working-day arithmetic, a day at a time, stays ~1 ms.
Days = Annotated[int, msgspec.Meta(ge=0, le=1000)]
#: Hall time from 2000-01-01 to 2100-01-01 UTC: outside it a ``ts`` is a broken clock,
#: and the calendar arithmetic of days and deadlines would fail on it.
Timestamp = Annotated[int, msgspec.Meta(ge=946_684_800_000, lt=4_102_444_800_000)]

PROTOCOL_VERSION: Final = 1

WindowStateName = Literal["open", "paused", "closed"]
Priority = Literal["normal", "priority"]
TicketChannel = Literal["kiosk", "reservation", "app", "desk"]
ServiceOutcome = Literal["done", "to_backend", "incomplete", "rejected", "transferred"]
AbandonReason = Literal["no_show", "left", "expired"]
RatingChannel = Literal["device", "qr", "sms", "app", "hotline"]
ComplaintChannel = Literal["desk", "hotline", "online", "rating", "letter"]
CaseOutcome = Literal["approved", "denied", "withdrawn"]
MaterialsChange = Literal["materials_added", "materials_changed", "conditions_added"]

#: The closed enumerations, in a fixed order: metrics/ indexes arrays by these.
WINDOW_STATES: Final[tuple[WindowStateName, ...]] = ("open", "paused", "closed")
SERVICE_OUTCOMES: Final[tuple[ServiceOutcome, ...]] = (
    "done",
    "to_backend",
    "incomplete",
    "rejected",
    "transferred",
)
ABANDON_REASONS: Final[tuple[AbandonReason, ...]] = ("no_show", "left", "expired")
MATERIALS_CHANGES: Final[tuple[MaterialsChange, ...]] = (
    "materials_added",
    "materials_changed",
    "conditions_added",
)
#: The ``complaint.category`` values hallwatch knows (any other is kept as given): a
#: complaint that materials or conditions were added without authority (seed 001:
#: 擅自增加或改变申请材料、违规设置办理条件).
COMPLAINT_CATEGORIES: Final = ("added_materials", "added_conditions")


class _Event(
    msgspec.Struct,
    tag_field="kind",
    forbid_unknown_fields=True,
    omit_defaults=True,
    kw_only=True,
):
    """Fields every event has. ``ts`` is hall time, ms since the Unix epoch (UTC)."""

    ts: Timestamp
    hall: Ident


class _SeqEvent(_Event, kw_only=True):
    seq: Seq
    """Strictly increasing by 1 within one feed."""


class WindowState(_SeqEvent, tag="window_state", kw_only=True):
    """A window opens, pauses or closes; a new staff on an open window is a post change."""

    window: Ident
    state: WindowStateName
    staff: Ident | None = None
    reason: Text | None = None


class TicketIssued(_SeqEvent, tag="ticket_issued", kw_only=True):
    """取号. ``person`` is pseudonymized by the decoder before anyone else sees it."""

    ticket: Ident
    zone: Ident
    item: Ident | None = None
    priority: Priority = "normal"
    channel: TicketChannel = "kiosk"
    person: Ident | None = None


class TicketCalled(_SeqEvent, tag="ticket_called", kw_only=True):
    """叫号; calling the same ticket again is a recall."""

    ticket: Ident
    window: Ident


class ServiceStarted(_SeqEvent, tag="service_started", kw_only=True):
    """The window starts on the ticket. ``person`` (added in v1 without changing it) is
    whom the window serves, where the hall's system checks it (an ID card read at the
    window): one other than the ticket's holder is 盗号. Pseudonymized like
    ``ticket_issued``'s."""

    ticket: Ident
    window: Ident
    item: Ident | None = None
    staff: Ident | None = None
    person: Ident | None = None


class ServiceFinished(_SeqEvent, tag="service_finished", kw_only=True):
    """``transferred`` sends the ticket back to the queue for another window."""

    ticket: Ident
    window: Ident
    outcome: ServiceOutcome
    case: Ident | None = None


class TicketAbandoned(_SeqEvent, tag="ticket_abandoned", kw_only=True):
    ticket: Ident
    reason: AbandonReason


class Rating(_SeqEvent, tag="rating", kw_only=True):
    """好差评: 1 非常不满意 … 5 非常满意; 1-2 are bad ratings."""

    window: Ident
    score: Score
    channel: RatingChannel
    ticket: Ident | None = None
    staff: Ident | None = None
    comment: Text | None = None


class Complaint(_SeqEvent, tag="complaint", kw_only=True):
    complaint: Ident
    channel: ComplaintChannel
    window: Ident | None = None
    staff: Ident | None = None
    category: Ident | None = None
    text: Text | None = None


class ComplaintClosed(_SeqEvent, tag="complaint_closed", kw_only=True):
    complaint: Ident
    resolution: Text | None = None


class ComplaintAnswered(_SeqEvent, tag="complaint_answered", kw_only=True):
    """The complainant got an answer (现场处理答复, seed 002), before the complaint is
    settled. Added in v1 without changing it: a feed that never sends it is a v1 feed all
    the same (a complaint's first answer is then its settlement)."""

    complaint: Ident
    text: Text | None = None
    """What was answered, as the hall wrote it."""
    staff: Ident | None = None
    """Who answered (the director on duty, a window's staff)."""


class CaseSubmitted(_SeqEvent, tag="case_submitted", kw_only=True):
    """The front desk pushes a case to the back office (working-day deadline)."""

    case: Ident
    item: Ident
    dept: Ident
    promised_days: Days
    window: Ident | None = None
    ticket: Ident | None = None
    person: Ident | None = None
    legal_days: Days | None = None
    """The item's legal time limit in working days (法定办结时限, seed 004), beside the
    promised one (承诺办结时限). Added in v1 without changing it: a feed that does not
    send it is a v1 feed all the same (the config's ``[halls.H.items.I] legal_days``,
    if any, stands in)."""


class CaseAccepted(_SeqEvent, tag="case_accepted", kw_only=True):
    case: Ident


class CasePaused(_SeqEvent, tag="case_paused", kw_only=True):
    case: Ident
    reason: Text


class CaseResumed(_SeqEvent, tag="case_resumed", kw_only=True):
    case: Ident


class CaseClosed(_SeqEvent, tag="case_closed", kw_only=True):
    case: Ident
    outcome: CaseOutcome


class CaseMaterialsChanged(_SeqEvent, tag="case_materials_changed", kw_only=True):
    """The back office asked a case for materials or conditions beyond the item's
    published list (seed 001: 擅自增加或改变申请材料、违规设置办理条件). Added in v1 without
    changing it: a feed that never sends it is a v1 feed all the same."""

    case: Ident
    change: MaterialsChange
    materials: Text | None = None
    """What was asked for, as the back office wrote it."""
    staff: Ident | None = None


class Heartbeat(_Event, tag="heartbeat", kw_only=True):
    """Carries the hall clock; sent at least every 5 s when nothing else is."""

    seq: Seq | None = None


Event = (
    WindowState
    | TicketIssued
    | TicketCalled
    | ServiceStarted
    | ServiceFinished
    | TicketAbandoned
    | Rating
    | Complaint
    | ComplaintAnswered
    | ComplaintClosed
    | CaseSubmitted
    | CaseAccepted
    | CasePaused
    | CaseResumed
    | CaseClosed
    | CaseMaterialsChanged
    | Heartbeat
)
#: Every event kind, for tests and documentation.
EVENT_TYPES: Final = Event.__args__
#: Kinds that carry ``person`` (pseudonymized at decode).
PERSON_KINDS: Final = (TicketIssued, ServiceStarted, CaseSubmitted)


# --- Session control (tagged on "op") ---------------------------------------------------


class _Op(msgspec.Struct, tag_field="op", forbid_unknown_fields=True, kw_only=True):
    pass


class Hello(_Op, tag="hello", kw_only=True):
    protocol: int
    feed: Ident
    halls: list[Ident]
    first_seq: SeqOrZero
    """Oldest event still retained."""
    last_seq: SeqOrZero
    """Newest so far (0 when none yet)."""


class Subscribe(_Op, tag="subscribe", kw_only=True):
    since: SeqOrZero
    """The last seq the client has already applied (0: everything retained)."""


class Gap(_Op, tag="gap", kw_only=True):
    """Seqs ``from_``..``to`` are no longer retained: the client records the loss."""

    from_: Seq = msgspec.field(name="from")
    to: Seq


class Error(_Op, tag="error", kw_only=True):
    code: Text
    message: Text = ""


Op = Hello | Subscribe | Gap | Error
