"""Redis key layout, shared by the writer (aggregate) and the reader (api).

    {p}:count:{kind}:{name}:m{minute}   hash label → count, and `posts` → distinct posts, TTL minute_ttl (covers
                                        the 24 h window)
    {p}:count:{kind}:{name}:h{hour}     hash label → count, TTL hour_ttl (history beyond a day)
    {p}:count:{kind}:{name}:all         hash label → count, one per party/target (bounded)
    {p}:seen:d{day}:{shard}             hash of (target, id) fingerprints counted that day, TTL seen_ttl + 1 day:
                                        makes counting idempotent (see services/aggregate/redis_store.py)
    {p}:recent:{kind}:{name}            list of the latest scored tweets (JSON), trimmed to recent_max
    {p}:meta:targets                    hash target → party of everything counted so far
    {p}:meta:sources                    hash source → distinct posts counted from it
    {p}:meta:since                      hash source → when its first post was counted (unix s)
    {p}:review:queue:{target}           list of the ids of the newest pairs drawn for review, bounded
    {p}:review:items:{target}           hash id → the drawn pair (JSON: the post, the model's label, its inclusion
                                        probability), the same ids as the queue
    {p}:lm:texts                        list of the newest posts' texts kept for the language model, bounded
    {p}:labels:{target}                 hash "{id}\x1f{reviewer}" → a reviewer's label (JSON), kept for good: the
                                        reviewed sample (services/api/review.py); untagged on a cluster
    {p}:model:{version}                 JSON facts of a model that has scored (services/common/model_facts.py)
    {p}:models:live                     sorted set version → when infer last announced it
kind is "party" or "target".

On Redis Cluster every key one record's script touches must sit in one hash slot, and one slot would put every
update on one node. So the count, seen, recent and meta keys are split into `groups` hash-tagged groups,
`{p}:{tag}:count:…` (the part in braces picks the slot): a record goes to the group of its de-duplication
fingerprint, so the same (target, id) always meets its marker, and the load spreads over the groups' slots. The
tags are chosen so the groups' slots are evenly spaced: a cluster whose primaries hold equal slot ranges (as
`redis-cli --cluster create` makes them) gets groups / primaries each. Readers add the groups up. On a plain
Redis there is one group and no tag: the layout above. Model facts are single keys and stay untagged.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot


@dataclass(frozen=True)
class Keys:
    prefix: str = "pulse"
    tag: str | None = None  # the hash tag of a clustered layout's group; None: untagged

    @property
    def base(self) -> str:
        return self.prefix if self.tag is None else f"{self.prefix}:{{{self.tag}}}"

    def count(self, kind: str, name: str, gran: str, bucket: int | None = None) -> str:
        suffix = "all" if gran == "all" else f"{gran}{bucket}"
        return f"{self.base}:count:{kind}:{name}:{suffix}"

    def seen(self, day: int, shard: int) -> str:
        return f"{self.base}:seen:d{day}:{shard:x}"

    def recent(self, kind: str, name: str) -> str:
        return f"{self.base}:recent:{kind}:{name}"

    @property
    def targets(self) -> str:
        return f"{self.base}:meta:targets"

    @property
    def sources(self) -> str:
        return f"{self.base}:meta:sources"

    @property
    def sources_since(self) -> str:
        return f"{self.base}:meta:since"

    def review_queue(self, target: str) -> str:
        return f"{self.base}:review:queue:{target}"

    def review_items(self, target: str) -> str:
        return f"{self.base}:review:items:{target}"

    @property
    def lm_texts(self) -> str:
        return f"{self.base}:lm:texts"

    def labels(self, target: str) -> str:
        return f"{self.base}:labels:{target}"

    def model(self, version: str) -> str:
        return f"{self.prefix}:model:{version}"

    @property
    def live_models(self) -> str:
        return f"{self.prefix}:models:live"


@dataclass(frozen=True)
class KeyLayout:
    """The groups the counts are kept in: one untagged (a plain Redis) or `groups` hash-tagged ones (Cluster)."""

    prefix: str = "pulse"
    groups: int = 1
    tagged: bool = False

    @classmethod
    def of(cls, prefix: str, cluster: bool, groups: int) -> KeyLayout:
        return cls(prefix, groups, True) if cluster else cls(prefix)

    def for_shard(self, shard: int) -> Keys:
        """The group of a record whose de-duplication shard is `shard`."""
        return Keys(self.prefix, spread_tags(self.groups)[shard % self.groups]) if self.tagged else Keys(self.prefix)

    def every_group(self) -> list[Keys]:
        return [Keys(self.prefix, tag) for tag in spread_tags(self.groups)] if self.tagged else [Keys(self.prefix)]

    @property
    def single(self) -> Keys:
        """For the untagged single keys (model facts)."""
        return Keys(self.prefix)


@cache
def spread_tags(groups: int) -> tuple[str, ...]:
    """One hash tag per group, group g's in the g-th of `groups` equal slot ranges: "g" or, when that falls
    elsewhere, the first "g.n" that falls there."""
    width = REDIS_CLUSTER_HASH_SLOTS / groups
    tags = []
    for g in range(groups):
        candidates = itertools.chain([str(g)], (f"{g}.{n}" for n in itertools.count()))
        tags.append(next(t for t in candidates if int(key_slot(t.encode()) // width) == g))
    return tuple(tags)
