from __future__ import annotations

import math

from services.dev.e2e_bench import gauge_sum, histogram, quantile

METRICS = """# HELP pulse_aggregate_end_to_end_seconds From ingest to counted in Redis
# TYPE pulse_aggregate_end_to_end_seconds histogram
pulse_aggregate_end_to_end_seconds_bucket{le="0.1"} 10.0
pulse_aggregate_end_to_end_seconds_bucket{le="0.5"} 60.0
pulse_aggregate_end_to_end_seconds_bucket{le="1.0"} 90.0
pulse_aggregate_end_to_end_seconds_bucket{le="+Inf"} 100.0
pulse_aggregate_end_to_end_seconds_count 100.0
pulse_aggregate_end_to_end_seconds_sum 42.0
# HELP pulse_infer_consumer_lag Raw messages the group has not committed
# TYPE pulse_infer_consumer_lag gauge
pulse_infer_consumer_lag{partition="0"} 5.0
pulse_infer_consumer_lag{partition="1"} 7.0
"""


def test_quantiles_interpolate_within_buckets_as_prometheus_does() -> None:
    buckets = histogram(METRICS, "pulse_aggregate_end_to_end_seconds")
    assert buckets == [(0.1, 10.0), (0.5, 60.0), (1.0, 90.0), (math.inf, 100.0)]
    assert quantile(0.5, buckets) == 0.1 + 0.4 * (50 - 10) / 50  # inside the second bucket
    assert quantile(0.05, buckets) == 0.05  # the first bucket starts at 0
    assert quantile(0.99, buckets) == 1.0  # past the last finite bound: that bound
    assert math.isnan(quantile(0.5, [(1.0, 0.0), (math.inf, 0.0)]))


def test_a_lag_gauge_sums_its_partitions() -> None:
    assert gauge_sum(METRICS, "pulse_infer_consumer_lag") == 12.0
    assert gauge_sum("", "pulse_infer_consumer_lag") == 0.0
