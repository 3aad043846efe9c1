"""The inference loop: consume raw tweets, score them in micro-batches, produce, then commit.

Delivery is at-least-once: offsets are committed only after every scored record of the batch is
acknowledged by the broker. A crash replays the uncommitted batch; the aggregator counts an id once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import CommitFailedError, MessageSizeTooLargeError
from kafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from models.runtime.predictor import StanceModel
from services.common.kafka import DeadLetters
from services.common.ops import Probe
from services.common.schemas import UNRATED, RawTweet, ScoredTweet
from services.common.watchdog import ProgressWatchdog
from services.infer import metrics
from services.infer.batcher import Batcher

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Pair:
    record: Any  # the consumed message, for the DLQ
    tweet: RawTweet
    target: str
    party: str


class InferLoop:
    def __init__(self, consumer: KafkaConsumer, producer: KafkaProducer, model: StanceModel, scored_topic: str,
                 dead_letters: DeadLetters, batcher: Batcher[Any], clock: Callable[[], float] = time.time,
                 probe: Probe | None = None, explain_per_batch: int = 16, occlude_per_batch: int = 1,
                 watchdog: ProgressWatchdog | None = None) -> None:
        self.consumer, self.producer, self.model = consumer, producer, model
        self.scored_topic, self.dead_letters, self.batcher, self.clock = scored_topic, dead_letters, batcher, clock
        self.probe = probe or Probe()
        self.watchdog = watchdog or ProgressWatchdog(stall_after_s=float("inf"))
        self.explain_per_batch, self.occlude_per_batch = explain_per_batch, occlude_per_batch
        self.stopping = False
        self._warned: set[str] = set()

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
                polled = self.consumer.poll(timeout_ms=poll_ms, max_records=max(1, self.batcher.room()))
                for records in polled.values():
                    for rec in records:
                        self.batcher.add(rec)
                if self.batcher.ready():
                    self.process(self.batcher.drain())
                    self.watchdog.progressed()
            self.probe.set_ready(False, "stopping")
            if len(self.batcher):  # SIGTERM: finish the batch in flight
                self.process(self.batcher.drain())
        finally:
            self.producer.flush()
            self.consumer.close()

    def process(self, records: list[Any]) -> None:
        started = time.perf_counter()
        metrics.CONSUMED.inc(len(records))
        pairs: list[Pair] = []
        unrated: list[Pair] = []
        pending = []
        for rec in records:
            try:
                tweet = RawTweet.model_validate_json(rec.value)
            except (ValidationError, ValueError) as exc:
                pending.append(self._dead_letter(rec, "invalid_raw_message", str(exc)))
                continue
            for route in tweet.routes:
                if route.target in self.model.targets:
                    pairs.append(Pair(rec, tweet, route.target, route.party))
                else:
                    self._skip(route.target)
                    unrated.append(Pair(rec, tweet, route.target, route.party))
        if pairs:
            t0 = time.perf_counter()
            scored = self._score(pairs)
            metrics.INFERENCE_SECONDS.observe(time.perf_counter() - t0)
            metrics.BATCH_SIZE.observe(len(pairs))
            now = self.clock()
            decided = self._decide(pairs, scored)
            explanations = self._explain(pairs, scored, decided)
            for pair, row, index, explanation in zip(pairs, scored, decided, explanations, strict=True):
                if isinstance(row, Exception):
                    pending.append(self._dead_letter(pair.record, "scoring_failed", f"{type(row).__name__}: {row}"))
                    continue
                out, label = self._scored(pair, row, index, now, explanation)
                if self._send(pair, out, pending):
                    metrics.SCORED.labels(pair.target, label).inc()
        now = self.clock()
        for pair in unrated:  # counted as such, so readers see how much of a target goes unrated
            self._send(pair, self._record(pair, UNRATED, {}, now, None), pending)
        self.producer.flush()
        for fut in pending:
            fut.get(timeout=30)  # raises unless acknowledged: then we exit without committing
        self._commit(records)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    def _score(self, pairs: list[Pair]) -> list[Any]:
        """Probability rows for the pairs. If the batch fails, each pair is scored alone, so only the pair that
        cannot be scored (its exception in place of its row) goes to the DLQ."""
        texts, targets = [p.tweet.text for p in pairs], [p.target for p in pairs]
        try:
            return list(self.model.predict(texts, targets))
        except Exception:
            log.exception("a batch of %d pairs failed to score; scoring them one by one", len(pairs))
        rows: list[Any] = []
        for text, target in zip(texts, targets, strict=True):
            try:
                rows.append(self.model.predict([text], [target])[0])
            except Exception as exc:
                rows.append(exc)
        if len(rows) > 1 and all(isinstance(r, Exception) for r in rows):
            # Not one bad record but a broken model or runtime: dead-lettering the batch would lose it. Raising
            # stops the loop without committing; the restarted worker re-reads the batch.
            raise RuntimeError(f"every pair of the batch failed to score: {rows[0]}") from rows[0]
        return rows

    def _decide(self, pairs: list[Pair], rows: list[Any]) -> list[int]:
        """The served label index of every scored row (the model's decision: its NONE weight, not a bare argmax),
        in one call; -1 for the rows that could not be scored."""
        ok = [i for i, row in enumerate(rows) if not isinstance(row, Exception)]
        out = [-1] * len(rows)
        if ok:
            for i, label in zip(ok, self.model.decide(np.stack([rows[i] for i in ok]),
                                                      [pairs[i].target for i in ok]), strict=True):
                out[i] = int(label)
        return out

    def _explain(self, pairs: list[Pair], rows: list[Any],
                 decided: list[int]) -> list[tuple[str, list[tuple[str, float]]] | None]:
        """Explanations for the newest scored pairs. Best effort: a failure costs the explanations, never the
        records."""
        ok = [i for i, row in enumerate(rows) if not isinstance(row, Exception)]
        out: list[tuple[str, list[tuple[str, float]]] | None] = [None] * len(pairs)
        if not ok or self.explain_per_batch <= 0:
            return out
        try:
            found = self.model.explain_batch([pairs[i].tweet.text for i in ok], [pairs[i].target for i in ok],
                                             [decided[i] for i in ok], self.explain_per_batch,
                                             self.occlude_per_batch)
        except Exception:
            log.exception("explaining a batch failed; its records go out without explanations")
            return out
        for i, explanation in zip(ok, found, strict=True):
            out[i] = explanation
        return out

    def _scored(self, pair: Pair, row: Any, index: int, now: float,
                explanation: tuple[str, list[tuple[str, float]]] | None) -> tuple[ScoredTweet, str]:
        best = self.model.labels[index]
        probs = {lab: round(float(p), 5) for lab, p in zip(self.model.labels, row, strict=True)}
        return self._record(pair, best, probs, now, explanation), best

    def _record(self, pair: Pair, label: str, probs: dict[str, float], now: float,
                explanation: tuple[str, list[tuple[str, float]]] | None) -> ScoredTweet:
        return ScoredTweet(
            id=pair.tweet.id, target=pair.target, party=pair.party, label=label,  # type: ignore[arg-type]
            probs=probs, model_version=self.model.version, text=pair.tweet.text, author=pair.tweet.author,
            source=pair.tweet.source, created_at=pair.tweet.created_at, ingested_at=pair.tweet.ingested_at,
            scored_at=now, explanation=None if explanation is None else explanation[1],
            explanation_method=None if explanation is None else explanation[0],  # type: ignore[arg-type]
        )

    def _send(self, pair: Pair, out: ScoredTweet, pending: list[Any]) -> bool:
        """Produces `out` (its future joins `pending`), or dead-letters the pair when the record itself cannot go
        (too large for the broker): that is the record's own fault, and the stream goes on."""
        try:
            pending.append(self.producer.send(self.scored_topic, key=out.id.encode(),
                                              value=out.model_dump_json().encode()))
            return True
        except (ValueError, MessageSizeTooLargeError) as exc:
            pending.append(self._dead_letter(pair.record, "unserialisable", f"{type(exc).__name__}: {exc}"))
            return False

    def _dead_letter(self, rec: Any, reason: str, detail: str) -> Any:
        metrics.DEAD_LETTERS.labels(reason).inc()
        return self.dead_letters.send(rec.value or b"", reason, detail[:500],
                                      source=f"{rec.topic}/{rec.partition}@{rec.offset}", key=rec.key)

    def _commit(self, records: list[Any]) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            if tp not in offsets or rec.offset + 1 > offsets[tp].offset:
                offsets[tp] = OffsetAndMetadata(rec.offset + 1, "", -1)
        try:
            self.consumer.commit(offsets)
        except CommitFailedError as exc:
            # The partitions moved to another member during a rebalance; it re-reads from the last commit,
            # and the aggregator's de-duplication keeps the counts exact.
            log.warning("offset commit refused after a rebalance (records will be re-scored): %s", exc)

    def _skip(self, target: str) -> None:
        metrics.SKIPPED.labels(target).inc()
        if target not in self._warned:
            self._warned.add(target)
            log.warning("model %s was not trained for target %r: its routes are not scored",
                        self.model.version, target)
