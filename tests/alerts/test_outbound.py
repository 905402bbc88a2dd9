"""Forwarding to an Alertmanager (v2 API) and to webhooks, against a real local HTTP
server that fails the first posts: retries deliver, payloads have the right shape."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerts.book import AlertBook, Change
from alerts.outbound import (
    Outbound,
    OutboundConfig,
    RatingFeedback,
    Webhook,
    rating_feedback_body,
    webhook_body,
)
from alerts.people_rules import BAD_RATING
from feeds.protocol import Rating, TicketIssued
from metrics.state import CityState
from runtime.config import ConfigError, load_config
from tests.factories import H, Script, beat, ms


class Receiver:
    """Records every POST; answers 503 to the first ``fail`` of them. With a ``gate``,
    every answer waits until the gate is set (``entered`` is set once a post arrived)."""

    def __init__(self, fail: int = 0, gate: threading.Event | None = None) -> None:
        self.posts: list[tuple[str, object]] = []
        self.fail = fail
        self.seen = 0
        self.gate = gate
        self.entered = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.seen += 1
                receiver.entered.set()
                if receiver.gate is not None:
                    receiver.gate.wait(30)
                if receiver.seen <= receiver.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.posts.append((self.path, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=2)
    yield r
    r.server.shutdown()
    r.server.server_close()


def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


def test_alertmanager_and_webhooks_with_retries(receiver: Receiver) -> None:
    cfg = OutboundConfig(
        alertmanager=receiver.url,
        retries=3,
        webhooks=[
            Webhook(url=receiver.url + "/robot", format="wecom", min_severity="red"),
            Webhook(url=receiver.url + "/hook"),
        ],
    )
    out = Outbound(cfg)
    book = AlertBook()
    book.listeners.append(out.changed)
    book.fire("case_deadline", H, "C1", "red", ms(0), "case C1 overdue")
    book.fire("wait_overtime", H, "biz/B1", "notice", ms(1), "ticket B1 waiting over 24 min")
    book.tick(H, ms(2))
    book.acknowledge(1, "zhang", "on it")  # not forwarded: stays in the console
    book.resolve("case_deadline", H, "C1", ms(3))
    until(lambda: len(receiver.posts) == 8)
    out.close()
    assert out.failed == 0 and out.sent == 8 and receiver.seen == 10  # 2 retried
    by_path: dict[str, list] = {}
    for path, body in receiver.posts:
        by_path.setdefault(path, []).append(body)
    am = [alert for body in by_path["/api/v2/alerts"] for alert in body]
    assert [(a["labels"]["alertname"], a.get("endsAt")) for a in am] == [
        ("case_deadline", None),
        ("wait_overtime", None),
        ("case_deadline", "2025-11-24T01:03:00.000+00:00"),
    ]
    assert am[0]["labels"] == {
        "alertname": "case_deadline",
        "hall": H,
        "scope": "C1",
        "severity": "red",
        "kind": "card",
        "source": "hallwatch",
    }
    assert am[1]["labels"]["kind"] == "warning"
    assert am[0]["startsAt"] == "2025-11-24T01:00:00.000+00:00"
    robot = by_path["/robot"]  # red cards and urgent warnings only
    assert [b["msgtype"] for b in robot] == ["text", "text"]
    assert robot[0]["text"]["content"].startswith("【红牌】lz case C1 overdue")
    generic = by_path["/hook"]
    assert [(b["event"], b["alert"]["rule"], b["alert"]["kind"]) for b in generic] == [
        ("fired red", "case_deadline", "card"),
        ("fired notice", "wait_overtime", "warning"),
        ("resolved", "case_deadline", "card"),
    ]


@pytest.mark.parametrize(
    ("hook", "gets"),
    [
        (Webhook(url="http://x"), {"notice", "urgent", "yellow", "red"}),
        (Webhook(url="http://x", min_severity="red"), {"urgent", "red"}),
        (Webhook(url="http://x", min_severity="urgent"), {"urgent", "red"}),
        (Webhook(url="http://x", kinds=("card",)), {"yellow", "red"}),
        (Webhook(url="http://x", kinds=("warning",), min_severity="urgent"), {"urgent"}),
    ],
)
def test_a_webhook_takes_the_kinds_and_severities_it_asks_for(hook: Webhook, gets) -> None:
    """``min_severity`` reads as before for cards (``red``: red only) and means the same
    for warnings (``urgent`` only); ``kinds`` keeps cards or warnings apart."""
    book = AlertBook()
    alerts = [book.fire("r", H, s, s, ms(0), s) for s in ("notice", "urgent", "yellow", "red")]
    assert {a.severity for a in alerts if a is not None and hook.wants(a)} == gets


def test_robot_messages_name_cards_and_warnings_by_their_words() -> None:
    book = AlertBook()
    hook = Webhook(url="http://x", format="wecom")
    words = {}
    for severity in ("notice", "urgent", "yellow", "red"):
        a = book.fire("r", H, severity, severity, ms(0), "s")
        assert a is not None
        text = webhook_body(hook, Change(a, f"fired {severity}", ms(0), "system"))
        words[severity] = text["text"]["content"].split("】")[0] + "】"
    assert words == {"notice": "【预警】", "urgent": "【紧急预警】", "yellow": "【黄牌】",
                     "red": "【红牌】"}  # fmt: skip


def test_a_dead_receiver_costs_nothing_but_a_count() -> None:
    # The pipeline never waits on the network: with the post held unanswered by the
    # receiver, ``fire`` has returned all the same (nothing sent, nothing failed yet).
    gate = threading.Event()
    held = Receiver(gate=gate)
    out = Outbound(OutboundConfig(alertmanager=held.url, retries=1, timeout_seconds=30))
    book = AlertBook()
    book.listeners.append(out.changed)
    book.fire("complaint", H, "K1", "notice", ms(0), "s")
    until(held.entered.is_set)
    assert out.sent == out.failed == 0
    gate.set()
    until(lambda: out.sent == 1)
    out.close()
    held.server.shutdown()
    held.server.server_close()
    # Nothing listening at all: the notification fails after its retries, and is counted.
    dead = Receiver()
    url = dead.url
    dead.server.server_close()  # nothing listens there any more
    out = Outbound(OutboundConfig(alertmanager=url, retries=1))
    book = AlertBook()
    book.listeners.append(out.changed)
    book.fire("complaint", H, "K1", "notice", ms(0), "s")
    until(lambda: out.failed == 1)
    out.close()
    assert out.sent == 0


def test_a_full_queue_drops_the_oldest_notifications_and_counts_them() -> None:
    gate = threading.Event()
    receiver = Receiver(gate=gate)
    hook = Webhook(url=receiver.url + "/hook")
    out = Outbound(OutboundConfig(webhooks=[hook], timeout_seconds=30), max_queue=3)
    book = AlertBook()
    book.listeners.append(out.changed)
    book.fire("complaint", H, "K0", "notice", ms(0), "complaint K0")
    until(receiver.entered.is_set)  # K0 is out of the queue, its post held by the receiver
    for i in range(1, 6):
        book.fire("complaint", H, f"K{i}", "notice", ms(i), f"complaint K{i}")
    # K1..K5 behind a queue of 3: K4 pushes out K1, K5 pushes out K2 — the oldest go.
    assert out.dropped == 2
    gate.set()
    until(lambda: len(receiver.posts) == 4)
    out.close()
    receiver.server.shutdown()
    receiver.server.server_close()
    assert [body["alert"]["scope"] for _, body in receiver.posts] == ["K0", "K3", "K4", "K5"]
    assert (out.sent, out.failed, out.dropped) == (4, 0, 2)


def test_open_alerts_are_resent_to_alertmanager() -> None:
    receiver = Receiver()
    out = Outbound(OutboundConfig(alertmanager=receiver.url, resend_seconds=1.0))
    book = AlertBook()
    book.listeners.append(out.changed)
    book.fire("complaint", H, "K1", "notice", ms(0), "s")
    until(lambda: len(receiver.posts) >= 2)  # the notification, then the periodic re-send
    out.close()
    receiver.server.shutdown()
    receiver.server.server_close()
    assert [[a["labels"]["scope"] for a in body] for _, body in receiver.posts[:2]] == [
        ["K1"],
        ["K1"],
    ]


# --- 差评整改情况在线反馈: the rating platform hears of each rectified bad rating ------------


def test_a_rectified_bad_rating_is_fed_back_to_the_rating_platform_once(tmp_path) -> None:
    """Seed 004 (Yinchuan): “实现“好差评”内容同标准提供、评价结果自动生成、评价结论同源发布、
    差评整改情况在线反馈”. Two bad ratings; the one a director resolves with the
    rectification note is posted to ``[outbound.rating_feedback]`` once (after one 503,
    retried), the other (only acknowledged) and any other rule's hand resolution are not."""
    receiver = Receiver(fail=1)
    path = tmp_path / "hall.toml"
    path.write_text(
        f'[outbound]\nretries = 2\n[outbound.rating_feedback]\nurl = "{receiver.url}/feedback"\n',
        encoding="utf-8",
    )
    engine = load_config(path).alert_engine()  # the engine serve builds: forwarding on
    city = CityState()
    e = Script()
    engine.on_batch(city.apply([
        e(TicketIssued, ms(0), ticket="A001", zone="biz", person="P-SECRET-110101"),
        e(Rating, ms(1), window="W3", score=5, channel="device", ticket="A001"),
        e(Rating, ms(2), window="W3", score=1, channel="qr", ticket="A001", staff="s017"),
        e(Rating, ms(3), window="W5", score=2, channel="sms"),
        beat(30),
    ]))  # fmt: skip
    engine.on_tick(city.snapshots())
    book = engine.book
    first, second = sorted(
        (a for a in book.active() if a.rule == BAD_RATING), key=lambda a: a.fired_ms
    )
    assert (first.scope, second.scope) == ("W3/3", "W5/4")  # window/seq of the rating
    book.acknowledge(second.id, "zhang", "calling the rater back")
    other = book.fire("complaint", H, "K1", "notice", ms(4), "complaint K1")
    assert other is not None
    book.resolve_by_hand(other.id, "zhang", "settled at the desk")
    book.resolve_by_hand(first.id, "zhang", "整改: 已回访评价人, 窗口W3一次性告知培训")
    until(lambda: len(receiver.posts) == 1)
    engine.close()
    receiver.server.shutdown()
    receiver.server.server_close()
    out = engine.outbound
    assert out is not None and (out.sent, out.failed, receiver.seen) == (1, 0, 2)
    ((where, body),) = receiver.posts
    assert where == "/feedback"
    assert body == {
        "event": "rating_rectified",
        "hall": H,
        "window": "W3",
        # The rating event's seq in the hall's feed, and its hall time (09:02 in the hall).
        "rating": {"seq": 3, "rated": "2025-11-24T01:02:00.000+00:00"},
        # Resolved at the hall's clock: the heartbeat of 09:30.
        "rectification": {
            "note": "整改: 已回访评价人, 窗口W3一次性告知培训",
            "at": "2025-11-24T01:30:00.000+00:00",
        },
        "summary": first.summary,
        "alert_id": first.id,
    }
    assert "P-SECRET" not in json.dumps(body, ensure_ascii=False)


