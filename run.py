"""hallwatch: the one entry point (the same as the installed ``hallwatch`` command).

python run.py                      the demo: embedded demo hall + console (= make demo)
python run.py console --feed URL   the console on live feeds
python run.py serve --feed URL     headless: ingest, alerts, journal, /metrics
python run.py demo-feed --port P   only the demo hall feed server (protocol v1)
python run.py --help               every command

The commands live in ``cli/``, one module each.
"""

from __future__ import annotations

import sys

from cli.main import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
