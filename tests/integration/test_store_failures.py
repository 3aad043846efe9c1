"""A Redis that refuses writes (out of memory under noeviction) is a store failure, not a bad record: the count
raises (the aggregator retries, then stops with its offsets uncommitted) instead of dead-lettering every record."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.aggregate.redis_store import CountStore, Retention, StoreUnavailable
from services.aggregate.settings import AggregateSettings
from services.common.keys import KeyLayout
from services.common.schemas import ScoredTweet
from services.dev.servers import start_redis

pytestmark = pytest.mark.integration


def test_out_of_memory_raises_instead_of_failing_each_record(tmp_path: Path) -> None:
    server = start_redis(log_dir=tmp_path)
    rec = ScoredTweet(id="1", target="Joe Biden", party="Democrats", label="FAVOR", probs={"FAVOR": 1.0},
                      model_version="t", text="x", ingested_at=time.time(), scored_at=time.time())

    async def go() -> None:
        client = aioredis.from_url(server.address)
        try:
            retention = Retention.of(AggregateSettings(), seen_shard_bits=4)
            store = CountStore(client, KeyLayout("oom"), retention, "oom:updates")
            now = time.time()
            assert await store.count([store.prepare(rec, now, now)]) == [True]
            await client.config_set("maxmemory-policy", "noeviction")
            await client.config_set("maxmemory", "1")  # below what is used: every write is refused
            with pytest.raises(StoreUnavailable, match="OOM"):
                await store.count([store.prepare(rec.model_copy(update={"id": str(i)}), now, now) for i in range(5)])
        finally:
            await client.aclose()

    try:
        asyncio.run(go())
    finally:
        server.stop()
