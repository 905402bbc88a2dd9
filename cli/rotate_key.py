"""``hallwatch rotate-key``: a new pseudonymization key for the installation; people
seen before cannot be linked to those seen from now on.

Imports: feeds.privacy, cli.
"""

from __future__ import annotations

import argparse
from typing import ClassVar

from cli import options, wiring


class RotateKeyCommand:
    name: ClassVar[str] = "rotate-key"
    help: ClassVar[str] = "new pseudonymization key (old pseudonyms unlinkable)"

    def define(self, parser: argparse.ArgumentParser) -> None:
        options.add_data_dir(parser, "where the key is")

    def run(self, args: argparse.Namespace) -> int:
        from feeds.privacy import rotate_key

        path = rotate_key(wiring.data_dir(args.data_dir))
        print(f"{path}: new key; people seen before cannot be linked to those seen from now on")
        print("restart running consoles and serve processes to use it")
        return 0
