"""Prometheus metrics of one app instance (its own registry: two apps in one process never share counts).

Exposed at ``GET /metrics`` in the Prometheus text format:

- ``harmscope_requests_total{endpoint, status}``: HTTP requests by route template and status code.
- ``harmscope_request_latency_seconds{endpoint}``: wall time until the response headers are sent.
- ``harmscope_screen_latency_seconds{endpoint}``: detector time per request.
- ``harmscope_inputs_total{endpoint}``: texts screened.
- ``harmscope_flagged_total{endpoint}``: texts flagged.
- ``harmscope_flagged_category_total{category}``: flagged texts per OpenAI category set.
- ``harmscope_gateway_decisions_total{decision}``: allowed / refused / rerouted chats.
- ``harmscope_upstream_errors_total{kind}``: gateway upstream failures (unreachable, timeout, error status).
- ``harmscope_detector_ready``: 1 once the detector is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    from harmscope.service.moderator import TextVerdict

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class ServiceMetrics:
    """The metric objects of one app, and its registry."""

    registry: CollectorRegistry
    requests: Counter
    request_latency: Histogram
    screen_latency: Histogram
    inputs: Counter
    flagged: Counter
    flagged_category: Counter
    gateway_decisions: Counter
    upstream_errors: Counter
    ready: Gauge

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint=endpoint, status=str(status)).inc()
        self.request_latency.labels(endpoint=endpoint).observe(seconds)

    def observe_screen(self, endpoint: str, verdicts: tuple[TextVerdict, ...], latency_ms: float) -> None:
        self.screen_latency.labels(endpoint=endpoint).observe(latency_ms / 1000.0)
        self.inputs.labels(endpoint=endpoint).inc(len(verdicts))
        n_flagged = sum(v.flagged for v in verdicts)
        if n_flagged:
            self.flagged.labels(endpoint=endpoint).inc(n_flagged)
        for v in verdicts:
            for category, on in v.openai_categories.items():
                if on:
                    self.flagged_category.labels(category=category).inc()

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def create_metrics() -> ServiceMetrics:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    registry = CollectorRegistry(auto_describe=True)
    return ServiceMetrics(
        registry=registry,
        requests=Counter("harmscope_requests", "HTTP requests by route and status", ["endpoint", "status"],
                         registry=registry),
        request_latency=Histogram("harmscope_request_latency_seconds", "Wall time until response headers",
                                  ["endpoint"], buckets=LATENCY_BUCKETS, registry=registry),
        screen_latency=Histogram("harmscope_screen_latency_seconds", "Detector time per request",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=registry),
        inputs=Counter("harmscope_inputs", "Texts screened", ["endpoint"], registry=registry),
        flagged=Counter("harmscope_flagged", "Texts flagged", ["endpoint"], registry=registry),
        flagged_category=Counter("harmscope_flagged_category", "Flagged texts per OpenAI category",
                                 ["category"], registry=registry),
        gateway_decisions=Counter("harmscope_gateway_decisions", "Chat requests by guard decision",
                                  ["decision"], registry=registry),
        upstream_errors=Counter("harmscope_upstream_errors", "Gateway upstream failures", ["kind"],
                                registry=registry),
        ready=Gauge("harmscope_detector_ready", "1 once the detector is loaded", registry=registry),
    )
