"""The review queue and the labels, in Redis: which drawn pair a reviewer sees next, and each reviewer's label.

The aggregator draws pairs into per-target queues as it counts them (services/aggregate/redis_store.py). A reviewer
is shown a pair chosen at random among the queued ones they have not labelled, so the labelled pairs stay a uniform
sample of what was counted; with probability `double_share` the pair is one another reviewer already labelled
(when such a pair is found), so reviewer agreement is measured. The model's label is never shown: it is compared
afterwards (review_stats.py). Labels are kept for good (one hash per target, `{p}:labels:{target}`), with the post
and the model's label copied in, so they outlive the queue, and are read only through the reviewer endpoints and
`pulse labels export`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from services.api.review_stats import Vote
from services.common.keys import KeyLayout, Keys
from services.common.redis_clients import AsyncClient

SEPARATOR = "\x1f"  # between an item's id and the reviewer's in a label's field
VOTES = "#"  # prefix of the field counting an item's votes
PROBES = 32  # queued items looked at per request: enough to find an unlabelled one while most are unlabelled
MAX_VOTES = 2  # an item with two votes (the reference and its agreement check) is done

# KEYS: the target's labels hash. ARGV: the vote's field, the vote (JSON), the item's vote-count field.
# A reviewer who labels an item again replaces their vote; only a first vote counts toward the item's votes.
LABEL_SCRIPT = """
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  return redis.call('HINCRBY', KEYS[1], ARGV[3], 1)
end
return tonumber(redis.call('HGET', KEYS[1], ARGV[3]) or '0')
"""


class ItemGone(LookupError):
    """The item is not (or no longer) in the target's review queue."""


@dataclass(frozen=True)
class Drawn:
    """A queued pair as the aggregator stored it: the post, the model's label, its inclusion probability."""

    fields: dict[str, Any]


class ReviewStore:
    def __init__(self, client: AsyncClient, layout: KeyLayout, rng: random.Random | None = None) -> None:
        self.client, self.layout = client, layout
        self.groups = layout.every_group()
        self.rng = rng or random.Random()
        self._label = client.register_script(LABEL_SCRIPT)

    def _labels(self, target: str) -> str:
        return self.layout.single.labels(target)

    async def next_item(self, reviewer: str, targets: list[str], double_share: float) -> Drawn | None:
        """A queued pair of one of `targets` (each tried in random order) for `reviewer`, or None."""
        for target in self.rng.sample(targets, len(targets)):
            for _ in range(2):  # a second try when the pair left the queue between the two reads
                found = await self._candidate(target, reviewer, double_share)
                if found is None:
                    break
                keys, item_id = found
                raw = await self.client.hget(keys.review_items(target), item_id)
                if raw is not None:
                    return Drawn(json.loads(raw))
        return None

    async def _candidate(self, target: str, reviewer: str, double_share: float) -> tuple[Keys, str] | None:
        async with self.client.pipeline(transaction=False) as pipe:
            for keys in self.groups:
                pipe.llen(keys.review_queue(target))
            lengths = [int(n) for n in await pipe.execute()]
        total = sum(lengths)
        if not total:
            return None
        positions = self.rng.sample(range(total), min(total, PROBES))
        places = [_locate(p, lengths) for p in positions]
        async with self.client.pipeline(transaction=False) as pipe:
            for group, index in places:
                pipe.lindex(self.groups[group].review_queue(target), index)
            ids = await pipe.execute()
        probed = {_text(i): self.groups[g] for (g, _), i in zip(places, ids, strict=True) if i is not None}
        if not probed:
            return None
        async with self.client.pipeline(transaction=False) as pipe:
            for item_id in probed:
                pipe.hexists(self._labels(target), f"{item_id}{SEPARATOR}{reviewer}")
                pipe.hget(self._labels(target), f"{VOTES}{item_id}")
            answers = await pipe.execute()
        fresh: list[str] = []
        second: list[str] = []
        for item_id, mine, votes in zip(probed, answers[::2], answers[1::2], strict=True):
            n = int(votes or 0)
            if mine or n >= MAX_VOTES:
                continue
            (fresh if n == 0 else second).append(item_id)
        wanted = second if second and self.rng.random() < double_share else fresh or second
        if not wanted:
            return None
        item_id = self.rng.choice(wanted)
        return probed[item_id], item_id

    async def find(self, target: str, item_id: str) -> Drawn:
        async with self.client.pipeline(transaction=False) as pipe:
            for keys in self.groups:
                pipe.hget(keys.review_items(target), item_id)
            found = [raw for raw in await pipe.execute() if raw is not None]
        if not found:
            raise ItemGone(item_id)
        return Drawn(json.loads(found[0]))

    async def label(self, reviewer: str, target: str, item_id: str, label: str, now: float) -> int:
        """Stores `reviewer`'s label of a queued pair; returns the pair's votes. Raises ItemGone."""
        item = await self.find(target, item_id)
        vote = {**item.fields, "model_label": item.fields["label"], "label": label, "reviewer": reviewer,
                "at": round(now, 3)}
        votes = await self._label(keys=[self._labels(target)],
                                  args=[f"{item_id}{SEPARATOR}{reviewer}", json.dumps(vote), f"{VOTES}{item_id}"])
        return int(votes)

    async def votes(self, target: str) -> list[Vote]:
        return [_vote(json.loads(raw)) for raw in (await self.stored(target)).values()]

    async def stored(self, target: str) -> dict[str, str]:
        """Every stored vote of `target` (field → JSON), the counters left out."""
        raw = await self.client.hgetall(self._labels(target))
        return {_text(k): _text(v) for k, v in raw.items() if not _text(k).startswith(VOTES)}


def _locate(position: int, lengths: list[int]) -> tuple[int, int]:
    """(group, index) of a position in the groups' queues laid end to end."""
    for group, n in enumerate(lengths):
        if position < n:
            return group, position
        position -= n
    raise IndexError(position)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _vote(fields: dict[str, Any]) -> Vote:
    return Vote(item=str(fields["id"]), reviewer=str(fields["reviewer"]), label=str(fields["label"]),
                at=float(fields["at"]), model_label=str(fields["model_label"]),
                model_version=str(fields.get("model_version") or ""), inclusion=float(fields.get("inclusion") or 1.0))
