"""Registered agents (代办员) in the config (issue #18, point 7): written raw, as the feed
sends their ``person``; turned into pseudonyms with the decoder's key when ``serve``,
``console`` or the demo build their pipeline, so they match the decoded events; never
held raw by a rule, never logged.

Seed 002: 全市組建152人的“五心”服務專業代辦(幫辦)隊伍; seed 003: 区级共有26名帮办代办人员;
seed 004: 对倒号、盗号…予以严厉打击.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import structlog

from alerts.people_rules import TICKET_SCALPING, ScalpingRule
from cli import wiring
from feeds.decode import FrameDecoder
from feeds.privacy import Pseudonymizer
from feeds.protocol import TicketIssued
from feeds.source import Batch, FeedStatus
from runtime.config import load_config
from tests.factories import H, ms

AGENT_ID = "370784198805050011"  # an agent's ID number, as the hall's system sends it
CITIZEN_ID = "370784199103030022"


def frame(person: str, n: int, first_seq: int, prefix: str) -> bytes:
    """``n`` tickets of one person, as the feed sends them: raw ``person``."""
    return msgspec.json.encode([
        TicketIssued(seq=first_seq + i, ts=ms(i), hall=H, ticket=f"{prefix}{i + 1}", zone="biz",
                     person=person)
        for i in range(n)
    ])  # fmt: skip


def test_an_agent_of_the_config_takes_six_tickets_a_citizen_four(tmp_path: Path) -> None:
    config = tmp_path / "hall.toml"
    config.write_text(f'[rules.scalping]\nagents = ["{AGENT_ID}"]\n', encoding="utf-8")
    data = tmp_path / "data"
    with structlog.testing.capture_logs() as logs:
        sup = wiring.pipeline([], config_path=config, data=data, token_file=None, ca_file=None)
        try:
            pseudonym = Pseudonymizer.from_data_dir(data)  # the installation's key
            (rule,) = [r for r in sup.alerts.rules if isinstance(r, ScalpingRule)]
            assert rule.agents == {pseudonym(AGENT_ID)}  # the rule holds pseudonyms only
            decoder = FrameDecoder(pseudonym)  # what a feed's WebSocket source decodes with
            status = FeedStatus(name="lz")
            for data_frame in (frame(AGENT_ID, 6, 1, "A"), frame(CITIZEN_ID, 4, 7, "B")):
                sup.apply(status, Batch("lz", decoder.decode(data_frame).events))
            alerts = [a for a in sup.alerts.book.active() if a.rule == TICKET_SCALPING]
            assert [(a.scope, a.summary) for a in alerts] == [
                ("2025-11-24/B1", "one person took 4 tickets today (倒号?): B1, B2, B3, B4")
            ]
        finally:
            sup.close()
    assert AGENT_ID not in repr(logs) and CITIZEN_ID not in repr(logs)
    assert not any(AGENT_ID.encode() in p.read_bytes() for p in data.rglob("*") if p.is_file())


def test_pseudonymized_turns_every_agent_list_and_leaves_the_rest(tmp_path: Path) -> None:
    config = tmp_path / "hall.toml"
    config.write_text(
        f'[rules.scalping]\nmax_tickets = 5\nagents = ["{AGENT_ID}"]\n'
        f'[halls.qz.rules.scalping]\nagents = ["{CITIZEN_ID}"]\n[halls.lz]\nname = "罗庄"\n',
        encoding="utf-8",
    )
    raw = load_config(config)
    assert raw.has_agents()
    pseudonym = Pseudonymizer(b"k" * 32)
    cfg = raw.pseudonymized(pseudonym)
    assert cfg.rules.scalping.agents == (pseudonym(AGENT_ID),)
    assert cfg.rules.scalping.max_tickets == 5
    own = cfg.halls["qz"].rules
    assert own is not None and own.scalping is not None
    assert own.scalping.agents == (pseudonym(CITIZEN_ID),)
    assert cfg.halls["lz"] == raw.halls["lz"]
    assert AGENT_ID not in repr(cfg) and CITIZEN_ID not in repr(cfg)
