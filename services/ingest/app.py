"""The ingest core: validate, route, produce to the raw topic or the DLQ; and file replay with pacing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from tqdm import tqdm

from services.common.kafka import DeadLetters
from services.common.routing import Router
from services.common.schemas import RawTweet
from services.ingest import metrics
from services.ingest.delivery import Deliveries, DeliveryCounts
from services.ingest.parsing import Limits, Rejected, Tweet, parse_json_line, validate_record
from services.ingest.sources import Incoming

log = logging.getLogger(__name__)


@dataclass
class Tally:
    received: int = 0
    routed: int = 0
    unrouted: int = 0
    dead_lettered: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)
    keep_rejects: bool = False


class Ingestor:
    def __init__(self, router: Router, producer: KafkaProducer, topic: str, dead_letters: DeadLetters,
                 limits: Limits, clock: Callable[[], float] = time.time) -> None:
        self.router, self.producer, self.topic = router, producer, topic
        self.dead_letters, self.limits, self.clock = dead_letters, limits, clock

    def parse(self, item: Incoming, now: float) -> Tweet | Rejected:
        if item.error:
            return Rejected(item.error_reason, item.error)
        if len(item.raw) > self.limits.max_line_bytes:
            return Rejected("too_large", f"{len(item.raw)} bytes > {self.limits.max_line_bytes}")
        if item.record is not None:
            return validate_record(item.record, self.limits, now)
        return parse_json_line(item.raw, self.limits, now)

    def prepare(self, item: Incoming, id_suffix: str = "") -> RawTweet | Rejected | None:
        """The raw-topic message for an item, the reason it is rejected, or None when it is about no target."""
        now = self.clock()
        try:
            parsed = self.parse(item, now)
            if isinstance(parsed, Rejected):
                return parsed
            routes = self.router.route(parsed.text)
            if not routes:
                return None
            if parsed.future_created_at:
                metrics.FUTURE_TIMESTAMPS.inc()
            return RawTweet(id=parsed.id + id_suffix, text=parsed.text, created_at=parsed.created_at,
                            author=parsed.author, lang=parsed.lang, source=parsed.source, routes=routes,
                            ingested_at=now)
        except Exception as exc:  # one record's failure must not stop the stream: it goes to the DLQ, loudly
            log.exception("could not process %s", item.ref)
            return Rejected("processing_error", f"{type(exc).__name__}: {exc}")

    def handle(self, item: Incoming, tally: Tally, id_suffix: str = "") -> Any:
        """Sends the item to the raw topic or the DLQ; returns the producer's future (None when unrouted).

        Raises KafkaError when the producer refuses the record outright (no broker metadata within max_block_ms).
        """
        tally.received += 1
        metrics.RECEIVED.inc()
        out = self.prepare(item, id_suffix)
        if isinstance(out, Rejected):
            tally.dead_lettered += 1
            if tally.keep_rejects:  # an HTTP response lists them; a long replay must not hold them all
                tally.rejects.append({"ref": item.ref, "index": item.index, "reason": out.reason,
                                      "detail": out.detail})
            metrics.DEAD_LETTERS.labels(out.reason).inc()
            return self.dead_letters.send(item.raw, out.reason, out.detail, source=item.ref)
        if out is None:
            tally.unrouted += 1
            metrics.UNROUTED.inc()
            return None
        future = self.producer.send(self.topic, key=out.id.encode(), value=out.model_dump_json().encode())
        tally.routed += 1
        metrics.ROUTED.inc()
        for r in out.routes:
            metrics.ROUTES.labels(r.party).inc()
        return future


class Pacer:
    """Spaces items to `rate` per second (None: as fast as possible), without drift over a long replay."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self.rate, self.clock, self.sleep = rate, clock, sleep
        self.start: float | None = None
        self.count = 0

    def wait(self) -> None:
        if self.rate is None:
            return
        now = self.clock()
        if self.start is None:
            self.start = now
        due = self.start + self.count / self.rate
        if due > now:
            self.sleep(due - now)
        self.count += 1


@dataclass(frozen=True)
class ReplayReport:
    tally: Tally
    delivery: DeliveryCounts
    stopped: str | None  # why it ended early: "signal", "broker"; None when the source was read to the end

    @property
    def complete(self) -> bool:
        """Everything read was handled and everything sent was acknowledged."""
        return self.stopped in (None, "signal") and self.delivery.failed == 0 and self.delivery.pending == 0

    def summary(self) -> str:
        t, d = self.tally, self.delivery
        line = (f"replay: {t.received} read, {t.routed} routed, {t.unrouted} unrouted, {t.dead_lettered} "
                f"dead-lettered; broker acknowledged {d.delivered}, failed {d.failed}, unacknowledged {d.pending}")
        if self.stopped:
            line += f"; stopped early ({self.stopped})"
        if d.first_error:
            line += f"; first error: {d.first_error}"
        return line


def replay(ingestor: Ingestor, open_items: Callable[[], Iterable[Incoming]], rate: float | None, loop: bool,
           should_stop: Callable[[], bool] = lambda: False, progress: bool = True,
           flush_timeout_s: float = 60.0, stop_timeout_s: float = 5.0) -> ReplayReport:
    """Replays a source once, or forever with `loop`; pass k > 0 suffixes ids with "~k" so a looped
    replay keeps counting (the aggregator counts an id once).

    Every record handed to the producer is tracked until the broker acknowledges or fails it. The first failure
    stops the replay (reading on would only queue more records for a broker that is not taking them); the
    report says how many were acknowledged, failed and left unacknowledged. Rerunning a file is safe: ids
    already counted are not counted again.
    """
    tally, pacer, deliveries = Tally(), Pacer(rate), Deliveries()
    stopped: str | None = None
    bar = tqdm(desc="replay", unit="tweet", disable=not progress)
    try:
        for k, item in _items(open_items, loop):
            if should_stop():
                stopped = "signal"
                break
            if deliveries.failing:
                stopped = "broker"
                break
            pacer.wait()
            try:
                future = ingestor.handle(item, tally, id_suffix=f"~{k}" if k else "")
            except KafkaError as exc:
                deliveries.refused(exc)
                stopped = "broker"
                break
            if future is not None:
                deliveries.track(future)
            bar.update()
            if tally.received % 500 == 0:
                bar.set_postfix(routed=tally.routed, unrouted=tally.unrouted, dlq=tally.dead_lettered)
    finally:
        bar.close()
        timeout = stop_timeout_s if stopped else flush_timeout_s
        try:
            ingestor.producer.flush(timeout=timeout)
        except KafkaTimeoutError:
            log.error("the broker did not acknowledge every record within %.0f s", timeout)
    report = ReplayReport(tally, deliveries.counts(), stopped)
    (log.info if report.complete else log.error)(report.summary())
    return report


def _items(open_items: Callable[[], Iterable[Incoming]], loop: bool) -> Iterator[tuple[int, Incoming]]:
    """(pass number, item) over one pass of the source, or endless passes with `loop`."""
    k = 0
    while True:
        for item in open_items():
            yield k, item
        k += 1
        if not loop:
            return
