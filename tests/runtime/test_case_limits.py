"""A hall's own case limits from the config, in the figures as in the alerts:
``[halls.H] deemed_accept_minutes`` over ``[thresholds]`` (the 10 minutes are Anqiu's
local rule, seed 002: 超过10分钟未作出受理决定的,视为同意并开始业务办理计时),
``[halls.H.items.I] legal_days`` for a feed that sends no ``legal_days`` (seed 004:
法定办结时限、承诺办结时限), and the hall's closing time (``[halls.H] closes``) for a
same-day case's yellow card.

Hall ``aq`` has them all; hall ``lz`` has no config. Both get the same Monday 2025-11-24
(hall-clock minutes after 09:00):
  0 K submitted (二手房转移登记 bdc-01, promised 3 working days, no legal_days): never
    accepted; J submitted (bm-01, promised 0: 即办件); L submitted (bdc-01, promised 3,
    legal_days 10 from the feed)
  5 J and L accepted
"""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.protocol import CaseAccepted, CaseSubmitted, Event, Heartbeat
from feeds.source import Batch, FeedStatus
from runtime.build import build_pipeline
from runtime.config import Config, ConfigError, load_config
from runtime.pipeline import Pipeline
from tests.factories import Script, ms

HOUR = 60
DAY = 24 * HOUR
CONFIG = """
[thresholds]
deemed_accept_minutes = 10

[halls.aq]
name = "安丘市政务服务中心"
closes = "17:00"
deemed_accept_minutes = 30

[halls.aq.items.bdc-01]
name = "二手房转移登记"
legal_days = 2
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "hall.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path)


def monday(hall: str) -> list[Event]:
    e = Script(hall)
    case = {"item": "bdc-01", "dept": "bdcdj", "promised_days": 3}
    return [
        e(CaseSubmitted, ms(0), case="K", **case),
        e(CaseSubmitted, ms(0), case="J", item="bm-01", dept="rsj", promised_days=0),
        e(CaseSubmitted, ms(0), case="L", legal_days=10, **case),
        e(CaseAccepted, ms(5), case="J"),
        e(CaseAccepted, ms(5), case="L"),
    ]


def at(sup: Pipeline, minute: float, events: dict[str, list[Event]] | None = None) -> None:
    """Apply each hall's events and a heartbeat at ``minute``, then publish."""
    for hall in ("aq", "lz"):
        batch = [*(events or {}).get(hall, []), Heartbeat(ts=ms(minute), hall=hall)]
        sup.apply(FeedStatus(hall), Batch(hall, batch))
    sup.publish()


def alerts(sup: Pipeline, rule: str) -> dict[tuple[str, str], tuple[str, int]]:
    return {(a.hall, a.scope): (a.severity, a.fired_ms) for a in sup.view.alerts if a.rule == rule}


def cards(sup: Pipeline, hall: str) -> dict[str, str]:
    return {c.case: c.card for c in sup.view.city.halls[hall].cases}


def test_a_hall_has_its_own_minutes_legal_limits_and_closing_time(config: Config) -> None:
    sup = build_pipeline(config)
    at(sup, 10, {h: monday(h) for h in ("aq", "lz")})
    # 09:10: lz's back office ran out of its 10 minutes on K; aq's has 30.
    assert alerts(sup, "deemed_acceptance") == {("lz", "K"): ("notice", ms(10))}
    k_aq = next(c for c in sup.view.city.halls["aq"].cases if c.case == "K")
    assert (k_aq.deemed, k_aq.accepted_ms) == (False, ms(30))  # its clock starts at 09:30
    at(sup, 30)
    assert alerts(sup, "deemed_acceptance") == {
        ("lz", "K"): ("notice", ms(10)),
        ("aq", "K"): ("notice", ms(30)),
    }
    (aq,) = [a for a in sup.view.alerts if a.rule == "deemed_acceptance" and a.hall == "aq"]
    assert aq.summary == (
        "case K: back office silent 30 min after submission at 09:00, deemed accepted at 09:30"
    )

    # J, a same-day case: yellow at its hall's closing time, 17:00 in aq, 17:30 in lz.
    at(sup, 8 * HOUR)
    assert alerts(sup, "case_deadline") == {("aq", "J"): ("yellow", ms(8 * HOUR))}
    assert (cards(sup, "aq")["J"], cards(sup, "lz")["J"]) == ("yellow", "none")
    at(sup, 8 * HOUR + 30)
    assert alerts(sup, "case_deadline")[("lz", "J")] == ("yellow", ms(8 * HOUR + 30))

    # K in aq: deemed accepted Mon 09:30, legal limit 2 working days from the config (the
    # feed sent none): the end of Wed 11-26, red from Thu 00:00, while its promise (3
    # days) is only yellow from then. L's feed said 10 days: no card; lz has no legal
    # limit for bdc-01 (an item id means the same only within a hall).
    thu = 3 * DAY - 9 * HOUR
    at(sup, thu)
    assert alerts(sup, "legal_deadline") == {("aq", "K"): ("red", ms(thu))}
    assert {k: v for k, v in alerts(sup, "case_deadline").items() if k[1] == "K"} == {
        ("aq", "K"): ("yellow", ms(thu)),
        ("lz", "K"): ("yellow", ms(thu)),
    }
    assert (cards(sup, "aq")["K"], cards(sup, "lz")["K"], cards(sup, "aq")["L"]) == (
        "red", "yellow", "yellow",
    )  # fmt: skip
    views = {(h, c.case): c for h in ("aq", "lz") for c in sup.view.city.halls[h].cases}
    assert (views["aq", "K"].legal_days, views["aq", "L"].legal_days) == (2, 10)
    assert views["lz", "K"].legal_days is None


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("[halls.aq]\ndeemed_accept_minutes = 0\n", 2, "halls.aq.deemed_accept_minutes"),
        ("[halls.aq.items.bdc-01]\nname = \"x\"\nlegal_days = -1\n", 3,
         "halls.aq.items.bdc-01.legal_days"),
    ],
)  # fmt: skip
def test_a_bad_hall_limit_names_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str
) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: field {field}:"), message
