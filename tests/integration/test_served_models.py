"""Which model the API believes is scoring, from infer's announcements on a real Redis: one live model's error
rates correct the shares, two (a roll-out) pause them with the reason, a stopped infer leaves the last one, and an
announcer rides out a Redis outage."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis
import redis.asyncio as aioredis

from models.runtime.bundle import resolve_bundle
from services.api.served import NO_MODEL, Served, ServedModels
from services.api.shares import NO_ERROR_RATES
from services.common.keys import Keys
from services.common.model_facts import LIVE_WITHIN_S, ModelAnnouncer, ModelFacts, announce
from services.dev.servers import free_port

pytestmark = pytest.mark.integration

RELEASE = ModelFacts.of(resolve_bundle("").meta)  # the shipped bundle: calibrated, with serve_shares per target


class Clock:
    def __init__(self) -> None:
        self.t = 2_000_000_000.0

    def __call__(self) -> float:
        return self.t


def read(redis_url: str, keys: Keys, clock: Clock) -> Served:
    async def go() -> Served:
        client = aioredis.from_url(redis_url, decode_responses=True)
        try:
            return await ServedModels(client, keys, refresh_s=0, clock=clock).current()
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_the_api_follows_what_infer_announces(redis_url: str) -> None:
    keys, clock, client = Keys(f"m{uuid.uuid4().hex[:8]}"), Clock(), redis.Redis.from_url(redis_url)
    nothing = read(redis_url, keys, clock)
    assert nothing.versions == [] and nothing.scored_targets is None
    assert nothing.estimator.calibration is None and nothing.estimator.unavailable == NO_MODEL

    announce(client, keys, RELEASE, clock.t)
    one = read(redis_url, keys, clock)
    assert one.versions == [RELEASE.version] and one.scored_targets == set(RELEASE.targets)
    assert one.estimator.calibration is not None
    assert set(one.estimator.calibration.targets) == set(RELEASE.calibration["targets"])

    canary = RELEASE.model_copy(update={"version": "canary-1", "calibration": {}})
    clock.t += 1
    announce(client, keys, canary, clock.t)
    both = read(redis_url, keys, clock)
    assert both.versions == [RELEASE.version, "canary-1"] and both.estimator.calibration is None
    assert "2 models are scoring" in both.estimator.unavailable and "canary-1" in both.estimator.unavailable

    clock.t += LIVE_WITHIN_S - 0.5  # the release stopped announcing (rolled back to the canary alone)
    announce(client, keys, canary, clock.t)
    alone = read(redis_url, keys, clock)
    assert alone.versions == ["canary-1"] and alone.estimator.unavailable == NO_ERROR_RATES

    clock.t += 3600  # infer stopped: the counts are still the canary's labels
    assert read(redis_url, keys, clock).versions == ["canary-1"]
    client.close()


def test_an_announcer_rides_out_a_redis_outage(redis_url: str) -> None:
    keys = Keys(f"m{uuid.uuid4().hex[:8]}")
    dead = ModelAnnouncer(redis.Redis(port=free_port(), socket_connect_timeout=1), keys, RELEASE)
    assert not dead.announce_once() and not dead.announce_once()  # logged once, no exception
    live = ModelAnnouncer(redis.Redis.from_url(redis_url), keys, RELEASE)
    assert live.announce_once()
    assert read(redis_url, keys, Clock()).versions == [RELEASE.version]
    live.client.close()
    dead.client.close()
