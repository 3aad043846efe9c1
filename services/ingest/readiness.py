"""Ingest's readiness: the broker answered a metadata request for the raw topic within a timeout.

A producer's cached metadata outlives the broker, and kafka-python 3 closes its bootstrap connection once
metadata is fetched (so `bootstrap_connected()` reads False on a healthy producer): neither says whether a
tweet posted now would be acknowledged. A real round trip does. Results are cached briefly, so a burst of
probes costs one request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaAdminClient

from services.common.settings import KafkaSettings

log = logging.getLogger(__name__)


class BrokerCheck:
    def __init__(self, kafka: KafkaSettings, topic: str, timeout_s: float = 3.0, cache_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kafka, self.topic, self.timeout_s, self.cache_s, self.clock = kafka, topic, timeout_s, cache_s, clock
        self._admin: Any = None
        self._lock = threading.Lock()  # kafka-python clients are not thread-safe; probes come from a thread pool
        self._last: tuple[float, bool, str] | None = None

    def __call__(self) -> tuple[bool, str]:
        """(ready, why). Blocking: call it from a worker thread."""
        with self._lock:
            now = self.clock()
            if self._last is not None and now - self._last[0] < self.cache_s:
                return self._last[1], self._last[2]
            ok, why = self._ask()
            self._last = (self.clock(), ok, why)
            return ok, why

    def _ask(self) -> tuple[bool, str]:
        timeout_ms = int(self.timeout_s * 1000)
        try:
            if self._admin is None:
                self._admin = KafkaAdminClient(**self.kafka.client_kwargs(), request_timeout_ms=timeout_ms,
                                               bootstrap_timeout_ms=timeout_ms)
            topics = self._admin.describe_topics([self.topic])
        except Exception as exc:
            self.close()  # reconnect from scratch next time
            return False, f"no metadata from the broker within {self.timeout_s:.0f} s: {type(exc).__name__}"
        if not topics or topics[0].get("error_code", 0) != 0 or not topics[0].get("partitions"):
            return False, f"the broker does not serve topic {self.topic!r}"
        return True, f"broker serves {self.topic} ({len(topics[0]['partitions'])} partitions)"

    def close(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            except Exception as exc:  # closing a broken client must not fail the probe
                log.debug("closing the readiness client: %s", exc)
            self._admin = None
