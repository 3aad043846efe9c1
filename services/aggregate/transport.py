"""faust's aiokafka transport with the fetch wait taken from the settings.

faust builds its aiokafka consumer with `fetch_max_wait_ms=1500` and no setting to change it. Kafka answers a fetch
as soon as a record arrives, whatever the wait; Tansu (the local broker) holds it for much of the wait, so every
record waited there: the aggregate leg's median was 0.65 s at 500 posts/s. The consumer is adjusted before it starts,
when aiokafka hands the value to its fetcher.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TransportT


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka keeps the constructor's value here and passes it to its Fetcher in start().
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms  # type: ignore[attr-defined]
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[type[faust_aiokafka.Consumer]] = _Consumer


class PulseApp(faust.App):
    """A faust App whose consumer waits at most `fetch_max_wait_ms` for new records."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)
