"""What the broker acknowledged: a tally fed by the producer's callbacks, for the replay's honest report.

kafka-python runs callbacks on its I/O thread, so the counts sit behind a lock. A record is `pending` from the
moment it is handed to the producer until the broker acknowledges it (`delivered`) or gives up (`failed`). A
failed record tracked with a way to `resend` it is kept until `resend_failed` hands it to the producer again: the
counts stay per record, however often one is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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
        self._resendable: list[Any] = []  # resend callables of failed records

    def track(self, future: Any, resend: Callable[[], Any] | None = None, again: bool = False) -> None:
        """Counts a record handed to the producer (`again`: a resent one, already counted); its future's callbacks
        settle it. `resend` sends the same record again, should it fail."""
        with self._lock:
            self._sent += 0 if again else 1
        future.add_callback(self._on_delivered)
        future.add_errback(lambda exc: self._on_failed(exc, resend))

    def resend_failed(self) -> int:
        """Sends every failed record that can be resent again (they count as pending, no longer failed); returns
        how many. Raises like producer.send when the producer refuses (the rest stay failed)."""
        with self._lock:
            todo, self._resendable = self._resendable, []
        for i, resend in enumerate(todo):
            try:
                future = resend()
            except Exception:
                with self._lock:
                    self._resendable = todo[i:] + self._resendable
                raise
            with self._lock:
                self._failed -= 1
            self.track(future, resend, again=True)
        return len(todo)

    def refused(self, exc: BaseException) -> None:
        """A record the producer refused outright (no broker metadata in time, buffer full)."""
        with self._lock:
            self._sent += 1
        self._on_failed(exc)

    def _on_delivered(self, _metadata: Any) -> None:
        with self._lock:
            self._delivered += 1

    def _on_failed(self, exc: BaseException, resend: Any = None) -> None:
        with self._lock:
            self._failed += 1
            if resend is not None:
                self._resendable.append(resend)
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
