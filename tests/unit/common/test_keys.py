"""The Redis key layout: unchanged on a plain Redis; on a cluster, one slot per record, groups spread evenly."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aioredis
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from services.aggregate.redis_store import CountStore, Retention
from services.aggregate.settings import AggregateSettings
from services.common.keys import KeyLayout, Keys, spread_tags
from services.common.schemas import ScoredTweet


def scored(i: int, target: str = "Joe Biden") -> ScoredTweet:
    return ScoredTweet(id=f"id-{i}", target=target, party="Democrats", label="FAVOR", probs={"FAVOR": 1.0},
                       model_version="m", text="t", ingested_at=time.time(), scored_at=time.time())


def record_keys(layout: KeyLayout, rec: ScoredTweet) -> list[str]:
    # prepare() computes the script's keys from the record alone: the client never connects
    store = CountStore(aioredis.Redis(), layout, Retention.of(AggregateSettings()), "updates")
    return store.prepare(rec, time.time(), time.time()).keys


def test_a_plain_redis_keeps_the_untagged_layout() -> None:
    layout = KeyLayout.of("pulse", cluster=False, groups=12)
    assert layout.every_group() == [Keys("pulse")]
    assert {layout.for_shard(s) for s in (0, 7, 9999)} == {Keys("pulse")}
    assert Keys("pulse").count("party", "Democrats", "m", 5) == "pulse:count:party:Democrats:m5"
    assert all(not k.startswith("pulse:{") for k in record_keys(layout, scored(1)))


@pytest.mark.parametrize("groups", [1, 3, 12, 64])
def test_every_key_of_a_record_is_in_one_slot_and_the_groups_slots_are_evenly_spaced(groups: int) -> None:
    layout = KeyLayout.of("pulse", cluster=True, groups=groups)
    for i in range(200):
        slots = {key_slot(k.encode()) for k in record_keys(layout, scored(i, ("Joe Biden", "Donald Trump")[i % 2]))}
        assert len(slots) == 1
    width = REDIS_CLUSTER_HASH_SLOTS / groups
    assert [int(key_slot(t.encode()) // width) for t in spread_tags(groups)] == list(range(groups))
    # a record's group follows its de-duplication shard, so a redelivery meets its marker
    assert layout.for_shard(5) == layout.for_shard(5 + groups) != (layout.for_shard(6) if groups > 1 else None)


def test_records_spread_over_the_groups() -> None:
    layout = KeyLayout.of("pulse", cluster=True, groups=12)
    seen = {record_keys(layout, scored(i))[0].split("}")[0] for i in range(500)}
    assert len(seen) == 12
