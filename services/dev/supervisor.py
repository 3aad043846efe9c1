"""Restarts for `pulse up`'s child processes, as Kubernetes restarts a pod: with backoff, and giving up on a loop.

Pure: the policy keeps the restart times it was told about and an injected clock; `pulse up` does the spawning.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RestartPolicy:
    """Delay before restarting a process that exited: base_s, doubling with each restart in the last window_s,
    at most max_s. More than max_restarts in window_s is a crash loop: `delay` returns None (give up)."""

    base_s: float = 1.0
    max_s: float = 30.0
    window_s: float = 300.0
    max_restarts: int = 5
    clock: Callable[[], float] = time.monotonic
    _history: dict[str, list[float]] = field(default_factory=dict)

    def delay(self, name: str) -> float | None:
        now = self.clock()
        recent = [t for t in self._history.get(name, []) if now - t < self.window_s]
        if len(recent) >= self.max_restarts:
            self._history[name] = recent
            return None
        recent.append(now)
        self._history[name] = recent
        return min(self.max_s, self.base_s * 2 ** (len(recent) - 1))

    def restarts(self, name: str) -> int:
        """Restarts of `name` within the window."""
        now = self.clock()
        return sum(1 for t in self._history.get(name, []) if now - t < self.window_s)
