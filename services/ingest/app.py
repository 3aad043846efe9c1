"""The ingest core: validate, route, produce to the raw topic or the DLQ; and file replay with pacing."""

from __future__ import annotations

import contextlib
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
from services.ingest.parsing import Limits, Parsed, Rejected, parse_json_line, validate_record
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
                 limits: Limits, clock: Callable[[], float] = time.time, source: str | None = None) -> None:
        self.router, self.producer, self.topic = router, producer, topic
        self.dead_letters, self.limits, self.clock = dead_letters, limits, clock
        # What posts that do not name their source are counted as (a replay's name, "http"): every count says
        # where it came from.
        self.source = source
        # Sends the record of the last handle() again: a replay riding out a broker outage resends what failed
        # (the aggregator counts a record once, however often it arrives).
        self.last_resend: Callable[[], Any] = lambda: None

    def parse(self, item: Incoming, now: float) -> Parsed | Rejected:
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
            post = parsed.post
            routes = self.router.route(post.text)
            if not routes:
                return None
            if parsed.future_created_at:
                metrics.FUTURE_TIMESTAMPS.inc()
            return RawTweet(**{**post.model_dump(), "id": post.id + id_suffix, "source": post.source or self.source},
                            routes=routes, ingested_at=now)
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
            return self._send(self.dead_letters.topic,
                              self.dead_letters.letter(item.raw, out.reason, out.detail, source=item.ref))
        if out is None:
            tally.unrouted += 1
            metrics.UNROUTED.inc()
            return None
        future = self._send(self.topic, {"key": out.id.encode(), "value": out.model_dump_json().encode()})
        tally.routed += 1
        metrics.ROUTED.inc()
        for r in out.routes:
            metrics.ROUTES.labels(r.party).inc()
        return future


    def _send(self, topic: str, record: dict[str, Any]) -> Any:
        future = self.producer.send(topic, **record)
        self.last_resend = lambda: self.producer.send(topic, **record)
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

    def restart(self) -> None:
        """Paces from now on, as if starting afresh."""
        self.start, self.count = None, 0

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
    outages: str | None = None  # the broker outages it rode out, if any

    @property
    def complete(self) -> bool:
        """Everything read was handled and everything sent was acknowledged."""
        return self.stopped in (None, "signal") and self.delivery.failed == 0 and self.delivery.pending == 0

    def summary(self) -> str:
        t, d = self.tally, self.delivery
        line = (f"replay: {t.received} read, {t.routed} routed, {t.unrouted} unrouted, {t.dead_lettered} "
                f"dead-lettered; broker acknowledged {d.delivered}, failed {d.failed}, unacknowledged {d.pending}")
        if self.outages:
            line += f"; {self.outages}"
        if self.stopped:
            line += f"; stopped early ({self.stopped})"
        if d.first_error:
            line += f"; first error: {d.first_error}"
        return line


def replay(ingestor: Ingestor, open_items: Callable[[], Iterable[Incoming]], rate: float | None, loop: bool,
           should_stop: Callable[[], bool] = lambda: False, progress: bool = True,
           flush_timeout_s: float = 60.0, stop_timeout_s: float = 5.0,
           outage: BrokerOutage | None = None) -> ReplayReport:
    """Replays a source once, or forever with `loop`; pass k > 0 suffixes ids with "~k" so a looped
    replay keeps counting (the aggregator counts an id once).

    Every record handed to the producer is tracked until the broker acknowledges or fails it. When the broker stops
    acknowledging, `outage` (if given) waits for it, bounded, and resends what failed before reading on; without
    it, or once its wait is over, the replay stops (reading on would only queue records for a broker that is not
    taking them). The report says how many were acknowledged, failed and left unacknowledged. Rerunning a file is
    safe: ids already counted are not counted again.
    """
    tally, pacer, deliveries = Tally(), Pacer(rate), Deliveries()
    stopped: str | None = None
    bar = tqdm(desc="replay", unit="tweet", disable=not progress)

    def rode_out() -> bool:
        if outage is None or not outage.wait(ingestor.producer, deliveries, should_stop):
            return False
        pacer.restart()  # read on at the rate, not in a burst that makes up for the outage
        return True

    try:
        for k, item in _items(open_items, loop):
            if should_stop():
                stopped = "signal"
                break
            if deliveries.failing and not rode_out():
                stopped = "signal" if should_stop() else "broker"
                break
            pacer.wait()
            future = None
            while stopped is None:
                try:
                    future = ingestor.handle(item, tally, id_suffix=f"~{k}" if k else "")
                    break
                except KafkaError as exc:  # refused outright: the broker is gone
                    tally.received -= 1  # handled again once it is back
                    if not rode_out():
                        tally.received += 1
                        deliveries.refused(exc)
                        stopped = "signal" if should_stop() else "broker"
            if stopped:
                break
            if future is not None:
                deliveries.track(future, resend=ingestor.last_resend)
            bar.update()
            if tally.received % 500 == 0:
                bar.set_postfix(routed=tally.routed, unrouted=tally.unrouted, dlq=tally.dead_lettered)
    finally:
        bar.close()
        timeout = stop_timeout_s if stopped else flush_timeout_s
        _flush(ingestor.producer, timeout)
        # Records that fail after the last one was read (resent ones among them) are ridden out the same way.
        while stopped is None and deliveries.failing and rode_out():
            _flush(ingestor.producer, flush_timeout_s)
    report = ReplayReport(tally, deliveries.counts(), stopped, outage.summary() if outage else None)
    (log.info if report.complete else log.error)(report.summary())
    return report


