"""Which model is scoring, declared once: infer announces its bundle's facts in Redis, readers take them from there.

    {p}:model:{version}   JSON ModelFacts of a bundle that has scored here (no TTL: a few KB each)
    {p}:models:live       sorted set version → when an infer worker last announced it (epoch s)

Every infer worker announces on start and every ANNOUNCE_EVERY_S after, so the API knows which model's error
rates belong to the counts it serves (and, during a roll-out or a canary, that two models are scoring) without a
bundle setting of its own that could name a different model.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from pydantic import BaseModel, ConfigDict

from models.runtime.bundle import BundleMeta
from services.common.keys import Keys
from services.common.redis_clients import SyncClient

log = logging.getLogger(__name__)

ANNOUNCE_EVERY_S = 10.0
LIVE_WITHIN_S = 3 * ANNOUNCE_EVERY_S  # a model no worker has announced for this long is no longer scoring
FORGET_AFTER_S = 7 * 86_400  # versions not announced for a week leave the live set (their facts stay)


class ModelFacts(BaseModel):
    """What readers need of a served bundle: its version, what it scores, and how well (meta.json's fields)."""

    model_config = ConfigDict(frozen=True)

    version: str
    labels: list[str]
    targets: list[str]
    calibration: dict[str, Any] = {}  # per target: temperature, confusion counts, serve_shares (calibration.py)
    metrics: dict[str, Any] = {}  # the evaluation the bundle was built with (models/README.md)

    @classmethod
    def of(cls, meta: BundleMeta) -> ModelFacts:
        return cls(version=meta.version, labels=list(meta.labels), targets=list(meta.targets),
                   calibration=dict(meta.calibration), metrics=dict(meta.metrics))


def announce(client: SyncClient, keys: Keys, facts: ModelFacts, now: float) -> None:
    """One announcement: the facts, and that this version is scoring as of now."""
    with client.pipeline(transaction=False) as pipe:
        pipe.set(keys.model(facts.version), facts.model_dump_json())
        pipe.zadd(keys.live_models, {facts.version: now})
        pipe.zremrangebyscore(keys.live_models, "-inf", now - FORGET_AFTER_S)
        pipe.execute()


class ModelAnnouncer:
    """A daemon thread announcing `facts` every `every_s`; a Redis outage is logged once and ridden out (scoring
    does not need Redis)."""

    def __init__(self, client: SyncClient, keys: Keys, facts: ModelFacts, every_s: float = ANNOUNCE_EVERY_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.client, self.keys, self.facts, self.every_s, self.clock = client, keys, facts, every_s, clock
        self._stop = threading.Event()
        self._failing = False

    def announce_once(self) -> bool:
        try:
            announce(self.client, self.keys, self.facts, self.clock())
        except redis.RedisError as exc:
            if not self._failing:
                log.warning("cannot announce model %s to Redis (%s): retrying every %.0f s",
                            self.facts.version, type(exc).__name__, self.every_s)
            self._failing = True
            return False
        if self._failing:
            log.info("announced model %s again", self.facts.version)
        self._failing = False
        return True

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="model-announcer", daemon=True)
        thread.start()
        return thread

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.announce_once()
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
