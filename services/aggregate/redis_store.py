"""Idempotent counting in Redis: one Lua script per scored record, so the check and the counts are atomic.

A record counts once per (target, tweet id). Its 64-bit fingerprint is looked up in the day buckets of the
de-duplication window; when absent it is added to today's and the counts are incremented, when present nothing
changes. Redelivery after a crash, or a replay of the same tweets within the window, changes no count.

Why this layout rather than one key per (target, id): a key costs about 118 bytes, ~14 GB of Redis for a week at
200 tweets/s. Fingerprints are fields of many small hashes instead (`seen_shard_bits` of the fingerprint pick the
hash, the other 48 bits are the field); Redis stores a hash of up to 128 small fields as one compact listpack, about
12 bytes a field (`pulse bench --dedup` measures it). Exact up to fingerprint collisions: with N fingerprints in the
window, a new pair is mistaken for a counted one with probability about N / 2^64 (one in ~100,000 days at 200
tweets/s). Keys expire a day after their window, so memory is bounded by the rate times the window.
On Redis Cluster, a record's keys are those of its fingerprint's hash-tagged group (services/common/keys.py): one
slot per script call, the groups' slots spread over the nodes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoPermissionError, NoScriptError, OutOfMemoryError, ReadOnlyError

from services.aggregate.settings import AggregateSettings
from services.common.keys import KeyLayout
from services.common.redis_clients import AsyncClient
from services.common.schemas import RECENT_FIELDS, REVIEW_FIELDS, UNRATED, ScoredTweet
from services.common.windows import hour_of, minute_of

DAY = 86_400
UNNAMED_SOURCE = "unnamed"  # posts whose producer named no source

# KEYS: the window's seen buckets (today's first), then 6 count hashes (party m, target m, party h, target h, party
# all, target all), 3 recent lists, the targets hash, the sources hash (source → posts), the since hash (source →
# when its first post was counted), the target's review queue and review items, the language model's texts.
# ARGV: label, minute TTL, hour TTL, seen TTL, recent JSON ('' keeps it out of the recent lists), recent max, target,
# party, number of days, fingerprint, '1' when the pair is its post's first route to the party, '1' when it is the
# post's first route at all, the source's name, now (unix s), the review item JSON ('' when the pair is not drawn),
# the review queue's bound, the post's id, the post's text for the language model ('' when not kept), that list's
# bound.
# Besides the label, every count hash has `posts`: distinct posts (rated or not). A target's go up with every new
# pair; a party's only with the post's first route there, so a post about two of its targets counts once.
COUNT_SCRIPT = """
local days = tonumber(ARGV[9])
for i = 1, days do
  if redis.call('HEXISTS', KEYS[i], ARGV[10]) == 1 then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[10], '')
redis.call('EXPIRE', KEYS[1], ARGV[4])
local o = days
local label = ARGV[1]
for i = o + 1, o + 6 do redis.call('HINCRBY', KEYS[i], label, 1) end
for i = o + 2, o + 6, 2 do redis.call('HINCRBY', KEYS[i], 'posts', 1) end
if ARGV[11] == '1' then
  for i = o + 1, o + 5, 2 do redis.call('HINCRBY', KEYS[i], 'posts', 1) end
end
redis.call('EXPIRE', KEYS[o + 1], ARGV[2]); redis.call('EXPIRE', KEYS[o + 2], ARGV[2])
redis.call('EXPIRE', KEYS[o + 3], ARGV[3]); redis.call('EXPIRE', KEYS[o + 4], ARGV[3])
if ARGV[5] ~= '' then
  for i = o + 7, o + 9 do
    redis.call('LPUSH', KEYS[i], ARGV[5]); redis.call('LTRIM', KEYS[i], 0, tonumber(ARGV[6]) - 1)
  end
end
redis.call('HSET', KEYS[o + 10], ARGV[7], ARGV[8])
if ARGV[12] == '1' then
  redis.call('HINCRBY', KEYS[o + 11], ARGV[13], 1)
  redis.call('HSETNX', KEYS[o + 12], ARGV[13], ARGV[14])
