"""`pulse up` as a user runs it, with kill -9 of every worker in turn, then of Redis, and of the broker and its object
store: each is restarted (Redis from its append-only file, the broker from the objects on disk, on the same port),
and the counts end exact (nothing lost, nothing counted twice)."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer

from models.runtime.bundle import Bundle
from services.common.schemas import UNRATED
from services.common.settings import KafkaSettings
from tests.chaos.stack import Up, running_up
from tests.integration.harness import assert_exact, expected_counts, rated, sample, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def test_kill_9_of_every_process_under_pulse_up_ends_with_exact_counts(fixture_bundle: Bundle,
                                                                      tmp_path: Path) -> None:
    records = sample(900)
    expected = expected_counts(fixture_bundle, records)
    total = sum(sum(c.values()) for c in expected.values())
    with running_up(fixture_bundle, tmp_path, records, rate=40) as stack:
        wait_until(lambda: stack.counted() > 10, timeout=60, what="the first counts")
        address = broker_address(stack.log())
        for name in ("ingest", "infer", "aggregate", "api", "redis", "kafka", "objects"):
            stack.kill9(name)
            time.sleep(1.5)
        counted = stack.counted()  # -1 while the API restarts
        assert counted < total  # really mid-stream
        wait_for_exact(stack, expected)
        log = stack.log()
        for name in ("ingest", "infer", "aggregate", "api", "redis server", "kafka server", "objects server"):
            assert f"{name} exited with -9" in log and f"{name} restarted" in log, log[-3000:]
        assert f"kafka server restarted at {address}" in log  # the same port: every client dials it again
        for name in ("infer", "aggregate", "api"):
            assert stack.alive(name), name  # no process left dead
        assert stack.proc.poll() is None  # pulse up itself is still running
        assert raw_partitions(address) == 3  # the topics came back as they were, not auto-created anew


def wait_for_exact(stack: Up, expected: dict[str, Counter[str]]) -> None:
    def exact() -> bool:
        try:
            snap = stack.pulse()
        except httpx.HTTPError:
            return False  # the API is restarting
        return all((snap["targets"][t]["total"], snap["targets"][t]["unrated"]) == (rated(c), c[UNRATED])
                   for t, c in expected.items())

    wait_until(exact, timeout=180, interval=0.5, what="the final counts")
    assert_exact(stack.pulse(), expected)
    time.sleep(3)  # and they stay exact: nothing late is counted twice
    assert_exact(stack.pulse(), expected)


def broker_address(log: str) -> str:
    found = re.search(r"Kafka-compatible broker \(Tansu\) on (\S+),", log)
    assert found, log[-3000:]
    return found.group(1)


def raw_partitions(bootstrap: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return len(consumer.partitions_for_topic(KafkaSettings.model_fields["raw_topic"].default) or ())
    finally:
        consumer.close()
