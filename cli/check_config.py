"""``hallwatch check-config FILE``: validate a config file (rules, roster, holiday
calendar) before it is used: ``FILE: ok``, warnings, or the error with file, line and
field (exit 2).

Imports: runtime.config.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import ClassVar

from runtime.config import check_config


class CheckConfigCommand:
    name: ClassVar[str] = "check-config"
    help: ClassVar[str] = "validate a config file (rules, roster, holidays)"

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path)

    def run(self, args: argparse.Namespace) -> int:
        for warning in check_config(args.file):
            print(f"warning: {warning}", file=sys.stderr)
        print(f"{args.file}: ok")
        return 0
