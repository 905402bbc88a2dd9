"""Who may act at a console: signing in by password (the operators file), by the OS
account a roster person is mapped to (``os_user``; an SSH login is an authentication), or
as the demo's own operator; failed attempts slowed down; signing out after an idle time.

``SignIn`` is one console's gate; the desk it works on is passed to each call (a replay
seek back swaps the desk). It checks, the desk records (``runtime.desk``). ``identify``
does the same for a one-shot command (``hallwatch handover``).

The clock is injected (``time.monotonic`` by default), so the idle time and the delays
are tested without waiting.

Imports: alerts.duty (Roster), runtime.desk, runtime.operators, the standard library.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final, Literal

from alerts.duty import Roster
from runtime.desk import Desk, Session
from runtime.operators import Operators

#: The longest delay after failed attempts, seconds.
MAX_DELAY_S: Final = 300.0
#: The longest claimed name a refused attempt writes into the audit trail.
CLAIM_CHARS: Final = 64

Refusal = Literal["wrong", "wait", "no_passwords"]
"""Why a sign-in was refused: wrong person or password; too soon after failures (see
``SignIn.wait_s``); nobody has a password yet."""


class Throttle:
    """After each failed attempt, refuse the next until a time: 1 s after the first
    failure, then 2, 4, 8 … up to ``MAX_DELAY_S``; a success starts over. Never sleeps."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failures = 0
        self.until = 0.0
        """Clock time before which attempts are refused."""

    def wait_s(self) -> float:
        return max(0.0, self.until - self.clock())

    def failed(self) -> None:
        self.failures += 1
        self.until = self.clock() + min(2.0 ** (self.failures - 1), MAX_DELAY_S)

    def passed(self) -> None:
        self.failures, self.until = 0, 0.0


class SignIn:
    """One console's gate: who may sign in, and how.

    Args:
        roster: the ``[duty]`` roster (people, their ``os_user``, the idle time).
        operators: the operators file (passwords); None: nobody signs in by password.
        auto: who signs in without a password — the person the OS account maps to, or
            the demo's operator — at start and on the sign-in key (never in a browser).
        ask: a person to ask the password of at start (``--operator`` naming someone
            other than the OS account's person).
        idle_minutes: signed out after this long without a key; default the roster's.
        clock: seconds, monotonic.
    """

    def __init__(
        self,
        roster: Roster,
        operators: Operators | None = None,
        *,
        auto: Session | None = None,
        ask: str | None = None,
        idle_minutes: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.roster = roster
        self.operators = operators
        self.auto = auto
        self.ask = ask
        minutes = idle_minutes if idle_minutes is not None else roster.idle_sign_out_minutes
        self.idle_s = minutes * 60
        self.clock = clock
        self.throttle = Throttle(clock)
        self.last_key = clock()
        """Clock time of the last key press."""

    def people(self) -> dict[str, str]:
        """Who may sign in by password: person → roster name (or the name itself)."""
        known = self.operators.names() if self.operators is not None else []
        return {p: self.roster.name_of(p) for p in [*self.roster.people, *known]}

    def person(self, text: str) -> str | None:
        """The person ``text`` names (a roster key or name, an operators-file name)."""
        text = text.strip()
        found = self.roster.person_of(text)
        if found is not None:
            return found
        if self.operators is not None and text in self.operators:
            return text
        if self.auto is not None and text == self.auto.person:
            return text
        return None

    @property
    def has_passwords(self) -> bool:
        return self.operators is not None and bool(self.operators.names())

    def wait_s(self) -> float:
        """Seconds before another attempt is taken (0: now)."""
        return self.throttle.wait_s()

    async def attempt(self, desk: Desk, who: str, password: str) -> Refusal | None:
        """Sign ``who`` in at ``desk`` if ``password`` is theirs (None); else why not.

        A wrong person or password is recorded in the audit trail and delays the next
        attempt; one made too soon is refused unchecked. The password is checked in a
        thread (scrypt is slow on purpose); the console goes on drawing meanwhile.
        """
        if self.wait_s() > 0:
            return "wait"
        if self.operators is None or not self.has_passwords:
            return "no_passwords"
        person = self.person(who)
        operators = self.operators
        ok = await asyncio.to_thread(operators.check, person or who, password)
        if person is None or not ok:
            self.throttle.failed()
            why = "wrong password" if person is not None else "unknown person"
            desk.refuse_sign_in((person or who.strip())[:CLAIM_CHARS] or "?", why)
            return "wrong"
        self.throttle.passed()
        desk.sign_in(person, "password")
        self.touch()
        return None

    def sign_in_auto(self, desk: Desk) -> bool:
        """Sign the ``auto`` person in at ``desk`` (False: there is none)."""
        if self.auto is None:
            return False
        desk.sign_in(self.auto.person, self.auto.method)
        self.touch()
        return True

    def touch(self) -> None:
        """A key was pressed: the idle time starts again."""
        self.last_key = self.clock()

    def idle(self, desk: Desk) -> bool:
        """Whether ``desk``'s person has been idle long enough to be signed out."""
        return desk.operator is not None and self.clock() - self.last_key >= self.idle_s


class SignInError(Exception):
    """A one-shot command cannot say who runs it; the message says why and what to do."""


def identify(
    roster: Roster,
    operators: Operators | None,
    os_account: str,
    operator: str | None,
    password: Callable[[str], str],
) -> Session:
    """Who runs a one-shot command (``hallwatch handover``): the person the OS account
    maps to; or ``operator``, which must be that person or is confirmed with its password
    (``password(person)`` asks for it).

    Raises:
        SignInError: nobody, an unknown name, or a wrong password.
    """
    mapped = roster.person_of_os_user(os_account)
    if operator is None:
        if mapped is not None:
            return Session(mapped, "os_account")
        raise SignInError(
            f"who runs this? the OS account {os_account!r} is nobody's in the roster: give "
            "--operator NAME (asks the password), or set os_user in [duty.people.NAME]"
        )
    gate = SignIn(roster, operators)
    person = gate.person(operator)
    if person is None:
        raise SignInError(
            f"{operator!r} is not a person of the roster or the operators file "
            "(hallwatch operator list)"
        )
    if person == mapped:
        return Session(person, "os_account")
    if operators is None or person not in operators:
        raise SignInError(
            f"{person!r} has no password: hallwatch operator add {person} (or log in as "
            "the OS account mapped to them)"
        )
    if not operators.check(person, password(person)):
        raise SignInError(f"wrong password for {person!r}")
    return Session(person, "password")
