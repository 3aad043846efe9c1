"""The counting agent: scored records → idempotent counts in Redis → an update on the pub/sub channel."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from typing import Any

import faust
import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from services.aggregate import metrics
from services.aggregate.redis_store import CountStore, Retention
from services.aggregate.settings import AggregateSettings
from services.common.kafka import dlq_headers
from services.common.keys import Keys
from services.common.ops import Probe
from services.common.schemas import ScoredTweet
from services.common.settings import KafkaSettings, RedisSettings

log = logging.getLogger(__name__)

EXIT_REDIS_UNAVAILABLE = 75  # EX_TEMPFAIL: the orchestrator restarts us; uncommitted records are re-read


def event_time(rec: ScoredTweet, mode: str, now: float) -> float:
    """The time that places a record in its minute bucket (see AggregateSettings.event_time)."""
    if mode == "created_at" and rec.created_at is not None:
        ts = rec.created_at.timestamp()
        if ts <= now + 60:
            return ts
    return rec.ingested_at


HEALTH_EVERY_S = 5.0


def register_agents(app: faust.App, kafka: KafkaSettings, settings: AggregateSettings,
                    redis_settings: RedisSettings, probe: Probe | None = None) -> None:
    scored = app.topic(kafka.scored_topic, key_serializer="raw", value_serializer="raw")
    dlq = app.topic(kafka.dlq_topic, key_serializer="raw", value_serializer="raw")
    retention = Retention(settings.minute_ttl_s, settings.hour_ttl_s, settings.seen_ttl_s, settings.recent_max)
    positions: dict[Any, int] = {}  # last offset counted per partition, for the lag gauge

    @app.agent(scored, name="count-stances")
    async def count_stances(stream: faust.StreamT[Any]) -> None:
        client = aioredis.from_url(redis_settings.dsn())
        store = CountStore(client, Keys(redis_settings.key_prefix), retention, redis_settings.updates_channel)
        try:
            # take_events is on faust's Stream, not on its StreamT protocol
            batches = stream.take_events(settings.batch_max, within=settings.batch_within_s)  # type: ignore[attr-defined]
            async for events in batches:
                await process_batch(events, store, dlq, settings, app)
                _update_lag(app, events, positions)
        finally:
            await client.aclose()

    probe = probe or Probe()

    @app.timer(HEALTH_EVERY_S, on_leader=False)
    async def check_health() -> None:
        # Beats from the event loop the agent runs on: a blocked loop stops the beats and fails liveness.
        probe.beat()
        # Also here, not only after a batch: when counting stalls the gauge must keep rising with the highwater.
        _update_lag(app, (), positions)
        client = aioredis.from_url(redis_settings.dsn(), socket_timeout=2, socket_connect_timeout=2)
        try:
            await client.ping()
            probe.set_ready(True, "redis reachable")
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            probe.set_ready(False, f"redis unreachable: {type(exc).__name__}")
        finally:
            await client.aclose()


async def process_batch(events: Sequence[faust.EventT], store: CountStore, dlq: faust.TopicT,
                        settings: AggregateSettings, app: faust.App) -> None:
    metrics.CONSUMED.inc(len(events))
    good: list[tuple[ScoredTweet, float]] = []
    now = time.time()
    for ev in events:
        try:
            rec = ScoredTweet.model_validate_json(ev.value)
        except (ValidationError, ValueError) as exc:
            metrics.DEAD_LETTERS.labels("invalid_scored_message").inc()
            msg = ev.message
            source = f"{msg.topic}/{msg.partition}@{msg.offset}"
            log.warning("dead-lettered invalid scored message at %s: %s", source, str(exc)[:200])
            await dlq.send(key=ev.key, value=ev.value or b"",
                           headers=dlq_headers("invalid_scored_message", str(exc)[:500], "aggregate", source))
            continue
        good.append((rec, event_time(rec, settings.event_time, now)))
    if not good:
        return
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((RedisConnectionError, RedisTimeoutError, OSError)),
            wait=wait_exponential(multiplier=0.2, max=5), stop=stop_after_delay(30), reraise=True,
        ):
            with attempt:
                fresh = await store.count(good)
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        # Raising here would let faust ack the batch uncounted; exiting leaves the offsets uncommitted.
        log.critical("Redis unavailable for 30 s, exiting so the batch is re-read after restart: %s", exc)
        os._exit(EXIT_REDIS_UNAVAILABLE)
    done = time.time()
    metrics.BATCH_SIZE.observe(len(good))
    n_new = 0
    parties: set[str] = set()
    for (rec, _), new in zip(good, fresh, strict=True):
        if new:
            n_new += 1
            parties.add(rec.party)
            metrics.COUNTED.labels(rec.party, rec.label).inc()
            metrics.END_TO_END.observe(max(0.0, done - rec.ingested_at))
        else:
            metrics.DUPLICATES.inc()
    if n_new:
        await store.publish(json.dumps({"counted": n_new, "parties": sorted(parties), "at": round(done, 3)}))


def _update_lag(app: faust.App, events: Sequence[faust.EventT], positions: dict[Any, int]) -> None:
    """Messages behind the end of every partition this worker has consumed from and still owns."""
    for ev in events:
        positions[ev.message.tp] = max(positions.get(ev.message.tp, -1), ev.message.offset)
    try:
        assigned = app.consumer.assignment()
        for tp in [tp for tp in positions if tp not in assigned]:  # revoked in a rebalance
            del positions[tp]
        lag = sum(max(0, (app.consumer.highwater(tp) or 0) - off - 1) for tp, off in positions.items())
        metrics.LAG.set(lag)
    except Exception as exc:  # a metric must never stop counting
        log.debug("lag update failed: %s", exc)
