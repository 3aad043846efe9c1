"""`pulse up --reset` deletes the counts under one key prefix, and nothing else (the reviewers' labels stay), on a
real Redis."""

from __future__ import annotations

import uuid

import pytest
import redis

from services.dev.up import delete_prefix

pytestmark = pytest.mark.integration


def test_reset_deletes_one_prefix_and_leaves_the_others(redis_url: str) -> None:
    demo, live = f"demo{uuid.uuid4().hex[:6]}", f"live{uuid.uuid4().hex[:6]}"
    with redis.Redis.from_url(redis_url) as client:
        for i in range(2500):  # more than one SCAN/UNLINK batch
            client.set(f"{demo}:count:target:t{i}", 1)
        client.hset(f"{demo}:meta:sources", "demo", 2500)
        client.set(f"{live}:count:target:t", 1)
        client.set(f"{demo}x:lookalike", 1)  # another prefix that merely starts the same
        client.hset(f"{demo}:labels:Joe Biden", "t1\x1fr1", "{}")  # a reviewer's label: kept
        assert delete_prefix(redis_url, demo) == 2501
        assert client.hlen(f"{demo}:labels:Joe Biden") == 1
        client.delete(f"{demo}:labels:Joe Biden")
        assert client.keys(f"{demo}:*") == [] and client.exists(f"{live}:count:target:t", f"{demo}x:lookalike") == 2
        assert delete_prefix(redis_url, demo) == 0
