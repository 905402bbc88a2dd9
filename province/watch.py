"""A console's side of the province over NATS: the halls its credentials see, their
whole views, and the operator's actions sent as commands.

``open_watch`` connects with the console's credentials (refused ones are said, never
retried forever), asks the server what the user may see (``province.access``), follows
the summaries of those halls (``hw.view.<scope>.>``) and asks the shards to publish them
now (``hw.sync``). ``ProvinceWatch`` keeps the latest summary of each hall and when it was
heard (a hall unheard of for ``STALE_S`` is stale: its shard is gone, a takeover is under
way); ``detail`` asks the hall's owner for its whole view.

``RemoteDesk`` is the console's ``Desk`` over NATS: the hall shown is the detail last
fetched, and what the operator does — acknowledge, resolve, silence, write the shift
report — is sent as a ``Command`` (``province.commands``) stamped with the operator and
the hall time on the screen; the answer (done, or refused and why; the shift report)
comes back later to ``answered``. Accepting a shift report is not done over NATS yet.

Imports: alerts (book, duty, model), runtime (desk, pipeline, view), province (access,
cluster, commands, places, views), nats, msgspec, structlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final

import msgspec
import nats.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg

from alerts.book import ActionError
from alerts.duty import Roster
from alerts.model import Silence
from province.access import USER_INFO, AccessRefused, inbox_prefix, refused_message, scopes, user_of
from province.cluster import connect
from province.commands import Command, Kind, Outcome, decode_outcome, encode
from province.places import HALL, VIEW, Place, Scope, command_subject, subject
from province.views import STALE_S, HallDetail, HallSummary, decode_detail, decode_summary, view_of
from runtime.desk import Desk
from runtime.pipeline import Pipeline
from runtime.view import AlertView

log = structlog.get_logger("hallwatch.watch")

#: How long a console waits for a hall's view.
DETAIL_S: Final = 3.0
#: How long it waits for a command's outcome (the shard waits up to 5 s for its partition).
ANSWER_S: Final = 8.0


class ProvinceWatch:
    """The halls one console sees, as their shards last said."""

    def __init__(self, nc: Client, user: str, seen: Sequence[Scope]) -> None:
        self.nc = nc
        self.user = user
        """The NATS user (the office), stamped on its commands."""
        self.scopes = tuple(seen)
        """What the credentials let this console see."""
        self.summaries: dict[str, HallSummary] = {}
        """Hall → its latest summary."""
        self.heard: dict[str, float] = {}
        """Hall → when its summary last came (monotonic)."""
        self.generation = 0
        """Goes up with every summary that came (the screen repaints when it moved)."""
        self.refused = 0
        """Messages that were no summary (logged)."""

    @property
    def scope_label(self) -> str:
        """The scopes as the screen says them: ``*`` for the province."""
        return ", ".join(str(s) for s in self.scopes)

    async def start(self) -> None:
        """Follow every scope's summaries, and ask the shards for them now."""
        for scope in self.scopes:
            await self.nc.subscribe(scope.pattern(VIEW), cb=self._summary)
        await self.nc.flush()
        for scope in self.scopes:
            await self.nc.publish(scope.sync_subject, b"")
        await self.nc.flush()

    async def _summary(self, msg: Msg) -> None:
        try:
            summary = decode_summary(msg.data)
        except msgspec.DecodeError as error:
            self.refused += 1
            log.warning("summary_unreadable", subject=msg.subject, error=str(error)[:200])
            return
        self.summaries[summary.hall] = summary
        self.heard[summary.hall] = time.monotonic()
        self.generation += 1

    def stale(self, hall: str, now: float | None = None) -> bool:
        """Nothing heard of ``hall`` for ``STALE_S`` seconds."""
        heard = self.heard.get(hall)
        return heard is None or (now if now is not None else time.monotonic()) - heard > STALE_S

    def stale_halls(self, now: float | None = None) -> set[str]:
        """Every hall unheard of for ``STALE_S`` seconds (one pass: a repaint's)."""
        cutoff = (now if now is not None else time.monotonic()) - STALE_S
        return {hall for hall, heard in self.heard.items() if heard < cutoff}

    def place(self, hall: str) -> Place:
        s = self.summaries.get(hall)
        return Place(s.city, s.county) if s is not None else Place()

    async def detail(self, hall: str) -> HallDetail | None:
        """``hall``'s whole view from the shard that runs it; None if none answered (or
        no summary of it came yet: its place is not known)."""
        if hall not in self.summaries:
            return None
        try:
            reply = await self.nc.request(
                subject(HALL, self.place(hall), hall), b"", timeout=DETAIL_S
            )
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            return None
        try:
            return decode_detail(reply.data)
        except ValueError as error:
            log.warning("detail_unreadable", hall=hall, error=str(error)[:200])
            return None

    async def send(self, command: Command) -> Outcome:
        """``command`` to the shard that runs its hall; its outcome (a refusal too)."""
        where = command_subject(self.user, self.place(command.hall), command.hall)
        try:
            reply = await self.nc.request(where, encode(command), timeout=ANSWER_S)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
            return Outcome(
                ok=False,
                error=f"no shard answered for {command.hall} within {ANSWER_S:g} s (a "
                "takeover?): send it again (it is carried out once)",
            )
        try:
            return decode_outcome(reply.data)
        except msgspec.DecodeError as error:
            return Outcome(ok=False, error=f"an answer that is no outcome: {error}")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.nc.close()


