"""Prometheus helpers shared by the services."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest, start_http_server

log = logging.getLogger(__name__)

# Seconds buckets for latencies from a millisecond to a minute.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Seconds buckets for a post's way through the pipeline: fine below a second (the latency goal), coarse beyond.
PIPELINE_BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0, 2.5,
                    3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0, 120.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def serve_metrics(host: str, port: int) -> None:
    """Expose the default registry on http://host:port/metrics from a daemon thread."""
    start_http_server(port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, port)


def exposition() -> tuple[bytes, str]:
    """The default registry in Prometheus's text format, and its content type (for /metrics routes)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
