"""The live runner's guarantees without a network: the checkpoint never passes a record the broker has not
acknowledged, a failed delivery stops it behind that record, and reconnects resume where they should.

The producer is a stand-in at the broker boundary (its futures are settled by the test); the integration tests
(tests/integration/test_live_sources.py) run the same runner against the real broker and Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from kafka.errors import KafkaTimeoutError
from kafka.future import Future

from services.common.kafka import DeadLetters
from services.common.routing import Router
from services.ingest.app import Ingestor
from services.ingest.backoff import Backoff
from services.ingest.checkpoint import CheckpointStore
from services.ingest.live import LiveRunner
from services.ingest.parsing import Limits
from services.ingest.settings import LiveSettings
from services.ingest.sources.base import Event, Incoming, SourceError, SourceEvent


class DictRedis:
    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value.encode()


class HeldProducer:
    """Keeps every record's future unsettled until the test acknowledges or fails it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Future]] = []

    def send(self, topic: str, key: Any = None, value: Any = None, headers: Any = None) -> Future:
        future = Future()
        self.sent.append((topic, future))
        return future

    def flush(self, timeout: float | None = None) -> None:
        pass


def post(position: int, text: str = "Joe Biden is great") -> SourceEvent:
    record = {"id": f"p{position}", "text": text, "source": "test"}
    return SourceEvent("post", position, None, Incoming(raw=b"{}", ref=f"test:{position}", record=record))


class ScriptedSource:
    """Plays one list of events per connection; a connection whose list ends with an exception raises it, and the
    last one stays open once played (a test that stops the runner must not race a reconnect)."""

    name = "test"

    def __init__(self, connections: list[list[Event | Exception]], hosts: tuple[str, ...] = ("h1",)) -> None:
        self.connections, self.hosts = connections, hosts
        self.calls: list[tuple[str, int | None]] = []

    def rewind(self, position: int, seconds: float) -> int:
        return position - int(seconds)

    async def stream(self, host: str, resume: int | None) -> AsyncIterator[Event]:
        self.calls.append((host, resume))
        script = self.connections.pop(0) if self.connections else []
        for item in script:
            if isinstance(item, Exception):
                raise item
            yield item
        if not self.connections:
            await asyncio.sleep(3600)  # the last connection stays open: ending it would make the runner reconnect


def runner(source: ScriptedSource, producer: HeldProducer, redis: DictRedis, **settings: Any) -> LiveRunner:
    ingestor = Ingestor(Router.load(), producer, "raw", DeadLetters(producer, "dlq", "ingest"),  # type: ignore
                        Limits())
    live = LiveSettings(**{"checkpoint_interval_s": 0.01, "backoff_initial_s": 0.01, "backoff_max_s": 0.02,
                           "rewind_s": 5, **settings})
    return LiveRunner(source, ingestor, CheckpointStore(redis, "p"), live)  # type: ignore[arg-type]


async def until(check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_checkpoint_waits_for_the_oldest_unacknowledged_record() -> None:
    source = ScriptedSource([[post(10), SourceEvent("delete", 11), post(12), post(13)]])
    producer, redis = HeldProducer(), DictRedis()
    live, stop = runner(source, producer, redis), asyncio.Event()
    task = asyncio.create_task(live.run(stop))
    await until(lambda: len(producer.sent) == 3)
    producer.sent[1][1].success("ack 12")
    producer.sent[2][1].success("ack 13")
    await asyncio.sleep(0.1)
    assert "p:ingest:cursor:test" not in redis.values, "10 is not acknowledged: nothing may be saved"
    producer.sent[0][1].success("ack 10")
    await until(lambda: redis.values.get("p:ingest:cursor:test") == b"13")
    stop.set()
    report = await task
    assert report.clean and report.checkpoint == 13 and report.tally.routed == 3


async def test_a_failed_delivery_stops_the_runner_behind_it() -> None:
    source = ScriptedSource([[post(1), post(2), post(3)]])
    producer, redis = HeldProducer(), DictRedis()
    live = runner(source, producer, redis)
    task = asyncio.create_task(live.run(asyncio.Event()))
    await until(lambda: len(producer.sent) == 3)
    producer.sent[0][1].success("ack 1")
    producer.sent[1][1].failure(KafkaTimeoutError("broker gone"))
    producer.sent[2][1].success("ack 3")
    report = await asyncio.wait_for(task, 5)
    assert report.stopped == "broker" and not report.clean
    assert report.checkpoint == 1 and redis.values["p:ingest:cursor:test"] == b"1"
    assert "broker gone" in report.detail


async def test_resumes_from_the_saved_checkpoint_rewound_and_exactly_after_a_drop() -> None:
    redis = DictRedis()
    redis.set("p:ingest:cursor:test", "100")
    source = ScriptedSource([[post(101), post(102), SourceError("dropped")], [post(103)]], hosts=("h1", "h2"))
    producer = HeldProducer()
    live, stop = runner(source, producer, redis, rewind_s=5), asyncio.Event()
    task = asyncio.create_task(live.run(stop))
    await until(lambda: len(producer.sent) == 3)
    stop.set()
    await task
    # start: the checkpoint rewound (another host may stamp times differently); after a drop of a connection
    # that delivered, the same host exactly where it stopped (it re-sends the event at the cursor)
    assert source.calls == [("h1", 95), ("h1", 102)]


async def test_a_host_that_gives_nothing_is_left_for_the_next_one() -> None:
    source = ScriptedSource([[OSError("refused")], [post(5)]], hosts=("h1", "h2"))
    producer = HeldProducer()
    live, stop = runner(source, producer, DictRedis()), asyncio.Event()
    task = asyncio.create_task(live.run(stop))
    await until(lambda: len(producer.sent) == 1)
    stop.set()
    await task
    assert [h for h, _ in source.calls] == ["h1", "h2"]


async def test_a_full_pipeline_of_unacknowledged_records_pauses_reading() -> None:
    source = ScriptedSource([[post(i) for i in range(1, 51)]])
    producer = HeldProducer()
    live, stop = runner(source, producer, DictRedis(), max_in_flight=5, queue_size=2), asyncio.Event()
    task = asyncio.create_task(live.run(stop))
    await until(lambda: len(producer.sent) == 5)
    await asyncio.sleep(0.1)
    assert len(producer.sent) == 5, "reading must wait for the broker"
    for _, f in producer.sent:
        f.success("ack")
    await until(lambda: len(producer.sent) == 10)
    stop.set()
    await task


def test_backoff_doubles_to_its_cap_draws_below_it_and_honours_retry_after() -> None:
    top = Backoff(1.0, 60.0, uniform=lambda low, high: high)
    assert [top.next_delay() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    top.reset()
    assert top.next_delay() == 1
    bottom = Backoff(1.0, 60.0, uniform=lambda low, high: low)
    assert bottom.next_delay() == 0.5
    assert bottom.next_delay(at_least_s=30.0) == 30.0
