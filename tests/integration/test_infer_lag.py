"""Infer's lag gauge against the real broker: the backlog before a fetch (asked of the broker), then after one
(from the highwater the fetch reported), as partitions are read.

Tansu answers ListOffsets(latest) with the last record *batch's* base offset + 1 (5 records produced in one batch
read as an end offset of 1), while its fetch responses carry the right highwater: the records here are produced
one batch each, where both agree. That quirk is one reason `consumer_lag` prefers the fetched highwater."""

from __future__ import annotations

import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.common.kafka import ensure_topics
from services.common.settings import KafkaSettings
from services.infer.app import consumer_lag


def test_consumer_lag_is_the_unread_backlog_of_the_assigned_partitions(kafka_bootstrap: str) -> None:
    topic = f"lag-{uuid.uuid4().hex[:8]}"
    settings = KafkaSettings(bootstrap=kafka_bootstrap, partitions=2)
    ensure_topics(settings, [topic])
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for i in range(10):
        producer.send(topic, value=b"x", partition=i % 2)
        producer.flush()  # one record per batch (see above)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    try:
        assert consumer_lag(consumer) is None  # owns nothing yet
        consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        assert consumer_lag(consumer) == 10  # no fetch yet: the ends come from the broker
        read = 0
        while read < 4:
            read += sum(len(r) for r in consumer.poll(timeout_ms=1000, max_records=4 - read).values())
        assert consumer_lag(consumer) == 6
    finally:
        consumer.close()
