"""``hallwatch handover``: the outgoing duty director's shift report (交接班), or the
incoming one's acceptance, on the alert store.

It runs in its own process next to a running ``serve`` or console (SQLite WAL lets them
share the file) and stamps hall time from the clocks the running pipeline keeps in the
store, never wall time.

Who runs it is signed in as at the console: the person the OS account maps to
(``os_user``), or ``--operator NAME`` confirmed with that person's password (asked without
echo, or one line on stdin with ``--password-stdin``). The stored record says how; the
report names people by their roster name. The writer of a report cannot accept it.

Imports: alerts.store, alerts.duty, feeds.hallclock, runtime (config, signin), cli.
"""

from __future__ import annotations

import argparse
import sys
from typing import ClassVar

from alerts.duty import Roster, shift_report
from alerts.names import NO_NAMES, Names
from alerts.store import NOBODY, AlertStore, StoreError, signed_in
from cli import options, wiring
from feeds.hallclock import day_start_ms, service_day
from runtime.signin import SignInError, identify


class CommandError(Exception):
    """The command cannot be done; the message says why."""


def _hall_and_now(store: AlertStore, hall: str | None) -> tuple[str, int]:
    clocks = store.clocks()
    if hall is None:
        if len(clocks) != 1:
            known = ", ".join(clocks) or "none yet"
            raise CommandError(f"say which hall with --hall (halls seen: {known})")
        hall = next(iter(clocks))
    if hall not in clocks:
        raise CommandError(f"hall {hall!r} has not been seen (is serve or the console running?)")
    return hall, clocks[hall]


def write_handover(
    store: AlertStore,
    roster: Roster,
    who: str,
    hall: str | None = None,
    notes: str = "",
    incoming: str | None = None,
    places: Names = NO_NAMES,
) -> tuple[int, str]:
    """The outgoing director's shift report for ``hall``: stored and returned (id, Markdown).
    ``places``: display names (the config's).

    The shift starts at the roster's shift start, else at the last report of the hall,
    else at the start of the service day.
    """
    hall, now = _hall_and_now(store, hall)
    duty = roster.on_duty(now)
    earlier = [h["written_ms"] for h in store.handovers() if h["hall"] == hall]
    start = duty.start_ms if duty is not None else max(earlier, default=0)
    start = start or day_start_ms(service_day(now))
    if incoming is None:
        nxt = roster.on_duty(duty.end_ms) if duty is not None else None
        incoming = nxt.person if nxt is not None and nxt.person != who else None
    alerts = [a for a in store.alerts(start, now) if a.hall == hall]
    report = shift_report(hall, who, start, now, alerts, store.figures(hall), notes, incoming,
                          roster.name_of, places)  # fmt: skip
    return store.write_handover(hall, who, now, start, report, incoming), report


def accept_handover(store: AlertStore, handover_id: int, who: str, note: str | None) -> str:
    """The incoming director accepts report ``handover_id``; returns a confirmation line."""
    found = next((h for h in store.handovers() if h["id"] == handover_id), None)
    if found is None:
        raise CommandError(f"no handover #{handover_id}")
    if found["written_by"] == who:
        raise CommandError("the incoming director accepts, not the one who wrote it")
    now = store.clocks().get(found["hall"], found["written_ms"])
    try:
        store.accept_handover(handover_id, who, max(now, found["written_ms"]), note)
    except StoreError as error:
        raise CommandError(str(error)) from error
    return f"handover #{handover_id} ({found['hall']}, by {found['written_by']}) accepted by {who}"


class HandoverCommand:
    name: ClassVar[str] = "handover"
    help: ClassVar[str] = "write the shift report (Markdown), or accept one"

    def define(self, parser: argparse.ArgumentParser) -> None:
        options.add_data_dir(parser, "where the alert database is")
        options.add_config(parser, "the duty roster")
        options.add_operator(parser)
        options.add_password_stdin(parser)
        parser.add_argument("--hall", help="the hall (needed when several are known)")
        parser.add_argument("--notes", default="", help="the outgoing director's notes")
        parser.add_argument("--incoming", help="who takes over (default: from the roster)")
        parser.add_argument(
            "--accept", type=int, metavar="ID", help="accept shift report ID instead"
        )

    def run(self, args: argparse.Namespace) -> int:
        cfg = wiring.config(args.config)
        roster = cfg.duty
        known = wiring.operators(args.config, cfg, args.data_dir)
        store = wiring.open_store(args.data_dir)
        try:
            ask = options.password_reader(args.password_stdin)
            try:
                session = identify(roster, known, wiring.os_account(), args.operator, ask)
            except SignInError as error:
                if args.operator is not None:
                    claimed = roster.person_of(args.operator) or args.operator
                    store.session_changed(NOBODY, "sign-in refused", claimed,
                                          max(store.clocks().values(), default=0),
                                          {"why": str(error), "command": "handover"})  # fmt: skip
                raise CommandError(str(error)) from error
            who = session.person
            with signed_in(who, session.method):
                if args.accept is not None:
                    print(accept_handover(store, args.accept, who, args.notes))
                else:
                    hid, report = write_handover(
                        store, roster, who, args.hall, args.notes, args.incoming, cfg.names()
                    )
                    print(report)
                    print(
                        f"(stored as handover #{hid}; accept with: hallwatch handover "
                        f"--accept {hid})"
                    )
        except CommandError as error:
            print(f"hallwatch handover: {error}", file=sys.stderr)
            return 2
        finally:
            store.close()
        return 0
