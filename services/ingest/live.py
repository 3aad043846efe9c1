"""Runs a live source into the ingest core: reconnects, fails over, bounds memory and checkpoints safely.

Two tasks share a bounded queue. The reader holds the connection: it reads events into the queue (a full queue
stops it reading, so a slow broker slows the reader instead of growing memory), and when the connection ends or
fails it waits (exponential backoff, full jitter; a server's Retry-After honoured), moves to the next host if the
attempt gave nothing, and resumes a little before the last event it read. The writer hands each event to the
ingest core (the same validation, routing, DLQ and produce path as files) and registers it with the checkpoint
gate (services/ingest/cursor.py); it pauses while too many records wait for the broker's acknowledgement.

Every checkpoint_interval_s the gate's checkpoint (everything before it acknowledged) is saved. On restart the
source resumes from there, rewound by rewind_s; what is read twice is counted once downstream (ids deduplicate).
A delivery failure stops the runner with the checkpoint behind the failed record: the process exits non-zero and
its supervisor restarts it from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Literal

import aiohttp
from kafka.errors import KafkaError

from services.common.ops import Probe
from services.ingest import metrics
from services.ingest.app import Ingestor, Tally
from services.ingest.backoff import Backoff
from services.ingest.checkpoint import CheckpointStore
from services.ingest.cursor import CursorGate
from services.ingest.delivery import Deliveries, DeliveryCounts
from services.ingest.settings import LiveSettings
from services.ingest.sources.base import (
    Event,
    FatalSourceError,
    Gap,
    LiveSource,
    SourceError,
    SourceEvent,
)

log = logging.getLogger(__name__)

Stopped = Literal["signal", "broker", "source"]
RECONNECTABLE = (SourceError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class LiveReport:
    tally: Tally
    delivery: DeliveryCounts
    events: int
    checkpoint: int | None
    stopped: Stopped
    detail: str = ""

    @property
    def clean(self) -> bool:
        """Stopped on request with everything read acknowledged."""
        return self.stopped == "signal" and self.delivery.failed == 0 and self.delivery.pending == 0

    def summary(self) -> str:
        t, d = self.tally, self.delivery
        line = (f"live: {self.events} events, {t.received} posts, {t.routed} routed, {t.unrouted} unrouted, "
                f"{t.dead_lettered} dead-lettered; broker acknowledged {d.delivered}, failed {d.failed}, "
                f"unacknowledged {d.pending}; checkpoint {self.checkpoint}; stopped ({self.stopped})")
        return line + (f": {self.detail}" if self.detail else "")


async def _with_idle_timeout(events: AsyncIterator[Event], idle_s: float) -> AsyncIterator[Event]:
    it = aiter(events)
    try:
        while True:
            try:
                event = await asyncio.wait_for(anext(it), idle_s)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise SourceError(f"nothing received for {idle_s:.0f} s") from None
            yield event
    finally:
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            await aclose()


class LiveRunner:
    def __init__(self, source: LiveSource, ingestor: Ingestor, store: CheckpointStore, settings: LiveSettings,
                 probe: Probe | None = None, clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.source, self.ingestor, self.store, self.settings = source, ingestor, store, settings
        self.probe = probe or Probe()  # liveness: the checkpoint loop beats; readiness: the stream is open
        self.clock, self.monotonic = clock, monotonic
        self.tally, self.deliveries = Tally(), Deliveries()
        self.events = 0
        self.last_event_time: float | None = None
        self.fatal: str | None = None
        self._saved: int | None = None

    async def run(self, stop: asyncio.Event, flush_timeout_s: float = 5.0) -> LiveReport:
        name = self.source.name
        for counter in (metrics.SOURCE_ROUTED, metrics.SOURCE_RECONNECTS, metrics.SOURCE_GAPS,
                        metrics.SOURCE_GAP_SECONDS, metrics.SOURCE_CHECKPOINT_FAILURES):
            counter.labels(name)  # exported from the start at 0, so rate() and increase() see the first events
        start = await asyncio.to_thread(self.store.load, name)
        gate = CursorGate(start)
        resume = self.source.rewind(start, self.settings.rewind_s) if start is not None else None
        log.info("%s: %s", name, f"resuming from {resume} (checkpoint {start})" if start is not None
                 else "no checkpoint: starting live")
        queue: asyncio.Queue[SourceEvent] = asyncio.Queue(self.settings.queue_size)
        reader = asyncio.create_task(self._read(queue, resume, stop), name=f"{name}-reader")
        saver = asyncio.create_task(self._checkpoints(gate, stop), name=f"{name}-checkpoints")
        stopped: Stopped = "signal"
        try:
            stopped = await self._write(queue, gate, stop)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            metrics.SOURCE_CONNECTED.labels(name).set(0)
            try:
                await asyncio.to_thread(self.ingestor.producer.flush, flush_timeout_s)
            except KafkaError:
                log.error("%s: the broker did not acknowledge everything within %.0f s", name, flush_timeout_s)
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver
            checkpoint = await self._save(gate)
        detail = self.fatal or gate.failed or ""
        report = LiveReport(self.tally, self.deliveries.counts(), self.events, checkpoint, stopped, detail)
        (log.info if report.clean else log.error)(report.summary())
        return report

    # reading ---------------------------------------------------------------------------------------------
    async def _read(self, queue: asyncio.Queue[SourceEvent], resume: int | None, stop: asyncio.Event) -> None:
        name, hosts, s = self.source.name, self.source.hosts, self.settings
        backoff = Backoff(s.backoff_initial_s, max(s.backoff_max_s, s.backoff_initial_s))
        attempt, last_read = 0, None
        while not stop.is_set():
            host = hosts[attempt % len(hosts)]
            opened, got_any, retry_after = self.monotonic(), False, 0.0
            try:
                async for event in _with_idle_timeout(self.source.stream(host, resume), s.idle_timeout_s):
                    if not got_any:
                        got_any = True
                        metrics.SOURCE_CONNECTED.labels(name).set(1)
                        self.probe.set_ready(True, f"reading {host}")
                        log.info("%s: reading from %s%s", name, host, f" at {resume}" if resume is not None else "")
                    if isinstance(event, Gap):
                        metrics.SOURCE_GAPS.labels(name).inc()
                        metrics.SOURCE_GAP_SECONDS.labels(name).inc(event.seconds)
                        metrics.SOURCE_LAST_GAP.labels(name).set(self.clock())
                        log.error("%s: GAP of %.0f s: posts in it were never read: %s", name, event.seconds,
                                  event.detail)
                    elif isinstance(event, SourceEvent):
                        if event.position is not None and (last_read is None or event.position > last_read):
                            last_read = event.position
                        await queue.put(event)
                why = "the server ended the stream"
            except FatalSourceError as exc:
                self.fatal = f"{host}: {exc}"
                log.error("%s: %s: stopping", name, self.fatal)
                stop.set()
                return
            except RECONNECTABLE as exc:
                why = f"{type(exc).__name__}: {exc}"
                retry_after = getattr(exc, "retry_after_s", None) or 0.0
            metrics.SOURCE_CONNECTED.labels(name).set(0)
            self.probe.set_ready(False, f"{host}: {why}")
            if stop.is_set():
                return
            metrics.SOURCE_RECONNECTS.labels(name).inc()
            if self.monotonic() - opened >= s.healthy_after_s and got_any:
                backoff.reset()
            if not got_any:
                attempt += 1  # that host gave nothing: try the next one
            if last_read is not None:
                # The same host resumes exactly where it left off (it re-sends the event at the cursor); another
                # host's cursor is its own receive time, so it resumes a little earlier. Rewinding on every
                # reconnect would loop for ever on a host that drops the stream more often than the rewind span.
                next_host = hosts[attempt % len(hosts)]
                resume = last_read if next_host == host and got_any else self.source.rewind(last_read, s.rewind_s)
            delay = backoff.next_delay(retry_after)
            log.warning("%s: %s (%s); reconnecting to %s in %.1f s", name, why, host,
                        hosts[attempt % len(hosts)], delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    # writing ---------------------------------------------------------------------------------------------
    async def _write(self, queue: asyncio.Queue[SourceEvent], gate: CursorGate, stop: asyncio.Event) -> Stopped:
        name = self.source.name
        while not stop.is_set():
            if gate.failed:
                return "broker"
            try:
                event = await asyncio.wait_for(queue.get(), 0.25)
            except TimeoutError:
                continue
            self.events += 1
            metrics.SOURCE_EVENTS.labels(name, event.kind).inc()
            if event.event_time is not None:
                self.last_event_time = event.event_time
                metrics.SOURCE_LAG.labels(name).set(max(0.0, self.clock() - event.event_time))
            slot = gate.admit(event.position)
            if event.item is None:
                gate.settle(slot)
                continue
            routed_before = self.tally.routed
            try:
                future = self.ingestor.handle(event.item, self.tally)
            except KafkaError as exc:
                self.deliveries.refused(exc)
                gate.fail(slot, f"{type(exc).__name__}: {exc}")
                return "broker"
            if self.tally.routed > routed_before:
                metrics.SOURCE_ROUTED.labels(name).inc()
            if future is None:
                gate.settle(slot)
            else:
                self.deliveries.track(future)
                future.add_callback(lambda _meta, s=slot: gate.settle(s))
                future.add_errback(lambda exc, s=slot: gate.fail(s, f"{type(exc).__name__}: {exc}"))
            while gate.pending >= self.settings.max_in_flight and not gate.failed and not stop.is_set():
                await asyncio.sleep(0.005)  # the broker is behind: stop taking events until it catches up
        return "source" if self.fatal else "signal"

    # checkpoints -----------------------------------------------------------------------------------------
    async def _checkpoints(self, gate: CursorGate, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.probe.beat()
            await asyncio.sleep(self.settings.checkpoint_interval_s)
            await self._save(gate)
            if self.last_event_time is not None:  # lag keeps growing while nothing arrives
                metrics.SOURCE_LAG.labels(self.source.name).set(max(0.0, self.clock() - self.last_event_time))

    async def _save(self, gate: CursorGate) -> int | None:
        checkpoint = gate.checkpoint()
        if checkpoint is not None and checkpoint != self._saved:
            try:
                await asyncio.to_thread(self.store.save, self.source.name, checkpoint)
                self._saved = checkpoint
            except Exception as exc:  # best effort: an older checkpoint re-reads more, counted once
                metrics.SOURCE_CHECKPOINT_FAILURES.labels(self.source.name).inc()
                log.error("%s: could not save the checkpoint %s: %s", self.source.name, checkpoint, exc)
        return checkpoint
