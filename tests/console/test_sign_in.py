"""Who may act at the console: read-only until someone signs in (password from a real
operators file, or the OS account's person), refusals recorded and slowed down, idle
sign-out, and a handover that needs two different people. The real alert store (SQLite in
tmp_path) and the audit trail are checked, and the chain still verifies."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from alerts.duty import Roster
from alerts.store import AlertStore
from console.app import HallwatchApp
from console.dialogs import NoteDialog, ReportDialog, SignInDialog
from console.duty import DutyPanel
from console.tables import AlertsTable
from console.widgets import Headline
from runtime.desk import Session
from runtime.operators import Operators
from runtime.signin import SignIn
from tests.conftest import wait_for
from tests.console.test_actions import console_with_store
from tests.console.test_app import shown

ROSTER = msgspec.convert(
    {
        "people": {
            "zhang": {"name": "张主任", "os_user": "zhangwei"},
            "li": {"name": "李主任"},
        },
        "idle_sign_out_minutes": 15,
    },
    Roster,
)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def operators_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """zhang and li with their passwords (scrypt is slow on purpose: made once)."""
    path = tmp_path_factory.mktemp("ops") / "operators"
    operators = Operators.load(path)
    operators.set_password("zhang", "zhang-secret")
    operators.set_password("li", "li-secret-1")
    return path


def gate(operators_file: Path, clock: Clock, **kwargs: object) -> SignIn:
    return SignIn(ROSTER, Operators.load(operators_file), clock=clock, **kwargs)  # type: ignore[arg-type]


def records(store: AlertStore) -> list[tuple[str, str, str, dict]]:
    return [
        (r["actor"], r["action"], r["subject"], json.loads(r["detail"]))
        for r in store.audit_records()
    ]


def notes(app: HallwatchApp) -> list[str]:
    """The notifications the console raised (the toasts are not drawn under run_test)."""
    return [str(n.message) for n in app._notifications]


async def sign_in(pilot, app: HallwatchApp, who: str, password: str) -> None:
    await pilot.press("i")
    await wait_for(lambda: isinstance(app.screen, SignInDialog))
    await pilot.press(*who, "enter", *password, "enter")


async def test_read_only_until_sign_in(tmp_path: Path, operators_file: Path) -> None:
    signin = gate(operators_file, Clock())
    async with console_with_store(tmp_path, None, signin) as (app, _sup, store, pilot):
        assert "read-only — press i to sign in" in shown(app.query_one(Headline))
        await pilot.press("a")
        await wait_for(lambda: app.query_one(AlertsTable).row_count >= 1)
        await pilot.press("A")  # acknowledge: no dialog, just the reason
        await pilot.pause()
        assert not isinstance(app.screen, NoteDialog)
        assert "sign in to act (press i)" in notes(app)
        await pilot.press("d", "H")  # the handover too
        await pilot.pause()
        assert not isinstance(app.screen, NoteDialog)
        assert "read-only — press i to sign in" in shown(app.query_one(DutyPanel))
        assert [r for r in records(store) if r[0] != "system"] == []  # nothing written


async def test_wrong_password_is_refused_recorded_and_slowed(
    tmp_path: Path, operators_file: Path
) -> None:
    clock = Clock()
    signin = gate(operators_file, clock)
    async with console_with_store(tmp_path, None, signin) as (app, sup, store, pilot):
        await sign_in(pilot, app, "zhang", "guess-one")
        problem = app.screen.query_one("#problem")
        await wait_for(lambda: "wrong person or password" in shown(problem))
        assert app.desk.session is None and isinstance(app.screen, SignInDialog)
        assert ("-", "sign-in refused", "operator zhang", {"why": "wrong password"}) in records(
            store
        )
        # At once again, even with the right password: refused unchecked, not recorded.
        await pilot.press(*"zhang-secret", "enter")
        await wait_for(lambda: "try again in 1 s" in shown(problem))
        assert app.desk.session is None
        assert sum(r[1] == "sign-in refused" for r in records(store)) == 1
        clock.now += 1.5  # the delay has passed
        await pilot.press(*"zhang-secret", "enter")
        await wait_for(lambda: app.desk.session == Session("zhang", "password"))
        assert not isinstance(app.screen, SignInDialog)
        assert ("zhang", "signed in", "operator zhang", {"signed_in_by": "password"}) in records(
            store
        )

        # An action now carries the person and how they signed in.
        await pilot.press("a")
        await wait_for(lambda: app.query_one(AlertsTable).row_count >= 1)
        alert_id = sup.view.alerts[0].id
        await pilot.press("A", *"on it", "enter")
        await wait_for(lambda: bool(sup.view.alerts) and sup.view.alerts[0].ack_by == "zhang")
        (ack,) = [r for r in records(store) if r[1] == "acknowledged"]
        assert ack[0] == "zhang" and ack[2] == f"alert {alert_id}"
        assert ack[3]["signed_in_by"] == "password" and ack[3]["note"] == "on it"
        assert store.verify() == []


async def test_unknown_person_is_refused_and_recorded(tmp_path: Path, operators_file: Path) -> None:
    signin = gate(operators_file, Clock())
    async with console_with_store(tmp_path, None, signin) as (app, _sup, store, pilot):
        await sign_in(pilot, app, "mallory", "zhang-secret")
        await wait_for(lambda: any(r[1] == "sign-in refused" for r in records(store)))
        assert ("-", "sign-in refused", "operator mallory", {"why": "unknown person"}) in records(
            store
        )
        assert app.desk.session is None


async def test_idle_signs_out(tmp_path: Path, operators_file: Path) -> None:
    clock = Clock()
    signin = gate(operators_file, clock)
    async with console_with_store(tmp_path, None, signin) as (app, _sup, store, pilot):
        await sign_in(pilot, app, "li", "li-secret-1")
        await wait_for(lambda: app.desk.operator == "li")
        clock.now += 14 * 60
        await pilot.press("o")  # a key: the idle time starts again
        clock.now += 14 * 60
        await pilot.pause()
        assert app.desk.operator == "li"
        clock.now += 60 + 1  # 15 minutes without a key
        await wait_for(lambda: app.desk.session is None)
        signed_out = [r for r in records(store) if r[1] == "signed out"]
        assert signed_out == [
            ("li", "signed out", "operator li", {"why": "idle", "signed_in_by": "password"})
        ]
        await wait_for(lambda: "read-only" in shown(app.query_one(Headline)))
        assert store.verify() == []


async def test_the_os_accounts_person_signs_in_by_itself(
    tmp_path: Path, operators_file: Path
) -> None:
    signin = gate(operators_file, Clock(), auto=Session("zhang", "os_account"))
    async with console_with_store(tmp_path, None, signin) as (app, _sup, store, pilot):
        await wait_for(lambda: app.desk.session == Session("zhang", "os_account"))
        assert ("zhang", "signed in", "operator zhang", {"signed_in_by": "os_account"}) in records(
            store
        )
        await pilot.press("d")
        assert "张主任 (zhang) · signed in by OS account" in shown(app.query_one(DutyPanel))
        # A shift report waiting names its writer as the roster does, as the line above.
        await pilot.press("H", *"quiet", "enter")
        await wait_for(lambda: isinstance(app.screen, ReportDialog))
        await pilot.press("escape")
        await wait_for(lambda: "#1" in shown(app.query_one(DutyPanel)))
        (waiting,) = [line for line in shown(app.query_one(DutyPanel)).splitlines() if "#1" in line]
        assert " · 张主任 (zhang) · " in waiting, waiting
        await pilot.press("I")  # signing out is recorded too
        await wait_for(lambda: app.desk.session is None)
        assert ("zhang", "signed out", "operator zhang",
                {"why": "signed out", "signed_in_by": "os_account"}) in records(store)  # fmt: skip


async def test_handover_needs_two_different_people(tmp_path: Path, operators_file: Path) -> None:
    signin = gate(operators_file, Clock())
    async with console_with_store(tmp_path, None, signin) as (app, sup, store, pilot):
        await sign_in(pilot, app, "zhang", "zhang-secret")
        await wait_for(lambda: app.desk.operator == "zhang")
        await pilot.press("d", "H", *"all quiet", "enter")
        await wait_for(lambda: isinstance(app.screen, ReportDialog))
        assert "outgoing: **张主任**" in app.screen.markdown  # the roster name
        await pilot.press("escape")
        await wait_for(lambda: len(sup.view.handovers_unaccepted) == 1)
        # The writer cannot accept their own report.
        await pilot.press("G", "enter")
        await wait_for(lambda: any("incoming director accepts" in n for n in notes(app)))
        assert store.handovers()[0]["accepted_by"] is None
        await pilot.press("I")
        await sign_in(pilot, app, "li", "li-secret-1")
        await wait_for(lambda: app.desk.operator == "li")
        await pilot.press("G", *"taken over", "enter")
        await wait_for(lambda: store.handovers()[0]["accepted_by"] == "li")
        trail = [
            (a, w, d.get("signed_in_by")) for a, w, s, d in records(store) if s == "handover 1"
        ]
        assert trail == [
            ("zhang", "handover written", "password"),
            ("li", "handover accepted", "password"),
        ]
        assert store.verify() == []
