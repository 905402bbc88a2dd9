"""The day report names things as the console and the shift report do (issue 13, point 7):
halls by the config's display names, rules by the hall's words (``alerts.names``), a
second trip as 来回跑, and the documents it quotes by place, year and title — never by
this project's own numbering of them. The CSV keeps the ids: a spreadsheet's keys."""

from __future__ import annotations

import datetime as dt

from alerts.names import Names
from alerts.rules import AlertEngine
from feeds.demo.city import default_city, display_names
from feeds.hallclock import day_start_ms
from feeds.protocol import Complaint, Heartbeat, WindowState
from metrics.state import CityState
from reports.gather import DayData
from reports.render import csv_text, markdown
from reports.tables import build

DAY = dt.date(2025, 11, 24)
T0 = day_start_ms(DAY) + 9 * 3_600_000  # 09:00 hall time


def a_morning() -> list[DayData]:
    events = [
        WindowState(seq=1, ts=T0, hall="city", window="W01", state="open", staff="s011"),
        Complaint(seq=2, ts=T0 + 60_000, hall="city", complaint="c-1", channel="hotline"),
        Heartbeat(ts=T0 + 120_000, hall="city"),
    ]
    city, engine = CityState(), AlertEngine()
    engine.on_batch(city.apply(events))
    engine.on_tick(city.snapshots())
    alerts = [*engine.book.open.values(), *engine.book.resolved]
    return [DayData(DAY, city.snapshots(), alerts, alert_sources={"city": "replay"})]


def test_markdown_says_halls_and_rules_in_the_halls_words() -> None:
    days = a_morning()
    places = Names(**display_names(default_city()))
    tables = build(days)
    text = markdown(days, tables, places=places)
    assert "- Halls: 市民中心 (city)" in text
    cards = text[text.index("## Cards") :]
    cards = cards[: cards.index("\n## ", 3)]
    assert "| 市民中心 | 投诉 (complaint) | warning |" in cards
    assert "| complaint |" not in cards and "| city |" not in cards
    assert "## Second trips (来回跑)" in text and "跑两次" not in text
    # The documents by place, year and title; none by this project's numbering.
    assert "Guangdong 2016 (广东省推广一门式一网式政府服务模式改革实施方案)" in text
    assert "seed 0" not in text.lower()
    # The CSV keeps the ids (a spreadsheet's keys).
    (cards_table,) = [t for t in tables if t.name == "cards"]
    assert "city,complaint,warning," in csv_text(cards_table)


def test_without_names_the_ids() -> None:
    text = markdown(a_morning(), build(a_morning()))
    assert "- Halls: city\n" in text and "| city | 投诉 (complaint) |" in text
