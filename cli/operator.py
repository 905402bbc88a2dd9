"""``hallwatch operator add|passwd|remove NAME`` and ``operator list``: the people who
may sign in by password, in the operators file (``<data dir>/operators`` or ``[duty]
operators_file``; scrypt hashes, mode 0600, see ``runtime.operators``).

With a roster (``--config`` with ``[duty.people]``) only its people may be added (by key
or roster name); without one, any name. The password is asked twice without echo, or read
as one line on stdin with ``--password-stdin``; a short one is refused. Each change is a
record in the audit trail, by the OS account that made it.

Imports: alerts.store, runtime (operators, config), cli.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from typing import ClassVar

from alerts.duty import Roster
from cli import options, wiring
from runtime.operators import Operators, password_problem

#: A name that is not a roster person's: what ``[duty.people]`` would accept as a key.
NAME = re.compile(r"^[^\s:]{1,64}$")


class OperatorError(Exception):
    """The change cannot be made; the message says why."""


def _person(roster: Roster, name: str) -> str:
    if roster.people:
        person = roster.person_of(name)
        if person is None:
            known = ", ".join(roster.people)
            raise OperatorError(f"{name!r} is not a person of the roster (people: {known})")
        return person
    if not NAME.match(name):
        raise OperatorError(f"{name!r}: a name is 1 to 64 characters, no spaces or ':'")
    return name


def _new_password(person: str, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"new password of {person}: ")
        if getpass.getpass("the same again: ") != password:
            raise OperatorError("the two passwords differ; nothing changed")
    problem = password_problem(password)
    if problem is not None:
        raise OperatorError(f"{problem}; nothing changed")
    return password


class OperatorCommand:
    name: ClassVar[str] = "operator"
    help: ClassVar[str] = "who may sign in by password: operator add|passwd|remove NAME, list"

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action", choices=("add", "passwd", "remove", "list"))
        parser.add_argument("person", nargs="?", metavar="NAME", help="a roster person")
        options.add_data_dir(parser, "where the operators file and the audit trail are")
        options.add_config(parser, "the duty roster ([duty.people], operators_file)")
        options.add_password_stdin(parser)

    def run(self, args: argparse.Namespace) -> int:
        cfg = wiring.config(args.config)
        known = wiring.operators(args.config, cfg, args.data_dir)
        roster = cfg.duty
        if args.action == "list":
            for line in _listing(roster, known):
                print(line)
            return 0
        if args.person is None:
            print(f"hallwatch operator {args.action}: say who (NAME)", file=sys.stderr)
            return 2
        try:
            person = _person(roster, args.person)
            what = self._change(args.action, person, known, args.password_stdin)
        except OperatorError as error:
            print(f"hallwatch operator {args.action}: {error}", file=sys.stderr)
            return 2
        store = wiring.open_store(args.data_dir)
        try:
            clock = max(store.clocks().values(), default=0)
            actor = f"os:{wiring.os_account()}"
            store.session_changed(actor, what, person, clock, {"file": str(known.path)})
        finally:
            store.close()
        print(f"{person} ({roster.name_of(person)}): {what} in {known.path}")
        return 0

    def _change(self, action: str, person: str, known: Operators, from_stdin: bool) -> str:
        """Make the change; what it was, as the audit trail says it."""
        if action == "add":
            if person in known:
                raise OperatorError(f"{person} has a password already: operator passwd {person}")
            known.set_password(person, _new_password(person, from_stdin))
            return "operator added"
        if person not in known:
            raise OperatorError(f"{person} has no password: operator add {person}")
        if action == "passwd":
            known.set_password(person, _new_password(person, from_stdin))
            return "password changed"
        known.remove(person)
        return "operator removed"


def _listing(roster: Roster, known: Operators) -> list[str]:
    """One line per person: key, roster name, OS account, whether a password is set."""
    lines = []
    for person in dict.fromkeys([*roster.people, *known.names()]):
        found = roster.people.get(person)
        account = found.os_user if found is not None and found.os_user else "-"
        password = "password set" if person in known else "no password"
        where = "" if found is not None or not roster.people else "  (not in the roster)"
        lines.append(f"{person}\t{roster.name_of(person)}\tos_user {account}\t{password}{where}")
    return lines or ["nobody: add [duty.people] to the config, then hallwatch operator add NAME"]
