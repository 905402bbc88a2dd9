"""``python -m cli``: the same as ``hallwatch`` and ``python run.py``."""

import sys

from cli.main import main

sys.exit(main())
