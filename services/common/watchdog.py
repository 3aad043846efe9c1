"""Readiness that watches progress, not just reachability: a worker with records waiting that has not finished a
batch for `stall_after_s` is stalled (its store refuses writes, its loop is stuck in retries), whatever a ping says.

Pure: the worker reports finished batches, the lag monitor reports the backlog, and the clock is injected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ProgressWatchdog:
    def __init__(self, stall_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_after_s, self.clock = stall_after_s, clock
        self._lock = threading.Lock()
        self._last_progress = clock()  # start-up counts as progress: the first batch gets the whole allowance
        self._backlog, self._backlog_since = 0, self._last_progress

    def progressed(self) -> None:
        """A batch was finished (counted, or scored and produced)."""
        with self._lock:
            self._last_progress = self.clock()

    def backlog(self, records: int) -> None:
        """The group's lag, as the broker last reported it."""
        with self._lock:
            if records > 0 and self._backlog == 0:  # work arrived after a quiet spell: the allowance starts now
                self._backlog_since = self.clock()
            self._backlog = records

    def check(self) -> tuple[bool, str]:
        with self._lock:
            idle = self.clock() - max(self._last_progress, self._backlog_since)
            backlog = self._backlog
        if backlog > 0 and idle > self.stall_after_s:
            return False, f"stalled: {backlog} records waiting and no batch finished for {idle:.0f} s"
        return True, "making progress" if backlog else "nothing waiting"
