"""A partition's alert book in its checkpoint.

``serve --feed`` keeps its alerts in the SQLite alert store, which a restart loads back
(the open ones, the silences, each identity's last resolution); a state snapshot only
adds what the store does not keep (``AlertBook.transient``). A shard has no store: its
partitions move between machines. So the partition's checkpoint carries the book itself
— open alerts, silences, the next id, the alerts closed unhandled per hall, the hall
clocks the book saw, the tail of resolved alerts, the transitions the alerts stream has
not acknowledged yet (``province.outbox``), the shift reports (``Handovers``: the store
keeps them in ``serve``) — and the book's sink is a
``Resolutions`` memory that answers what the store would: when an identity's alert last
resolved (the book's dedup of history seen again). Restored in that order, the
transient part then goes on top (``Pipeline.restore_state``).

Imports: alerts (book, model), province.outbox (its transitions), msgspec.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Final

import msgspec

from alerts.book import ActionError, AlertBook
from alerts.model import Alert, Change, Key, Silence
from province.outbox import Transition

#: Resolutions remembered (the oldest forgotten first): far more than a day of a
#: partition's alerts; the book keeps its own recent ones besides.
REMEMBERED: Final = 200_000
#: Accepted shift reports a partition keeps (every one not accepted is kept).
ACCEPTED_KEPT: Final = 500


class Resolutions:
    """The book's sink in a shard: each identity's last resolution (id, hall ms), and
    the highest alert id seen."""

    def __init__(self) -> None:
        self.last: OrderedDict[Key, tuple[int, int]] = OrderedDict()
        self.top_id = 0

    def alert_changed(self, change: Change) -> None:
        alert = change.alert
        self.top_id = max(self.top_id, alert.id)
        if alert.state == "resolved" and alert.resolved_ms is not None:
            self.last[alert.key] = (alert.id, alert.resolved_ms)
            self.last.move_to_end(alert.key)
            if len(self.last) > REMEMBERED:
                self.last.popitem(last=False)

    def silence_changed(self, silence: Silence, what: str, actor: str, at_ms: int) -> None:
        return None

    def last_resolved(self, key: Key) -> tuple[int, int] | None:
        return self.last.get(key)


class Handover(msgspec.Struct, forbid_unknown_fields=True):
    """One shift report, as the alert store keeps it (``AlertStore.handovers``)."""

    id: int
    hall: str
    written_by: str
    written_ms: int
    shift_start_ms: int
    report: str
    incoming: str | None = None
    accepted_by: str | None = None
    accepted_ms: int | None = None
    accept_note: str | None = None


class Handovers:
    """A partition's shift reports (``alerts.duty.HandoverBook``), kept in its checkpoint:
    written and accepted by operators' commands, so a replay after a takeover writes
    and accepts the same ones under the same numbers. Those not accepted are all kept,
    the accepted ones the latest ``ACCEPTED_KEPT`` (the alerts stream has every command
    and every warning of a report left unaccepted)."""

    def __init__(self) -> None:
        self.kept: list[Handover] = []
        self.next_id = 1

    def write_handover(self, hall: str, who: str, at_ms: int, shift_start_ms: int, report: str,
                       incoming: str | None) -> int:  # fmt: skip
        hid = self.next_id
        self.next_id += 1
        self.kept.append(Handover(hid, hall, who, at_ms, shift_start_ms, report, incoming))
        return hid

    def accept_handover(self, hid: int, who: str, at_ms: int, note: str | None) -> str:
        """The incoming director accepts ``hid``; returns its hall.

        Raises:
            ActionError: no such report, or accepted already.
        """
        found = next((h for h in self.kept if h.id == hid), None)
        if found is None:
            raise ActionError(f"no handover #{hid}")
        if found.accepted_by is not None:
            raise ActionError(f"handover #{hid} was already accepted by {found.accepted_by}")
        found.accepted_by, found.accepted_ms, found.accept_note = who, at_ms, note
        accepted = [h for h in self.kept if h.accepted_by is not None]
        for old in accepted[: max(0, len(accepted) - ACCEPTED_KEPT)]:
            self.kept.remove(old)
        return found.hall

    def handovers(self, unaccepted_only: bool = False) -> list[dict[str, Any]]:
        """Shift reports, oldest first (as ``AlertStore.handovers``)."""
        return [msgspec.structs.asdict(h) for h in self.kept
                if not unaccepted_only or h.accepted_by is None]  # fmt: skip


class BookPart(msgspec.Struct, forbid_unknown_fields=True):
    open: list[Alert]
    silences: list[Silence]
    next_id: int
    shed: dict[str, int]
    now: dict[str, int]
    resolved: list[Alert]
    last: list[tuple[Key, tuple[int, int]]]
    unsent: list[Transition] = []
    """Transitions the alerts stream had not acknowledged (``province.outbox``)."""
    handovers: list[Handover] = []
    """The shift reports kept (``Handovers``); none in a checkpoint of the release
    before."""
    next_handover: int = 1


_DECODER: Final = msgspec.msgpack.Decoder(BookPart)


def save(
    book: AlertBook,
    memory: Resolutions,
    unsent: Iterable[Transition] = (),
    handovers: Handovers | None = None,
) -> bytes:
    """The book's lasting part, the transitions not yet sent and the shift reports,
    msgpack."""
    open_alerts = list(book.open.values())
    top = max((a.id for a in (*open_alerts, *book.resolved)), default=0)
    return msgspec.msgpack.encode(
        BookPart(
            open=open_alerts,
            silences=list(book.silences.values()),
            next_id=max(top, memory.top_id) + 1,
            shed=dict(book.shed),
            now=dict(book.now),
            resolved=list(book.resolved),
            last=list(memory.last.items()),
            unsent=list(unsent),
            handovers=list(handovers.kept) if handovers is not None else [],
            next_handover=handovers.next_id if handovers is not None else 1,
        )
    )


def restore(
    book: AlertBook,
    memory: Resolutions,
    data: bytes | memoryview,
    handovers: Handovers | None = None,
) -> list[Transition]:
    """Load ``save``'s bytes into a new book, its memory and ``handovers``; the
    transitions not sent.

    Raises:
        msgspec.DecodeError: not what ``save`` writes.
    """
    part = _DECODER.decode(data)
    book.restore(
        part.open,
        part.silences,
        part.next_id,
        max((s.id for s in part.silences), default=0) + 1,
    )
    book.shed.update(part.shed)
    book.now.update(part.now)
    book.resolved.extend(part.resolved)
    memory.last = OrderedDict(part.last)
    memory.top_id = part.next_id - 1
    if handovers is not None:
        handovers.kept = list(part.handovers)
        handovers.next_id = part.next_handover
    return part.unsent
