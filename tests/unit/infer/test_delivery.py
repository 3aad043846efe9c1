"""Infer waits for the broker's acknowledgement of a batch, sending again what it refused or did not answer, and
gives up (raising, so nothing is committed) only on an error resending cannot fix or when asked to stop. Futures
are stand-ins with the producer's `get` contract; the real broker's outage is tests/chaos/test_broker_outage.py."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError

from services.infer.delivery import Sent, acknowledge


class Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> Any:
        if self.error is not None:
            raise self.error
        return "metadata"


class Broker:
    """Refuses (or times out) the first `down` sends of every record, then acknowledges."""

    def __init__(self, down: int, error: Exception | None = None) -> None:
        self.down, self.error, self.sends = down, error or KafkaTimeoutError("no answer"), 0

    def record(self) -> Sent:
        attempts = [0]

        def send() -> Future:
            self.sends += 1
            attempts[0] += 1
            return Future(self.error if attempts[0] <= self.down else None)

        return Sent.now(send)


def test_what_the_broker_refused_is_sent_again_until_acknowledged() -> None:
    broker, beats, flushes = Broker(down=3), [], []
    acknowledge([broker.record() for _ in range(5)], should_stop=lambda: False, beat=lambda: beats.append(1),
                flush=lambda: flushes.append(1), sleep=lambda _: None)
    assert broker.sends == 5 * 4  # the first send and three more of each
    assert len(flushes) == 3 and beats  # the liveness probe heard from the loop while it waited


def test_a_send_refused_outright_counts_as_a_failure_to_retry() -> None:
    calls = [0]

    def send() -> Future:
        calls[0] += 1
        if calls[0] == 1:
            raise KafkaTimeoutError("no metadata within max_block_ms")
        return Future(None)

    acknowledge([Sent.now(send)], should_stop=lambda: False, beat=lambda: None, flush=lambda: None,
                sleep=lambda _: None)
    assert calls[0] == 2


def test_it_gives_up_only_when_resending_cannot_help_or_when_stopping() -> None:
    with pytest.raises(MessageSizeTooLargeError):
        acknowledge([Broker(down=1, error=MessageSizeTooLargeError("too big")).record()], should_stop=lambda: False,
                    beat=lambda: None, flush=lambda: None, sleep=lambda _: None)
    with pytest.raises(KafkaConnectionError):
        acknowledge([Broker(down=99, error=KafkaConnectionError("refused")).record()], should_stop=lambda: True,
                    beat=lambda: None, flush=lambda: None, sleep=lambda _: None)


class Consumer:
    def __init__(self, error: Exception) -> None:
        self.error, self.commits = error, 0

    def commit(self, offsets: Any) -> None:
        self.commits += 1
        raise self.error


class Producer:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, topic: str, **kwargs: Any) -> Future:
        self.sent.append((topic, kwargs))
        return Future(None)

    def flush(self, timeout: float | None = None) -> None:
        pass


def loop_with(consumer: Consumer, producer: Producer) -> Any:
    from types import SimpleNamespace

    from services.common.kafka import DeadLetters
    from services.infer.app import InferLoop
    from services.infer.batcher import Batcher

    model = SimpleNamespace(targets=set(), labels=["FAVOR", "AGAINST", "NONE"], version="stand-in")
    return InferLoop(consumer=consumer, producer=producer, model=model, scored_topic="scored",  # type: ignore[arg-type]
                     dead_letters=DeadLetters(producer, "dlq", stage="infer"), batcher=Batcher(8, 0.05))


def test_a_batch_acknowledged_before_the_broker_died_is_not_fatal_to_commit() -> None:
    """The broker acknowledged the batch, then died before the offset commit: the worker goes on (the next commit
    covers these offsets; a restart re-reads them, counted once downstream) instead of exiting."""
    from types import SimpleNamespace

    from services.infer import metrics

    record = SimpleNamespace(topic="raw", partition=0, offset=41, key=b"k", value=b"not json")
    consumer, producer = Consumer(KafkaConnectionError("111 ECONNREFUSED")), Producer()
    before = metrics.COMMIT_FAILURES._value.get()
    loop = loop_with(consumer, producer)
    loop.process([record])
    assert consumer.commits == 0  # in the pipeline: committed once settled (with later batches, or when idle)
    loop.finish_all()
    assert consumer.commits == 1 and [t for t, _ in producer.sent] == ["dlq"]
    assert metrics.COMMIT_FAILURES._value.get() == before + 1
    with pytest.raises(MessageSizeTooLargeError):  # not a broker outage: stop, uncommitted
        failing = loop_with(Consumer(MessageSizeTooLargeError("config")), Producer())
        failing.process([record])
        failing.finish_all()


def test_a_commit_refused_while_the_group_rebalances_is_not_fatal() -> None:
    """After a broker outage the group re-forms; a commit sent meanwhile is refused with RebalanceInProgressError,
    which kafka-python does not call retriable. The worker goes on: its next poll rejoins, and whoever owns the
    partitions re-reads from the last commit (counted once downstream). It once exited here, and nothing more was
    counted until a restart."""
    from types import SimpleNamespace

    from kafka.errors import RebalanceInProgressError

    record = SimpleNamespace(topic="raw", partition=0, offset=7, key=b"k", value=b"not json")
    consumer, producer = Consumer(RebalanceInProgressError("rebalancing")), Producer()
    loop = loop_with(consumer, producer)
    loop.process([record])
    loop.finish_all()  # does not raise
    assert consumer.commits == 1 and [t for t, _ in producer.sent] == ["dlq"]
