"""The entry point of ``hallwatch`` and ``python run.py``: the list of commands, the
parser built from it, and the dispatch.

With no command, or only demo options (``hallwatch --speed 120``), it runs the demo, as
``make demo`` does. A config, store, data dir or TLS error ends a command with its
message and exit 2, never a traceback.

Imports: cli (every command module), alerts.store, runtime (config, signin), feeds.tls.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from alerts.store import StoreError
from cli.archive import ArchiveCommand
from cli.audit import AuditCommand
from cli.check_config import CheckConfigCommand
from cli.command import Command
from cli.console import ConsoleCommand
from cli.demo import DemoCommand
from cli.demo_feed import DemoFeedCommand
from cli.gateway import GatewayCommand
from cli.handover import HandoverCommand
from cli.import_csv import ImportCsvCommand
from cli.operator import OperatorCommand
from cli.replay import ReplayCommand
from cli.report import ReportCommand
from cli.retention import RetentionCommand
from cli.rotate_key import RotateKeyCommand
from cli.serve import ServeCommand
from cli.staffing import StaffingCommand
from cli.web import WebCommand
from feeds.tls import TLSConfigError
from runtime.config import ConfigError
from runtime.datadir import DataDirBusy, DataDirError
from runtime.signin import SignInError

#: Every command, in the order ``--help`` lists them.
COMMANDS: tuple[Command, ...] = (
    DemoCommand(),
    ConsoleCommand(),
    ServeCommand(),
    GatewayCommand(),
    DemoFeedCommand(),
    StaffingCommand(),
    ReplayCommand(),
    WebCommand(),
    ImportCsvCommand(),
    CheckConfigCommand(),
    HandoverCommand(),
    OperatorCommand(),
    AuditCommand(),
    ReportCommand(),
    ArchiveCommand(),
    RotateKeyCommand(),
    RetentionCommand(),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="hallwatch — supervision console for government service halls. "
        "With no command: the demo (an embedded demo hall and the console).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.define(sub.add_parser(command.name, help=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    # No command, only demo options (``run.py --speed 120``): the demo, as documented.
    if not words or (words[0].startswith("-") and words[0] not in ("-h", "--help")):
        words.insert(0, DemoCommand.name)
    args = parser.parse_args(words)
    chosen = next(c for c in COMMANDS if c.name == args.command)
    try:
        return chosen.run(args)
    except (
        ConfigError,
        StoreError,
        TLSConfigError,
        DataDirBusy,
        DataDirError,
        SignInError,
    ) as error:
        print(f"hallwatch: {error}", file=sys.stderr)
        return 2
