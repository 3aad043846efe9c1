"""`pulse bench --dedup PAIRS`: Redis memory per counted (target, tweet) pair, as the aggregator stores it.

Counts PAIRS synthetic pairs through the aggregator's own script into an empty Redis database and reads
`used_memory` before and after. Beside it, the same pairs as one marker key each (the simplest idempotent layout),
in the same run. The hashes are sized to the fill they have in production at the reference rate (pairs per hash per
day), so a short run measures the steady state. Uses PULSE_REDIS_URL, else starts a local redis-server.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator

import redis.asyncio as aioredis
from tqdm import tqdm

from services.aggregate.redis_store import CountStore, Retention
from services.aggregate.settings import AggregateSettings
from services.common.keys import KeyLayout
from services.common.schemas import ScoredTweet
from services.common.settings import RedisSettings
from services.dev.servers import start_redis

REFERENCE_TWEETS_PER_S = 200
PAIRS_PER_TWEET = 1.3  # routes per routed tweet on the shipped sample
BATCH = 500


@contextlib.contextmanager
def redis_url() -> Iterator[str]:
    settings = RedisSettings()
    if "url" in settings.model_fields_set:
        yield settings.dsn()
        return

    server = start_redis()
    try:
        yield server.address
    finally:
        server.stop()


def _record(i: int) -> ScoredTweet:
    return ScoredTweet(id=f"1{i:018d}", target="Joe Biden", party="Democrats", label="FAVOR",
                       probs={"FAVOR": 0.8, "AGAINST": 0.1, "NONE": 0.1}, model_version="bench",
                       text="bench", ingested_at=time.time(), scored_at=time.time())


async def _used_memory(client: aioredis.Redis) -> int:
    return int((await client.info("memory"))["used_memory"])


async def _fingerprints(client: aioredis.Redis, pairs: int, shard_bits: int) -> int:
    retention = Retention.of(AggregateSettings(), seen_shard_bits=shard_bits)
    store = CountStore(client, KeyLayout("bench"), retention, "bench:updates")
    now = time.time()
    await store.count([store.prepare(_record(-1), now, now)])  # the fixed keys (counts, recent lists) first
    before = await _used_memory(client)
    for start in tqdm(range(0, pairs, BATCH), desc=f"fingerprints ({shard_bits} bits)", unit="batch"):
        await store.count([store.prepare(_record(i), now, now) for i in range(start, min(pairs, start + BATCH))])
    return await _used_memory(client) - before


async def _marker_keys(client: aioredis.Redis, pairs: int, ttl_s: int) -> int:
    before = await _used_memory(client)
    for start in tqdm(range(0, pairs, BATCH), desc="one key per pair", unit="batch"):
        async with client.pipeline(transaction=False) as pipe:
            for i in range(start, min(pairs, start + BATCH)):
                pipe.set(f"bench:seen:Joe Biden:1{i:018d}", "1", nx=True, ex=ttl_s)
            await pipe.execute()
    return await _used_memory(client) - before


async def _measure(url: str, pairs: int) -> list[tuple[str, int]]:
    production = Retention.of(AggregateSettings())
    pairs_a_day = REFERENCE_TWEETS_PER_S * PAIRS_PER_TWEET * 86_400
    fill = pairs_a_day / 2 ** production.seen_shard_bits
    bits = max(4, round(math.log2(pairs / fill)))  # the same fields per hash as in production
    client = aioredis.from_url(url)
    try:
        await client.flushdb()
        compact = await _fingerprints(client, pairs, bits)
        await client.flushdb()
        markers = await _marker_keys(client, pairs, production.seen_ttl_s)
        await client.flushdb()
    finally:
        await client.aclose()
    return [(f"fingerprints in hashes ({pairs / 2 ** bits:.0f} fields per hash, as at "
             f"{REFERENCE_TWEETS_PER_S} tweets/s with {production.seen_shard_bits} bits)", compact),
            ("one marker key per pair", markers)]


def run_dedup_bench(pairs: int) -> int:
    with redis_url() as url:
        rows = asyncio.run(_measure(url, pairs))
    week = REFERENCE_TWEETS_PER_S * PAIRS_PER_TWEET * 7 * 86_400
    print(f"`pulse bench --dedup {pairs}`\n")
    print(f"| de-duplication layout | Redis bytes per counted pair | 7 days at {REFERENCE_TWEETS_PER_S} "
          "tweets/s |\n|---|---:|---:|")
    for name, used in rows:
        per_pair = used / pairs
        print(f"| {name} | {per_pair:.1f} | {per_pair * week / 1e9:.1f} GB |", flush=True)
    return 0
