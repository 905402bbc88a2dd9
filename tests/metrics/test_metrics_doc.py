"""docs/metrics.md against what /metrics really serves, both ways.

Every family the exporter writes is documented there with its type and label names, and
every metric documented there is written; the contract's fixed set is the section of its
own. A scrape of a real snapshot (a scripted morning, a feed with a rejection, alerts)
is the exporter's side, so a family added to ``metrics/exposition.py`` or
``metrics/dashboard.py`` without a line in the doc fails here. The closed sets of label
values (rejection reasons, outcomes, window states) must be listed too.
"""

from __future__ import annotations

import re
import urllib.request
from functools import partial
from pathlib import Path

import pytest

from alerts.model import KINDS, SEVERITIES
from feeds.decode import REASONS
from feeds.protocol import (
    ABANDON_REASONS,
    SERVICE_OUTCOMES,
    WINDOW_STATES,
    CaseSubmitted,
    Complaint,
    ServiceFinished,
)
from feeds.source import FeedStatus
from metrics.exposition import serve_metrics
from metrics.snapshot import CitySnapshot
from metrics.state import CityState
from metrics.storage import REASONS as STORAGE_REASONS
from metrics.storage import STORES, StoreHealth
from province.exposition import shard_body
from tests.factories import H, morning, ms
from tests.metrics.test_exposition import CONTRACT, scrape

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
CONTRACT_SECTION = "The contract's fixed set"
#: A table row documenting one metric: | `name` | type | `label`, ... | meaning |
ROW = re.compile(r"^\|\s*`(hall_[a-z0-9_]+)`\s*\|\s*([a-z]+)\s*\|([^|]*)\|")
#: Suffixes of a histogram's series.
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")


def documented() -> dict[str, tuple[str, str, frozenset[str]]]:
    """Metric → (section, type, label names) from the tables of docs/metrics.md."""
    out: dict[str, tuple[str, str, frozenset[str]]] = {}
    section = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif m := ROW.match(line):
            name, kind, labels = m.groups()
            assert name not in out, f"{name} documented twice in docs/metrics.md"
            out[name] = (section, kind, frozenset(re.findall(r"`([a-z_]+)`", labels)))
    return out


@pytest.fixture(scope="module")
def exported() -> dict[str, tuple[str, frozenset[str], int]]:
    """Family as written (counters with ``_total``) → (type, label names, series) from a
    scrape of /metrics over HTTP."""
    city = CityState()
    city.apply(morning())
    city.apply(
        [
            CaseSubmitted(
                seq=100, ts=ms(21), hall=H, case="C1", item="i", dept="d", promised_days=3
            ),
            # A third call of biz ends: the expected wait has a figure (MIN_CYCLES).
            ServiceFinished(
                seq=102, ts=ms(21, 30), hall=H, ticket="B002", window="W01", outcome="done"
            ),
            Complaint(seq=101, ts=ms(22), hall=H, complaint="K1", channel="desk", window="W01"),
        ]
    )
    status = FeedStatus(name="lz-feed", connected=True, last_seq=101, events_total=101)
    status.rejected["bad_value"] = 1
    status.newest_ts, status.newest_wall = ms(22), ms(22) / 1000 + 3.0
    snap = CitySnapshot(
        halls=city.snapshots(),
        feeds=(status.snapshot(),),
        alerts_active={(H, "complaint", "notice"): 1},
        alerts_shed={H: 1},
        storage=(
            StoreHealth("journal", ok=False, errors=(("no_space", 2),)),
            StoreHealth("alerts", ok=True),
        ),
    )
    # As a province shard serves it (serve --nats): its own family after the halls'.
    shard = partial(shard_body, partitions=4, owned=frozenset({1}))
    registry, port, stop = serve_metrics(lambda: snap, "127.0.0.1", 0, renders=shard)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        body = urllib.request.urlopen(url, timeout=5).read().decode()
        samples = scrape(port)
    finally:
        stop()
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", body, re.M))
    # Every series belongs to a declared family (a histogram's via its suffixes).
    owner = {name: name for name in types}
    for name, kind in types.items():
        if kind == "histogram":
            owner |= {name + suffix: name for suffix in HISTOGRAM_SERIES}
    labels: dict[str, set[str]] = {name: set() for name in types}
    series = dict.fromkeys(types, 0)
    for sample, label_items in samples:
        assert sample in owner, f"{sample} is written without a # TYPE line"
        family = owner[sample]
        labels[family] |= {k for k, _ in label_items if k != "le"}
        series[family] += 1
    # The same families reach a prometheus_client registry (``HallCollector``), which
    # names a counter family without ``_total``.
    collected = {f.name + ("_total" if f.type == "counter" else "") for f in registry.collect()}
    assert collected == set(types)
    return {name: (t, frozenset(labels[name]), series[name]) for name, t in types.items()}


def test_every_exported_metric_is_documented(exported) -> None:
    missing = sorted(set(exported) - set(documented()))
    assert not missing, f"written to /metrics but not in docs/metrics.md: {missing}"


def test_every_documented_metric_is_exported(exported) -> None:
    stale = sorted(set(documented()) - set(exported))
    assert not stale, f"in docs/metrics.md but not written to /metrics: {stale}"


def test_types_and_labels_are_as_documented(exported) -> None:
    doc = documented()
    for name, (kind, labels, series) in exported.items():
        assert series > 0, f"{name}: the snapshot of this test should give it a series"
        if name in doc:
            _, doc_kind, doc_labels = doc[name]
            assert doc_kind == kind, f"{name}: documented {doc_kind}, written {kind}"
            wrong = f"{name}: labels documented {sorted(doc_labels)}, written {sorted(labels)}"
            assert doc_labels == labels, wrong


def test_the_contract_section_is_the_contract_set() -> None:
    doc = documented()
    fixed = sorted(name for name, (section, _, _) in doc.items() if section == CONTRACT_SECTION)
    assert fixed == sorted(CONTRACT)


def test_label_values_are_listed() -> None:
    """The closed sets a label takes its values from are all in the doc's label table."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^\|\s*`([a-z]+)`\s*\|(.*)\|\s*$", line):
            rows[m.group(1)] = set(re.findall(r"`([^`]+)`", m.group(2)))
    expected = {
        "reason": {
            *REASONS,
            *ABANDON_REASONS,
            "journal_torn_tail",
            "journal_damaged",
            *STORAGE_REASONS,
        },
        "store": set(STORES),
        "outcome": set(SERVICE_OUTCOMES),
        "state": set(WINDOW_STATES),
        "severity": set(SEVERITIES),
        "kind": set(KINDS),
    }
    for label, values in expected.items():
        missing = sorted(values - rows.get(label, set()))
        assert not missing, f"label {label}: {missing} not listed in docs/metrics.md"
