"""Who sees what over NATS: a console's credentials are its view of the province.

The NATS server's users say it, with permissions on subject prefixes (``province.places``):
a city's user may subscribe to ``hw.view.<city>.>`` and publish to ``hw.hall.<city>.>``
(its halls' screens), ``hw.cmd.<user>.<city>.>`` (their alerts, if it may act: under its
own name only, which the shards stamp on the command as the office that sent it) and its
own ``hw.sync.scope.<city>``; a county's one level deeper; the province's everything. Replies
come to the user's own inbox prefix (``_INBOX_<user>``), so no console reads another's
answers. The processes of the province (gateways, shards, the archiver) are users without
such limits. ``authorization`` writes the server's ``authorization { users = [...] }``
block for a list of ``User``; docs/scale.md shows one.

A console learns its view from the server itself: it asks ``$SYS.REQ.USER.INFO`` for its
own permissions and follows each ``hw.view`` prefix they allow (a server without
authorization: the whole province). A console without credentials, where the server
requires them, is refused at connect (``AccessRefused``, said in words, not a traceback).

Every NATS command takes its credentials from ``--nats-auth-file`` (``read_credentials``),
never from its command line, where ``ps`` shows them to every user of the machine.

Imports: province.places, runtime.config (the secret-file reader), the standard library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from province.places import ANONYMOUS, HALL, PLACE_ID, VIEW, Scope
from runtime.config import ConfigError, read_token

#: Where the server says what a user may do (any user may ask, if allowed to publish it).
USER_INFO: Final = "$SYS.REQ.USER.INFO"
_VIEW_PREFIX: Final = re.compile(r"^hw\.view\.(?:([A-Za-z0-9_-]+)\.(?:([A-Za-z0-9_-]+)\.)?)?>$")


class AccessRefused(Exception):
    """The cluster refused this console, or lets it see nothing; the message says why and
    what to do."""


@dataclass(frozen=True, slots=True)
class User:
    """A NATS user of the province."""

    name: str
    password: str
    scope: Scope | None
    """What its console sees; None: a process of the province (no limits)."""
    act: bool = True
    """Its console may send operators' commands (else it only watches)."""


def inbox_prefix(user: str) -> str:
    """The inbox a console of ``user`` gets its answers on."""
    return f"_INBOX_{user}" if user else "_INBOX"


def permissions(user: User) -> dict[str, Any] | None:
    """The user's ``permissions`` (nats-server config), or None for no limits."""
    scope = user.scope
    if scope is None:
        return None
    publish = [scope.pattern(HALL), scope.sync_subject, USER_INFO]
    if user.act:
        publish.append(scope.command_pattern(user.name))
    return {
        "publish": {"allow": publish},
        "subscribe": {"allow": [scope.pattern(VIEW), f"{inbox_prefix(user.name)}.>"]},
    }


def authorization(users: Iterable[User]) -> str:
    """The server's ``authorization`` block for ``users`` (passwords as given: production
    gives bcrypt hashes, ``nats server passwd``)."""
    lines = ["authorization {", "  users = ["]
    for user in users:
        if not PLACE_ID.fullmatch(user.name) or user.name == ANONYMOUS:
            raise ValueError(f"user {user.name!r}: letters, digits, '_' or '-' (not {ANONYMOUS} "
                             "alone: the commands of a server without users)")  # fmt: skip
        entry: dict[str, Any] = {"user": user.name, "password": user.password}
        allowed = permissions(user)
        if allowed is not None:
            entry["permissions"] = allowed
        lines.append(f"    {json.dumps(entry, ensure_ascii=False)}")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def scopes(info: dict[str, Any]) -> list[Scope]:
    """The scopes a ``$SYS.REQ.USER.INFO`` answer's permissions let the user see: every
    ``hw.view`` prefix it may subscribe to (no permissions at all: the province)."""
    data = info.get("data") or {}
    allowed = data.get("permissions")
    if allowed is None:
        return [Scope()]
    subscribe = (allowed.get("subscribe") or {}).get("allow") or []
    found = []
    for pattern in subscribe:
        m = _VIEW_PREFIX.match(pattern)
        if m is not None:
            found.append(Scope(tuple(p for p in m.groups() if p)))
    # A scope inside another one is seen already.
    return sorted(
        {s for s in found if not any(o != s and o.parts == s.parts[: len(o.parts)]
                                     for o in found)},
        key=lambda s: s.parts,
    )  # fmt: skip


def read_credentials(path: Path) -> tuple[str, str]:
    """(user, password) of a ``--nats-auth-file``: one line ``USER:PASSWORD``, a file only
    its owner may read (mode 0600), as every secret file of hallwatch
    (``runtime.config.read_token``).

    Raises:
        ConfigError: the file is missing, unreadable, readable by group or others, empty,
            or not ``USER:PASSWORD``; the message names the file (never its text).
    """
    text = read_token(path)
    user, colon, password = text.partition(":")
    if not (colon and user and password) or "\n" in text or any(c.isspace() for c in user):
        raise ConfigError(f"{path}: expected one line USER:PASSWORD (--nats-auth-file)")
    return user, password


def user_of(urls: Sequence[str], credentials: tuple[str, str] | None) -> tuple[str, str | None]:
    """(user, password): ``credentials`` (``read_credentials``) if given, else the user of
    the first URL with credentials (``nats://USER:PASSWORD@host``, its password left to
    the URL); ("", None) for none."""
    if credentials is not None:
        return credentials
    for url in urls:
        parts = urlsplit(url)
        if parts.username:
            return unquote(parts.username), None
    return "", None


def refused_message(urls: Sequence[str], user: str, error: BaseException) -> str:
    """What to tell the person whose console the cluster refused."""
    where = ", ".join(without_password(u) for u in urls)
    text = str(error).lower()
    if "authorization" in text or "authentication" in text:
        who = f"user {user!r}" if user else "no credentials"
        return (
            f"the NATS cluster at {where} refused the console ({who}: authorization "
            "violation). A console needs the user of its province, city or county: "
            "--nats-auth-file FILE (USER:PASSWORD, mode 0600)"
        )
    return f"no NATS server answered at {where}: {error}"


def without_password(url: str) -> str:
    """``url`` with its password, if any, as ``***`` (for logs and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()
