"""Each hall's settings come from one place (``Config.hall_settings``): two halls that share
a zone id keep their own limits, in the figures as in the alerts, and a hall without
config gets the defaults only, never another hall's zones or items.

The same morning in three halls (hall-clock minutes after 09:00; zone ``estate``, one
window W1 open at 0 that walks nobody: each call starts its service at once):
  0 E1..E4 issued; W1 calls E1 (waits 0)
  10 E1 done (10 min); W1 calls E2 (waits 10)
  25 E2 done (15 min); W1 calls E3 (waits 25)
  50 E3 done (25 min); W1 calls E4 (waits 50, still in service at 75); E5 issued
  66 heartbeat (E5 has waited 16 min), 75 heartbeat (25 min).
Hall ``short`` gives ``estate`` 20 min, hall ``long`` 60 min, hall ``plain`` has no
config: the ``[thresholds]`` 30 min.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from feeds.protocol import (
    Event,
    Heartbeat,
    ServiceFinished,
    ServiceStarted,
    TicketCalled,
    TicketIssued,
    WindowState,
)
from feeds.source import Batch, FeedStatus
from metrics.state import CityState
from runtime.build import build_pipeline
from runtime.config import Config, load_config
from runtime.pipeline import Pipeline
from tests.factories import Script, ms

HALLS = ("short", "long", "plain")

CONFIG = """
[thresholds]
wait_limit_minutes = 30
yellow_share = 0.8

[halls.short.zones.estate]
name = "不动产交易纳税登记"
wait_limit_minutes = 20

[halls.short.items.bdc-01]
standard_minutes = 5

[halls.long.zones.estate]
name = "不动产登记"
wait_limit_minutes = 60
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "hall.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path)


def morning(hall: str, until: float) -> list[Event]:
    """The module docstring's morning in ``hall``, up to hall minute ``until``."""
    e = Script(hall)
    out = [e(WindowState, ms(0), window="W1", state="open", staff="s1")]
    out += [e(TicketIssued, ms(0), ticket=f"E{i}", zone="estate") for i in (1, 2, 3, 4)]
    for ticket, called, finished in (("E1", 0, 10), ("E2", 10, 25), ("E3", 25, 50)):
        out += [
            e(TicketCalled, ms(called), ticket=ticket, window="W1"),
            e(ServiceStarted, ms(called), ticket=ticket, window="W1"),
            e(ServiceFinished, ms(finished), ticket=ticket, window="W1", outcome="done"),
        ]
    out += [
        e(TicketCalled, ms(50), ticket="E4", window="W1"),
        e(ServiceStarted, ms(50), ticket="E4", window="W1"),
        e(TicketIssued, ms(50), ticket="E5", zone="estate"),
    ]
    return out + [Heartbeat(ts=ms(m), hall=hall) for m in (66, 75) if m <= until]


def pipeline(config: Config) -> Pipeline:
    """As every command builds it (``runtime.build``), without feeds, journal or store."""
    return build_pipeline(config)


def feed(sup: Pipeline, events: dict[str, list[Event]]) -> dict[tuple[str, str], str]:
    """Apply each hall's events, publish; the open alerts as (hall, scope) → severity."""
    for hall, evs in events.items():
        sup.apply(FeedStatus(hall), Batch(hall, evs))
    sup.publish()
    return {(a.hall, a.scope): a.severity for a in sup.view.alerts if a.rule == "wait_overtime"}


def test_halls_sharing_a_zone_id_keep_their_own_limits(config: Config) -> None:
    sup = pipeline(config)
    # 10:06: E5 has waited 16 min = 80 % of short's 20: a notice there only (plain's
    # is at 24 min, long's at 48).
    got = feed(sup, {h: morning(h, 66) for h in HALLS})
    assert got == {("short", "estate/E5"): "notice"}
    # 10:15: E5 has waited 25 min: urgent in short (≥ 20), a notice in plain (≥ 24 of 30),
    # nothing in long (< 48 of 60) — the same waits.
    got = feed(sup, {h: [Heartbeat(ts=ms(75), hall=h)] for h in HALLS})
    assert got == {("short", "estate/E5"): "urgent", ("plain", "estate/E5"): "notice"}

    zones = {h: sup.view.city.halls[h].zones[0] for h in HALLS}
    assert {h: z.wait_limit_s for h, z in zones.items()} == {
        "short": 1200.0,
        "long": 3600.0,
        "plain": 1800.0,
    }
    # Waits to first call: 0, 10, 25, 50 min. Within 20: 2 of 4; 30: 3 of 4; 60: all.
    assert {h: z.day.service_level for h, z in zones.items()} == {
        "short": 0.5,
        "long": 1.0,
        "plain": 0.75,
    }
    assert {h: sup.view.city.halls[h].day_waits.service_level for h in HALLS} == {
        "short": 0.5,
        "long": 1.0,
        "plain": 0.75,
    }
    # Windows needed: the last hour's 1 arrival is thin, so the day's 5 over 1.25 h open:
    # λ = 4/h; service 1/μ = mean of 10, 15, 25 min = 1000 s; A = λ/μ = 10/9 erlang > 1, so
    # at least 2 windows. With 2: C = A²/(2 + A) = 100/252 = 0.3968, 2μ − λ = 1/1125 s⁻¹,
    # P(W ≤ t) = 1 − C·exp(−t/1125): 20 min 0.863 < 0.9 → 3 windows (with 3: 0.988);
    # 30 min 0.920 → 2; 60 min 0.984 → 2.
    assert {h: z.arrivals_per_hour for h, z in zones.items()} == dict.fromkeys(HALLS, 4.0)
    assert {h: z.mean_service_s for h, z in zones.items()} == dict.fromkeys(HALLS, 1000.0)
    assert {h: z.windows_needed for h, z in zones.items()} == {
        "short": 3,
        "long": 2,
        "plain": 2,
    }
    # Expected wait: E5 waits and W1, estate's one window, is busy with E4: 1 + 1 − 0 = 2
    # turns of estate's cycle. 3 calls ended (10, 15, 25 min) and E4's has run 25 min
    # (since minute 50): (10 + 15 + 25 + 25) / 3 = 25 min. 2 × 1500 s — limits do not enter.
    assert {h: z.expected_wait_s for h, z in zones.items()} == dict.fromkeys(HALLS, 3000.0)


def test_a_hall_without_config_takes_no_other_halls_item_standard(config: Config) -> None:
    sup = pipeline(config)
    events = {}
    for hall in ("short", "plain"):
        e = Script(hall)
        events[hall] = [
            e(WindowState, ms(0), window="W1", state="open", staff="s1"),
            e(TicketIssued, ms(0), ticket="B1", zone="estate", item="bdc-01"),
            e(TicketCalled, ms(1), ticket="B1", window="W1"),
            e(ServiceStarted, ms(1), ticket="B1", window="W1"),
            Heartbeat(ts=ms(11), hall=hall),
        ]
    feed(sup, events)
    got = {(a.hall, a.severity) for a in sup.view.alerts if a.rule == "service_overtime"}
    # 10 min in service: 2x short's 5-min standard for bdc-01 (red); plain has no item
    # standard of its own, so the default 20 min (a notice only from 30).
    assert got == {("short", "urgent")}


def test_restored_halls_take_their_own_settings(config: Config) -> None:
    before = CityState()
    before.apply([ev for h in HALLS for ev in morning(h, 75)])
    city = CityState(config.hall_settings())
    city.restore(before.checkpoint())
    assert {h: city.snapshot(h).zones[0].day.service_level for h in HALLS} == {
        "short": 0.5,
        "long": 1.0,
        "plain": 0.75,
    }
