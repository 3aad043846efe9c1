"""Idempotent counting in Redis: one Lua script per scored record, so the check and the counts are atomic.

A record counts once per (target, tweet id): the script sets the `seen` marker with NX and increments
nothing when it already existed. Redelivery after a crash, or a replay of the same tweets, changes no count.
(All keys of a record are on one Redis node; Redis Cluster would need hash tags in the key layout.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from services.aggregate.windows import hour_of, minute_of
from services.common.keys import Keys
from services.common.schemas import ScoredTweet

COUNT_SCRIPT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[4]) then return 0 end
local label = ARGV[1]
for i = 2, 7 do redis.call('HINCRBY', KEYS[i], label, 1) end
redis.call('EXPIRE', KEYS[2], ARGV[2]); redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[4], ARGV[3]); redis.call('EXPIRE', KEYS[5], ARGV[3])
for i = 8, 10 do
  redis.call('LPUSH', KEYS[i], ARGV[5]); redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[6]) - 1)
end
redis.call('HSET', KEYS[11], ARGV[7], ARGV[8])
return 1
"""


@dataclass(frozen=True)
class Retention:
    minute_ttl_s: int = 26 * 3600  # a little over the longest minute-bucket window (24 h)
    hour_ttl_s: int = 35 * 86400
    seen_ttl_s: int = 7 * 86400  # replays older than this count again: keep it above the topics' retention
    recent_max: int = 500


@dataclass(frozen=True)
class Counting:
    record: ScoredTweet
    keys: list[str]
    args: list[str | int | float]


class CountStore:
    def __init__(self, client: aioredis.Redis, keys: Keys, retention: Retention, channel: str) -> None:
        self.client, self.keys, self.retention, self.channel = client, keys, retention, channel
        self._script = client.register_script(COUNT_SCRIPT)

    def _keys_for(self, rec: ScoredTweet, at: float) -> list[str]:
        k, m, h = self.keys, minute_of(at), hour_of(at)
        return [
            k.seen(rec.target, rec.id),
            k.count("party", rec.party, "m", m), k.count("target", rec.target, "m", m),
            k.count("party", rec.party, "h", h), k.count("target", rec.target, "h", h),
            k.count("party", rec.party, "all"), k.count("target", rec.target, "all"),
            k.recent("party", rec.party), k.recent("target", rec.target), k.recent("all", "all"),
            k.targets,
        ]

    def prepare(self, rec: ScoredTweet, at: float) -> Counting:
        """The keys and arguments of one record's script call (per record, so a failure stays with its record)."""
        r = self.retention
        recent = rec.model_dump_json(include={"id", "target", "party", "label", "probs", "text",
                                              "author", "created_at", "scored_at", "model_version"})
        return Counting(rec, self._keys_for(rec, at),
                        [rec.label, r.minute_ttl_s, r.hour_ttl_s, r.seen_ttl_s, recent, r.recent_max,
                         rec.target, rec.party])

    async def count(self, batch: Sequence[Counting]) -> list[bool | Exception]:
        """Counts each record once; returns which were new, or the error Redis answered for that record alone.
        One round trip for the batch; a lost connection raises (the caller retries the whole batch)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for c in batch:
                await self._script(keys=c.keys, args=c.args, client=pipe)
            results = await pipe.execute(raise_on_error=False)
        return [x if isinstance(x, Exception) else bool(x) for x in results]

    async def publish(self, message: str) -> None:
        await self.client.publish(self.channel, message)
