"""The aggregator's consumer takes its fetch wait from the settings (faust fixes aiokafka's at 1.5 s)."""

from __future__ import annotations

import asyncio
from typing import Any

from services.aggregate.app import create_app
from services.aggregate.settings import AggregateSettings
from services.common.settings import KafkaSettings


def built_wait(kafka: KafkaSettings) -> int:
    """The fetch wait of the consumer the aggregator's faust app builds (what aiokafka hands its fetcher at start)."""

    async def build() -> int:  # the app made inside the running loop, so faust takes that loop, closed after
        app = create_app(kafka, AggregateSettings())
        thread: Any = app.consumer._thread  # type: ignore[attr-defined]  # faust's aiokafka consumer delegates to it
        try:
            consumer = thread._create_worker_consumer(app.transport)
            await consumer.stop()
            return int(consumer._fetch_max_wait_ms)
        finally:
            thread.thread_loop.close()  # the loop faust made for the consumer's own thread, never started here

    return asyncio.run(build())


def test_the_worker_consumer_fetches_with_the_configured_wait() -> None:
    assert built_wait(KafkaSettings(bootstrap="127.0.0.1:1", fetch_max_wait_ms=77)) == 77
    assert built_wait(KafkaSettings(bootstrap="127.0.0.1:1")) == 100
