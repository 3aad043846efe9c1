"""The inference loop: consume raw tweets, score them in micro-batches (the policy: scoring.py), produce, then
commit.

Delivery is at-least-once: offsets are committed only after every scored record of the batch is acknowledged by
the broker. Batches go through three stages, each overlapping the next batch's earlier one:
1. scoring: the model computes batch N's rows, labels and explanations in the scoring thread (ONNX Runtime releases
   the GIL while a graph runs), while this thread polls, decodes, builds and sends what the model finished;
2. sending: batch N-1's scored records are built and handed to the producer;
3. settling: batch N-2 is acknowledged by the broker, then its offsets committed.
Batches leave each stage in order, so commits stay in order and each covers only records the broker has
acknowledged. The model and the Python around it (decoding, records, serialising, the producer) overlap instead of
adding up, and so do the model and the broker's round trip (`pulse bench --e2e` measured the acknowledgement at
~60% of a batch's time on the local durable broker). With nothing more to score, every batch in the pipeline is
finished at once. A crash replays the uncommitted batches; the aggregator counts an id once.
When the broker stops acknowledging (it is down or restarting), the batch's unacknowledged records are sent
again with backoff until it answers: the worker rides the outage out instead of exiting, and readiness says it
is stalled meanwhile (the watchdog).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError, MessageSizeTooLargeError, RebalanceInProgressError
from kafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from models.runtime.predictor import StanceModel
from services.common.kafka import DeadLetters
from services.common.ops import Probe
from services.common.schemas import RawTweet, ScoredTweet
from services.common.watchdog import ProgressWatchdog
from services.infer import metrics
from services.infer.batcher import Batcher
from services.infer.delivery import Sent, acknowledge
from services.infer.scoring import BatchScorer, Failed, Pair, Scores, split_routes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Scoring:
    """A batch the model is scoring: what is needed to finish it once it has (its records for the commit, its
    pairs, the routes it does not rate, the dead letters already sent for records that did not decode)."""

    records: list[Any]
    pairs: list[Pair]
    unrated: list[Pair]
    pending: list[Sent]
    scores: Future[Scores] | None
    started: float


@dataclass(frozen=True)
class _InFlight:
    """A batch sent to the broker and not yet settled: its records (for the commit) and what was sent for them."""

    records: list[Any]
    pending: list[Sent]
    started: float


class InferLoop:
    def __init__(self, consumer: KafkaConsumer, producer: KafkaProducer, model: StanceModel, scored_topic: str,
                 dead_letters: DeadLetters, batcher: Batcher[Any], clock: Callable[[], float] = time.time,
                 probe: Probe | None = None, explain_per_batch: int = 16, occlude_per_batch: int = 1,
                 watchdog: ProgressWatchdog | None = None) -> None:
        self.consumer, self.producer, self.model = consumer, producer, model
        self.scored_topic, self.dead_letters, self.batcher, self.clock = scored_topic, dead_letters, batcher, clock
        self.probe = probe or Probe()
        self.watchdog = watchdog or ProgressWatchdog(stall_after_s=float("inf"))
        self.scorer = BatchScorer(model, explain_per_batch, occlude_per_batch)
        self.stopping = False
        self._warned: set[str] = set()
        self._scoring: _Scoring | None = None
        self._in_flight: _InFlight | None = None
        self._model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scoring")

    def stop(self) -> None:
        self.stopping = True

    def run(self) -> None:
        metrics.MODEL_INFO.labels(self.model.version).set(1)
        self.probe.set_ready(True, f"model {self.model.version} loaded, polling")
        try:
            while not self.stopping:
                self.probe.beat()
                wait = self.batcher.time_left()
                poll_ms = 500 if wait is None else int(min(0.5, wait) * 1000)
                try:
                    polled = self.consumer.poll(timeout_ms=poll_ms, max_records=max(1, self.batcher.room()))
                except KafkaError as exc:  # the broker or the group coordinator is gone: wait for it, stay up
                    if not exc.retriable:
                        raise
                    log.warning("polling failed (%s): the broker is unreachable; trying again", type(exc).__name__)
                    time.sleep(1.0)
                    continue
                for records in polled.values():
                    for rec in records:
                        self.batcher.add(rec)
                if self.batcher.ready():
                    self.process(self.batcher.drain())
                    self.watchdog.progressed()
                elif self._scoring is not None or self._in_flight is not None:
                    self.finish_all()  # nothing more to score yet: finish now, not with the next batch
            self.probe.set_ready(False, "stopping")
            if len(self.batcher):  # SIGTERM: finish the batch being gathered, and those in the pipeline
                self.process(self.batcher.drain())
            self.finish_all()
        finally:
            self._model_thread.shutdown(wait=True, cancel_futures=True)
            self.producer.flush()
            self.consumer.close()

    def process(self, records: list[Any]) -> None:
        """Decodes a batch and hands its pairs to the model; meanwhile the previous batch is finished (sent) and
        the one before it settled."""
        started = time.perf_counter()
        metrics.CONSUMED.inc(len(records))
        pairs: list[Pair] = []
        unrated: list[Pair] = []
        pending: list[Sent] = []
        for rec in records:
            try:
                tweet = RawTweet.model_validate_json(rec.value)
            except (ValidationError, ValueError) as exc:
                pending.append(self._dead_letter(rec, "invalid_raw_message", str(exc)))
                continue
            scored_pairs, unrated_pairs = split_routes(rec, tweet, self.model.targets)
            pairs += scored_pairs
            unrated += unrated_pairs
            for pair in unrated_pairs:
                self._skip(pair.target)
        scores = self._model_thread.submit(self._score, pairs) if pairs else None
        self.finish()
        self._scoring = _Scoring(records, pairs, unrated, pending, scores, started)

    def _score(self, pairs: list[Pair]) -> Scores:
        """In the scoring thread: the model's whole share of a batch."""
        t0 = time.perf_counter()
        rows = self.scorer.probabilities(pairs)
        metrics.INFERENCE_SECONDS.observe(time.perf_counter() - t0)
        metrics.BATCH_SIZE.observe(len(pairs))
        return self.scorer.label_and_explain(pairs, rows)

    def finish(self) -> None:
        """Sends the records of the batch the model was scoring once it has (waiting for it), after settling the
        batch in flight: commits stay in order, and each covers only records the broker has acknowledged."""
        batch, self._scoring = self._scoring, None
        if batch is None:
            return
        pending = batch.pending
        if batch.scores is not None:
            scores = batch.scores.result()  # the model's exception, if it failed the whole batch, stops the loop
            for pair, out in zip(batch.pairs, self.scorer.build(batch.pairs, scores, self.clock()), strict=True):
                if isinstance(out, Failed):
                    pending.append(self._dead_letter(pair.record, "scoring_failed", out.detail))
                elif self._send(pair, out, pending):
                    metrics.SCORED.labels(pair.target, out.label).inc()
        now = self.clock()
        for pair in batch.unrated:  # counted as such, so readers see how much of a target goes unrated
            self._send(pair, self.scorer.unrated(pair, now), pending)
        self.settle()
        self._in_flight = _InFlight(batch.records, pending, batch.started)

    def finish_all(self) -> None:
        """Every batch in the pipeline sent, acknowledged and committed."""
        self.finish()
        self.settle()

    def settle(self) -> None:
        """Waits for the broker to acknowledge the batch in flight (sending again what it refuses), then commits
        its offsets. Raises, uncommitted, when it cannot be delivered (delivery.acknowledge)."""
        batch, self._in_flight = self._in_flight, None
        if batch is None:
            return
        acknowledge(batch.pending, should_stop=lambda: self.stopping, beat=self.probe.beat, flush=self.producer.flush)
        self._commit(batch.records)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - batch.started)

    def _send(self, pair: Pair, out: ScoredTweet, pending: list[Sent]) -> bool:
        """Produces `out` (it joins `pending`), or dead-letters the pair when the record itself cannot go (too
        large for the broker): that is the record's own fault, and the stream goes on."""
        key, value = out.id.encode(), out.model_dump_json().encode()
        try:
            pending.append(Sent.now(lambda: self.producer.send(self.scored_topic, key=key, value=value)))
            return True
        except (ValueError, MessageSizeTooLargeError) as exc:
            pending.append(self._dead_letter(pair.record, "unserialisable", f"{type(exc).__name__}: {exc}"))
            return False

    def _dead_letter(self, rec: Any, reason: str, detail: str) -> Sent:
        metrics.DEAD_LETTERS.labels(reason).inc()
        return Sent.now(lambda: self.dead_letters.send(rec.value or b"", reason, detail[:500],
                                                       source=f"{rec.topic}/{rec.partition}@{rec.offset}",
                                                       key=rec.key))

    def _commit(self, records: list[Any]) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            if tp not in offsets or rec.offset + 1 > offsets[tp].offset:
                offsets[tp] = OffsetAndMetadata(rec.offset + 1, "", -1)
        try:
            self.consumer.commit(offsets)
        except (CommitFailedError, RebalanceInProgressError) as exc:
            # The partitions moved (or are moving) to another member during a rebalance: whoever owns them next
            # re-reads from the last commit, and the aggregator's de-duplication keeps the counts exact. A rebalance
            # in progress is not retriable for kafka-python, but it is not this worker's end either: the next poll
            # rejoins (seen once a broker came back from an outage while the group re-formed).
            log.warning("offset commit refused during a rebalance (records will be re-scored): %s", exc)
        except KafkaError as exc:
            if not exc.retriable:
                raise
            # The broker went away after acknowledging the batch: the next commit covers these offsets too (they
            # only grow); a restart before it re-reads the batch, which the de-duplication makes harmless.
            metrics.COMMIT_FAILURES.inc()
            log.warning("offset commit failed (%s): the next commit covers this batch", type(exc).__name__)

    def _skip(self, target: str) -> None:
        metrics.SKIPPED.labels(target).inc()
        if target not in self._warned:
            self._warned.add(target)
            log.warning("model %s was not trained for target %r: its routes are not scored",
                        self.model.version, target)
