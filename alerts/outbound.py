"""Forwarding alerts: to an Alertmanager (its v2 HTTP API) and to webhooks (WeCom and
DingTalk group robots take JSON), with retries. Optional (``[outbound]`` in the config).

The book calls ``Outbound.changed`` on every change, in the pipeline's thread; that only
queues a payload. One sender thread posts them (stdlib ``urllib``), retrying a failed post
with exponential backoff, and re-sends every open alert to Alertmanager every
``resend_seconds`` (Alertmanager resolves an alert it has not heard of for its
``resolve_timeout``). The queue is bounded: when a receiver is down for long, the oldest
notifications are dropped and counted, never the pipeline slowed. Payloads carry the
alert's rule, hall, scope, severity and kind (card 黄牌/红牌, or warning 预警), summary
and times — never a person.

Imports: alerts.book, msgspec, the standard library.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import structlog

from alerts.book import Alert, Change
from alerts.model import _RANK, ROLE_ZH, SEVERITY_ZH, kind_of

log = structlog.get_logger("hallwatch.outbound")

#: Changes worth a notification (acknowledgements and silences stay in the console).
NOTIFY = ("fired", "raised", "escalated", "resolved")


class Webhook(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    url: Annotated[str, msgspec.Meta(pattern=r"^https?://")]
    format: Literal["generic", "wecom", "dingtalk"] = "generic"
    """``generic``: ``{"event", "alert"}``; ``wecom``/``dingtalk``: a robot text message."""
    min_severity: Literal["notice", "urgent", "yellow", "red"] = "notice"
    """The lower severity of a kind (``notice``, ``yellow``) lets every alert through; the
    higher (``urgent``, ``red``) only red cards and urgent warnings."""
    kinds: tuple[Literal["card", "warning"], ...] = ("card", "warning")
    """Which kinds this receiver gets: cards (黄牌/红牌), warnings (预警), or both."""

    def wants(self, a: Alert) -> bool:
        """Whether this receiver gets notifications of ``a``."""
        return kind_of(a.severity) in self.kinds and _RANK[a.severity] >= _RANK[self.min_severity]


class OutboundConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    alertmanager: Annotated[str, msgspec.Meta(pattern=r"^https?://")] | None = None
    """Base URL of an Alertmanager, e.g. ``http://127.0.0.1:9093``."""
    resend_seconds: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 60.0
    retries: Annotated[int, msgspec.Meta(ge=0, le=20)] = 5
    """Attempts after the first failure, waiting 0.5 s, 1 s, 2 s … between them."""
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    webhooks: list[Webhook] = []

    @property
    def enabled(self) -> bool:
        return self.alertmanager is not None or bool(self.webhooks)


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def alertmanager_alert(a: Alert) -> dict[str, Any]:
    """One alert in Alertmanager's v2 ``postableAlert`` shape."""
    out: dict[str, Any] = {
        "labels": {
            "alertname": a.rule,
            "hall": a.hall,
            "scope": a.scope,
            "severity": a.severity,
            "kind": kind_of(a.severity),
            "source": "hallwatch",
        },
        "annotations": {"summary": a.summary, "alert_id": str(a.id), "level": str(a.level)},
        "startsAt": _rfc3339(a.fired_ms),
    }
    if a.level and a.escalated_role is not None:  # 督办: who it was escalated to
        out["annotations"]["escalated_to"] = f"{a.escalated_role}: {a.escalated_target}"
    if a.resolved_ms is not None:
        out["endsAt"] = _rfc3339(a.resolved_ms)
    return out


