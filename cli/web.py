"""``hallwatch web``: the console in a browser (textual-serve) for the hall's big screen.
Every browser tab runs its own console process with the arguments after ``--``; bound to
127.0.0.1 unless told.

Imports: cli; textual-serve when run.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import ClassVar

#: The entry point each tab runs: the same ``run.py`` this command came from.
ENTRY = Path(__file__).resolve().parent.parent / "run.py"


class WebCommand:
    name: ClassVar[str] = "web"
    help: ClassVar[str] = (
        "the console in a browser (the hall's big screen): web [--port P] "
        "[-- console ARGS | demo ARGS]"
    )

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine)")
        parser.add_argument("--port", type=int, default=8000, help="default 8000")
        parser.add_argument(
            "app",
            nargs=argparse.REMAINDER,
            help="what each browser tab runs (after --): a console or demo command line; "
            "default: demo --big-screen",
        )

    def run(self, args: argparse.Namespace) -> int:
        from textual_serve.server import Server

        app = [a for a in args.app if a != "--"] or ["demo", "--big-screen"]
        if app[0] not in ("console", "demo"):
            print(
                "hallwatch: web runs a console or the demo: web -- console --feed URL",
                file=sys.stderr,
            )
            return 2
        command = shlex.join([sys.executable, str(ENTRY), *app])
        print(f"http://{args.host}:{args.port}", flush=True)  # the first line: where to look
        Server(command, host=args.host, port=args.port, title="hallwatch").serve()
        return 0
