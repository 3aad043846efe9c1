"""Ingest readiness against the real broker (kafka-python 3.x): ready while it serves the topic, not after."""

from __future__ import annotations

import gc

import pytest

from services.common.kafka import ensure_topics
from services.common.settings import KafkaSettings
from services.dev.servers import start_broker
from services.ingest.readiness import BrokerCheck

pytestmark = pytest.mark.integration


# kafka-python's network thread leaks the socket of a refused connection (kafka/net/inet.py); it is collected here,
# inside this test, rather than reported against whichever test the garbage collector happens to run in.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ready_only_while_the_broker_serves_the_topic() -> None:
    broker = start_broker()
    kafka = KafkaSettings(bootstrap=broker.address)
    check = BrokerCheck(kafka, kafka.raw_topic, timeout_s=2, cache_s=0)
    try:
        assert check()[0] is False  # no topic yet
        ensure_topics(kafka)
        ok, why = check()
        assert ok, why
        broker.proc.kill()
        broker.proc.wait()
        ok, why = check()
        assert not ok and "no metadata" in why
    finally:
        check.close()
        broker.stop()
        gc.collect()