async def open_watch(
    urls: Sequence[str], name: str, auth: tuple[str, str] | None = None
) -> ProvinceWatch:
    """Connect as the credentials say (``auth``: (user, password) of ``--nats-auth-file``,
    ``province.access.read_credentials``; else the URLs'), learn what they may see and
    start following it.

    Raises:
        AccessRefused: the cluster refused the credentials, cannot be reached, or lets
            them see no hall.
    """
    user, password = user_of(urls, auth)
    inbox = inbox_prefix(user)

    async def quiet(error: Exception) -> None:  # (nats-py would print tracebacks)
        log.info("nats_error", error=f"{type(error).__name__}: {error}"[:200])

    # A first connection that gives up at once: a refusal is said, not retried forever.
    probe = Client()
    try:
        await probe.connect(
            servers=list(urls),
            name=name,
            user=user if password is not None else None,
            password=password,
            inbox_prefix=inbox,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.2,  # type: ignore[arg-type]  # (seconds, a float)
            connect_timeout=3,
            error_cb=quiet,
        )
    except (nats.errors.Error, OSError, TimeoutError) as error:
        raise AccessRefused(refused_message(urls, user, error)) from None
    try:
        info: dict[str, Any] = json.loads((await probe.request(USER_INFO, b"", timeout=3)).data)
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError, ValueError):
        raise AccessRefused(
            f"user {user!r} may not ask the server what it may see: allow it to publish "
            f"{USER_INFO} (province.access writes the users)"
        ) from None
    finally:
        await probe.close()
    seen = scopes(info)
    if not seen:
        raise AccessRefused(f"user {user!r} may see no hall: its permissions allow no "
                            "hw.view prefix (province.access)")  # fmt: skip
    nc = await connect(
        urls,
        name,
        user=user if password is not None else None,
        password=password,
        inbox_prefix=inbox,
    )
    watch = ProvinceWatch(nc, user, seen)
    await watch.start()
    log.info("watching", user=user, scopes=watch.scope_label)
    return watch


