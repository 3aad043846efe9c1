"""Until the broker acknowledges: a batch's records are sent again, with backoff, while the broker refuses or does
not answer (down or restarting), so a worker rides an outage out instead of exiting. Offsets are committed only
after this returns; a record sent twice is counted once downstream (the aggregator's de-duplication)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka.errors import KafkaError

from services.infer import metrics

log = logging.getLogger(__name__)
MAX_DELAY_S = 30.0


@dataclass
class Sent:
    """A record handed to the producer: its future, and how to send it again."""

    send: Callable[[], Any]
    future: Any

    @classmethod
    def now(cls, send: Callable[[], Any]) -> Sent:
        try:
            return cls(send, send())
        except KafkaError as exc:  # refused before any request (no metadata within max_block_ms): a failure too
            if not exc.retriable:
                raise
            return cls(send, _Refused(exc))

    def error(self, timeout_s: float) -> Exception | None:
        """None once the broker acknowledged it; else why not."""
        try:
            self.future.get(timeout=timeout_s)
            return None
        except KafkaError as exc:
            return exc


@dataclass(frozen=True)
class _Refused:
    exc: Exception

    def get(self, timeout: float | None = None) -> Any:
        raise self.exc


def acknowledge(pending: list[Sent], should_stop: Callable[[], bool], beat: Callable[[], None],
                flush: Callable[[], None], first_delay_s: float = 1.0, ack_timeout_s: float = 30.0,
                sleep: Callable[[float], None] = time.sleep) -> None:
    """Returns once the broker has acknowledged every record of `pending`, sending again what it refused or did
    not answer (after 1, 2, 4… up to 30 s). Raises, so nothing is committed, on an error that sending again cannot
    fix (a record too large, no authorisation) or when asked to stop. `beat` tells the liveness probe the loop is
    alive while it waits."""
    delay = first_delay_s
    while True:
        failed = [(sent, error) for sent in pending if (error := sent.error(ack_timeout_s)) is not None]
        if not failed:
            return
        final = next((error for _, error in failed if not getattr(error, "retriable", False)), None)
        if final is not None or should_stop():
            raise final or failed[0][1]
        log.warning("the broker did not acknowledge %d of %d records (%s): sending them again in %.0f s",
                    len(failed), len(pending), type(failed[0][1]).__name__, delay)
        metrics.RESENDS.inc(len(failed))
        waited = 0.0
        while not should_stop() and waited < delay:
            beat()
            sleep(0.2)
            waited += 0.2
        delay = min(2 * delay, MAX_DELAY_S)
        pending = [Sent.now(sent.send) for sent, _ in failed]
        flush()
