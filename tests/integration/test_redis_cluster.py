"""Redis Cluster mode on a real local 3-node cluster: counts exact (redeliveries, replays, nodes that lost the
script), the same figures as on a plain Redis, writes spread over every node; and the services end to end on it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from websockets.sync.client import connect

from models.runtime.bundle import Bundle
from services.aggregate.redis_store import CountStore, Retention
from services.aggregate.settings import AggregateSettings
from services.api.store import PulseReader
from services.common.keys import KeyLayout
from services.common.schemas import ScoredTweet
from services.common.windows import plan_history
from services.dev.servers import ManagedProcess, start_redis_cluster
from tests.integration.harness import Pipeline, assert_exact, expected_counts, sample, wait_until, write_jsonl

pytestmark = pytest.mark.integration

TARGETS = {"Joe Biden": "Democrats", "Bernie Sanders": "Democrats", "Kamala Harris": "Democrats",
           "Donald Trump": "Republicans", "Hillary Clinton": "Democrats"}
LABELS = ("FAVOR", "AGAINST", "NONE", "UNRATED")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ManagedProcess]]:
    folder = tmp_path_factory.mktemp("redis-cluster")
    nodes = start_redis_cluster(folder, nodes=3, log_dir=folder)
    yield nodes
    for node in nodes:
        node.stop()


def records(start: int, stop: int, now: float) -> list[ScoredTweet]:
    """Posts over the last hour, about one or two targets, from two sources; scored in order of their index."""
    out = []
    names = list(TARGETS)
    for i in range(start, stop):
        about = [names[i % 5]] + ([names[(i + 2) % 5]] if i % 3 == 0 else [])
        for k, target in enumerate(about):
            label = LABELS[(i + k) % 4]
            out.append(ScoredTweet(
                id=f"c{i}", target=target, party=TARGETS[target], label=label,  # type: ignore[arg-type]
                probs={} if label == "UNRATED" else {label: 1.0}, model_version="m1", text=f"post {i}",
                source=("bluesky", "mastodon")[i % 2], ingested_at=now - 3600 + i * 0.5,
                scored_at=now - 3600 + i * 0.5 + k * 0.01, first_route=k == 0,
                first_for_party=k == 0 or TARGETS[about[0]] != TARGETS[target]))
    return out


async def count_all(store: CountStore, recs: list[ScoredTweet], now: float, batch: int = 250) -> list[bool]:
    out: list[bool] = []
    for i in range(0, len(recs), batch):
        results = await store.count([store.prepare(r, r.ingested_at, now) for r in recs[i:i + batch]])
        assert not any(isinstance(x, Exception) for x in results), results
        out += [bool(x) for x in results]
    return out


async def figures(reader: PulseReader, now: float) -> dict[str, Any]:
    snap = (await reader.snapshot("all", None, now)).model_dump(mode="json")
    day = (await reader.snapshot("24h", 86_400, now)).model_dump(mode="json")
    history = [p.model_dump(mode="json") for p in await reader.history("target", "Joe Biden",
                                                                        plan_history(now, 3600, 60))]
    recent = [t.id + t.target for t in await reader.recent("all", "all", None, 100)]
    against = [t.id for t in await reader.recent("party", "Democrats", "AGAINST", 30)]
    return {"snapshot": snap, "day": day, "history": history, "recent": recent, "against": against}


def test_cluster_counts_exactly_and_reads_the_same_as_a_plain_redis(cluster: list[ManagedProcess],
                                                                    redis_url: str) -> None:
    now = time.time()
    retention = Retention.of(AggregateSettings())
    first, later = records(0, 3000, now), records(3000, 3200, now)
    prefix = f"rc{time.monotonic_ns()}"

    async def go() -> tuple[dict[str, Any], dict[str, Any], list[list[bool]]]:
        plain_client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        cluster_client = RedisCluster.from_url(cluster[0].address, decode_responses=True)
        try:
            plain = CountStore(plain_client, KeyLayout(prefix), retention, f"{prefix}:updates")
            clustered = CountStore(cluster_client, KeyLayout.of(prefix, cluster=True, groups=12), retention,
                                   f"{prefix}:updates")
            outcomes = [await count_all(clustered, first, now)]
            await count_all(plain, first + later, now)
            outcomes.append(await count_all(clustered, first[::-1], now, batch=97))  # a replay, other batches
            for node in cluster:  # every node loses its scripts (restarted, or a replica promoted)
                with redis.Redis.from_url(node.address) as client:
                    client.script_flush()
            outcomes.append(await count_all(clustered, first[:300] + later, now))
            known = dict(TARGETS)
            ours = await figures(PulseReader(cluster_client, KeyLayout.of(prefix, cluster=True, groups=12), known),
                                 now)
            theirs = await figures(PulseReader(plain_client, KeyLayout(prefix), known), now)
            return ours, theirs, outcomes
        finally:
            await plain_client.aclose()
            await cluster_client.aclose()

    ours, theirs, (counted, replayed, mixed) = asyncio.run(go())
    assert counted == [True] * len(first)  # every pair new once…
    assert replayed == [False] * len(first)  # …and never again, in any batching
    assert mixed == [False] * 300 + [True] * len(later)  # after the scripts were lost: loaded again, still exact
    assert ours == theirs  # the cluster's groups add up to exactly what one Redis holds
    totals = ours["snapshot"]["targets"]
    assert sum(t["total"] + t["unrated"] for t in totals.values()) == len(first) + len(later)
    assert [s["posts"] for s in ours["snapshot"]["sources"]] == [1600, 1600]
    assert len(ours["recent"]) == 100 and ours["against"]

    # the writes spread over every node: 12 groups on evenly spaced slots, 4 per primary
    sizes = []
    for node in cluster:
        with redis.Redis.from_url(node.address) as client:
            sizes.append(sum(1 for _ in client.scan_iter(match=f"{prefix}:*", count=1000)))
    assert all(size > 0.25 * sum(sizes) for size in sizes), sizes


def test_two_infer_and_two_aggregate_workers_count_exactly_on_a_cluster(
        cluster: list[ManagedProcess], kafka_bootstrap: str, fixture_bundle: Bundle, tmp_path: Path) -> None:
    pipeline = Pipeline(kafka_bootstrap, cluster[0].address, fixture_bundle, tmp_path,
                        PULSE_REDIS_CLUSTER="true", PULSE_REDIS_CLUSTER_GROUPS="6", PULSE_KAFKA_PARTITIONS="4")
    consumed = {"infer": "pulse_infer_tweets_consumed_total",
                "aggregate": "pulse_aggregate_records_consumed_total"}

    def every_worker_consumed() -> bool:
        try:
            return all(pipeline.metric(worker, consumed[worker.split("-")[0]]) > 0
                       for worker in ("infer", "infer-2", "aggregate", "aggregate-2"))
        except httpx.HTTPError:  # a worker still starting
            return False

    try:
        pipeline.start_all()
        for name in ("infer", "aggregate"):  # a second worker of each in the same group: the partitions split
            pipeline.start_replica(name, 2)
        posts: list[dict[str, Any]] = []
        with connect(f"ws://127.0.0.1:{pipeline.api_port}/v1/pulse/stream?window=15m", open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
            # posts until every worker has had some (a worker joins its group a rebalance later than the first)
            for wave in range(6):
                batch = sample(120, id_prefix=f"w{wave}-")
                posts += batch
                pipeline.ingest(write_jsonl(tmp_path / f"wave{wave}.jsonl", batch))
                with contextlib.suppress(AssertionError):
                    wait_until(every_worker_consumed, 15, what="every worker to consume")
                    break
            assert every_worker_consumed()
            expected = expected_counts(fixture_bundle, posts)
            assert_exact(pipeline.wait_for_counts(expected), expected)

            def pushed_final() -> bool:  # the aggregator's update, published on the cluster, reached the API
                msg = json.loads(ws.recv(timeout=10))
                return msg["type"] == "snapshot" and all(
                    msg["targets"][t]["total"] == sum(c.values()) for t, c in expected.items())

            wait_until(pushed_final, timeout=30, what="a websocket snapshot with the final counts")
        version = fixture_bundle.meta.version
        wait_until(lambda: pipeline.pulse()["models"] == [version], 15, what="infer's announcement on the cluster")
        assert pipeline.get("/readyz").status_code == 200
        # every post again, with both of each worker in their groups: every id already counted
        pipeline.ingest(write_jsonl(tmp_path / "again.jsonl", posts))
        pairs = sum(sum(c.values()) for c in expected.values())
        wait_until(lambda: pipeline.metric("aggregate", "pulse_aggregate_duplicates_total")
                   + pipeline.metric("aggregate-2", "pulse_aggregate_duplicates_total") >= pairs, 60,
                   what="the replay to reach the aggregators")
        assert_exact(pipeline.pulse(), expected)
    finally:
        pipeline.stop()
