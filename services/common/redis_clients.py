"""Redis clients built from RedisSettings: a plain client, or a Redis Cluster client when `cluster` is set.

The cluster client takes the same URL (any one node; the others are discovered) and routes each command by its
key's slot; pipelines are split per node and sent together. Callers use the commands both share.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from services.common.keys import KeyLayout
from services.common.settings import RedisSettings

AsyncClient = aioredis.Redis | AsyncRedisCluster
SyncClient = redis.Redis | RedisCluster


def async_client(settings: RedisSettings, **options: Any) -> AsyncClient:
    if settings.cluster:
        return AsyncRedisCluster.from_url(settings.dsn(), **options)
    return aioredis.Redis.from_url(settings.dsn(), **options)


def sync_client(settings: RedisSettings, **options: Any) -> SyncClient:
    if settings.cluster:
        return RedisCluster.from_url(settings.dsn(), **options)
    return redis.Redis.from_url(settings.dsn(), **options)


def layout(settings: RedisSettings) -> KeyLayout:
    return KeyLayout.of(settings.key_prefix, settings.cluster, settings.cluster_groups)
