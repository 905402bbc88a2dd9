"""The one place that puts a pipeline together from a configuration: the hall state
under each hall's settings, the alert engine with each hall's rules, the duty roster,
and whatever storage the caller has (a journal, an alert store, snapshots). ``serve``,
the console, the demo, the in-process replay and the reports all build theirs here, so
they cannot drift apart (the figures' zone limits once did).

Imports: alerts (names, store), feeds (journal, sources), runtime (config, pipeline, snapshot).
"""

from __future__ import annotations

from collections.abc import Iterable

from alerts.names import Names
from alerts.store import AlertStore
from feeds.journal import Journal
from feeds.retention import Retention
from feeds.source import FeedSource
from runtime.config import Config
from runtime.datadir import DataDirLock
from runtime.pipeline import Pipeline
from runtime.snapshot import Snapshots


def build_pipeline(
    config: Config,
    sources: Iterable[FeedSource] = (),
    *,
    store: AlertStore | None = None,
    journal: Journal | None = None,
    snapshots: Snapshots | None = None,
    lock: DataDirLock | None = None,
    forward: bool = True,
    names: Names | None = None,
) -> Pipeline:
    """A pipeline as ``config`` describes it.

    Args:
        store: the alert store (alerts, silences, handovers and their audit trail);
            None keeps alerts in memory (a replay, a report).
        journal: records every applied batch; None for a replay of recordings.
        snapshots: state snapshots, saved with a journal.
        lock: the data dir's writer lock (taken), released when the pipeline closes.
        forward: send alerts to ``[outbound]`` (Alertmanager, webhooks); a report or a
            replay forwards nothing.
        names: display names of halls, zones, items and departments; None: the
            config's (the demo gives its own).
    """
    calendar = config.work_calendar()
    engine = config.alert_engine(store, calendar, forward=forward)
    return Pipeline(
        sources,
        settings=config.hall_settings(calendar),
        journal=journal,
        alerts=engine,
        store=store,
        roster=config.duty,
        snapshots=snapshots,
        lock=lock,
        retention=Retention(
            config.retention.strip_days(config.rules), config.retention.delete_after_days
        ),
        names=names if names is not None else config.names(),
    )
