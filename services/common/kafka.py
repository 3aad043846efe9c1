"""kafka-python clients built from KafkaSettings, topic creation, and the dead-letter writer."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from services.common.settings import KafkaSettings

log = logging.getLogger(__name__)

# Dead letters keep the original bytes as the message value; why they were rejected travels in headers,
# so a fixed message can be re-produced to the raw topic as it is.
DLQ_REASON = "pulse.dlq.reason"
DLQ_DETAIL = "pulse.dlq.detail"
DLQ_STAGE = "pulse.dlq.stage"
DLQ_SOURCE = "pulse.dlq.source"
DLQ_AT = "pulse.dlq.at"
DLQ_ORIGINAL_BYTES = "pulse.dlq.original-bytes"  # only on a truncated letter: the size of the whole input
DLQ_SHA256 = "pulse.dlq.sha256"  # only on a truncated letter: the hash of the whole input
# A dead letter must always fit the broker's message size (1 MiB by default), or the rejection itself would fail:
# larger input keeps its first 256 KiB, and the headers say how large it was and what its whole hash is.
DLQ_MAX_VALUE_BYTES = 256 * 1024

_broker_retry = retry(
    retry=retry_if_exception_type((KafkaError, OSError)),
    wait=wait_exponential(multiplier=0.2, max=5),
    stop=stop_after_delay(60),
    reraise=True,
)


@_broker_retry
def make_producer(settings: KafkaSettings, **overrides: Any) -> KafkaProducer:
    kw: dict[str, Any] = {
        **settings.client_kwargs(),
        "acks": "all",
        "linger_ms": 5,
        "retries": 5,
        "max_in_flight_requests_per_connection": 1,  # keeps per-partition order across retries
        # Idempotence (kafka-python 3's default) adds nothing here: a duplicate from a retry is counted once
        # downstream anyway. And a producer whose id the broker no longer knows (a broker that restarted empty)
        # fails InitProducerId for good: it could never deliver again until the process restarts.
        "enable_idempotence": False,
    }
    kw.update(overrides)
    return KafkaProducer(**kw)


@_broker_retry
def make_consumer(settings: KafkaSettings, group_id: str, topics: Iterable[str], **overrides: Any) -> KafkaConsumer:
    kw: dict[str, Any] = {
        **settings.client_kwargs(),
        "group_id": group_id,
        "enable_auto_commit": False,  # offsets are committed only after the output is acknowledged
        "auto_offset_reset": "earliest",
        "max_poll_interval_ms": settings.rebalance_timeout_ms,
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
    }
    kw.update(overrides)
    consumer = KafkaConsumer(**kw)
    consumer.subscribe(list(topics))
    return consumer


@_broker_retry
def ensure_topics(settings: KafkaSettings, names: Iterable[str] | None = None) -> None:
    """Create the pipeline's topics if missing (local runs; production pre-creates them with its operator)."""
    wanted = list(names or (settings.raw_topic, settings.scored_topic, settings.dlq_topic))
    admin = KafkaAdminClient(**settings.client_kwargs())
    try:
        existing = set(admin.list_topics())
        new = [NewTopic(t, settings.partitions, settings.replication) for t in wanted if t not in existing]
        if new:
            try:
                admin.create_topics(new)
                log.info("created topics %s", ", ".join(t.name for t in new))
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def dead_letter(original: bytes, reason: str, detail: str, stage: str, source: str,
                max_bytes: int = DLQ_MAX_VALUE_BYTES) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of a dead letter: the original bytes (capped at max_bytes) and why."""
    headers = [
        (DLQ_REASON, reason.encode()),
        (DLQ_DETAIL, detail[:1000].encode("utf-8", "replace")),
        (DLQ_STAGE, stage.encode()),
        (DLQ_SOURCE, source[:500].encode("utf-8", "replace")),
        (DLQ_AT, f"{time.time():.3f}".encode()),
    ]
    if len(original) <= max_bytes:
        return original, headers
    headers += [(DLQ_ORIGINAL_BYTES, str(len(original)).encode()),
                (DLQ_SHA256, hashlib.sha256(original).hexdigest().encode())]
    return original[:max_bytes], headers


class DeadLetters:
    """Sends rejected input to the dead-letter topic: original bytes as value, reason in headers."""

    def __init__(self, producer: KafkaProducer, topic: str, stage: str) -> None:
        self.producer, self.topic, self.stage = producer, topic, stage

    def letter(self, original: bytes, reason: str, detail: str, source: str = "",
               key: bytes | None = None) -> dict[str, Any]:
        """The dead letter's producer.send arguments (value, key, headers), logged."""
        log.warning("dead-lettered (%s) from %s: %s", reason, source or self.stage, detail[:200])
        value, headers = dead_letter(original, reason, detail, self.stage, source)
        return {"value": value, "key": key[:1024] if key else key, "headers": headers}

    def send(self, original: bytes, reason: str, detail: str, source: str = "", key: bytes | None = None) -> Any:
        return self.producer.send(self.topic, **self.letter(original, reason, detail, source, key))
