"""Config files: a bad value names the file, the line and the field."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from runtime.config import ConfigError, check_config, load_config, read_token


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_sets_limits(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            """
[thresholds]
wait_limit_minutes = 20
yellow_share = 0.75

[halls.anqiu.zones.estate]
name = "不动产交易纳税登记"
wait_limit_minutes = 45
""",
        )
    )
    limits = cfg.wait_limits("anqiu")
    assert limits.limit_ms("biz") == 20 * 60_000
    assert limits.limit_ms("estate") == 45 * 60_000
    assert limits.yellow_share == 0.75
    assert cfg.wait_limits("other").limit_ms("estate") == 20 * 60_000  # anqiu's zone only
    settings = cfg.hall_settings()
    assert settings.of("anqiu").wait_limit("estate") == 45 * 60
    assert settings.of("other").wait_limit("estate") == 20 * 60


@pytest.mark.parametrize(
    ("text", "where", "field"),
    [
        ("[thresholds]\nwait_limit_minutes = 30\ncolour = 1\n", ":3:", "thresholds.colour"),
        ("[thresholds]\nyellow_share = 1.5\n", ":2:", "thresholds.yellow_share"),
        (
            "[halls.a.zones.ok]\nwait_limit_minutes = 4\n[halls.a.zones.biz]\nname = 'b'\n"
            "wait_limit_minutes = -4\n",
            ":5:",
            "halls.a.zones.biz.wait_limit_minutes",
        ),
    ],
)
def test_bad_config_names_file_line_field(tmp_path: Path, text: str, where: str, field: str):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path) + where), message
    assert f"field {field}:" in message


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[thresholds\n"))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o606, 0o700], ids=oct)
def test_token_file_must_be_private(tmp_path: Path, mode: int) -> None:
    """Only the owner may read it: a group bit (0640: the file's group) or an others bit
    (0604) refuses it alike, and so does any execute or write bit beyond the owner's."""
    path = tmp_path / "token"
    path.write_text("s3cret\n")
    os.chmod(path, mode)
    if mode & 0o077:
        with pytest.raises(ConfigError, match="readable by others"):
            read_token(path)
    else:  # 0700: no one but the owner
        assert read_token(path) == "s3cret"
    for private in (0o600, 0o400):
        os.chmod(path, private)
        assert read_token(path) == "s3cret"


FULL = """
[thresholds]
deemed_accept_minutes = 15

[halls.anqiu.items.bdc-01]
standard_minutes = 25

[rules]
disabled = ["ticket_scalping"]

[rules.ratings]
rectify_days = 3

[rules.lifecycle]
escalate_minutes = 10

[calendar]
file = "holidays.toml"

[calendar.years."2028"]
holidays = [2028-01-03]

[duty.people.zhang]
name = "张主任"

[[duty.shifts]]
name = "全天"
start = "08:30"
end = "17:30"

[[duty.rota]]
person = "zhang"
shift = "全天"
weekdays = [1, 2, 3, 4, 5]
"""


def test_rules_roster_and_holiday_file(tmp_path: Path) -> None:
    (tmp_path / "holidays.toml").write_text(
        '[years."2027"]\nholidays = [2027-10-01]\nworkdays = [2027-09-26]\n', encoding="utf-8"
    )
    cfg = load_config(write(tmp_path, FULL))
    engine = cfg.alert_engine()
    names = {r.name for r in engine.rules}
    assert "ticket_scalping" not in names and "bad_rating" in names
    assert engine.book.timing.escalate_after_ms == 10 * 60_000
    assert cfg.hall_rules()["anqiu"].item_minutes == {"bdc-01": 25}
    assert cfg.hall_settings().of("anyhall").deemed_accept_minutes == 15
    calendar = cfg.work_calendar()
    assert (calendar.source(2027), calendar.source(2028), calendar.source(2029)) == (
        "config",
        "config",
        None,
    )
    assert calendar.is_workday(date(2027, 9, 26))  # a Sunday make-up day
    assert cfg.duty.on_duty(1763946000000) is not None  # Monday 09:00
    warnings = check_config(tmp_path / "hall.toml", today=date(2028, 6, 1))
    assert len(warnings) == 1 and "2029" in warnings[0]


ROTA_PERSON_LINE = FULL.splitlines().index('person = "zhang"') + 1


@pytest.mark.parametrize(
    ("text", "where", "field"),
    [
        (
            "[rules.ratings]\nrectify_days = 5\nbad_at_mots = 2\n",
            ":3:",
            "rules.ratings.bad_at_mots",
        ),
        ("[rules.complaints]\nsettle_by = '25:00'\n", ":2:", "rules.complaints.settle_by"),
        (
            '[calendar.years."2027"]\nholidays = [2028-01-01]\n',
            ":2:",
            "calendar.years.2027.holidays",
        ),
        (
            FULL.replace('person = "zhang"', 'person = "wang"'),
            f":{ROTA_PERSON_LINE}:",
            "duty.rota.0.person",
        ),
        (
            "[[duty.shifts]]\nname = 'a'\nstart = '08:00'\nend = '12:00'\n"
            "[[duty.shifts]]\nname = 'b'\nstart = '13:00'\nend = 9\n",
            ":8:",
            "duty.shifts.1.end",
        ),
    ],
)
def test_bad_rules_roster_calendar_name_line_and_field(
    tmp_path: Path, text: str, where: str, field: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path) + where), message
    assert f"field {field}:" in message, message


def test_check_config_command(tmp_path: Path, capsys) -> None:
    import run

    good = write(tmp_path, "[rules.scalping]\nmax_tickets = 5\n")
    assert run.main(["check-config", str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"{good}: ok"
    bad = write(tmp_path, "[rules.scalping]\nmax_tickets = 0\n")
    assert run.main(["check-config", str(bad)]) == 2
    assert f"{bad}:2: field rules.scalping.max_tickets" in capsys.readouterr().err


def test_each_hall_its_own_zones_items_and_rules(tmp_path: Path) -> None:
    from feeds.protocol import Heartbeat, Rating, TicketIssued
    from metrics.state import CityState

    cfg = load_config(
        write(
            tmp_path,
            """
[rules.ratings]
rectify_days = 5

[halls.a.zones.biz]
wait_limit_minutes = 20

[halls.a.rules]
disabled = ["ticket_scalping"]
[halls.a.rules.ratings]
rectify_days = 1

[halls.b.zones.other]
wait_limit_minutes = 60
""",
        )
    )
    engine, city = cfg.alert_engine(), CityState()
    t0 = 1763946000000  # Monday 09:00
    events = (
        [TicketIssued(seq=1, ts=t0, hall=h, ticket="B1", zone="biz") for h in ("a", "b")]
        + [Rating(seq=2, ts=t0, hall=h, window="W1", score=1, channel="qr") for h in ("a", "b")]
        + [Heartbeat(ts=t0 + 25 * 60_000, hall=h) for h in ("a", "b")]
    )
    engine.on_batch(city.apply(events))
    engine.on_tick(city.snapshots())
    got = {(a.hall, a.rule): (a.severity, a.due_ms) for a in engine.book.active()}
    day = 86_400_000
    assert got[("a", "wait_overtime")][0] == "urgent"  # 20 min limit in hall a
    assert got[("b", "wait_overtime")][0] == "notice"  # 24 min of the default 30 in b
    assert got[("a", "bad_rating")][1] == t0 - 9 * 3_600_000 + 2 * day  # end of Tuesday
    assert got[("b", "bad_rating")][1] == t0 - 9 * 3_600_000 + 8 * day  # end of next Monday
    assert "ticket_scalping" not in {r.name for r in engine._own_sets["a"]}
