"""The rules' memory and the book's transient part in a checkpoint (alerts/rule.py
``Memory``, ``AlertEngine.rule_memory``, ``AlertBook.transient``): an engine restored
half way through a demo day raises exactly the alerts of one that never stopped."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from alerts.book import Alert, AlertBook
from alerts.rule import Memory
from alerts.rules import AlertEngine, HallRules, WaitLimits
from alerts.settings import Rules
from alerts.store import AlertStore
from feeds.demo.city import city
from feeds.demo.play import demo_events
from feeds.protocol import Event
from metrics.codec import CheckpointError
from metrics.state import CityState

DAY = dt.date(2025, 11, 24)


@pytest.fixture(scope="module")
def day() -> list[Event]:
    return demo_events(city(3), DAY, 5, days=1)


def _run(state: CityState, engine: AlertEngine, events: list[Event]) -> None:
    for i in range(0, len(events), 400):
        engine.on_batch(state.apply(events[i : i + 400]))
        engine.on_tick(state.snapshots())


def _alerts(store: AlertStore) -> list[tuple[object, ...]]:
    return [
        (a.id, a.rule, a.hall, a.scope, a.severity, a.state, a.fired_ms, a.raised_ms,
         a.resolved_ms, a.level, a.summary)
        for a in store.alerts()
    ]  # fmt: skip


def _book(book: AlertBook) -> list[tuple[object, ...]]:
    def row(a: Alert) -> tuple[object, ...]:
        return (a.id, a.key, a.state, a.severity, a.fired_ms, a.clearing_since, a.level)

    return sorted(map(row, [*book.open.values(), *book.pending.values()]), key=repr)


def _memory(rule: object) -> dict[str, object]:
    assert isinstance(rule, Memory)
    return {k: v for k, v in vars(rule).items() if k not in rule.configured}


def _engine(path: Path, rules: Rules | None = None) -> tuple[AlertEngine, AlertStore]:
    """Every rule on, one hall with rules of its own (a set of its own to restore)."""
    own = HallRules(Rules(), WaitLimits(limit_s=900.0))
    store = AlertStore(path)
    return AlertEngine(rules=rules, sink=store, halls={"ouhai": own}), store


def _copy(store: AlertStore, path: Path) -> None:
    """What the store holds now, as a restart would find it on disk."""
    with sqlite3.connect(path) as copy:
        store.db.backup(copy)


def test_an_engine_restored_half_way_raises_the_alerts_of_one_that_never_stopped(
    tmp_path: Path, day: list[Event]
) -> None:
    cut = len(day) // 2
    (state, (engine, store)) = CityState(), _engine(tmp_path / "live.db")
    _run(state, engine, day[:cut])
    halls, memory, transient = state.checkpoint(), engine.rule_memory(), engine.book.transient()
    _copy(store, tmp_path / "restored.db")
    _copy(store, tmp_path / "forgetful.db")

    (back_state, (back, back_store)) = CityState(), _engine(tmp_path / "restored.db")
    back_state.restore(halls)
    back.restore_rule_memory(memory)
    back.book.restore_transient(transient)
    assert list(map(_memory, back.rules)) == list(map(_memory, engine.rules))

    # Without the rules' memory: the same halls, but timers and history forgotten.
    (bare_state, (bare, bare_store)) = CityState(), _engine(tmp_path / "forgetful.db")
    bare_state.restore(halls)

    _run(state, engine, day[cut:])
    _run(back_state, back, day[cut:])
    _run(bare_state, bare, day[cut:])
    live_alerts = _alerts(store)
    assert len(live_alerts) > 100
    assert _alerts(back_store) == live_alerts
    assert _book(back.book) == _book(engine.book)
    assert _alerts(bare_store) != live_alerts  # (so the memory is what made it equal)


def test_rule_memory_of_other_rules_or_garbage_is_refused_and_nothing_is_taken(
    tmp_path: Path, day: list[Event]
) -> None:
    (state, (engine, _)) = CityState(), _engine(tmp_path / "a.db")
    _run(state, engine, day[: len(day) // 2])
    memory = engine.rule_memory()
    fresh = AlertEngine()
    before = fresh.rule_memory()
    with pytest.raises(ValueError, match="not this configuration's"):
        fresh.restore_rule_memory(memory)  # no hall of its own rules here
    other, _ = _engine(tmp_path / "b.db", Rules(disabled=["ticket_scalping"]))
    with pytest.raises(ValueError, match="not this configuration's"):
        other.restore_rule_memory(memory)
    with pytest.raises(CheckpointError, match="undecodable"):
        fresh.restore_rule_memory(b"\xc1garbage")
    with pytest.raises(CheckpointError, match="undecodable"):
        fresh.book.restore_transient(b"\x93\x01")
    assert fresh.rule_memory() == before


def test_a_rule_saves_every_attribute_but_its_configuration(
    tmp_path: Path, day: list[Event]
) -> None:
    """``configured`` never hides memory: what a rule calls configuration does not change
    as it runs; everything else is in ``memory()`` (a new attribute included)."""
    (state, (engine, _)) = CityState(), _engine(tmp_path / "a.db")
    every: list[Memory] = [*engine.rules, *engine.city_rules, *engine._own_sets["ouhai"]]  # type: ignore[list-item]
    configured = [{k: repr(getattr(r, k)) for k in r.configured} for r in every]
    _run(state, engine, day)
    assert configured == [{k: repr(getattr(r, k)) for k in r.configured} for r in every]
    second_trip = next(r for r in engine.rules if r.name == "second_trip")
    second_trip.seen_people = {"p": object()}  # type: ignore[attr-defined]
    with pytest.raises(CheckpointError, match=r"seen_people\.p: a builtins\.object"):
        engine.rule_memory()
