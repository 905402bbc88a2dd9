"""Forwarding alerts: to an Alertmanager (its v2 HTTP API) and to webhooks (WeCom and
DingTalk group robots take JSON), with retries. Optional (``[outbound]`` in the config).

The book calls ``Outbound.changed`` on every change, in the pipeline's thread; that only
queues a payload. Each receiver — every peer of an Alertmanager cluster (each gets every
notification; the cluster de-duplicates them), every webhook — has a sender thread and a
queue of its own (``Destination``, stdlib ``urllib``), retrying a failed post with
exponential backoff, so a dead peer holds back none of the live ones; each Alertmanager
peer re-sends every open alert every ``resend_seconds`` (Alertmanager resolves an alert
it has not heard of for its ``resolve_timeout``). The queues are bounded: when a receiver
is down for long, its oldest notifications are dropped and counted, never the pipeline
slowed. Payloads carry the
alert's rule, hall, scope, severity and kind (card 黄牌/红牌, or warning 预警), summary
and times — never a person.

The rating platform (``rating_feedback``) is one more receiver of its own: it hears of
each bad rating a person rectified (seed 004: 差评整改情况在线反馈), one post per rating.

Imports: alerts.book, alerts.model, alerts.people_rules (its rule's name), msgspec, the
standard library.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
import structlog

from alerts.book import Alert, Change
from alerts.model import _RANK, ROLE_ZH, SEVERITY_ZH, Key, kind_of, rectified
from alerts.people_rules import BAD_RATING

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


HttpUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://")]


class RatingFeedback(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """``[outbound.rating_feedback]``: the rating platform (好差评) hears of each bad rating
    rectified (seed 004: 差评整改情况在线反馈), one POST per rating."""

    url: HttpUrl
    """Where the rating platform takes the feedback (its webhook)."""
    format: Literal["generic"] = "generic"
    """``generic``: the JSON body of ``rating_feedback_body`` (the only format so far)."""


class OutboundConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    alertmanager: HttpUrl | list[HttpUrl] | None = None
    """Base URL of an Alertmanager, e.g. ``http://127.0.0.1:9093``, or the list of every
    peer of an Alertmanager cluster: each peer gets every notification (the cluster
    de-duplicates them), each through its own queue and retries."""
    resend_seconds: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 60.0
    retries: Annotated[int, msgspec.Meta(ge=0, le=20)] = 5
    """Attempts after the first failure, waiting 0.5 s, 1 s, 2 s … between them."""
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    webhooks: list[Webhook] = []
    rating_feedback: RatingFeedback | None = None
    """Feed each rectified bad rating back to the rating platform (optional)."""

    @property
    def enabled(self) -> bool:
        return bool(self.peers) or bool(self.webhooks) or self.rating_feedback is not None

    @property
    def peers(self) -> tuple[str, ...]:
        """The Alertmanager peers' base URLs (none, one, or a cluster's)."""
        if self.alertmanager is None:
            return ()
        if isinstance(self.alertmanager, str):
            return (self.alertmanager,)
        return tuple(dict.fromkeys(self.alertmanager))  # (a peer given twice: once)


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def alertmanager_body(
    rule: str,
    hall: str,
    scope: str,
    severity: str,
    fired_ms: int,
    resolved_ms: int | None,
    annotations: dict[str, str],
) -> dict[str, Any]:
    """One alert in Alertmanager's v2 ``postableAlert`` shape: its labels say which alert
    (and its severity), ``startsAt``/``endsAt`` the hall times it fired and resolved."""
    out: dict[str, Any] = {
        "labels": {
            "alertname": rule,
            "hall": hall,
            "scope": scope,
            "severity": severity,
            "kind": kind_of(severity),
            "source": "hallwatch",
        },
        "annotations": annotations,
        "startsAt": _rfc3339(fired_ms),
    }
    if resolved_ms is not None:
        out["endsAt"] = _rfc3339(resolved_ms)
    return out


def alertmanager_alert(a: Alert) -> dict[str, Any]:
    """``a`` as Alertmanager takes it (``alertmanager_body``)."""
    notes = {"summary": a.summary, "alert_id": str(a.id), "level": str(a.level)}
    if a.level and a.escalated_role is not None:  # 督办: who it was escalated to
        notes["escalated_to"] = f"{a.escalated_role}: {a.escalated_target}"
    return alertmanager_body(a.rule, a.hall, a.scope, a.severity, a.fired_ms, a.resolved_ms,
                             notes)  # fmt: skip


def post_json(url: str, data: bytes, timeout_s: float) -> str | None:
    """POST ``data`` (JSON) to ``url`` once: None when it was taken (2xx), else why not."""
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            return None if 200 <= reply.status < 300 else f"status {reply.status}"
    except (urllib.error.URLError, OSError) as error:
        return str(error)


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


def rating_feedback_body(change: Change) -> dict[str, Any] | None:
    """What the rating platform is told of a rectified bad rating (差评整改情况在线反馈),
    or None when ``change`` is not one: a ``bad_rating`` alert resolved by a person, with
    the rectification note that resolving by hand requires. The rating is named as the
    feed named it: hall, window, the rating event's ``seq`` (the alert's scope is
    ``window/seq``) and its time; never a person, raw or pseudonymized."""
    a = change.alert
    if a.rule != BAD_RATING or not change.what.startswith("resolved") or not rectified(a):
        return None
    window, _, seq = a.scope.partition("/")
    return {
        "event": "rating_rectified",
        "hall": a.hall,
        "window": window,
        "rating": {"seq": int(seq) if seq.isdigit() else seq, "rated": _rfc3339(a.fired_ms)},
        "rectification": {"note": change.note or a.resolve_note, "at": _rfc3339(change.at_ms)},
        "summary": a.summary,
        "alert_id": a.id,
    }


class Destination:
    """One receiver — an Alertmanager peer or a webhook — with its own queue and sender
    thread: it retries a failed post with exponential backoff (0.5 s, 1 s, 2 s … at most
    30 s), and while it does, every other receiver goes on. The queue is bounded: when
    the receiver is down for long, its oldest notifications are dropped and counted.

    An Alertmanager peer also re-sends the open alerts (``resend``) every
    ``resend_seconds``: Alertmanager resolves an alert it stops hearing of."""

    def __init__(
        self,
        url: str,
        cfg: OutboundConfig,
        max_queue: int,
        resend: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.url = url
        self.cfg = cfg
        self.max_queue = max_queue
        self._resend = resend
        self._queue: deque[bytes] = deque()
        self._lock = threading.Condition()
        self._stop = False
        self._halt = threading.Event()
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"hallwatch-outbound {url}",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def put(self, data: bytes) -> None:
        """Queue one post (never waits)."""
        with self._lock:
            if len(self._queue) >= self.max_queue:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(data)
            self._lock.notify()

    def stop(self) -> None:
        """Ask the thread to end: what is queued gets one more attempt, no waiting."""
        with self._lock:
            self._stop = True
            self._lock.notify()
        self._halt.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _post(self, data: bytes) -> bool:
        delay = 0.5
        for attempt in range(self.cfg.retries + 1):
            last = post_json(self.url, data, self.cfg.timeout_seconds)
            if last is None:
                return True
            if attempt < self.cfg.retries:
                if self._halt.wait(delay):
                    break  # closing: one attempt per remaining notification, no waiting
                delay = min(delay * 2, 30.0)
        log.warning("outbound_failed", url=self.url, attempts=self.cfg.retries + 1, error=last)
        return False

    def _run(self) -> None:
        resend_s = self.cfg.resend_seconds
        next_resend = time.monotonic() + resend_s
        while True:
            with self._lock:
                while not self._queue and not self._stop:
                    if self._resend is not None and time.monotonic() >= next_resend:
                        break
                    wait = next_resend - time.monotonic() if self._resend is not None else None
                    self._lock.wait(max(0.05, wait) if wait is not None else None)
                if self._stop and not self._queue:
                    return
                data = self._queue.popleft() if self._queue else None
            if data is None:  # time to re-send the open alerts (Alertmanager only)
                next_resend = time.monotonic() + resend_s
                assert self._resend is not None
                alerts = self._resend()
                if not alerts:
                    continue
                data = json.dumps(alerts, ensure_ascii=False).encode()
            ok = self._post(data)
            with self._lock:
                if ok:
                    self.sent += 1
                else:
                    self.failed += 1


class Outbound:
    """Turns the book's changes into notifications, one ``Destination`` per Alertmanager
    peer, per webhook and for the rating platform's feedback."""

    def __init__(self, cfg: OutboundConfig, max_queue: int = 10_000) -> None:
        self.cfg = cfg
        self._open: dict[Key, dict[str, Any]] = {}
        """Open alerts in Alertmanager shape, by identity (re-sent every
        ``resend_seconds``; an identity has one open alert at a time)."""
        self._lock = threading.Lock()
        self.peers = [
            Destination(peer.rstrip("/") + "/api/v2/alerts", cfg, max_queue, self._open_alerts)
            for peer in cfg.peers
        ]
        self.hooks = [(hook, Destination(hook.url, cfg, max_queue)) for hook in cfg.webhooks]
        feedback = cfg.rating_feedback
        self.feedback = Destination(feedback.url, cfg, max_queue) if feedback else None
        """The rating platform's receiver of rectified bad ratings (``rating_feedback``)."""

    @property
    def sent(self) -> int:
        """Posts delivered, every receiver counted."""
        return sum(d.sent for d in self._destinations())

    @property
    def failed(self) -> int:
        """Posts given up after their retries."""
        return sum(d.failed for d in self._destinations())

    @property
    def dropped(self) -> int:
        """Notifications pushed out of a full queue."""
        return sum(d.dropped for d in self._destinations())

    def _destinations(self) -> list[Destination]:
        feedback = [self.feedback] if self.feedback is not None else []
        return [*self.peers, *(d for _, d in self.hooks), *feedback]

    def _open_alerts(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._open.values())

    def changed(self, change: Change) -> None:
        """A book listener: queue what this change should tell the receivers."""
        if not change.what.startswith(NOTIFY):
            return
        a = change.alert
        if self.peers:
            self.track(change)
            data = json.dumps([alertmanager_alert(a)], ensure_ascii=False).encode()
            for peer in self.peers:
                peer.put(data)
        for hook, destination in self.hooks:
            if hook.wants(a):
                destination.put(json.dumps(webhook_body(hook, change), ensure_ascii=False).encode())
        if self.feedback is not None and (rated := rating_feedback_body(change)) is not None:
            self.feedback.put(json.dumps(rated, ensure_ascii=False).encode())

    def track(self, change: Change) -> None:
        """Keep what the Alertmanager peers are re-sent as ``change`` leaves its alert,
        and post nothing: on a shard the change itself reaches the peers from the alerts
        stream (``province.alertmanager``)."""
        if not self.peers or not change.what.startswith(NOTIFY):
            return
        a = change.alert
        with self._lock:
            if a.state == "resolved":
                self._open.pop(a.key, None)
            else:
                self._open[a.key] = alertmanager_alert(a)

    def assert_open(self, alerts: Iterable[Alert]) -> None:
        """Tell every Alertmanager peer that these alerts are open, and re-send them from
        now on (a shard that took over their partition)."""
        if not self.peers:
            return
        bodies = []
        with self._lock:
            for a in alerts:
                if a.open:
                    body = self._open[a.key] = alertmanager_alert(a)
                    bodies.append(body)
        if bodies:
            data = json.dumps(bodies, ensure_ascii=False).encode()
            for peer in self.peers:
                peer.put(data)

    def forget(self, keys: Iterable[Key]) -> None:
        """Stop re-sending these alerts (their partition moved to another shard, which
        re-sends them from now on)."""
        with self._lock:
            for key in keys:
                self._open.pop(key, None)

    def close(self, timeout: float = 5.0) -> None:
        """Try once more what is queued (within ``timeout``) and stop the threads."""
        destinations = self._destinations()
        for d in destinations:
            d.stop()
        deadline = time.monotonic() + timeout
        for d in destinations:
            d.join(max(0.0, deadline - time.monotonic()))
