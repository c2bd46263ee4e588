"""Prometheus view of an audit store's write counters, for the service's ``GET /metrics``.

- ``harmscope_audit_decisions_total{outcome}``: ``written``, ``duplicate``, ``dropped`` (queue full or
  store closed), ``failed`` (database refused the batch after retries).
- ``harmscope_audit_queue_depth``: decisions accepted but not yet committed.

A collector (read at scrape time from :meth:`AuditStore.stats`) rather than counters updated by the writer,
so the store needs no Prometheus import and one store can be shown by any registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harmscope.service.audit.store import AuditStore


class AuditCollector:
    """A ``prometheus_client`` custom collector over ``store.stats()``."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        stats = self.store.stats()
        decisions = CounterMetricFamily("harmscope_audit_decisions", "Decisions by audit outcome",
                                        labels=["outcome"])
        for outcome, value in (("written", stats.written), ("duplicate", stats.duplicates),
                               ("dropped", stats.dropped), ("failed", stats.failed)):
            decisions.add_metric([outcome], value)
        yield decisions
        yield GaugeMetricFamily("harmscope_audit_queue_depth", "Audit decisions not yet committed",
                                value=stats.queued)


def register_audit_metrics(registry: Any, store: AuditStore) -> AuditCollector:
    """Add ``store``'s counters to the Prometheus ``registry`` (e.g. the app's ``metrics.registry``)."""
    collector = AuditCollector(store)
    registry.register(collector)
    return collector
