"""The model behind the counts, as infer announced it (services/common/model_facts.py), re-read every few seconds.

One live model: its error rates correct the shares and its targets are the scored ones. Two or more (a roll-out or
a canary): counts mix their labels, so no one model's error rates fit them; corrected shares pause, saying why,
until one scores alone. None live (infer stopped): the last one that scored, since its labels are what is counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from models.runtime.calibration import Calibration
from services.api.shares import NO_ERROR_RATES, ShareEstimator
from services.common.keys import Keys
from services.common.model_facts import LIVE_WITHIN_S, ModelFacts
from services.common.redis_clients import AsyncClient
from services.common.schemas import LABELS

log = logging.getLogger(__name__)

NO_MODEL = "no model has scored here yet"


@dataclass(frozen=True)
class Served:
    versions: list[str]  # the models scoring now, oldest announcement first; or the last one that scored
    scored_targets: set[str] | None  # None: no model known, so every target counts as scored
    estimator: ShareEstimator
    facts: tuple[ModelFacts, ...] = ()  # what each of them announced


def several_models(versions: list[str]) -> str:
    return (f"{len(versions)} models are scoring ({', '.join(versions)}), as in a roll-out: the counts mix their "
            "labels, so corrected shares return when one model scores alone")


class ServedModels:
    def __init__(self, client: AsyncClient, keys: Keys, refresh_s: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.client, self.keys, self.refresh_s, self.clock = client, keys, refresh_s, clock
        self._estimators: dict[str, ShareEstimator] = {}  # per version: keeps each one's cache of shares
        self._cached: tuple[float, Served] | None = None

    async def current(self) -> Served:
        now = self.clock()
        if self._cached is not None and now - self._cached[0] < self.refresh_s:
            return self._cached[1]
        versions = [str(v) for v in await self.client.zrangebyscore(self.keys.live_models, now - LIVE_WITHIN_S,
                                                                    "+inf")]
        if not versions:
            versions = [str(v) for v in await self.client.zrevrange(self.keys.live_models, 0, 0)]
        facts = [f for f in [self._parse(v, raw) for v, raw in zip(
            versions, await self.client.mget([self.keys.model(v) for v in versions]) if versions else [],
            strict=True)] if f is not None]
        served = self._served(facts)
        self._cached = (now, served)
        return served

    def _served(self, facts: list[ModelFacts]) -> Served:
        versions = [f.version for f in facts]
        if not facts:
            return Served([], None, ShareEstimator(None, unavailable=NO_MODEL))
        scored = {t for f in facts for t in f.targets}
        if len(facts) > 1:
            return Served(versions, scored, ShareEstimator(None, unavailable=several_models(versions)), tuple(facts))
        return Served(versions, scored, self._estimator(facts[0]), tuple(facts))

    def _estimator(self, facts: ModelFacts) -> ShareEstimator:
        if facts.version not in self._estimators:
            calibration = Calibration.from_meta(facts.calibration, facts.labels)
            if calibration is not None and list(calibration.labels) != list(LABELS):
                log.warning("model %s labels %s are not %s: corrected shares are off", facts.version,
                            calibration.labels, LABELS)
                calibration = None
            self._estimators[facts.version] = ShareEstimator(calibration, unavailable=NO_ERROR_RATES)
        return self._estimators[facts.version]

    @staticmethod
    def _parse(version: str, raw: str | bytes | None) -> ModelFacts | None:
        if raw is None:
            return None
        try:
            return ModelFacts.model_validate_json(raw)
        except ValidationError as exc:  # written by another release of infer: say so, serve without it
            log.warning("unreadable facts for model %s: %s", version, exc.errors(include_input=False)[:1])
            return None
