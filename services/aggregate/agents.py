"""The counting agent: scored records → idempotent counts in Redis → an update on the pub/sub channel."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import faust
from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from services.aggregate import metrics
from services.aggregate.redis_store import Counting, CountStore, Retention
from services.aggregate.settings import AggregateSettings
from services.common.kafka import dead_letter
from services.common.ops import Probe
from services.common.redis_clients import async_client, layout
from services.common.schemas import ScoredTweet, plausible_post_time
from services.common.settings import KafkaSettings, RedisSettings
from services.common.watchdog import ProgressWatchdog

log = logging.getLogger(__name__)

EXIT_REDIS_UNAVAILABLE = 75  # EX_TEMPFAIL: the orchestrator restarts us; uncommitted records are re-read
EXIT_AGENT_FAILED = 70  # EX_SOFTWARE: a bug outside any one record; exiting leaves the batch uncommitted

def event_time(rec: ScoredTweet, mode: str, now: float) -> float:
    """The time that places a record in its minute bucket (see AggregateSettings.event_time).

    Ingest validates created_at, but a record may come from elsewhere or an older writer: a time that is not
    plausible (before 2006, ahead of the clock) falls back to the ingest time, and an implausible ingest time
    to now. A naive created_at is read as UTC (a naive year-1 time cannot even be converted from local time).
    """
    if mode == "created_at" and rec.created_at is not None:
        created = rec.created_at if rec.created_at.tzinfo else rec.created_at.replace(tzinfo=UTC)
        ts = created.timestamp()
        if plausible_post_time(ts, now):
            return ts
    return rec.ingested_at if plausible_post_time(rec.ingested_at, now) else now


HEALTH_EVERY_S = 5.0


def register_agents(app: faust.App, kafka: KafkaSettings, settings: AggregateSettings,
                    redis_settings: RedisSettings, probe: Probe | None = None,
                    watchdog: ProgressWatchdog | None = None) -> None:
    scored = app.topic(kafka.scored_topic, key_serializer="raw", value_serializer="raw")
    dlq = app.topic(kafka.dlq_topic, key_serializer="raw", value_serializer="raw")
    retention = Retention.of(settings)
    progress = watchdog or ProgressWatchdog(stall_after_s=float("inf"))

    @app.agent(scored, name="count-stances")
    async def count_stances(stream: faust.StreamT[Any]) -> None:
        client = async_client(redis_settings)
        store = CountStore(client, layout(redis_settings), retention, redis_settings.updates_channel)
        try:
            # take_events is on faust's Stream, not on its StreamT protocol
            batches = stream.take_events(settings.batch_max, within=settings.batch_within_s)  # type: ignore[attr-defined]
            async for events in batches:
                await process_batch(events, store, dlq, settings, app)
                progress.progressed()
        except Exception:
            # Every record's own failure is dead-lettered inside process_batch; what reaches here is a bug or an
            # infrastructure failure. faust would ack the batch and restart the agent quietly (counts lost, health
            # still green): exiting leaves the offsets uncommitted and makes the failure visible.
            log.critical("counting agent failed; exiting so the batch is re-read after a restart", exc_info=True)
            logging.shutdown()
            os._exit(EXIT_AGENT_FAILED)
        finally:
            await client.aclose()

    probe = probe or Probe()

    @app.timer(HEALTH_EVERY_S, on_leader=False)
    async def check_health() -> None:
        # Beats from the event loop the agent runs on: a blocked loop stops the beats and fails liveness.
        probe.beat()
        client = async_client(redis_settings, socket_timeout=2, socket_connect_timeout=2)
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
    good: list[tuple[faust.EventT, Counting]] = []
    now = time.time()
    for ev in events:
        try:
            rec = ScoredTweet.model_validate_json(ev.value)
            good.append((ev, store.prepare(rec, event_time(rec, settings.event_time, now), now)))
        except (ValidationError, ValueError) as exc:
            await _dead_letter(dlq, ev, "invalid_scored_message", str(exc))
        except Exception as exc:  # one record's failure must not stop the counting
            log.exception("could not prepare the record at %s", _where(ev))
            await _dead_letter(dlq, ev, "processing_error", f"{type(exc).__name__}: {exc}")
    if not good:
        return
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((RedisConnectionError, RedisTimeoutError, OSError)),
            wait=wait_exponential(multiplier=0.2, max=5), stop=stop_after_delay(30), reraise=True,
        ):
            with attempt:
                results = await store.count([c for _, c in good])
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        # Raising here would let faust ack the batch uncounted; exiting leaves the offsets uncommitted.
        log.critical("Redis unavailable (or refusing writes) for 30 s, exiting so the batch is re-read after "
                     "restart: %s", exc)
        os._exit(EXIT_REDIS_UNAVAILABLE)
    done = time.time()
    metrics.BATCH_SIZE.observe(len(good))
    n_new = 0
    parties: set[str] = set()
    for (ev, counting), result in zip(good, results, strict=True):
        rec = counting.record
        if isinstance(result, Exception):  # Redis refused this record's script (e.g. a key of the wrong type)
            await _dead_letter(dlq, ev, "count_failed", f"{type(result).__name__}: {result}")
        elif result:
            n_new += 1
            parties.add(rec.party)
            metrics.COUNTED.labels(rec.party, rec.label).inc()
            metrics.END_TO_END.observe(max(0.0, done - rec.ingested_at))
            metrics.STAGE.labels("ingested_to_scored").observe(max(0.0, rec.scored_at - rec.ingested_at))
            metrics.STAGE.labels("scored_to_counted").observe(max(0.0, done - rec.scored_at))
        else:
            metrics.DUPLICATES.inc()
    if n_new:
        await store.publish(json.dumps({"counted": n_new, "parties": sorted(parties), "at": round(done, 3)}))


def _where(ev: faust.EventT) -> str:
    msg = ev.message
    return f"{msg.topic}/{msg.partition}@{msg.offset}"


async def _dead_letter(dlq: faust.TopicT, ev: faust.EventT, reason: str, detail: str) -> None:
    metrics.DEAD_LETTERS.labels(reason).inc()
    source = _where(ev)
    log.warning("dead-lettered (%s) the scored message at %s: %s", reason, source, detail[:200])
    value, headers = dead_letter(ev.value or b"", reason, detail[:500], "aggregate", source)
    await dlq.send(key=ev.key, value=value, headers=headers)
