"""Session fixtures: the real Kafka-compatible broker and a real redis-server (or ones given by address)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.bundle import Bundle
from services.common.devservers import start_broker, start_redis
from tests.integration.harness import Pipeline


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("PULSE_KAFKA_BOOTSTRAP"):
        yield os.environ["PULSE_KAFKA_BOOTSTRAP"]
        return
    broker = start_broker(log_dir=tmp_path_factory.mktemp("kafka"))
    yield broker.address
    broker.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("PULSE_REDIS_URL"):
        yield os.environ["PULSE_REDIS_URL"]
        return
    server = start_redis(log_dir=tmp_path_factory.mktemp("redis"))
    yield server.address
    server.stop()


@pytest.fixture
def pipeline(kafka_bootstrap: str, redis_url: str, fixture_bundle: Bundle, tmp_path: Path) -> Iterator[Pipeline]:
    p = Pipeline(kafka_bootstrap, redis_url, fixture_bundle, tmp_path)
    try:
        yield p
    finally:
        p.stop()
