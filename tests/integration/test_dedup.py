"""The aggregator's de-duplication on a real Redis: once per (target, id) across day buckets, forgotten after its
window, and compact: it prints the bytes per counted pair it measures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis.asyncio as aioredis

from services.aggregate.redis_store import DAY, CountStore, Retention, fingerprint
from services.aggregate.settings import AggregateSettings
from services.common.keys import KeyLayout
from services.common.schemas import ScoredTweet

pytestmark = pytest.mark.integration


def rec(i: int, target: str = "Joe Biden") -> ScoredTweet:
    return ScoredTweet(id=f"id-{i}", target=target, party="Democrats", label="AGAINST",
                       probs={"FAVOR": 0.1, "AGAINST": 0.8, "NONE": 0.1}, model_version="t", text="x",
                       ingested_at=time.time(), scored_at=time.time())


def run(redis_url: str, prefix: str, retention: Retention, fn: Any) -> Any:
    async def go() -> Any:
        client = aioredis.from_url(redis_url)
        try:
            return await fn(CountStore(client, KeyLayout(prefix), retention, f"{prefix}:updates"), client)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_a_pair_counts_once_across_days_and_again_only_after_its_window(redis_url: str) -> None:
    retention = Retention.of(AggregateSettings(), seen_ttl_s=2 * DAY, seen_shard_bits=8)
    end_of_day = (time.time() // DAY + 1) * DAY - 1

    async def go(store: CountStore, client: aioredis.Redis) -> list[list[bool | Exception]]:
        async def count(records: list[ScoredTweet], now: float) -> list[bool | Exception]:
            return await store.count([store.prepare(r, now, now) for r in records])

        out = [await count([rec(1), rec(1, "Bernie Sanders"), rec(2)], end_of_day)]
        out.append(await count([rec(1), rec(2), rec(3)], end_of_day + 2))  # after midnight: found yesterday
        out.append(await count([rec(1)], end_of_day + 2 * DAY))  # still inside the 2-day window
        out.append(await count([rec(3)], end_of_day + 2 + 3 * DAY))  # beyond it: counted again, by design
        shard, _ = fingerprint("Joe Biden", "id-3", retention.seen_shard_bits)
        ttl = await client.ttl(store.layout.for_shard(shard).seen(int((end_of_day + 2) // DAY), shard))
        out.append([2 * DAY < ttl <= 3 * DAY])  # the window plus the day the bucket is written
        return out

    assert run(redis_url, f"dd{time.monotonic_ns()}", retention, go) == [
        [True, True, True], [False, False, True], [False], [True], [True]]


def test_bytes_per_counted_pair(redis_url: str) -> None:
    # ~78 fields per hash, as in production
    pairs, retention = 20_000, Retention.of(AggregateSettings(), seen_shard_bits=8)

    async def go(store: CountStore, client: aioredis.Redis) -> int:
        now = time.time()
        for start in range(0, pairs, 500):
            await store.count([store.prepare(rec(i), now, now) for i in range(start, start + 500)])
        total = 0
        async for key in client.scan_iter(match=f"{store.layout.prefix}:seen:*", count=1000):
            total += await client.memory_usage(key, samples=0) or 0
        return total

    per_pair = run(redis_url, f"dd{time.monotonic_ns()}", retention, go) / pairs
    print(f"de-duplication: {per_pair:.1f} bytes per counted pair")
    assert per_pair < 20  # one marker key per pair costs ~125 (pulse bench --dedup)
