"""Where a hall sits in the province (province → city → county), and the subjects the
consoles and the shards speak on, each under that place.

Supervision is three-level: the province office sees every hall, a city's office its
city's, a county's its county's. A hall's place comes from its config (``[halls.H] city =
"wenzhou"``, ``county = "ouhai"``); a hall the config does not place is under city and
county ``_`` (only the province sees it). The places' names are the config's too
(``[places.wenzhou] name = "温州市"``, ``counties = { ouhai = "瓯海区" }``): they go with
each hall's summary, for the consoles to show (an id where no name is given). Every
subject about a hall carries its place, so NATS permissions on subject prefixes give each
level its view and its actions (``province.access``):

- ``hw.view.<city>.<county>.<hall>``: the hall's summary, published by the shard that
  runs it (``province.views``);
- ``hw.hall.<city>.<county>.<hall>``: a request for the hall's whole view (its screens);
- ``hw.cmd.<user>.<city>.<county>.<hall>``: an operator's command (``province.commands``)
  from a console connected as NATS user ``<user>`` (``_``: a server without users) — the
  server lets each user publish under its own name only, so the shard knows which office
  sent it from the subject, not from the console's word;
- ``hw.sync.scope[.<city>[.<county>]]``: a console that starts asks the shards to
  publish the summaries of the halls it sees now.

A hall id is one subject token as it is (letters, digits, ``_``, ``-``) or with anything
else %-escaped (UTF-8 bytes), so any id the feeds send has one subject and back.

Imports: runtime.config, the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote

from runtime.config import Config

#: The city and county of a hall the config does not place.
UNPLACED: Final = "_"
PLACE_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
VIEW: Final = "hw.view"
HALL: Final = "hw.hall"
CMD: Final = "hw.cmd"
SYNC: Final = "hw.sync"
#: The user token of a command sent where the server has no users.
ANONYMOUS: Final = "_"


@dataclass(frozen=True, slots=True)
class Place:
    """A hall's city and county (ids, each one subject token)."""

    city: str = UNPLACED
    county: str = UNPLACED


@dataclass(frozen=True, slots=True)
class Scope:
    """What a console may see: the province (``()``), a city (``(city,)``) or a county
    (``(city, county)``)."""

    parts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Scope:
        """``""`` or ``"*"``: the province; ``"wenzhou"``; ``"wenzhou.ouhai"``.

        Raises:
            ValueError: not one of those.
        """
        if text in ("", "*", ">"):
            return cls()
        parts = tuple(text.split("."))
        if len(parts) > 2 or not all(PLACE_ID.fullmatch(p) for p in parts):
            raise ValueError(f"{text!r}: a scope is CITY or CITY.COUNTY (ids), or * for all")
        return cls(parts)

    @property
    def level(self) -> str:
        return ("province", "city", "county")[len(self.parts)]

    def pattern(self, kind: str) -> str:
        """The subjects of ``kind`` (``VIEW``, ``HALL``) under this scope."""
        return ".".join((kind, *self.parts, ">"))

    def command_pattern(self, user: str) -> str:
        """The command subjects (``command_subject``) of ``user`` under this scope."""
        return ".".join((CMD, user_token(user), *self.parts, ">"))

    @property
    def sync_subject(self) -> str:
        return ".".join((SYNC, "scope", *self.parts))

    def holds(self, place: Place) -> bool:
        return self.parts == (place.city, place.county)[: len(self.parts)]

    def __str__(self) -> str:
        return ".".join(self.parts) or "*"


def scope_of_sync(subject: str) -> Scope:
    """The scope a sync subject (``Scope.sync_subject``) asks for."""
    return Scope(tuple(subject.split(".")[3:5]))


def hall_token(hall: str) -> str:
    """``hall`` as one subject token (reversible: ``hall_of_token``)."""
    if PLACE_ID.fullmatch(hall):
        return hall
    return quote(hall, safe="").replace(".", "%2E")  # (quote leaves dots: a separator)


def hall_of_token(token: str) -> str:
    return unquote(token)


def subject(kind: str, place: Place, hall: str) -> str:
    """The subject of ``kind`` about ``hall`` at ``place``."""
    return f"{kind}.{place.city}.{place.county}.{hall_token(hall)}"


def parse_subject(name: str) -> tuple[Place, str] | None:
    """(place, hall) of a hall subject (``subject``'s inverse); None if not one."""
    parts = name.split(".")
    if len(parts) != 5:
        return None
    return Place(parts[2], parts[3]), hall_of_token(parts[4])


def user_token(user: str) -> str:
    """A NATS user's name as a subject token (``_``: none, a server without users)."""
    return user or ANONYMOUS


def command_subject(user: str, place: Place, hall: str) -> str:
    """Where a console connected as ``user`` sends a command about ``hall`` at ``place``."""
    return f"{CMD}.{user_token(user)}.{place.city}.{place.county}.{hall_token(hall)}"


def parse_command_subject(name: str) -> tuple[str, Place, str] | None:
    """(user, place, hall) of a command subject (``command_subject``'s inverse; user
    ``""`` for ``_``); None if not one."""
    parts = name.split(".")
    if len(parts) != 6:
        return None
    user = "" if parts[2] == ANONYMOUS else parts[2]
    return user, Place(parts[3], parts[4]), hall_of_token(parts[5])


class Places:
    """Each configured hall's place; every other hall is unplaced. And the places' display
    names (``[places.C] name``, ``counties``), which travel with each hall's summary."""

    def __init__(
        self,
        placed: Mapping[str, Place] | None = None,
        names: Mapping[str, tuple[str, Mapping[str, str]]] | None = None,
    ) -> None:
        self.placed = dict(placed or {})
        self.names = dict(names or {})
        """City id → (its name, county id → name); ``""``: no name given."""

    @classmethod
    def of(cls, config: Config) -> Places:
        """The places ``[halls.H] city``/``county`` give (a hall with a city and no
        county is in the city's county ``_``), named as ``[places]`` names them."""
        return cls(
            {
                hall: Place(h.city, h.county or UNPLACED)
                for hall, h in config.halls.items()
                if h.city is not None
            },
            {city: (p.name or "", dict(p.counties)) for city, p in config.places.items()},
        )

    def __call__(self, hall: str) -> Place:
        return self.placed.get(hall) or Place()

    def names_of(self, place: Place) -> tuple[str, str]:
        """The display names of ``place``'s city and county (``""`` where none is given)."""
        city, counties = self.names.get(place.city) or ("", {})
        return city, counties.get(place.county, "")
