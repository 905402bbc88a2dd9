"""Option groups shared by several commands, each defined once, and argument types.

Imports: feeds (feed names, the M/M/c spec), the standard library (getpass).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from collections.abc import Callable
from pathlib import Path

from feeds.client import feed_name
from feeds.demo.mmc import MMC


def speed(text: str) -> float | None:
    """``--speed``: hall time per real time, or ``max`` (None)."""
    if text == "max":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("speed must be > 0 or 'max'")
    return value


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def mmc(text: str) -> MMC:
    """``--mmc LAMBDA,MU,C``."""
    try:
        return MMC.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def feed(text: str) -> tuple[str, str]:
    """``[NAME=]URL`` → (name, url)."""
    name, sep, url = text.partition("=")
    if sep and not name.startswith(("ws:", "wss:")):
        return name, url
    return feed_name(text), text


def iso_day(text: str) -> dt.date:
    """``YYYY-MM-DD``."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected YYYY-MM-DD") from None


def add_data_dir(p: argparse.ArgumentParser, what: str = "journal, key, database") -> None:
    p.add_argument("--data-dir", type=Path, help=f"{what} (default: per user)")


def add_config(p: argparse.ArgumentParser, what: str = "halls, zones, thresholds") -> None:
    p.add_argument("--config", type=Path, help=f"TOML: {what}")


def add_operator(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--operator",
        default=None,
        metavar="NAME",
        help="who acts (acknowledge, resolve, silence, handover): a roster person; the one "
        "your OS account maps to (os_user) signs in by itself, anyone else is asked for "
        "their password",
    )


def add_password_stdin(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password as one line on stdin (scripts) instead of asking for it",
    )


def password_reader(from_stdin: bool) -> Callable[[str], str]:
    """Asks for a person's password: without echo on the terminal, or one line of stdin."""

    def ask(person: str) -> str:
        if from_stdin:
            return sys.stdin.readline().rstrip("\r\n")
        return getpass.getpass(f"password of {person}: ")

    return ask


def add_metrics(p: argparse.ArgumentParser) -> None:
    """``/metrics``: where it listens (0 = no endpoint)."""
    p.add_argument("--metrics-host", default="127.0.0.1", help="default 127.0.0.1")
    p.add_argument("--metrics-port", type=int, default=0, help="0 = no /metrics endpoint")


def add_metrics_security(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--metrics-auth-file", type=Path, help="USER:PASSWORD for /metrics basic auth (0600)"
    )
    p.add_argument("--metrics-tls-cert", type=Path, help="serve /metrics over HTTPS: PEM chain")
    p.add_argument("--metrics-tls-key", type=Path, help="the private key of --metrics-tls-cert")


def add_live(p: argparse.ArgumentParser, *, feeds_required: bool) -> None:
    """The options of ``console`` and ``serve`` (contract: shared by both)."""
    p.add_argument(
        "--feed",
        action="append",
        type=feed,
        default=[],
        required=feeds_required,
        metavar="[NAME=]URL",
        help="a protocol-v1 feed (ws:// or wss://); repeat for several",
    )
    add_config(p)
    add_data_dir(p)
    p.add_argument("--token-file", type=Path, help="bearer token for the feeds (mode 0600)")
    p.add_argument("--ca-file", type=Path, help="wss:// trusts only this CA (default: system)")
    p.add_argument(
        "--recover-days",
        type=positive,
        default=1,
        metavar="N",
        help="without a state snapshot, replay the journal's newest N days at start-up (default 1)",
    )
    add_metrics(p)
    add_metrics_security(p)
    add_operator(p)


def add_serving(p: argparse.ArgumentParser, default_port: int) -> None:
    """A protocol-v1 feed server: where it listens, its token, its TLS."""
    p.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    p.add_argument("--port", type=int, default=default_port, help="0 = any free port")
    p.add_argument("--token-file", type=Path, help="require this bearer token")
    p.add_argument("--tls-cert", type=Path, help="serve wss:// with this PEM certificate chain")
    p.add_argument("--tls-key", type=Path, help="the private key of --tls-cert")


def add_demo(p: argparse.ArgumentParser, *, history: int) -> None:
    """The simulated city: speed, seed, day, halls, days, history."""
    p.add_argument("--speed", type=speed, default=60.0, help="hall time / real time, or max")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same day")
    p.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        help="service day (default: today, or the last day the halls opened)",
    )
    p.add_argument("--halls", type=positive, default=3, help="halls in the demo city (default 3)")
    p.add_argument("--days", type=positive, default=1, help="consecutive days to play (default 1)")
    p.add_argument(
        "--history",
        type=non_negative,
        default=history,
        metavar="DAYS",
        help="also simulate DAYS days before --date and send them at once first "
        f"(open cases, some late; people coming back; default {history})",
    )


def add_screen(p: argparse.ArgumentParser) -> None:
    """How the console looks: language, theme, the wall display."""
    p.add_argument(
        "--lang", choices=("zh", "en"), help="中文 or English (default: from the locale)"
    )
    p.add_argument(
        "--theme",
        help="colours: textual-light (or ansi-light) for a light terminal, ansi-dark for 16 "
        "colours (ctrl+p lists them all)",
    )
    p.add_argument(
        "--big-screen",
        action="store_true",
        help="the wall display: big figures, turning through the halls",
    )


def add_replay_window(p: argparse.ArgumentParser) -> None:
    """Where a replay starts and stops."""
    p.add_argument(
        "--from",
        dest="start",
        metavar="TIME",
        help="start here (HH:MM[:SS] on the first day, or an ISO date-time)",
    )
    p.add_argument("--until", metavar="TIME", help="serve nothing after this time")
