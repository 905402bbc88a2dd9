"""Acting from the console: acknowledge, resolve, silence, timeline and handover go to the
real alert store (SQLite in tmp_path) with the operator's name, and the trail verifies."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from alerts.rules import AlertEngine
from alerts.store import AlertStore
from console.app import HallwatchApp
from console.dialogs import NoteDialog, ReportDialog, SilenceDialog, TimelineDialog
from console.duty import DutyPanel
from console.tables import AlertsTable
from feeds.client import Backoff, WebSocketFeed
from feeds.decode import FrameDecoder
from feeds.server import FeedServer
from runtime.desk import Desk
from runtime.pipeline import Pipeline
from runtime.signin import SignIn
from tests.conftest import wait_for
from tests.console.test_app import shown
from tests.factories import H, console_morning


@contextlib.asynccontextmanager
async def console_with_store(
    tmp_path: Path, operator: str | None = "wang", sign_in: SignIn | None = None
) -> AsyncIterator[tuple[HallwatchApp, Pipeline, AlertStore, object]]:
    server = FeedServer("lz-feed", [H])
    await server.start()
    await server.publish(console_morning())
    store = AlertStore(tmp_path / "alerts.db")
    feed = WebSocketFeed(server.url, FrameDecoder(lambda p: p), name="lz", backoff=Backoff(0.01))
    sup = Pipeline(
        [feed],
        publish_interval=0.05,
        alerts=AlertEngine(sink=store),
        store=store,
    )
    desk = Desk(sup, operator=operator, roster=sign_in.roster if sign_in else None)
    app = HallwatchApp(desk, lang="en", refresh_hz=20, sign_in=sign_in)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(lambda: app.shown is not None and len(app.shown.alerts) == 1)
            yield app, sup, store, pilot
    finally:
        store.close()
        await server.stop()


def trail(store: AlertStore) -> list[tuple[str, str, str]]:
    return [(r["actor"], r["action"], r["subject"]) for r in store.audit_records()]


async def test_acknowledge_and_resolve_write_the_audit_trail(tmp_path: Path) -> None:
    async with console_with_store(tmp_path) as (app, sup, store, pilot):
        await pilot.press("a")  # the alerts screen
        table = app.query_one(AlertsTable)
        alert_id = sup.view.alerts[0].id

        # Firing alerts first (the cursor's row), then the recently resolved ones.
        def rule_at_top() -> str:
            return str(dict(zip(table.column_keys, table.get_row_at(0), strict=True))["rule"])

        await wait_for(lambda: table.row_count >= 1 and rule_at_top() == "complaint")
        await pilot.press("A")
        assert isinstance(app.screen, NoteDialog)
        await pilot.press(*"on my way", "enter")
        await wait_for(lambda: sup.view.alerts and sup.view.alerts[0].ack_by == "wang")
        assert ("wang", "acknowledged", f"alert {alert_id}") in trail(store)
        # Resolving needs a note: Enter on an empty one is refused, the dialog stays.
        await pilot.press("R", "enter")
        assert isinstance(app.screen, NoteDialog)
        await pilot.press(*"apologised, fixed", "enter")
        await wait_for(lambda: not sup.view.alerts)
        assert ("wang", "resolved", f"alert {alert_id}") in [
            (a, w.split()[0], s) for a, w, s in trail(store)
        ]
        assert store.verify() == []
        # The timeline shows both, with the operator and the notes.
        await pilot.press("t")  # nothing open any more: the resolved one is listed
        await wait_for(lambda: isinstance(app.screen, TimelineDialog))
        text = shown(app.screen.query_one("#timeline"))
        assert "wang" in text and "on my way" in text and "apologised, fixed" in text


async def test_silence_needs_minutes_and_why(tmp_path: Path) -> None:
    async with console_with_store(tmp_path) as (app, sup, store, pilot):
        await pilot.press("a")
        await wait_for(lambda: app.query_one(AlertsTable).row_count >= 1)
        await pilot.press("X")
        assert isinstance(app.screen, SilenceDialog)
        await pilot.press("enter", "enter")  # minutes kept at 60, no reason: refused
        assert isinstance(app.screen, SilenceDialog)
        await pilot.press(*"hotline test", "enter")
        await wait_for(lambda: len(sup.view.silences) == 1)
        silence = sup.view.silences[0]
        assert (silence.created_by, silence.reason, silence.rule) == (
            "wang",
            "hotline test",
            "complaint",
        )
        assert ("wang", "silence created", f"silence {silence.id}") in trail(store)
        # By default one alert: the highlighted one's scope, and the toast says so.
        (alert,) = [a for a in sup.view.alerts if a.rule == "complaint"]
        assert silence.scope_prefix == alert.scope != ""
        assert any(f"this alert only, #{alert.id}" in str(n.message) for n in app._notifications)


async def test_silence_can_cover_the_whole_rule_and_says_so(tmp_path: Path) -> None:
    async with console_with_store(tmp_path) as (app, sup, store, pilot):
        await pilot.press("a")
        await wait_for(lambda: app.query_one(AlertsTable).row_count >= 1)
        await pilot.press("X")
        assert isinstance(app.screen, SilenceDialog)
        await pilot.press("enter", *"hotline down", "tab", "space")  # tick: the whole rule
        await pilot.press("enter")  # the tick gave the focus back to the reason: confirm
        await wait_for(lambda: len(sup.view.silences) == 1)
        silence = sup.view.silences[0]
        assert (silence.rule, silence.scope_prefix, silence.reason) == (
            "complaint", "", "hotline down",
        )  # fmt: skip
        assert any("every complaint alert of" in str(n.message) for n in app._notifications)
        assert ("wang", "silence created", f"silence {silence.id}") in trail(store)


async def test_without_operator_actions_are_refused_not_crashed(tmp_path: Path) -> None:
    async with console_with_store(tmp_path, operator=None) as (app, sup, store, pilot):
        await pilot.press("a")
        await wait_for(lambda: app.query_one(AlertsTable).row_count >= 1)
        await pilot.press("A", *"x", "enter")
        await pilot.pause()
        assert sup.view.alerts[0].ack_by is None
        assert not [r for r in trail(store) if r[1] == "acknowledged"]
        assert app.is_running


async def test_duty_screen_writes_and_shows_the_handover(tmp_path: Path) -> None:
    async with console_with_store(tmp_path) as (app, sup, store, pilot):
        await pilot.press("d")
        assert "wang" in shown(app.query_one(DutyPanel))
        await pilot.press("H", *"quiet morning", "enter")
        await wait_for(lambda: isinstance(app.screen, ReportDialog))
        await pilot.press("escape")
        await wait_for(lambda: len(sup.view.handovers_unaccepted) == 1)
        assert "#1" in shown(app.query_one(DutyPanel))
        handovers = store.handovers()
        assert handovers[0]["written_by"] == "wang" and "quiet morning" in handovers[0]["report"]
