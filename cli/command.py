"""The command protocol: each command of ``hallwatch`` declares its options and runs.

A command is a class with a ``name``, a one-line ``help``, ``define(parser)`` that adds
its options (shared groups come from ``cli.options``), and ``run(args)`` that returns the
exit code: 0 done, 1 a check failed, 2 bad input (the message names what and where).
``cli.main`` builds the parser from the list of commands and dispatches.

Imports: the standard library only.
"""

from __future__ import annotations

import argparse
from typing import ClassVar, Protocol


class Command(Protocol):
    """One ``hallwatch`` command."""

    name: ClassVar[str]
    """The word on the command line (``serve``, ``report``…)."""
    help: ClassVar[str]
    """One line for ``--help``."""

    def define(self, parser: argparse.ArgumentParser) -> None:
        """Add this command's options to its subparser."""

    def run(self, args: argparse.Namespace) -> int:
        """Do it; return the exit code."""