def test_only_a_persons_resolution_of_a_bad_rating_is_feedback() -> None:
    book = AlertBook()
    a = book.fire(BAD_RATING, H, "W1/7", "notice", ms(0), "bad rating 1 at window W1")
    assert a is not None
    # Closed by the system (the hall over its open-alert cap): nothing was rectified.
    a.state, a.resolved_by, a.resolved_ms = "resolved", "system", ms(5)
    assert rating_feedback_body(Change(a, "resolved unhandled", ms(5), "system")) is None
    a.resolved_by, a.resolve_note = "zhang", "apologised"
    assert rating_feedback_body(Change(a, "acknowledged", ms(5), "zhang")) is None
    body = rating_feedback_body(Change(a, "resolved by hand", ms(5), "zhang", "apologised"))
    assert body is not None and body["rating"]["seq"] == 7


def test_a_dead_rating_platform_costs_a_count(tmp_path) -> None:
    dead = Receiver()
    url = dead.url
    dead.server.server_close()  # nothing listens there any more
    feedback = RatingFeedback(url=url + "/feedback")
    out = Outbound(OutboundConfig(retries=1, rating_feedback=feedback))
    assert OutboundConfig(rating_feedback=feedback).enabled
    book = AlertBook()
    book.listeners.append(out.changed)
    a = book.fire(BAD_RATING, H, "W1/7", "notice", ms(0), "bad rating 1 at window W1")
    assert a is not None
    book.resolve_by_hand(a.id, "zhang", "apologised")
    until(lambda: out.failed == 1)
    out.close()
    assert out.sent == 0


def test_a_bad_rating_feedback_url_names_file_line_and_field(tmp_path) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(
        '[outbound]\nretries = 1\n\n[outbound.rating_feedback]\nurl = "ftp://x/feedback"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:5: field outbound.rating_feedback.url:")
