"""Reconnect delays: exponential with full jitter, reset once a connection has delivered.

Full jitter (a uniform draw between 0 and the exponential cap) spreads the reconnects of many clients that a
server dropped at the same moment, so they do not return in one wave. Pure: the random source is injected.
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(self, initial_s: float = 1.0, max_s: float = 60.0,
                 uniform: Callable[[float, float], float] = random.uniform) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError("need 0 < initial_s <= max_s")
        self.initial_s, self.max_s, self.uniform = initial_s, max_s, uniform
        self.failures = 0

    def next_delay(self, at_least_s: float = 0.0) -> float:
        """The wait before the next attempt; `at_least_s` honours a server's Retry-After."""
        cap = min(self.max_s, self.initial_s * 2 ** self.failures)
        self.failures += 1
        return max(at_least_s, self.uniform(self.initial_s / 2, cap))

    def reset(self) -> None:
        self.failures = 0
