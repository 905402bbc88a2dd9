"""Signing in without a screen: the delays after failed attempts, who a one-shot command
(``handover``) runs as, the roster's OS accounts, and the sign-in method carried into the
audit detail of a desk's actions (real operators file, real SQLite store)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from alerts.duty import Roster
from alerts.store import AlertStore
from runtime.build import build_pipeline
from runtime.config import Config, ConfigError, load_config
from runtime.desk import Desk, Session
from runtime.operators import Operators
from runtime.signin import SignInError, Throttle, identify

ROSTER = msgspec.convert(
    {"people": {"zhang": {"name": "张主任", "os_user": "zhangwei"}, "li": {"name": "李主任"}}},
    Roster,
)


def test_each_failure_doubles_the_wait_and_a_success_clears_it() -> None:
    now = [0.0]
    throttle = Throttle(lambda: now[0])
    assert throttle.wait_s() == 0
    waits = []
    for _ in range(4):
        throttle.failed()
        waits.append(throttle.wait_s())
    assert waits == [1, 2, 4, 8]
    for _ in range(20):
        throttle.failed()
    assert throttle.wait_s() == 300  # at most five minutes
    now[0] += 300
    assert throttle.wait_s() == 0
    throttle.passed()
    throttle.failed()
    assert throttle.wait_s() == 1


def test_who_runs_a_command(tmp_path: Path) -> None:
    operators = Operators.load(tmp_path / "operators")
    operators.set_password("li", "li-secret-1")

    def never(person: str) -> str:
        raise AssertionError(f"no password should be asked for {person}")

    assert identify(ROSTER, operators, "zhangwei", None, never) == Session("zhang", "os_account")
    assert identify(ROSTER, operators, "zhangwei", "张主任", never) == Session(
        "zhang", "os_account"
    )
    assert identify(ROSTER, operators, "zhangwei", "li", lambda p: "li-secret-1") == Session(
        "li", "password"
    )
    with pytest.raises(SignInError, match="wrong password"):
        identify(ROSTER, operators, "zhangwei", "李主任", lambda p: "guess-guess")
    with pytest.raises(SignInError, match="nobody's in the roster"):
        identify(ROSTER, operators, "root", None, never)
    with pytest.raises(SignInError, match="not a person"):
        identify(ROSTER, operators, "root", "wang", never)
    with pytest.raises(SignInError, match="has no password"):
        identify(ROSTER, operators, "root", "zhang", never)


def test_one_os_account_is_one_person(tmp_path: Path) -> None:
    config = tmp_path / "hall.toml"
    config.write_text(
        '[duty.people.zhang]\nname = "张主任"\nos_user = "duty"\n'
        '[duty.people.li]\nname = "李主任"\nos_user = "duty"\n'
    )
    with pytest.raises(ConfigError, match=r"hall.toml:6: field duty.people.li.os_user: .*'zhang'"):
        load_config(config)


def test_actions_say_how_their_person_signed_in(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.db")
    desk = Desk(build_pipeline(Config(), store=store))
    desk.sign_in("zhang", "os_account")
    desk.silence("lz", "drill", 10)
    desk.sign_out("signed out")
    desk.sign_in("li", "password")
    desk.silence("lz", "drill again", 10)
    got = [(r["actor"], r["action"], json.loads(r["detail"])) for r in store.audit_records()]
    assert [(a, w, d.get("signed_in_by"), d.get("why")) for a, w, d in got] == [
        ("zhang", "signed in", "os_account", None),
        ("zhang", "silence created", "os_account", None),
        ("zhang", "signed out", "os_account", "signed out"),
        ("li", "signed in", "password", None),
        ("li", "silence created", "password", None),
    ]
    assert store.verify() == []
    desk.pipeline.close()
