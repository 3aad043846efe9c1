"""The durable local broker: Tansu on the SeaweedFS object store keeps records, committed offsets and topics through
kill -9 of either process, and retention deletes only batches every group has committed past."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from services.common.kafka import ensure_topics
from services.common.settings import KafkaSettings
from services.dev.object_store import Filer
from services.dev.retention import BrokerRetention, RetentionPolicy, committed_by_groups, records_folder
from tests.integration.harness import DurableBroker

pytestmark = pytest.mark.integration


@pytest.fixture
def durable(tmp_path: Path) -> Iterator[tuple[DurableBroker, KafkaSettings]]:
    broker = DurableBroker(tmp_path)
    kafka = KafkaSettings(bootstrap=broker.broker.address, raw_topic="d.raw", scored_topic="d.scored",
                          dlq_topic="d.dlq")
    ensure_topics(kafka)
    try:
        yield broker, kafka
    finally:
        broker.stop()


def produce(kafka: KafkaSettings, n: int, start: int = 0, batch: int = 10) -> None:
    """n records to partition 0 of the raw topic, flushed every `batch` so each batch is one stored object."""
    producer = KafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", linger_ms=1000)
    try:
        for i in range(start, start + n):
            producer.send(kafka.raw_topic, value=str(i).encode(), partition=0)
            if (i + 1) % batch == 0:
                producer.flush()
        producer.flush()
    finally:
        producer.close()


def read_all(kafka: KafkaSettings, start: int = 0) -> list[int]:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, consumer_timeout_ms=3000)
    tp = TopicPartition(kafka.raw_topic, 0)
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        return [int(m.value) for m in consumer]
    finally:
        consumer.close()


def commit(kafka: KafkaSettings, group: str, offset: int) -> None:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.commit({TopicPartition(kafka.raw_topic, 0): OffsetAndMetadata(offset, "", -1)})
    finally:
        consumer.close()


def committed(kafka: KafkaSettings, group: str) -> int | None:
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return consumer.committed(TopicPartition(kafka.raw_topic, 0))
    finally:
        consumer.close()


def test_records_offsets_and_topics_outlive_kill_9_of_the_broker_and_of_its_store(
        durable: tuple[DurableBroker, KafkaSettings]) -> None:
    broker, kafka = durable
    produce(kafka, 100)
    commit(kafka, "readers", 40)
    broker.kill9_broker()
    assert read_all(kafka) == list(range(100))
    assert committed(kafka, "readers") == 40
    broker.kill9_store()
    produce(kafka, 50, start=100)  # appends after what is stored: nothing overwritten
    assert read_all(kafka) == list(range(150))
    assert committed(kafka, "readers") == 40
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap)
    try:
        assert len(consumer.partitions_for_topic(kafka.raw_topic) or ()) == kafka.partitions
    finally:
        consumer.close()


def test_retention_deletes_only_what_every_group_has_committed_past(
        durable: tuple[DurableBroker, KafkaSettings]) -> None:
    broker, kafka = durable
    produce(kafka, 100)  # ten batches of ten
    commit(kafka, "fast", 80)
    commit(kafka, "slow", 35)
    retention = BrokerRetention(Filer(broker.ports.filer), {kafka.raw_topic: kafka.partitions},
                                read=[kafka.raw_topic], committed=lambda: committed_by_groups(kafka),
                                policy=RetentionPolicy(max_age_s=0, max_bytes=10**9, max_batches=10**6))
    assert retention.run_once() == 3  # [0, 10), [10, 20), [20, 30): the slow group is at 35
    stored = [o.name for o in Filer(broker.ports.filer).list(records_folder("tansu_cluster", kafka.raw_topic, 0))]
    assert len(stored) == 7
    assert read_all(kafka, start=35) == list(range(35, 100))  # the slow group loses nothing
    assert read_all(kafka, start=0) == list(range(30, 100))  # a reader from the start finds the oldest kept
    commit(kafka, "slow", 100)
    commit(kafka, "fast", 100)
    assert retention.run_once() == 6  # all but the newest batch
    produce(kafka, 5, start=100)
    assert read_all(kafka, start=100) == list(range(100, 105))
