"""``[outbound] alertmanager`` as the peers of an Alertmanager cluster: every notification
goes to every peer (the cluster de-duplicates), each peer through its own queue and
retries, so a dead or hanging peer holds back none of the live ones. Real HTTP servers on
127.0.0.1 (``tests.alerts.test_outbound.Receiver``)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from alerts.book import AlertBook
from alerts.outbound import Outbound, OutboundConfig
from runtime.config import ConfigError, load_config
from tests.alerts.test_outbound import Receiver, until
from tests.factories import H, ms


def test_every_peer_gets_every_notification_and_a_hanging_one_holds_back_nobody() -> None:
    live = Receiver()
    gate = threading.Event()
    hanging = Receiver(gate=gate)  # answers nothing until the gate opens
    dead = Receiver()
    dead_url = dead.url
    dead.server.server_close()  # nothing listens there
    peers = [live.url, hanging.url, dead_url]
    out = Outbound(OutboundConfig(alertmanager=peers, retries=2, timeout_seconds=30))
    book = AlertBook()
    book.listeners.append(out.changed)
    book.fire("complaint", H, "K1", "notice", ms(0), "complaint K1")
    book.fire("case_deadline", H, "C1", "red", ms(1), "case C1 overdue")
    book.resolve("complaint", H, "K1", ms(2))
    # The live peer has all three while the hanging one still holds its first post and
    # the dead one is still retrying its first.
    until(lambda: len(live.posts) == 3)
    assert hanging.entered.is_set() and not hanging.posts
    wanted = [("complaint", None), ("case_deadline", None),
              ("complaint", "2025-11-24T01:02:00.000+00:00")]  # fmt: skip
    assert [(b[0]["labels"]["alertname"], b[0].get("endsAt")) for _, b in live.posts] == wanted
    gate.set()
    until(lambda: len(hanging.posts) == 3)
    assert [(b[0]["labels"]["alertname"], b[0].get("endsAt")) for _, b in hanging.posts] == wanted
    until(lambda: out.failed >= 1)  # the dead peer gave up its first post, and goes on
    out.close()
    for r in (live, hanging):
        r.server.shutdown()
        r.server.server_close()
    assert out.sent == 6


def test_open_alerts_are_resent_to_every_peer_until_forgotten() -> None:
    peers = [Receiver(), Receiver()]
    out = Outbound(OutboundConfig(alertmanager=[p.url for p in peers], resend_seconds=1.0))
    book = AlertBook()
    book.listeners.append(out.changed)
    alert = book.fire("complaint", H, "K1", "notice", ms(0), "s")
    assert alert is not None
    for p in peers:
        until(lambda p=p: len(p.posts) >= 2)  # the notification, then the re-send
    out.forget([alert.key])  # its partition went to another shard: it re-sends it now
    seen = [len(p.posts) for p in peers]
    book.fire("complaint", H, "K2", "notice", ms(1), "s")

    def scopes(p: Receiver, n: int) -> list[list[str]]:
        return [[a["labels"]["scope"] for a in body] for _, body in p.posts[n:]]

    for p, n in zip(peers, seen, strict=True):  # K2's notification, then its re-send
        until(lambda p=p, n=n: scopes(p, n).count(["K2"]) >= 2)
    out.close()
    for p, n in zip(peers, seen, strict=True):
        p.server.shutdown()
        p.server.server_close()
        after = scopes(p, n)
        assert all(s == ["K2"] for s in after[after.index(["K2"]) :])


@pytest.mark.parametrize(
    ("text", "peers"),
    [
        ('alertmanager = "http://am:9093"', ("http://am:9093",)),
        ('alertmanager = ["http://am1:9093", "http://am2:9093", "http://am1:9093"]',
         ("http://am1:9093", "http://am2:9093")),
        ("", ()),
    ],
)  # fmt: skip
def test_one_alertmanager_or_the_peers_of_a_cluster(tmp_path: Path, text: str, peers) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(f"[outbound]\n{text}\n")
    assert load_config(path).outbound.peers == peers


def test_a_bad_peer_is_named_with_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_text('[outbound]\nretries = 2\nalertmanager = ["http://am1:9093", "am2:9093"]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:3: field outbound.alertmanager.1: ")