def webhook_body(hook: Webhook, change: Change) -> dict[str, Any]:
    """The body for ``hook``; an escalation names its level, role and target (督办)."""
    a = change.alert
    escalated = change.what.startswith("escalated") and a.escalated_role is not None
    if hook.format == "generic":
        body: dict[str, Any] = {
            "event": change.what,
            "at": _rfc3339(change.at_ms),
            "alert": {
                "id": a.id,
                "rule": a.rule,
                "hall": a.hall,
                "scope": a.scope,
                "severity": a.severity,
                "kind": kind_of(a.severity),
                "state": a.state,
                "level": a.level,
                "summary": a.summary,
                "fired": _rfc3339(a.fired_ms),
            },
        }
        if escalated:
            body["escalation"] = {
                "level": a.level,
                "role": a.escalated_role,
                "target": a.escalated_target,
            }
        return body
    if escalated:
        role = ROLE_ZH.get(a.escalated_role or "", a.escalated_role)
        text = (
            f"【督办·{SEVERITY_ZH[a.severity]}】{a.hall} {a.summary}"
            f"（第{a.level}级督办：{role} {a.escalated_target}，#{a.id}）"
        )
    else:
        text = f"【{SEVERITY_ZH[a.severity]}】{a.hall} {a.summary}（{change.what}，#{a.id}）"
    return {"msgtype": "text", "text": {"content": text}}


class Outbound:
    """Queues notifications from the book and posts them from one thread."""

    def __init__(self, cfg: OutboundConfig, max_queue: int = 10_000) -> None:
        self.cfg = cfg
        self._queue: deque[tuple[str, bytes]] = deque()
        self._max_queue = max_queue
        self._open: dict[int, dict[str, Any]] = {}
        """Open alerts in Alertmanager shape, re-sent every ``resend_seconds``."""
        self._lock = threading.Condition()
        self._stop = False
        self._halt = threading.Event()
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="hallwatch-outbound", daemon=True)
        self._thread.start()

    def changed(self, change: Change) -> None:
        """A book listener: queue what this change should tell the receivers."""
        if not change.what.startswith(NOTIFY):
            return
        a = change.alert
        posts: list[tuple[str, bytes]] = []
        if self.cfg.alertmanager:
            body = alertmanager_alert(a)
            url = self.cfg.alertmanager.rstrip("/") + "/api/v2/alerts"
            posts.append((url, json.dumps([body], ensure_ascii=False).encode()))
        for hook in self.cfg.webhooks:
            if hook.wants(a):
                data = json.dumps(webhook_body(hook, change), ensure_ascii=False).encode()
                posts.append((hook.url, data))
        with self._lock:
            if self.cfg.alertmanager:
                if a.state == "resolved":
                    self._open.pop(a.id, None)
                else:
                    self._open[a.id] = alertmanager_alert(a)
            for post in posts:
                if len(self._queue) >= self._max_queue:
                    self._queue.popleft()
                    self.dropped += 1
                self._queue.append(post)
            self._lock.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Try once more what is queued (within ``timeout``) and stop the thread."""
        with self._lock:
            self._stop = True
            self._lock.notify()
        self._halt.set()
        self._thread.join(timeout)

    def _post(self, url: str, data: bytes) -> bool:
        delay = 0.5
        for attempt in range(self.cfg.retries + 1):
            request = urllib.request.Request(
                url, data=data, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.cfg.timeout_seconds) as reply:
                    if 200 <= reply.status < 300:
                        return True
            except (urllib.error.URLError, OSError) as error:
                last = str(error)
            else:
                last = f"status {reply.status}"
            if attempt < self.cfg.retries:
                if self._halt.wait(delay):
                    break  # closing: one attempt per remaining notification, no waiting
                delay = min(delay * 2, 30.0)
        log.warning("outbound_failed", url=url, attempts=self.cfg.retries + 1, error=last)
        return False

    def _run(self) -> None:
        next_resend = time.monotonic() + self.cfg.resend_seconds
        while True:
            with self._lock:
                while not self._queue and not self._stop:
                    if self._open and time.monotonic() >= next_resend:
                        break
                    self._lock.wait(max(0.05, next_resend - time.monotonic()))
                if self._stop and not self._queue:
                    return
                item = self._queue.popleft() if self._queue else None
                resend = list(self._open.values()) if item is None else None
            if item is not None:
                ok = self._post(*item)
            else:
                next_resend = time.monotonic() + self.cfg.resend_seconds
                url = (self.cfg.alertmanager or "").rstrip("/") + "/api/v2/alerts"
                ok = self._post(url, json.dumps(resend, ensure_ascii=False).encode())
            with self._lock:
                if ok:
                    self.sent += 1
                else:
                    self.failed += 1
