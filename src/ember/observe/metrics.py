"""Prometheus metrics, per function, served at GET /metrics.

Counters and histograms are updated on the invoke path (a dictionary lookup and
an add each); gauges of current state (concurrency, environments by state,
committed memory) are read from the live objects when Prometheus scrapes.
"""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.invocations = Counter(
            "ember_invocations", "Invocations that ran", ["function"], registry=self.registry
        )
        self.errors = Counter(
            "ember_invocation_errors", "Invocations that ended in a function error", ["function", "error_type"],
            registry=self.registry,
        )
        self.throttles = Counter(
            "ember_throttles", "Invocations refused for concurrency or host memory", ["function", "reason"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "ember_invocation_duration_seconds", "Invocation duration (Lambda's Duration)", ["function"],
            buckets=DURATION_BUCKETS, registry=self.registry,
        )
        self.cold_starts = Counter(
            "ember_cold_starts", "Invocations that started a new environment", ["function"], registry=self.registry
        )
        self.init_duration = Histogram(
            "ember_init_duration_seconds", "Environment init duration (Lambda's Init Duration)", ["function"],
            buckets=DURATION_BUCKETS, registry=self.registry,
        )

    def watch(self, collect_gauges) -> None:
        """collect_gauges() yields (name, help, labels, samples) for the current-state gauges."""
        self.registry.register(_StateCollector(collect_gauges))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector:
    def __init__(self, collect_gauges):
        self._collect_gauges = collect_gauges

    def collect(self):
        for name, documentation, labels, samples in self._collect_gauges():
            family = GaugeMetricFamily(name, documentation, labels=labels)
            for label_values, value in samples:
                family.add_metric(label_values, value)
            yield family