end
if ARGV[15] ~= '' then
  redis.call('HSET', KEYS[o + 14], ARGV[17], ARGV[15])
  redis.call('LPUSH', KEYS[o + 13], ARGV[17])
  if redis.call('LLEN', KEYS[o + 13]) > tonumber(ARGV[16]) then
    redis.call('HDEL', KEYS[o + 14], redis.call('RPOP', KEYS[o + 13]))
  end
end
if ARGV[18] ~= '' then
  redis.call('LPUSH', KEYS[o + 15], ARGV[18]); redis.call('LTRIM', KEYS[o + 15], 0, tonumber(ARGV[19]) - 1)
end
return 1
"""


@dataclass(frozen=True)
class Retention:
    """How long the counts and markers live: built from AggregateSettings, where the defaults and their reasons
    are declared."""

    minute_ttl_s: int
    hour_ttl_s: int
    seen_ttl_s: int
    recent_max: int
    seen_shard_bits: int
    review_sample_rate: float = 0.0
    review_label_rates: tuple[tuple[str, float], ...] = ()  # (model's label, rate) in place of the rate above
    review_queue_max: int = 1
    lm_text_sample_rate: float = 0.0
    lm_text_max: int = 1

    @classmethod
    def of(cls, settings: AggregateSettings, **overrides: float) -> Retention:
        fields: dict[str, object] = {
            f: getattr(settings, f) for f in ("minute_ttl_s", "hour_ttl_s", "seen_ttl_s", "recent_max",
                                              "seen_shard_bits", "review_sample_rate", "review_queue_max",
                                              "lm_text_sample_rate", "lm_text_max")}
        fields["review_label_rates"] = tuple(sorted(settings.review_label_rates.items()))
        return cls(**{**fields, **overrides})  # type: ignore[arg-type]

    def review_rate(self, label: str) -> float:
        """The probability a counted pair the model labelled so is drawn for review (per record: no dict built)."""
        for name, rate in self.review_label_rates:
            if name == label:
                return rate
        return self.review_sample_rate

    @property
    def seen_days(self) -> int:
        """Day buckets looked up: the window rounded up to whole days, plus today's."""
        return math.ceil(self.seen_ttl_s / DAY) + 1


