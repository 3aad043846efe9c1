"""What the reviewers' labels say about the served model, re-read every half minute: live quality per target, and
the reviewed items the shares are corrected with once a target has enough of them.

Enough is `PULSE_API_LIVE_QUALITY_MIN_ITEMS` (100) rated items with a reference label: at 100, an accuracy near
75% has a 95% interval of about ±8.5 points, narrower than the spread of the datasets' own figures across targets
(72–83%), so the live figure says more about today's stream than theirs does; below it, the page and the API keep
the datasets' figures and say so. Only the served model's items count (a new model's errors are its own).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from services.api.review import ReviewStore
from services.api.review_stats import TargetQuality, Vote, agreement_pairs, quality, reviewed_items


@dataclass(frozen=True)
class LiveSample:
    """One target's reviewed items for the served model: label indices and weights (live_rates.py's inputs)."""

    reference: np.ndarray
    model: np.ndarray
    weights: np.ndarray

    @property
    def size(self) -> int:
        return len(self.reference)

    @cached_property
    def key(self) -> tuple[int, int]:
        """Changes whenever the sample does (a new or changed label): part of the shares' cache key. Computed once
        per sample (it is read on every snapshot)."""
        return self.size, hash((self.reference.tobytes(), self.model.tobytes(), self.weights.tobytes()))


@dataclass(frozen=True)
class LiveReviews:
    version: str | None  # the served model the samples are of
    samples: dict[str, LiveSample]  # targets with at least min_items reviewed items
    quality: dict[str, TargetQuality]  # every target with labels of the served model
    pairs: np.ndarray  # [m, 2] the first two reviewers' stances on double-reviewed items, every target pooled

    @cached_property
    def pairs_key(self) -> tuple[int, int]:
        return len(self.pairs), hash(self.pairs.tobytes())


NOTHING = LiveReviews(None, {}, {}, np.zeros((0, 2), dtype=np.int64))


class LiveReviewCache:
    def __init__(self, store: ReviewStore, min_items: int, refresh_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.min_items, self.refresh_s, self.clock = store, min_items, refresh_s, clock
        self._cached: tuple[float, tuple[str, ...], str | None, LiveReviews] | None = None

    async def current(self, targets: list[str], version: str | None) -> LiveReviews:
        now, wanted = self.clock(), tuple(sorted(targets))
        if self._cached is not None and now - self._cached[0] < self.refresh_s and self._cached[1:3] == (
                wanted, version):
            return self._cached[3]
        votes = {target: await self.store.votes(target) for target in wanted}
        live = summarise(votes, version, self.min_items)
        self._cached = (now, wanted, version, live)
        return live


def summarise(votes: dict[str, list[Vote]], version: str | None, min_items: int) -> LiveReviews:
    samples: dict[str, LiveSample] = {}
    pairs: list[tuple[int, int]] = []
    for target, target_votes in votes.items():
        pairs += agreement_pairs(target_votes)
        if version is None:
            continue
        items = reviewed_items(target_votes, version)
        if len(items.reference) >= min_items:
            samples[target] = LiveSample(np.array(items.reference, dtype=np.int64),
                                         np.array(items.model, dtype=np.int64), np.array(items.weights))
    served = {t: [x for x in v if version is None or x.model_version == version] for t, v in votes.items()}
    figures = {t: q for t, v in served.items() if (q := quality(v)).items or q.skipped}
    return LiveReviews(version, samples, figures, np.array(pairs, dtype=np.int64).reshape(-1, 2))
