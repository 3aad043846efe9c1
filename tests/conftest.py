"""Shared fixtures: a small bundle really trained on the fixture tweets, and the real broker and Redis (or ones
given by address), once per test session; a Pipeline of the real services per test. And each test's tier, by
cost (`make test` runs the unit tier first, then the others in parallel):

    unit         pure code, in-process; no torch training, no external tools: seconds
    model        trains and exports small models with torch (tests/unit/models)
    deploy       renders and validates the manifests, rules, dashboards with kubectl, promtool, npm packages
    integration  the real broker, Redis and services, as processes
    chaos        failure paths as they happen: kill -9, broker loss, poison records, bursts
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from models.runtime.bundle import Bundle
from services.dev.servers import ManagedProcess, start_broker, start_redis
from tests.integration.harness import Pipeline

TESTS = Path(__file__).resolve().parent
TIERS = {"chaos": "chaos", "integration": "integration", "unit/deploy": "deploy", "unit/models": "model"}

# Parallel workers share two cores: one torch thread each beats each asking for every core.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def tier(path: Path) -> str:
    relative = path.resolve().relative_to(TESTS).as_posix()
    return next((name for folder, name in TIERS.items() if relative.startswith(folder + "/")), "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(tier(item.path))

CACHE = Path(__file__).resolve().parents[1] / ".cache"


@pytest.fixture(scope="session")
def fixture_bundle() -> Bundle:
    """Built once per change of the training code (keyed by its hash) and shared by every worker and run."""
    from models.training.fixture_bundle import cached_fixture_bundle

    return cached_fixture_bundle(CACHE / "fixture-bundles")


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