class BrokerOutage:
    """How a replay rides out a broker that stops acknowledging: let what is in flight settle, ask the broker every
    second whether it serves the topic again, for at most `wait_s`, saying so every `note_every_s`; then resend
    what failed. Counts the outages and the records resent, for the report."""

    def __init__(self, broker_ready: Callable[[], tuple[bool, str]], wait_s: float, settle_s: float,
                 note_every_s: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.broker_ready, self.wait_s, self.settle_s = broker_ready, wait_s, settle_s
        self.note_every_s, self.clock, self.sleep = note_every_s, clock, sleep
        self.outages = self.resent = 0
        self.waited_s = 0.0

    def wait(self, producer: KafkaProducer, deliveries: Deliveries, should_stop: Callable[[], bool]) -> bool:
        """True once the broker is back and the failed records are resent; False when the wait is over (or a
        signal came) first."""
        if self.wait_s <= 0:
            return False
        self.outages += 1
        started = self.clock()
        log.warning("the broker is not acknowledging (%s); waiting up to %.0f s for it",
                    deliveries.counts().first_error, self.wait_s)
        # What is in flight is delivered or fails (then it can be resent): in one-second slices, so a signal is
        # seen while it settles.
        while deliveries.counts().pending and self.clock() - started < self.settle_s and not should_stop():
            with contextlib.suppress(KafkaTimeoutError):
                producer.flush(timeout=1.0)
        next_note = started + self.note_every_s
        try:
            while not should_stop():
                ok, why = self.broker_ready()
                if ok:
                    try:
                        n = deliveries.resend_failed()
                    except KafkaError as exc:
                        why = f"resending refused: {type(exc).__name__}"
                    else:
                        self.resent += n
                        log.warning("the broker is back after %.0f s: %d records resent, reading on",
                                    self.clock() - started, n)
                        return True
                waited = self.clock() - started
                if waited >= self.wait_s:
                    log.error("no broker after %.0f s (%s): giving up", waited, why)
                    return False
                if self.clock() >= next_note:
                    next_note += self.note_every_s
                    log.warning("still waiting for the broker: %.0f s of %.0f s (%s); %d records to resend",
                                waited, self.wait_s, why, deliveries.counts().failed)
                self.sleep(1.0)
            return False
        finally:
            self.waited_s += self.clock() - started

    def summary(self) -> str | None:
        if not self.outages:
            return None
        return (f"waited for the broker {self.outages} time(s), {self.waited_s:.0f} s in all, {self.resent} records "
                "resent")


def _flush(producer: KafkaProducer, timeout: float) -> None:
    try:
        producer.flush(timeout=timeout)
    except KafkaTimeoutError:
        log.error("the broker did not acknowledge every record within %.0f s", timeout)


def _items(open_items: Callable[[], Iterable[Incoming]], loop: bool) -> Iterator[tuple[int, Incoming]]:
    """(pass number, item) over one pass of the source, or endless passes with `loop`."""
    k = 0
    while True:
        for item in open_items():
            yield k, item
        k += 1
        if not loop:
            return
