"""Read side of the counts: rolling-window snapshots, history series and recent tweets from Redis, as the API's
typed models (what REST returns and the websocket sends)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from services.api.headline import add_headlines
from services.api.live_review import NOTHING, LiveReviewCache, LiveReviews
from services.api.schemas import HistoryPoint, RecentTweet, Snapshot
from services.api.served import Served, ServedModels
from services.common.keys import KeyLayout
from services.common.redis_clients import AsyncClient
from services.common.schemas import LABELS, UNRATED
from services.common.windows import HistoryPlan, net_stance, plan_buckets

log = logging.getLogger(__name__)


POSTS = "posts"  # the count hashes' field of distinct posts (services/aggregate/redis_store.py)


def _figures(counts: dict[str, int]) -> dict[str, Any]:
    favor, against, none = (counts.get(lab, 0) for lab in LABELS)
    return {"favor": favor, "against": against, "none": none, "total": favor + against + none,
            "net": net_stance(favor, against), "unrated": counts.get(UNRATED, 0), "posts": counts.get(POSTS, 0)}


def _add(into: dict[str, int], raw: dict[str, str]) -> None:
    for label, n in raw.items():
        into[label] = into.get(label, 0) + int(n)
    if raw and POSTS not in raw:  # written by an aggregator that kept no `posts`: each pair counts as a post
        into[POSTS] = into.get(POSTS, 0) + sum(int(n) for n in raw.values())


def _share_of_voice(parties: dict[str, dict[str, Any]]) -> None:
    """Each party's distinct posts over all parties' (a post about both parties counts for each)."""
    everyone = sum(p["posts"] for p in parties.values())
    for figures in parties.values():
        figures["voice"] = round(figures["posts"] / everyone, 4) if everyone else None


class PulseReader:
    """Reads through a client made with decode_responses=True (strings, not bytes). Every figure is the sum over
    the layout's key groups (one on a plain Redis)."""

    def __init__(self, client: AsyncClient, layout: KeyLayout, known_targets: dict[str, str],
                 models: ServedModels | None = None, live: LiveReviewCache | None = None) -> None:
        self.client, self.layout, self.known = client, layout, dict(known_targets)
        self.groups = layout.every_group()
        self.models = models or ServedModels(client, layout.single)
        self.live = live  # the reviewers' labels: live quality and live error rates (None: not read)

    async def live_reviews(self, served: Served, targets: list[str]) -> LiveReviews:
        """What reviewers said about the served model (one model scoring alone), or nothing."""
        if self.live is None or len(served.versions) != 1:
            return NOTHING
        return await self.live.current(targets, served.versions[0])

    async def served(self) -> Served:
        """The model behind the counts: which, what it scores, its error rates."""
        return await self.models.current()

    async def sources(self) -> list[dict[str, Any]]:
        """What has been counted: posts and first-counted time per source, most posts first."""
        async with self.client.pipeline(transaction=False) as pipe:
            for keys in self.groups:
                pipe.hgetall(keys.sources)
                pipe.hgetall(keys.sources_since)
            raw = await pipe.execute()
        posts: dict[str, int] = {}
        since: dict[str, float] = {}
        for counts, firsts in zip(raw[::2], raw[1::2], strict=True):
            for name, n in counts.items():
                posts[str(name)] = posts.get(str(name), 0) + int(n)
            for name, at in firsts.items():
                since[str(name)] = min(since.get(str(name), float("inf")), float(at))
        return sorted(({"name": name, "posts": n, "since": since.get(name, 0.0)} for name, n in posts.items()),
                      key=lambda s: (-s["posts"], s["name"]))

    async def targets(self) -> dict[str, str]:
        """target → party: the configured ones plus any the aggregator has counted."""
        async with self.client.pipeline(transaction=False) as pipe:
            for keys in self.groups:
                pipe.hgetall(keys.targets)
            raw = await pipe.execute()
        return {**self.known, **{str(k): str(v) for group in raw for k, v in group.items()}}

    async def _sum(self, scopes: list[tuple[str, str]], buckets: Iterable[tuple[str, int | None]]
                   ) -> list[dict[str, int]]:
        buckets = list(buckets)
        async with self.client.pipeline(transaction=False) as pipe:
            for kind, name in scopes:
                for gran, start in buckets:
                    for keys in self.groups:
                        pipe.hgetall(keys.count(kind, name, gran, start))
            raw = await pipe.execute()
        per_scope = len(buckets) * len(self.groups)
        out = []
        for i in range(len(scopes)):
            acc: dict[str, int] = {}
            for r in raw[i * per_scope:(i + 1) * per_scope]:
                _add(acc, r)
            out.append(acc)
        return out

    async def snapshot(self, window: str, window_s: int | None, now: float) -> Snapshot:
        targets = await self.targets()
        parties = sorted(set(targets.values()))
        scopes = [("party", p) for p in parties] + [("target", t) for t in sorted(targets)]
        buckets: list[tuple[str, int | None]] = (
            [("all", None)] if window_s is None else list(plan_buckets(now, window_s)))
        sums = await self._sum(scopes, buckets)
        by_scope = dict(zip(scopes, sums, strict=True))
        served = await self.served()
        party_figures = {p: {**_figures(by_scope[("party", p)]),
                             "targets": sorted(t for t, tp in targets.items() if tp == p)} for p in parties}
        _share_of_voice(party_figures)
        live = await self.live_reviews(served, sorted(targets))
        return Snapshot.model_validate(add_headlines(served.estimator.annotate({
            "window": window,
            "at": round(now, 3),
            "models": served.versions,
            "sources": await self.sources(),
            "parties": party_figures,
            "targets": {t: {"party": targets[t], **_figures(by_scope[("target", t)])} for t in sorted(targets)},
        }, live)))

    async def history(self, kind: str, name: str, plan: HistoryPlan) -> list[HistoryPoint]:
        async with self.client.pipeline(transaction=False) as pipe:
            for start in plan.starts:
                for bucket in plan.buckets(start):
                    for keys in self.groups:
                        pipe.hgetall(keys.count(kind, name, plan.gran, bucket))
            raw = await pipe.execute()
        per_point = len(raw) // max(1, len(plan.starts))
        points = []
        for j, start in enumerate(plan.starts):
            acc: dict[str, int] = {}
            for r in raw[j * per_point:(j + 1) * per_point]:
                _add(acc, r)
            points.append(HistoryPoint.model_validate({"start": start, **_figures(acc)}))
        return points

    async def recent(self, kind: str, name: str, label: str | None, limit: int) -> list[RecentTweet]:
        # Filtering by label scans at most the stored lists (recent_max each); fine at that size. A stored entry
        # that does not read as a RecentTweet (written by another release) is skipped and logged, not a 500.
        async with self.client.pipeline(transaction=False) as pipe:
            for keys in self.groups:
                pipe.lrange(keys.recent(kind, name), 0, -1 if label else limit - 1)
            lists = await pipe.execute()
        out = []
        for item in (item for group in lists for item in group):
            try:
                tweet = RecentTweet.model_validate(json.loads(item))
            except (ValueError, ValidationError) as exc:
                log.warning("skipping an unreadable recent entry of %s %s: %s", kind, name, type(exc).__name__)
                continue
            if label is None or tweet.label == label:
                out.append(tweet)
        if len(lists) > 1:  # each group's list is newest first; together they are merged by when they were scored
            out.sort(key=lambda t: t.scored_at, reverse=True)
        return out[:limit]
