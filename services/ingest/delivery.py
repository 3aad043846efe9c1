"""What the broker acknowledged: a tally fed by the producer's callbacks, for the replay's honest report.

kafka-python runs callbacks on its I/O thread, so the counts sit behind a lock. A record is `pending` from the
moment it is handed to the producer until the broker acknowledges it (`delivered`) or gives up (`failed`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DeliveryCounts:
    delivered: int
    failed: int
    pending: int
    first_error: str | None


class Deliveries:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent = self._delivered = self._failed = 0
        self._first_error: str | None = None

    def track(self, future: Any) -> None:
        """Counts a record handed to the producer; its future's callbacks settle it."""
        with self._lock:
            self._sent += 1
        future.add_callback(self._on_delivered)
        future.add_errback(self._on_failed)

    def refused(self, exc: BaseException) -> None:
        """A record the producer refused outright (no broker metadata in time, buffer full)."""
        with self._lock:
            self._sent += 1
        self._on_failed(exc)

    def _on_delivered(self, _metadata: Any) -> None:
        with self._lock:
            self._delivered += 1

    def _on_failed(self, exc: BaseException) -> None:
        with self._lock:
            self._failed += 1
            if self._first_error is None:
                self._first_error = f"{type(exc).__name__}: {exc}"[:300]

    @property
    def failing(self) -> bool:
        with self._lock:
            return self._failed > 0

    def counts(self) -> DeliveryCounts:
        with self._lock:
            return DeliveryCounts(self._delivered, self._failed, self._sent - self._delivered - self._failed,
                                  self._first_error)
