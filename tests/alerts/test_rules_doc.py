"""docs/alerts.md's rule table against the engine, both ways: every rule is there with its
kind (card or warning) and the document behind it (or "our default"), and every rule of
the table exists. Cards are only what the documents give cards to (seed 001)."""

from __future__ import annotations

import re
from pathlib import Path

from alerts.rules import AlertEngine
from tests.factories import ALL_RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"
ROW = re.compile(r"^\| `([a-z_]+)` \| (card|warning) \|(.*)\|\s*$")


def rows() -> dict[str, tuple[str, list[str]]]:
    out = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if m := ROW.match(line):
            out[m.group(1)] = (m.group(2), [c.strip() for c in m.group(3).split(" | ")])
    return out


def test_every_rule_is_documented_with_its_kind_and_basis() -> None:
    documented = rows()
    # complaint_overdue is the complaint rule's second alert; storage_failed the runtime's.
    assert set(documented) == {*ALL_RULES, "complaint_overdue", "storage_failed"}
    for rule, (_, cells) in documented.items():
        basis = cells[-1]
        assert basis, f"{rule}: no basis"
        assert re.search(r"\d{3}: |our default", basis), f"{rule}: {basis!r}"
    cards = {rule for rule, (kind, _) in documented.items() if kind == "card"}
    assert cards == {"case_deadline", "legal_deadline", "procedure_overtime", "added_materials"}


def test_a_card_rule_fires_cards_and_a_warning_rule_warnings() -> None:
    """The severity column says yellow/red for cards, notice/urgent for warnings."""
    for rule, (kind, cells) in rows().items():
        severity = cells[1]
        words = set(re.findall(r"notice|urgent|yellow|red", severity))
        assert words <= ({"yellow", "red"} if kind == "card" else {"notice", "urgent"}), rule
    assert {r.name for r in AlertEngine().rules} <= set(rows())
