"""``hallwatch audit verify|export``: check the hash-chained audit trail of every alert
change, or write it out as JSON lines.

A store that cannot be read (damaged: truncated, not a database, a failed integrity
check) is reported as such, with what to do, never a traceback: exit 1 for ``verify``.

Imports: alerts.store, cli, runtime.storage.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import IO, ClassVar

from alerts.store import AlertStore, StoreError
from cli import wiring
from runtime.storage import explain


def verify(store: AlertStore) -> tuple[bool, str]:
    """Check the audit chain and the alert rows; (intact?, what to print)."""
    problems = store.verify()
    if problems:
        return False, "\n".join(["audit trail BROKEN:", *problems])
    n = sum(1 for _ in store.audit_records())
    return True, f"audit trail intact: {n} records, every alert row matches its trail"


def export(store: AlertStore, out: IO[str]) -> int:
    """Write every audit record as a JSON line (with ``prev`` and ``hash``); the count."""
    n = 0
    for record in store.audit_records():
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        n += 1
    return n


class AuditCommand:
    name: ClassVar[str] = "audit"
    help: ClassVar[str] = "the alert audit trail: verify the chain, export it"

    def define(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("action", choices=("verify", "export"))
        parser.add_argument("--data-dir", type=Path, help="where the alert database is")
        parser.add_argument("--out", type=Path, help="export: write here instead of stdout")

    def run(self, args: argparse.Namespace) -> int:
        try:
            store = wiring.open_store(args.data_dir)
        except StoreError as error:  # damaged (or not readable): said, exit 1 for verify
            if args.action != "verify":
                raise
            print(f"audit trail UNREADABLE: {error}", file=sys.stderr)
            return 1
        try:
            if args.action == "verify":
                try:
                    intact, text = verify(store)
                except sqlite3.DatabaseError as error:  # damage the quick check missed
                    print(f"audit trail UNREADABLE: {explain(store.path, error)}", file=sys.stderr)
                    return 1
                print(text, file=sys.stdout if intact else sys.stderr)
                return 0 if intact else 1
            out: Path | None = args.out
            if out is not None:
                with out.open("w", encoding="utf-8") as stream:
                    n = export(store, stream)
                print(f"{n} audit records written to {out}", file=sys.stderr)
            else:
                export(store, sys.stdout)
            return 0
        finally:
            store.close()