class RemoteDesk(Desk):
    """A desk on the halls of a ``ProvinceWatch``: actions go as commands."""

    def __init__(
        self,
        watch: ProvinceWatch,
        *,
        roster: Roster | None = None,
        operator: str | None = None,
        method: str = "given",
    ) -> None:
        super().__init__(Pipeline(), operator=operator, method=method, roster=roster)
        self.watch = watch
        self.histories: dict[int, list[tuple[int, str]]] = {}
        """The shown hall's alerts' changes (the timeline)."""
        self.answered: Callable[[Command, Outcome], None] = lambda command, outcome: None
        """Told each outcome as it comes back (the console says it)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._shown = 0

    def show(self, detail: HallDetail) -> None:
        """The hall shown is now ``detail``'s."""
        self._shown += 1
        self.pipeline.view = view_of(detail, self._shown)
        self.histories = detail.histories

    def _alert(self, alert_id: int) -> AlertView:
        view = self.pipeline.view
        for a in (*view.alerts, *view.resolved):
            if a.id == alert_id:
                return a
        raise ActionError(f"no alert #{alert_id} on the screen")

    def _hall_now(self, hall: str) -> int:
        snap = self.pipeline.view.city.halls.get(hall)
        return snap.now_ms if snap is not None else 0

    def _send(self, kind: Kind, hall: str, **fields: Any) -> Command:
        """Stamp and send a command (the outcome comes to ``answered``)."""
        who = self._actor()
        assert self.session is not None
        command = Command(
            id=uuid.uuid4().hex,
            kind=kind,
            hall=hall,
            operator=who,
            signed_in_by=self.session.method,
            at_ms=self._hall_now(hall),
            console=self.watch.user,
            **fields,
        )
        task = asyncio.get_running_loop().create_task(self._deliver(command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return command

    async def _deliver(self, command: Command) -> None:
        outcome = await self.watch.send(command)
        log.info("command_answered", kind=command.kind, hall=command.hall, ok=outcome.ok,
                 error=outcome.error, stream_seq=outcome.stream_seq)  # fmt: skip
        self.answered(command, outcome)

    async def settled(self) -> None:
        """Wait for every command sent to be answered (tests, a console closing)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def acknowledge(self, alert_id: int, note: str = "") -> None:
        a = self._alert(alert_id)
        self._send("acknowledge", a.hall, rule=a.rule, scope=a.scope, fired_ms=a.fired_ms,
                   note=note)  # fmt: skip

    def resolve(self, alert_id: int, note: str) -> None:
        if not note.strip():
            raise ActionError("a resolution by hand needs a note saying what was done")
        a = self._alert(alert_id)
        self._send("resolve", a.hall, rule=a.rule, scope=a.scope, fired_ms=a.fired_ms,
                   note=note.strip())  # fmt: skip

    def silence(self, hall: str, why: str, minutes: float, rule: str | None = None,
                scope_prefix: str = "") -> Silence:  # fmt: skip
        """Sent; the silence as asked (its number is the shard's, said in the answer)."""
        if not why.strip():
            raise ActionError("a silence needs who and why")
        command = self._send("silence", hall, note=why.strip(), minutes=minutes,
                             silence_rule=rule, scope_prefix=scope_prefix)  # fmt: skip
        now = command.at_ms
        return Silence(0, hall, rule, scope_prefix, command.operator, why.strip(), now,
                       now + int(minutes * 60_000))  # fmt: skip

    def write_handover(
        self, hall: str, notes: str = "", incoming: str | None = None, at_ms: int | None = None
    ) -> str:
        """Sent; the shift report comes with the answer (``answered``): "" here. The
        hall's partition keeps it until the incoming director accepts it. (The command
        carries the hall time on the screen: ``at_ms`` is not for a console.)"""
        self._send("handover", hall, note=notes, incoming=incoming)
        return ""

    def accept_handover(self, handover_id: int, note: str | None = None) -> None:
        """Sent, for the hall whose shift report ``handover_id`` is on the screen."""
        waiting = self.pipeline.view.handovers_unaccepted
        hall = next((h for hid, h, _, _ in waiting if hid == handover_id), None)
        if hall is None:
            raise ActionError(f"no shift report #{handover_id} waiting on the screen")
        self._send("accept_handover", hall, handover=handover_id, note=note or "")

    def timeline(self, alert_id: int) -> tuple[tuple[int, str, str, str], ...]:
        """The alert's changes as its shard last sent them (who did each: the alerts
        stream and the nodes' stores have it)."""
        return tuple((ms, "", what, "") for ms, what in self.histories.get(alert_id, ()))
