"""A shard's side of the consoles over NATS: its halls' summaries out, their whole views
and the operators' commands in.

Each shard, for the partitions it runs (``province.shard``):

- publishes each hall's ``HallSummary`` on ``hw.view.<city>.<county>.<hall>`` when it
  changed (looked at every ``LOOK_S``, so at most about once a second a hall) and every
  ``KEEPALIVE_S`` regardless; at once for the halls under a console's scope when it asks
  (``hw.sync.scope…``, a console starting); nothing of a partition still replaying after
  a takeover (it shows the past) until it has caught up;
- answers ``hw.hall.<city>.<county>.<hall>`` with the hall's ``HallDetail``
  (``province.views``), if it runs the hall and the hall is where the subject says;
- takes ``hw.cmd.<user>.<city>.<county>.<hall>``: if it runs the hall, stamps the
  command with the console's NATS user as the subject says (the server lets a user
  publish under its own name only: the office that sent it is the server's word, not
  the console's), appends it to the partition's subject of the events stream and
  answers with its outcome once the partition has carried it out (``province.commands``).

A shard that does not run the hall does not answer: the owner does (every shard listens,
only one runs a partition). A hall whose place in the subject is not its place here is
not answered either: a city's credentials cannot reach another city's hall by naming it
under their own city.

Imports: province (commands, partition, places, views, wire, cluster), runtime.view, nats,
msgspec, structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Final

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

from province.cluster import TRANSIENT
from province.commands import Command, Outcome, decode_command, encode
from province.partition import Partition
from province.places import (
    CMD,
    HALL,
    SYNC,
    VIEW,
    Place,
    Places,
    Scope,
    parse_command_subject,
    parse_subject,
    scope_of_sync,
)
from province.places import subject as hall_subject
from province.views import (
    KEEPALIVE_S,
    HallSummary,
    detail_of,
    encode_detail,
    encode_summary,
    summaries,
)
from province.wire import MSG_ID, ops_subject

log = structlog.get_logger("hallwatch.consoles")

#: How often the partitions' views are looked at for changed halls.
LOOK_S: Final = 1.0
#: How long the shard tries to append a command, and waits for its outcome.
COMMAND_S: Final = 5.0


class ShardConsoles:
    """What one shard does for the consoles (``run`` until cancelled)."""

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        places: Places,
        partitions: Callable[[], Mapping[int, Partition]],
    ) -> None:
        self.nc = nc
        self.js = js
        self.places = places
        self.partitions = partitions
        """The partitions this shard runs now."""
        self.sent: dict[str, tuple[HallSummary, float]] = {}
        """Hall → the summary last published, and when (monotonic)."""
        self._latest: dict[str, HallSummary] = {}
        self._seen: dict[int, int] = {}
        """Partition → the generation of its view last summarized."""
        self._asked: list[Scope] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.published = 0
        self.relayed = 0

    async def run(self) -> None:
        subs: list[Subscription] = []
        try:
            subs.append(await self.nc.subscribe(f"{SYNC}.>", cb=self._sync))
            subs.append(await self.nc.subscribe(f"{HALL}.>", cb=self._detail))
            subs.append(await self.nc.subscribe(f"{CMD}.>", cb=self._command))
            while True:
                try:
                    await self.look()
                except (*TRANSIENT, nats.errors.Error) as error:  # (reconnecting: next look)
                    log.info("summaries_not_published", error=type(error).__name__)
                await asyncio.sleep(LOOK_S)
        finally:
            for task in list(self._tasks):
                task.cancel()
            for sub in subs:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

    # --- summaries out --------------------------------------------------------------------

    async def look(self) -> None:
        """Publish the summaries that changed, are due again, or were asked for."""
        now = time.monotonic()
        # A partition still replaying shows the past: its halls wait until it caught up
        # (meanwhile the consoles keep the last summaries, then call them stale).
        running = {n: p for n, p in self.partitions().items() if p.caught_up}
        for number, partition in running.items():
            view = partition.pipeline.view
            if self._seen.get(number) != view.generation:
                self._seen[number] = view.generation
                self._latest.update(summaries(view, number, self.places))
        asked, self._asked = self._asked, []
        gone = {s.partition for s in self._latest.values()} - running.keys()
        for hall in [h for h, s in self._latest.items() if s.partition in gone]:
            del self._latest[hall]  # given back or lost: its new owner publishes it
            self.sent.pop(hall, None)
        for number in list(self._seen):
            if number not in running:
                del self._seen[number]
        for hall, summary in self._latest.items():
            last = self.sent.get(hall)
            due = (
                last is None
                or last[0] != summary
                or now - last[1] >= KEEPALIVE_S
                or any(scope.holds(self.places(hall)) for scope in asked)
            )
            if due:
                place = self.places(hall)
                await self.nc.publish(hall_subject(VIEW, place, hall), encode_summary(summary))
                self.sent[hall] = (summary, now)
                self.published += 1

    async def _sync(self, msg: Msg) -> None:
        self._asked.append(scope_of_sync(msg.subject))

    # --- a hall's whole view --------------------------------------------------------------

    def _owner(self, found: tuple[Place, str] | None) -> tuple[str, int, Partition] | None:
        """(hall, partition number, partition) of a hall at a place (a subject's) that
        this shard answers for."""
        if found is None:
            return None
        place, hall = found
        if self.places(hall) != place:
            return None
        for number, partition in self.partitions().items():
            if hall in partition.pipeline.state.halls:
                return hall, number, partition
        return None

    async def _detail(self, msg: Msg) -> None:
        owner = self._owner(parse_subject(msg.subject))
        if owner is None or not msg.reply:
            return
        hall, number, partition = owner
        if not partition.caught_up:  # (replaying: the past; the console asks again)
            return
        detail = detail_of(partition.pipeline, hall, number)
        if detail is not None:
            with contextlib.suppress(*TRANSIENT):
                await msg.respond(encode_detail(detail))

    # --- commands in ----------------------------------------------------------------------

    async def _command(self, msg: Msg) -> None:
        found = parse_command_subject(msg.subject)
        if found is None or not msg.reply:
            return
        user, place, hall = found
        owner = self._owner((place, hall))
        if owner is None:
            return
        # Its own task: a command waits for its partition (up to COMMAND_S), others not.
        task = asyncio.create_task(self._answer(msg, user, *owner))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(
        self, msg: Msg, user: str, hall: str, number: int, partition: Partition
    ) -> None:
        outcome = await self._relay(msg.data, user, hall, number, partition)
        with contextlib.suppress(*TRANSIENT):
            await msg.respond(encode(outcome))

    async def _relay(
        self, data: bytes, user: str, hall: str, number: int, partition: Partition
    ) -> Outcome:
        try:
            command: Command = decode_command(data)
        except msgspec.DecodeError as error:
            return Outcome(ok=False, error=f"not a command: {error}")
        if command.hall != hall:
            return Outcome(ok=False, error="the command names another hall than its subject")
        if command.console != user:  # (the office is the server's word: stamped)
            command = msgspec.structs.replace(command, console=user)
            data = encode(command)
        done = partition.commands.outcomes.get(command.id)
        if done is not None:  # sent again after a lost answer: it was carried out once
            return done
        if not partition.caught_up:
            return Outcome(ok=False, error="the hall is being taken over by a shard: try "
                           "again in a few seconds")  # fmt: skip
        deadline = time.monotonic() + COMMAND_S
        while True:
            try:
                ack = await self.js.publish(ops_subject(number), data, headers={MSG_ID: command.id})
                break
            except (*TRANSIENT, nats.js.errors.APIError) as error:
                if time.monotonic() > deadline:
                    return Outcome(ok=False, error="the stream did not take the command "
                                   f"({type(error).__name__}): send it again")  # fmt: skip
                await asyncio.sleep(0.2)
        self.relayed += 1
        log.info("command_appended", hall=hall, kind=command.kind, operator=command.operator,
                 partition=number, stream_seq=ack.seq, duplicate=bool(ack.duplicate))  # fmt: skip
        wait = max(0.5, deadline - time.monotonic())
        outcome = await partition.commands.outcome(command.id, wait)
        if outcome is None:
            return Outcome(ok=True, stream_seq=ack.seq, error="on the stream, not carried out "
                           "yet: it will be where it stands")  # fmt: skip
        return outcome
