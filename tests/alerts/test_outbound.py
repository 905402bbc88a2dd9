"""Forwarding to an Alertmanager (v2 API) and to webhooks, against a real local HTTP
server that fails the first posts: retries deliver, payloads have the right shape."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from alerts.book import AlertBook
from alerts.outbound import Outbound, OutboundConfig, Webhook
from tests.alerts._helpers import H
from tests.conftest import ms


class Receiver:
    """Records every POST; answers 503 to the first ``fail`` of them."""

    def __init__(self, fail: int = 0) -> None:
        self.posts: list[tuple[str, object]] = []
        self.fail = fail
        self.seen = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.seen += 1
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
    book.fire("complaint", H, "K1", "red", ms(0), "complaint K1 via desk")
    book.fire("wait_overtime", H, "biz/B1", "yellow", ms(1), "ticket B1 waiting over 24 min")
    book.tick(H, ms(2))
    book.acknowledge(1, "zhang", "on it")  # not forwarded: stays in the console
    book.resolve("complaint", H, "K1", ms(3))
    until(lambda: len(receiver.posts) == 8)
    out.close()
    assert out.failed == 0 and out.sent == 8 and receiver.seen == 10  # 2 retried
    by_path: dict[str, list] = {}
    for path, body in receiver.posts:
        by_path.setdefault(path, []).append(body)
    am = [alert for body in by_path["/api/v2/alerts"] for alert in body]
    assert [(a["labels"]["alertname"], a.get("endsAt")) for a in am] == [
        ("complaint", None),
        ("wait_overtime", None),
        ("complaint", "2025-11-24T01:03:00.000+00:00"),
    ]
    assert am[0]["labels"] == {
        "alertname": "complaint",
        "hall": H,
        "scope": "K1",
        "severity": "red",
        "source": "hallwatch",
    }
    assert am[0]["startsAt"] == "2025-11-24T01:00:00.000+00:00"
    robot = by_path["/robot"]  # red only
    assert [b["msgtype"] for b in robot] == ["text", "text"]
    assert robot[0]["text"]["content"].startswith("【红牌】lz complaint K1 via desk")
    generic = by_path["/hook"]
    assert [(b["event"], b["alert"]["rule"]) for b in generic] == [
        ("fired red", "complaint"),
        ("fired yellow", "wait_overtime"),
        ("resolved", "complaint"),
    ]


def test_a_dead_receiver_costs_nothing_but_a_count() -> None:
    dead = Receiver()
    url = dead.url
    dead.server.server_close()  # nothing listens there any more
    out = Outbound(OutboundConfig(alertmanager=url, retries=1))
    book = AlertBook()
    book.listeners.append(out.changed)
    started = time.monotonic()
    book.fire("complaint", H, "K1", "red", ms(0), "s")
    assert time.monotonic() - started < 0.1  # the pipeline never waits on the network
    until(lambda: out.failed == 1)
    out.close()


def test_open_alerts_are_resent_to_alertmanager() -> None:
    receiver = Receiver()
    out = Outbound(OutboundConfig(alertmanager=receiver.url, resend_seconds=1.0))
    book = AlertBook()
    book.listeners.append(out.changed)
    book.fire("complaint", H, "K1", "red", ms(0), "s")
    until(lambda: len(receiver.posts) >= 2)  # the notification, then the periodic re-send
    out.close()
    receiver.server.shutdown()
    receiver.server.server_close()
    assert [[a["labels"]["scope"] for a in body] for _, body in receiver.posts[:2]] == [
        ["K1"],
        ["K1"],
    ]