def fingerprint(target: str, tweet_id: str, shard_bits: int) -> tuple[int, bytes]:
    """(hash shard, field) of a (target, id) pair: a 64-bit BLAKE2b digest split in two."""
    digest = hashlib.blake2b(f"{target}\x00{tweet_id}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    field_bits = 64 - shard_bits
    return value >> field_bits, (value & ((1 << field_bits) - 1)).to_bytes(math.ceil(field_bits / 8), "big")


def review_draw(target: str, tweet_id: str) -> float:
    """A uniform number in [0, 1) fixed by the pair: the pair is in the review sample when it is below the rate.
    Its own hash (not the de-duplication fingerprint's bits), so the draw is independent of the key group."""
    digest = hashlib.blake2b(f"review\x00{target}\x00{tweet_id}".encode("utf-8", "surrogatepass"),
                             digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class StoreUnavailable(RedisConnectionError):
    """Redis answered, but for the store, not for one record: out of memory under noeviction, a read-only replica,
    failing persistence (MISCONF), missing permissions. Dead-lettering every record would lose their counts; as a
    connection error, the caller retries it and then stops with the offsets uncommitted."""


# Redis's error codes for a store-wide refusal; inside a script they arrive wrapped ("Error running script …:
# -OOM command not allowed …"), hence the search rather than a prefix match.
_STORE_ERRORS = re.compile(r"(?:^|-)(?:OOM|READONLY|MISCONF|NOPERM|NOAUTH|LOADING)\b")


def store_failure(result: object) -> bool:
    """Whether an error Redis answered for one record is really about the whole store."""
    return isinstance(result, Exception) and (
        isinstance(result, OutOfMemoryError | ReadOnlyError | NoPermissionError)
        or _STORE_ERRORS.search(str(result)) is not None)


@dataclass(frozen=True)
class Counting:
    record: ScoredTweet
    keys: list[str]
    args: list[str | int | float | bytes]


class CountStore:
    def __init__(self, client: AsyncClient, layout: KeyLayout, retention: Retention, channel: str) -> None:
        self.client, self.layout, self.retention, self.channel = client, layout, retention, channel
        self._script = client.register_script(COUNT_SCRIPT)

    def _keys_for(self, rec: ScoredTweet, at: float, shard: int, now: float) -> list[str]:
        k, m, h, today = self.layout.for_shard(shard), minute_of(at), hour_of(at), int(now // DAY)
        return [
            *(k.seen(today - d, shard) for d in range(self.retention.seen_days)),
            k.count("party", rec.party, "m", m), k.count("target", rec.target, "m", m),
            k.count("party", rec.party, "h", h), k.count("target", rec.target, "h", h),
            k.count("party", rec.party, "all"), k.count("target", rec.target, "all"),
            k.recent("party", rec.party), k.recent("target", rec.target), k.recent("all", "all"),
            k.targets, k.sources, k.sources_since, k.review_queue(rec.target), k.review_items(rec.target),
            k.lm_texts,
        ]

    def prepare(self, rec: ScoredTweet, at: float, now: float) -> Counting:
        """The keys and arguments of one record's script call (per record, so a failure stays with its record).
        `at` places the counts in their minute; `now` (processing time) picks the de-duplication day."""
        r = self.retention
        recent = "" if rec.label == UNRATED else rec.model_dump_json(include=set(RECENT_FIELDS))  # '': no recent entry
        shard, field = fingerprint(rec.target, rec.id, r.seen_shard_bits)
        rate = r.review_rate(rec.label)
        drawn = review_draw(rec.target, rec.id) < rate
        # once per post (its first route), whatever it is about; a hash of the id decides, so a replay adds none
        kept = rec.first_route and review_draw("", rec.id) < r.lm_text_sample_rate
        lm_text = " ".join(rec.text.split()) if kept else ""
        review = json.dumps({**rec.model_dump(mode="json", include=set(REVIEW_FIELDS)),
                             "inclusion": rate}) if drawn else ""
        return Counting(rec, self._keys_for(rec, at, shard, now),
                        [rec.label, r.minute_ttl_s, r.hour_ttl_s, r.seen_ttl_s + DAY, recent, r.recent_max,
                         rec.target, rec.party, r.seen_days, field, "1" if rec.first_for_party else "0",
                         "1" if rec.first_route else "0", rec.source or UNNAMED_SOURCE, round(now, 3), review,
                         r.review_queue_max, rec.id, lm_text, r.lm_text_max])

    async def count(self, batch: Sequence[Counting]) -> list[bool | Exception]:
        """Counts each record once; returns which were new, or the error Redis answered for that record alone.
        One round trip for the batch (one per node, sent together, on a cluster); a lost connection or a store that
        refuses writes raises (the caller retries the whole batch)."""
        results = await self._run(batch)
        # A plain pipeline loads the script first; a cluster pipeline does not, and a node may not have it (new,
        # restarted, or a promoted replica: scripts are not replicated). Load it on every primary and run again
        # what was refused: nothing of those ran.
        missing = [i for i, x in enumerate(results) if isinstance(x, NoScriptError)]
        if missing:
            await self.client.script_load(COUNT_SCRIPT)
            for i, x in zip(missing, await self._run([batch[i] for i in missing]), strict=True):
                results[i] = x
        failure = next((x for x in results if isinstance(x, Exception) and store_failure(x)), None)
        if failure is not None:
            raise StoreUnavailable(f"Redis refuses writes: {failure}") from failure
        return [x if isinstance(x, Exception) else bool(x) for x in results]

    async def _run(self, batch: Sequence[Counting]) -> list[object]:
        async with self.client.pipeline(transaction=False) as pipe:
            for c in batch:
                await self._script(keys=c.keys, args=c.args, client=pipe)  # type: ignore[arg-type]  # queued there
            return list(await pipe.execute(raise_on_error=False))

    async def publish(self, message: str) -> None:
        await self.client.publish(self.channel, message)
