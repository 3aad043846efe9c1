"""Shared fixtures: a small bundle really trained on the fixture tweets, and the real broker and Redis (or ones
given by address), once per test session; a Pipeline of the real services per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from models.runtime.bundle import Bundle
from services.dev.servers import ManagedProcess, start_broker, start_redis
from tests.integration.harness import Pipeline


@pytest.fixture(scope="session")
def fixture_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    from models.training.fixture_bundle import build_fixture_bundle

    root: Path = tmp_path_factory.mktemp("bundle")
    return build_fixture_bundle(root / "fixture", root / "work")


def _given_or_started(env_var: str, start: Callable[[], ManagedProcess]) -> Iterator[str]:
    """The server named in env_var, else one started for the session and stopped after it."""
    if os.environ.get(env_var):
        yield os.environ[env_var]
        return
    server = start()
    yield server.address
    server.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _given_or_started("PULSE_KAFKA_BOOTSTRAP",
                                 lambda: start_broker(log_dir=tmp_path_factory.mktemp("kafka")))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from _given_or_started("PULSE_REDIS_URL", lambda: start_redis(log_dir=tmp_path_factory.mktemp("redis")))


@pytest.fixture
def pipeline(kafka_bootstrap: str, redis_url: str, fixture_bundle: Bundle, tmp_path: Path) -> Iterator[Pipeline]:
    p = Pipeline(kafka_bootstrap, redis_url, fixture_bundle, tmp_path)
    try:
        yield p
    finally:
        p.stop()
