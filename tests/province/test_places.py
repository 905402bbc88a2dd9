"""Without a cluster: where a hall sits (province → city → county), its subjects, and the
credentials that give each level its view.

Three levels, as the seeds have them: 完善市、县、乡镇综合性政务大厅集中服务模式,县级以上为
政务服务中心 (seed 004: city and county halls are 政务服务中心, watched by their offices).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from province.access import (
    User,
    authorization,
    inbox_prefix,
    permissions,
    refused_message,
    scopes,
    user_of,
)
from province.places import (
    Place,
    Places,
    Scope,
    command_subject,
    hall_of_token,
    hall_token,
    parse_command_subject,
    parse_subject,
    scope_of_sync,
    subject,
)
from runtime.config import ConfigError, load_config


def test_a_hall_id_is_one_subject_token_and_back() -> None:
    for hall in ("wz-city", "county_a", "温州.市民中心", "a b*>", "100%"):
        token = hall_token(hall)
        assert "." not in token and " " not in token and "*" not in token and ">" not in token
        assert hall_of_token(token) == hall
    assert hall_token("wz-city") == "wz-city"  # plain ids are themselves
    where = subject("hw.hall", Place("wenzhou", "ouhai"), "温州.市民中心")
    assert parse_subject(where) == (Place("wenzhou", "ouhai"), "温州.市民中心")
    assert parse_subject("hw.view.wenzhou.>") is None
    sent = command_subject("wenzhou", Place("wenzhou", "ouhai"), "温州.市民中心")
    assert sent.startswith("hw.cmd.wenzhou.wenzhou.ouhai.")
    assert parse_command_subject(sent) == ("wenzhou", Place("wenzhou", "ouhai"), "温州.市民中心")
    anonymous = command_subject("", Place(), "h1")  # (a server without users)
    assert anonymous == "hw.cmd._._._.h1" and parse_command_subject(anonymous) == (
        "",
        Place(),
        "h1",
    )
    assert parse_command_subject(where) is None


def test_scopes_hold_their_places_and_name_their_subjects() -> None:
    city, county, province = Scope(("wenzhou",)), Scope.parse("wenzhou.ouhai"), Scope.parse("*")
    ouhai, lucheng = Place("wenzhou", "ouhai"), Place("wenzhou", "lucheng")
    anqiu = Place("weifang", "anqiu")
    assert [city.holds(p) for p in (ouhai, lucheng, anqiu)] == [True, True, False]
    assert [county.holds(p) for p in (ouhai, lucheng, anqiu)] == [True, False, False]
    assert all(province.holds(p) for p in (ouhai, anqiu, Place()))
    assert city.pattern("hw.view") == "hw.view.wenzhou.>"
    assert province.command_pattern("prov") == "hw.cmd.prov.>"
    assert county.command_pattern("oh") == "hw.cmd.oh.wenzhou.ouhai.>"
    for scope in (city, county, province):
        assert scope_of_sync(scope.sync_subject) == scope
    with pytest.raises(ValueError, match=r"CITY or CITY\.COUNTY"):
        Scope.parse("wenzhou.ouhai.x")


def test_each_level_may_see_and_act_under_its_own_prefix_only() -> None:
    city = permissions(User("wenzhou", "pw", Scope(("wenzhou",))))
    assert city == {
        "publish": {"allow": ["hw.hall.wenzhou.>", "hw.sync.scope.wenzhou",
                              "$SYS.REQ.USER.INFO", "hw.cmd.wenzhou.wenzhou.>"]},
        "subscribe": {"allow": ["hw.view.wenzhou.>", "_INBOX_wenzhou.>"]},
    }  # fmt: skip
    watcher = permissions(User("ouhai-screen", "pw", Scope(("wenzhou", "ouhai")), act=False))
    assert watcher is not None and not any(
        p.startswith("hw.cmd") for p in watcher["publish"]["allow"]
    )
    assert permissions(User("shard", "pw", None)) is None  # a process of the province
    text = authorization([User("shard", "s", None), User("wenzhou", "w", Scope(("wenzhou",)))])
    assert text.startswith("authorization {\n  users = [\n")
    assert '{"user": "shard", "password": "s"}' in text
    for name in ("a.b", "_"):  # (not a subject token; the user of a server without users)
        with pytest.raises(ValueError, match="user"):
            authorization([User(name, "x", None)])
    assert inbox_prefix("wenzhou") == "_INBOX_wenzhou" and inbox_prefix("") == "_INBOX"


def test_a_console_learns_its_scopes_from_the_servers_user_info() -> None:
    # What nats-server 2.15 answered on $SYS.REQ.USER.INFO for a city's user (trimmed).
    answer = json.loads(
        '{"data":{"user":"wz","account":"$G","permissions":{"publish":{"allow":'
        '["hw.cmd.wz.wenzhou.\\u003e","hw.hall.wenzhou.\\u003e","$SYS.REQ.USER.INFO"]},'
        '"subscribe":{"allow":["hw.view.wenzhou.\\u003e","_INBOX_wz.\\u003e"]}}}}'
    )
    assert scopes(answer) == [Scope(("wenzhou",))]
    two = {"data": {"permissions": {"subscribe": {"allow": [
        "hw.view.wenzhou.ouhai.>", "hw.view.weifang.>", "hw.view.weifang.anqiu.>"]}}}}  # fmt: skip
    assert scopes(two) == [Scope(("weifang",)), Scope(("wenzhou", "ouhai"))]
    assert scopes({"data": {"user": "", "account": "$G"}}) == [Scope()]  # no authorization
    assert scopes({"data": {"permissions": {"subscribe": {"allow": ["_INBOX_x.>"]}}}}) == []


def test_credentials_from_the_url_or_a_file_and_a_refusal_said_in_words() -> None:
    assert user_of(["nats://wenzhou:pw@n1:4222", "nats://n2:4222"], None) == ("wenzhou", None)
    assert user_of(["nats://n1:4222"], ("ouhai", "secret")) == ("ouhai", "secret")
    assert user_of(["nats://n1:4222"], None) == ("", None)
    said = refused_message(["nats://wz:pw@n1:4222"], "wz",
                           Exception("nats: 'Authorization Violation'"))  # fmt: skip
    assert "refused the console (user 'wz': authorization violation)" in said
    assert "pw@" not in said and "wz:***@n1:4222" in said


def test_the_config_places_halls_and_names_a_bad_place(tmp_path: Path) -> None:
    config = tmp_path / "province.toml"
    config.write_text(
        '[halls.ouhai]\ncity = "wenzhou"\ncounty = "ouhai"\n\n'
        '[halls.lucheng]\ncity = "wenzhou"\n\n[halls.other]\nname = "x"\n'
    )
    places = Places.of(load_config(config))
    assert places("ouhai") == Place("wenzhou", "ouhai")
    assert places("lucheng") == Place("wenzhou", "_")  # a city, no county
    assert places("other") == places("never-configured") == Place("_", "_")  # the province's
    config.write_text('[halls.ouhai]\ncity = "wen zhou"\n')
    with pytest.raises(ConfigError, match=r"province.toml:2: field halls.ouhai.city"):
        load_config(config)
    config.write_text('[halls.ouhai]\nname = "瓯海"\ncounty = "ouhai"\n')
    with pytest.raises(ConfigError, match=r"province.toml:3: field halls.ouhai.county: a"):
        load_config(config)
