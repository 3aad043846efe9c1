"""A consumer group's lag as the broker sees it, and whether the broker answers: one small thread per worker.

Lag is end offset − committed offset per partition of the group's topic, the figure `kafka-consumer-groups
--describe` shows: what the group has yet to process for good, across every partition (also those no live member
owns), not what one member has fetched. Every replica reports the whole group, so dashboards take the max per
partition across replicas.

The end offset is the high watermark a fetch reports. ListOffsets would be one round trip cheaper, but the local
broker (Tansu) answers it with the base offset of the newest record batch + 1: 100 records produced in one batch
read as an end of 1, which hid a 100k backlog. Each pass fetches from the previous end, so a pass reads what was
produced since the last one, at most, and discards it.

The same round trips tell readiness whether the broker answers (a worker cut off from its broker is not ready).
A pass can hang rather than fail (kafka-python's admin client waits on a dead node without a deadline), so
readiness also goes false when no pass has succeeded for `stale_after_s`, whatever the hung pass would say.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from prometheus_client import Gauge

from services.common.settings import KafkaSettings

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_MS = 3000


def partition_lag(ends: Mapping[int, int], committed: Mapping[int, int], starts: Mapping[int, int]) -> dict[int, int]:
    """Per partition: end − committed, where a partition the group never committed on counts from its start
    (the group reads from the earliest offset)."""
    return {p: max(0, end - committed.get(p, starts.get(p, 0))) for p, end in ends.items()}


@dataclass(frozen=True)
class LagReading:
    by_partition: dict[int, int]
    at: float  # monotonic seconds

    @property
    def total(self) -> int:
        return sum(self.by_partition.values())


class GroupLagMonitor:
    """Every `every_s`, reads the group's committed offsets and the topic's ends from the broker, sets `gauge`
    (labelled by partition) and remembers whether the broker answered."""

    def __init__(self, kafka: KafkaSettings, group_id: str, topic: str, gauge: Gauge, every_s: float = 2.0,
                 on_reading: Callable[[LagReading], None] = lambda _: None,
                 clock: Callable[[], float] = time.monotonic, stale_after_s: float | None = None) -> None:
        self.kafka, self.group_id, self.topic, self.gauge = kafka, group_id, topic, gauge
        self.every_s, self.on_reading, self.clock = every_s, on_reading, clock
        # A healthy pass takes at most a second of fetch wait plus a few round trips; two periods of silence, or
        # one period and a request timeout, mean the broker is not answering.
        self.stale_after_s = stale_after_s or max(2 * every_s, every_s + REQUEST_TIMEOUT_MS / 1000)
        self._ends: dict[int, int] = {}
        self._ok, self._why = False, "no round trip to the broker yet"
        self._last_ok: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._admin: KafkaAdminClient | None = None
        self._consumer: KafkaConsumer | None = None

    # readiness ---------------------------------------------------------------------------------------------
    def check(self) -> tuple[bool, str]:
        """(the broker answered the last pass and did so recently, why not)."""
        with self._lock:
            ok, why, last_ok = self._ok, self._why, self._last_ok
        if ok and last_ok is not None and (silent := self.clock() - last_ok) > self.stale_after_s:
            return False, f"broker unanswered for {silent:.0f} s"
        return ok, why

    def record(self, error: BaseException | None) -> None:
        """The outcome of one pass."""
        with self._lock:
            if error is None:
                self._ok, self._why, self._last_ok = True, "broker answers", self.clock()
            else:
                self._ok, self._why = False, f"broker unreachable: {type(error).__name__}"

    # the loop ----------------------------------------------------------------------------------------------
    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="group-lag", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = self.clock()
            try:
                reading = self.read_once()
                self.record(None)
                self.on_reading(reading)
            except Exception as exc:  # the broker is down or restarting: say so, keep the last lag figures
                self.record(exc)
                log.debug("lag pass failed: %s", exc)
                self.close()  # a fresh client next pass: kafka-python's can stay wedged after a broker restart
            self._stop.wait(max(0.0, self.every_s - (self.clock() - started)))
        self.close()

    def read_once(self) -> LagReading:
        admin, consumer = self._clients()
        partitions = consumer.partitions_for_topic(self.topic)
        if not partitions:
            raise LookupError(f"topic {self.topic} has no partitions (yet)")
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        if set(consumer.assignment()) != set(tps):
            consumer.assign(tps)
        listed = consumer.end_offsets(tps)
        starts = consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(listed[tp], self._ends.get(tp.partition, 0)))
        consumer.poll(timeout_ms=int(min(1.0, self.every_s / 2) * 1000))  # fetch: each reply carries the highwater
        ends = {tp.partition: max(listed[tp], consumer.highwater(tp) or 0) for tp in tps}
        self._ends = ends
        groups = admin.list_group_offsets(self.group_id)
        committed = {tp.partition: meta.offset for tp, meta in groups.get(self.group_id, {}).items()
                     if tp.topic == self.topic and meta.offset >= 0}
        lag = partition_lag(ends, committed, {tp.partition: off for tp, off in starts.items()})
        for partition, value in lag.items():
            self.gauge.labels(str(partition)).set(value)
        return LagReading(lag, self.clock())

    def _clients(self) -> tuple[KafkaAdminClient, KafkaConsumer]:
        timeouts = {"request_timeout_ms": REQUEST_TIMEOUT_MS}
        if self._admin is None:
            self._admin = KafkaAdminClient(**self.kafka.client_kwargs(), **timeouts)
        if self._consumer is None:
            self._consumer = KafkaConsumer(**self.kafka.client_kwargs(), **timeouts, enable_auto_commit=False,
                                           max_partition_fetch_bytes=64 * 1024, fetch_max_wait_ms=100)
        return self._admin, self._consumer

    def close(self) -> None:
        for client in (self._consumer, self._admin):
            if client is not None:
                try:
                    client.close()
                except Exception as exc:
                    log.debug("closing a lag client: %s", exc)
        self._admin = self._consumer = None
