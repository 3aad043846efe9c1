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
    {p}:model:{version}                 JSON facts of a model that has scored (services/common/model_facts.py)
    {p}:models:live                     sorted set version → when infer last announced it
kind is "party" or "target".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "pulse"

    def count(self, kind: str, name: str, gran: str, bucket: int | None = None) -> str:
        suffix = "all" if gran == "all" else f"{gran}{bucket}"
        return f"{self.prefix}:count:{kind}:{name}:{suffix}"

    def seen(self, day: int, shard: int) -> str:
        return f"{self.prefix}:seen:d{day}:{shard:x}"

    def recent(self, kind: str, name: str) -> str:
        return f"{self.prefix}:recent:{kind}:{name}"

    @property
    def targets(self) -> str:
        return f"{self.prefix}:meta:targets"

    @property
    def sources(self) -> str:
        return f"{self.prefix}:meta:sources"

    @property
    def sources_since(self) -> str:
        return f"{self.prefix}:meta:since"

    def model(self, version: str) -> str:
        return f"{self.prefix}:model:{version}"

    @property
    def live_models(self) -> str:
        return f"{self.prefix}:models:live"
