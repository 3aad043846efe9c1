"""The ingest core: validate, route, produce to the raw topic or the DLQ; and file replay with pacing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from tqdm import tqdm

from services.common.kafka import DeadLetters
from services.common.schemas import RawTweet
from services.ingest import metrics
from services.ingest.parsing import Limits, Rejected, Tweet, parse_json_line, validate_record
from services.ingest.routing import Router
from services.ingest.sources import Incoming

log = logging.getLogger(__name__)


@dataclass
class Tally:
    received: int = 0
    routed: int = 0
    unrouted: int = 0
    dead_lettered: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)


class Ingestor:
    def __init__(self, router: Router, producer: KafkaProducer, topic: str, dead_letters: DeadLetters,
                 limits: Limits, clock: Callable[[], float] = time.time) -> None:
        self.router, self.producer, self.topic = router, producer, topic
        self.dead_letters, self.limits, self.clock = dead_letters, limits, clock

    def parse(self, item: Incoming) -> Tweet | Rejected:
        if item.error:
            return Rejected("malformed_row", item.error)
        if item.record is not None:
            return validate_record(item.record, self.limits)
        return parse_json_line(item.raw, self.limits)

    def handle(self, item: Incoming, tally: Tally, id_suffix: str = "") -> Any:
        """Returns the producer future (or None for an unrouted tweet)."""
        tally.received += 1
        metrics.RECEIVED.inc()
        parsed = self.parse(item)
        if isinstance(parsed, Rejected):
            tally.dead_lettered += 1
            tally.rejects.append({"ref": item.ref, "reason": parsed.reason, "detail": parsed.detail})
            metrics.DEAD_LETTERS.labels(parsed.reason).inc()
            return self.dead_letters.send(item.raw, parsed.reason, parsed.detail, source=item.ref)
        routes = self.router.route(parsed.text)
        if not routes:
            tally.unrouted += 1
            metrics.UNROUTED.inc()
            return None
        msg = RawTweet(id=parsed.id + id_suffix, text=parsed.text, created_at=parsed.created_at,
                       author=parsed.author, lang=parsed.lang, routes=routes, ingested_at=self.clock())
        tally.routed += 1
        metrics.ROUTED.inc()
        for r in routes:
            metrics.ROUTES.labels(r.party).inc()
        return self.producer.send(self.topic, key=msg.id.encode(), value=msg.model_dump_json().encode())


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


def replay(ingestor: Ingestor, open_items: Callable[[], Iterable[Incoming]], rate: float | None, loop: bool,
           should_stop: Callable[[], bool] = lambda: False, progress: bool = True) -> Tally:
    """Replays a source once, or forever with `loop`; pass k > 0 suffixes ids with "~k" so a looped
    replay keeps counting (the aggregator counts an id once)."""
    tally, pacer = Tally(), Pacer(rate)
    bar = tqdm(desc="replay", unit="tweet", disable=not progress)
    try:
        for k in _passes(loop):
            for item in open_items():
                if should_stop():
                    return tally
                pacer.wait()
                ingestor.handle(item, tally, id_suffix=f"~{k}" if k else "")
                bar.update()
                if tally.received % 500 == 0:
                    bar.set_postfix(routed=tally.routed, unrouted=tally.unrouted, dlq=tally.dead_lettered)
            if should_stop():
                break
    finally:
        ingestor.producer.flush()
        bar.close()
        log.info("replay: %d received, %d routed, %d unrouted, %d dead-lettered",
                 tally.received, tally.routed, tally.unrouted, tally.dead_lettered)
    return tally


def _passes(loop: bool) -> Iterator[int]:
    k = 0
    while True:
        yield k
        k += 1
        if not loop:
            return
