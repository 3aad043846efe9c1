"""Per-caller token buckets: `rate` requests a second on average, bursts of up to `burst`. Pure (an injected clock).

Kept in each API process: with N replicas a caller gets up to N times the rate, which still bounds a leaked token
or a stuck key; the point is a ceiling on writes, not exact accounting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_CALLERS = 10_000  # buckets kept; beyond it the fullest (idle) ones are dropped


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, caller: str) -> float:
        """0 when the request may go ahead (a token is taken), else the seconds until one is free."""
        now = self.clock()
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= MAX_CALLERS:
                self._forget_idle(now)
            bucket = self._buckets[caller] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.rate  # a bucket idle this long is full: forgetting it changes nothing
        for caller in [c for c, b in self._buckets.items() if now - b.at >= full_after]:
            del self._buckets[caller]
        if len(self._buckets) >= MAX_CALLERS:  # all busy: drop the oldest half rather than grow without bound
            for caller in sorted(self._buckets, key=lambda c: self._buckets[c].at)[: MAX_CALLERS // 2]:
                del self._buckets[caller]
