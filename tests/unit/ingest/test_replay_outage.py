"""A replay rides out a broker outage: it waits (bounded, saying so), resends exactly what failed, reads on, and
its report counts each record once; without a broker in time it stops and says what was not acknowledged."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError
from kafka.future import Future

from services.common.kafka import DeadLetters
from services.common.routing import Router
from services.ingest.app import BrokerOutage, Ingestor, replay
from services.ingest.delivery import Deliveries
from services.ingest.parsing import Limits
from services.ingest.sources import Incoming
from tests.fakes import FakeClock


class FlakyBroker:
    """A producer whose broker is up or down: sends while down fail at flush time (as delivery timeouts do)."""

    def __init__(self) -> None:
        self.up = True
        self.delivered: list[tuple[str, bytes]] = []
        self.held: list[tuple[Future, str, Any]] = []

    def send(self, topic: str, key: Any = None, value: Any = None, headers: Any = None) -> Future:
        future = Future()
        self.held.append((future, topic, value))
        return future

    def flush(self, timeout: float | None = None) -> None:
        held, self.held = self.held, []
        for future, topic, value in held:
            if self.up:
                self.delivered.append((topic, value))
                future.success(None)
            else:
                future.failure(KafkaTimeoutError("no acknowledgement"))


def items(n: int) -> list[Incoming]:
    return [Incoming(raw=f'{{"id": "t{i}", "text": "Joe Biden rally"}}'.encode(), ref=f"line {i}")
            for i in range(n)]


def ingestor(producer: FlakyBroker) -> Ingestor:
    return Ingestor(Router.load(), producer, "raw", DeadLetters(producer, "dlq", "ingest"),  # type: ignore[arg-type]
                    Limits(10_000, 1_000))


def test_the_replay_waits_for_the_broker_resends_what_failed_and_counts_each_record_once(
        caplog: pytest.LogCaptureFixture) -> None:
    producer, clock = FlakyBroker(), FakeClock()
    source = [*items(30), Incoming(raw=b"{not json", ref="line 30")]
    answers = iter([False] * 25 + [True])

    def broker_ready() -> tuple[bool, str]:
        ready = next(answers)
        producer.up = ready
        return ready, "serves raw" if ready else "no metadata"

    sent = 0

    def flush_every_ten() -> bool:  # the producer's I/O: a flush every 10 records, the broker down from the 12th
        nonlocal sent
        sent += 1
        if sent == 12:
            producer.up = False
        if sent % 10 == 0:
            producer.flush()
        return False

    outage = BrokerOutage(broker_ready, wait_s=60, settle_s=5, clock=clock,
                          sleep=lambda s: clock.advance(s))
    with caplog.at_level("WARNING"):
        report = replay(ingestor(producer), lambda: source, None, False, should_stop=flush_every_ten,
                        progress=False, outage=outage)
    assert report.complete and report.stopped is None
    assert (report.tally.received, report.tally.routed, report.tally.dead_lettered) == (31, 30, 1)
    d = report.delivery
    assert (d.delivered, d.failed, d.pending) == (31, 0, 0)  # each record once, the resent ones included
    raw = [v for t, v in producer.delivered if t == "raw"]
    assert len(raw) == len(set(raw)) == 30  # every record arrived, none twice
    assert (outage.outages, outage.resent) == (1, 10)  # the ten in flight when the broker went (the 11th… 20th)
    assert "still waiting for the broker: 10 s of 60 s" in caplog.text
    assert "waited for the broker 1 time(s), 25 s in all, 10 records resent" in report.summary()


def test_without_a_broker_in_time_the_replay_stops_and_reports_what_failed() -> None:
    producer, clock = FlakyBroker(), FakeClock()
    producer.up = False
    outage = BrokerOutage(lambda: (False, "no metadata"), wait_s=30, settle_s=5, clock=clock,
                          sleep=lambda s: clock.advance(s))
    count = 0

    def flush_every_five() -> bool:
        nonlocal count
        count += 1
        if count % 5 == 0:
            producer.flush()
        return False

    report = replay(ingestor(producer), lambda: items(20), None, False, should_stop=flush_every_five,
                    progress=False, outage=outage)
    assert report.stopped == "broker" and not report.complete
    # the fifth check of the stop flag comes before the fifth record: four were sent, failed, and never resent
    assert report.tally.received == 4 and report.delivery.failed == 4
    assert outage.waited_s == 30


def test_a_failed_record_is_resent_once_and_its_count_moves_from_failed_to_pending() -> None:
    d, sends = Deliveries(), []
    first = Future()
    d.track(first, resend=lambda: sends.append(1) or Future())
    first.failure(KafkaTimeoutError("down"))
    assert (d.counts().failed, d.counts().pending) == (1, 0) and d.failing
    assert d.resend_failed() == 1 and sends == [1]
    assert (d.counts().failed, d.counts().pending) == (0, 1) and not d.failing
    assert d.resend_failed() == 0  # nothing left to resend


def test_records_that_fail_after_the_last_one_was_read_are_ridden_out_too() -> None:
    producer, clock = FlakyBroker(), FakeClock()
    answers = iter([False, False, True])

    def broker_ready() -> tuple[bool, str]:
        producer.up = next(answers)
        return producer.up, "serves raw" if producer.up else "no metadata"

    outage = BrokerOutage(broker_ready, wait_s=60, settle_s=5, clock=clock, sleep=lambda s: clock.advance(s))
    producer.up = False  # nothing fails until the final flush: the broker went away under the last records
    report = replay(ingestor(producer), lambda: items(5), None, False, progress=False, outage=outage)
    assert report.complete and (report.delivery.delivered, report.delivery.failed) == (5, 0)
    assert outage.resent == 5
