"""Builds the faust App (and nothing else: topics and agents live in agents.py)."""

from __future__ import annotations

import faust

from services.aggregate.settings import AggregateSettings
from services.aggregate.transport import PulseApp
from services.common.settings import KafkaSettings


def create_app(kafka: KafkaSettings, settings: AggregateSettings) -> faust.App:
    brokers = [f"kafka://{b.strip()}" for b in kafka.bootstrap.split(",")]
    return PulseApp(
        settings.app_id,
        fetch_max_wait_ms=kafka.fetch_max_wait_ms,
        broker=brokers,
        store="memory://",  # no faust tables: the state lives in Redis
        datadir=settings.data_dir,
        web_enabled=False,  # metrics are served by prometheus_client
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_rebalance_timeout=kafka.rebalance_timeout_ms / 1000,
        broker_session_timeout=kafka.session_timeout_ms / 1000,
        broker_heartbeat_interval=kafka.heartbeat_interval_ms / 1000,
        broker_credentials=credentials(kafka),
    )


def credentials(kafka: KafkaSettings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """faust's view of the same security settings the kafka-python clients use. A SASL credential without an SSL
    context is SASL_PLAINTEXT to faust, so SASL_SSL must carry the context."""
    if kafka.security_protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
            mechanism=kafka.sasl_mechanism,
            ssl_context=kafka.ssl_context(),
        )
    if kafka.security_protocol == "SSL":
        return faust.SSLCredentials(kafka.ssl_context())
    return None
