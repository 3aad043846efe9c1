"""The lag gauge against the real broker: end − committed per partition, exact even where the broker's
ListOffsets is wrong (Tansu answers it with the newest batch's base offset + 1: records produced in one batch read
as an end of 1); and readiness that follows the broker's death and return."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry, Gauge

from services.common.kafka import ensure_topics
from services.common.lag import GroupLagMonitor
from services.common.settings import KafkaSettings
from services.dev.servers import free_port, start_broker
from tests.integration.harness import wait_until

pytestmark = pytest.mark.integration


def produce_in_one_batch(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=2000, batch_size=1 << 20)
    try:
        for partition, n in per_partition.items():
            for _ in range(n):
                producer.send(topic, value=b"x", partition=partition)
        producer.flush()
    finally:
        producer.close()


def commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    finally:
        consumer.close()


def gauge() -> Gauge:
    return Gauge("lag_under_test", "lag", ["partition"], registry=CollectorRegistry())


def test_the_lag_is_end_minus_committed_per_partition_even_for_one_big_batch(kafka_bootstrap: str) -> None:
    topic, group = f"lag-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, partitions=3)
    ensure_topics(kafka, [topic])
    produce_in_one_batch(kafka_bootstrap, topic, {0: 300, 1: 120, 2: 5})
    commit(kafka_bootstrap, group, {TopicPartition(topic, 0): 100, TopicPartition(topic, 1): 120})
    lag = gauge()
    monitor = GroupLagMonitor(kafka, group, topic, lag)
    try:
        reading = monitor.read_once()
        assert reading.by_partition == {0: 200, 1: 0, 2: 5}  # partition 2: never committed, counted from its start
        assert {p: lag.labels(str(p))._value.get() for p in range(3)} == {0: 200, 1: 0, 2: 5}
        produce_in_one_batch(kafka_bootstrap, topic, {1: 30})
        commit(kafka_bootstrap, group, {TopicPartition(topic, 0): 300})
        assert monitor.read_once().by_partition == {0: 0, 1: 30, 2: 5}
    finally:
        monitor.stop()
        monitor.close()


def test_the_broker_check_fails_within_seconds_of_its_death_and_recovers(tmp_path: Path) -> None:
    port = free_port()
    broker = start_broker(port, tmp_path)
    kafka = KafkaSettings(bootstrap=broker.address)
    ensure_topics(kafka, ["lag-ready"])
    monitor = GroupLagMonitor(kafka, "g", "lag-ready", gauge(), every_s=1.0)
    monitor.start()
    try:
        wait_until(lambda: monitor.check()[0], timeout=20, what="the broker answering")
        broker.proc.kill()
        broker.proc.wait()
        died = time.monotonic()
        wait_until(lambda: not monitor.check()[0], timeout=10, what="the check to fail")
        assert time.monotonic() - died < 5
        assert monitor.check()[1].startswith("broker unreachable")
        broker = start_broker(port, tmp_path)
        ensure_topics(kafka, ["lag-ready"])  # the in-memory broker came back empty
        wait_until(lambda: monitor.check()[0], timeout=30, what="the check to pass again")
    finally:
        monitor.stop()
        broker.stop()
