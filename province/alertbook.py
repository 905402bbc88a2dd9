"""A partition's alert book in its checkpoint.

``serve --feed`` keeps its alerts in the SQLite alert store, which a restart loads back
(the open ones, the silences, each identity's last resolution); a state snapshot only
adds what the store does not keep (``AlertBook.transient``). A shard has no store: its
partitions move between machines. So the partition's checkpoint carries the book itself
— open alerts, silences, the next id, the alerts closed unhandled per hall, the hall
clocks the book saw, the tail of resolved alerts, the transitions the alerts stream has
not acknowledged yet (``province.outbox``) — and the book's sink is a
``Resolutions`` memory that answers what the store would: when an identity's alert last
resolved (the book's dedup of history seen again). Restored in that order, the
transient part then goes on top (``Pipeline.restore_state``).

Imports: alerts (book, model), province.outbox (its transitions), msgspec.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Final

import msgspec

from alerts.book import AlertBook
from alerts.model import Alert, Change, Key, Silence
from province.outbox import Transition

#: Resolutions remembered (the oldest forgotten first): far more than a day of a
#: partition's alerts; the book keeps its own recent ones besides.
REMEMBERED: Final = 200_000


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


_DECODER: Final = msgspec.msgpack.Decoder(BookPart)


def save(book: AlertBook, memory: Resolutions, unsent: Iterable[Transition] = ()) -> bytes:
    """The book's lasting part, and the transitions not yet sent, msgpack."""
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
        )
    )


def restore(book: AlertBook, memory: Resolutions, data: bytes | memoryview) -> list[Transition]:
    """Load ``save``'s bytes into a new book and its memory; the transitions not sent.

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
    return part.unsent
