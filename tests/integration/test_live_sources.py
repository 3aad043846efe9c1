"""Live sources against local servers speaking their wire formats (services/dev/fake_sources.py), through the
real broker, Redis and services: every post routed and counted exactly once across dropped connections, a kill -9
of the ingest process and a restart; the checkpoint in Redis; gaps reported, never silent. No internet."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from services.common.routing import Router
from services.dev.fake_sources import (
    FakeJetstream,
    FakeMastodon,
    FakeX,
    ServerThread,
    jetstream_id,
    jetstream_post,
    mastodon_status,
    x_post,
)
from services.dev.servers import free_port, start_prometheus
from tests.integration.harness import Pipeline, assert_exact, expected_counts, read_topic, sample, wait_until

pytestmark = pytest.mark.integration

FAST_RECONNECT = {"PULSE_INGEST_LIVE_BACKOFF_INITIAL_S": "0.05", "PULSE_INGEST_LIVE_BACKOFF_MAX_S": "0.3",
                  "PULSE_INGEST_LIVE_CHECKPOINT_INTERVAL_S": "0.1", "PULSE_INGEST_LIVE_REWIND_S": "0.5"}
TOKEN = "fake-token-3f9a1c7e5b2d"


@pytest.fixture
def server() -> Iterator[list[ServerThread]]:
    started: list[ServerThread] = []
    yield started
    for s in started:
        s.stop()


def serve(started: list[ServerThread], fake: Any) -> ServerThread:
    thread = ServerThread(fake.app).start()
    started.append(thread)
    return thread


def routed(tweets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    router = Router.load()
    return [t for t in tweets if router.route(t["text"])]


def raw_ids(pipeline: Pipeline, expected: int) -> list[str]:
    return [json.loads(v)["id"] for v, _ in read_topic(pipeline.kafka, pipeline.kafka.raw_topic, expected)]


def checkpoint(pipeline: Pipeline, redis_url: str, source: str) -> int | None:
    value = redis.Redis.from_url(redis_url).get(f"{pipeline.env['PULSE_REDIS_KEY_PREFIX']}:ingest:cursor:{source}")
    return int(value) if value is not None else None


def test_bluesky_counts_every_post_once_across_drops_and_a_kill9(pipeline: Pipeline, redis_url: str,
                                                                  server: list[ServerThread]) -> None:
    fake = FakeJetstream(disconnect_every=23)
    jet = serve(server, fake)
    pipeline.env.update(FAST_RECONNECT, PULSE_INGEST_BLUESKY_HOSTS=f"ws://127.0.0.1:{jet.port}")
    tweets = sample(160, id_prefix="bsky-")
    posts = [jetstream_post(t, rkey=t["id"]) for t in tweets]
    noise: list[dict[str, Any] | bytes] = [
        {"did": "did:plc:x", "kind": "identity", "identity": {"did": "did:plc:x", "handle": "x.bsky.social"}},
        {"did": "did:plc:x", "kind": "commit", "commit": {"operation": "delete", "collection":
                                                           "app.bsky.feed.post", "rkey": "gone"}},
        {**jetstream_post({"id": "img", "text": "   "})},  # an image-only post: nothing to classify
        {**jetstream_post({"id": "de", "text": "Trump ist wieder da", "lang": "de"})},  # filtered by language
        b"not json at all", b'{"kind": "commit", "commit": {}}',  # malformed: to the DLQ
    ]
    pipeline.start_all()
    pipeline.start("ingest", "--source", "bluesky")
    wait_until(lambda: fake.connections >= 1, 30, what="ingest connected")
    jet.call(fake.publish, posts[:80] + noise)
    wait_until(lambda: (checkpoint(pipeline, redis_url, "bluesky") or 0) >= fake.log[60][0], 60,
               what="the checkpoint to pass the 60th event")
    assert pipeline.kill("ingest") == -9
    jet.call(fake.publish, posts[80:])  # published while ingest is down: read on resume from the checkpoint
    pipeline.start("ingest", "--source", "bluesky")

    want = routed(tweets)
    expected = expected_counts(pipeline.bundle, want)
    assert_exact(pipeline.wait_for_counts(expected, timeout=120), expected)
    ids = raw_ids(pipeline, len(want))
    assert set(ids) == {jetstream_id(p) for p, t in zip(posts, tweets, strict=True) if t in want}
    assert fake.connections >= 160 // 23, "the server dropped the stream every 23 frames"
    resumed = [c for c in fake.cursors[1:] if c is not None]
    assert len(resumed) == len(fake.cursors) - 1, "every reconnect resumed from a cursor"
    dlq = {v for v, h in pipeline.dead_letters(2)}
    assert dlq == {b"not json at all", b'{"kind": "commit", "commit": {}}'}


def test_bluesky_reports_a_gap_when_the_cursor_is_older_than_the_host_keeps(
        pipeline: Pipeline, redis_url: str, server: list[ServerThread], tmp_path: Path) -> None:
    fake = FakeJetstream()
    jet = serve(server, fake)
    pipeline.env.update(FAST_RECONNECT, PULSE_INGEST_BLUESKY_HOSTS=f"ws://127.0.0.1:{jet.port}",
                        PULSE_INGEST_BLUESKY_GAP_TOLERANCE_S="1", PULSE_INGEST_LIVE_REWIND_S="0")
    tweets = routed(sample(40, id_prefix="gap-"))
    times = jet.call(fake.publish, [jetstream_post(t) for t in tweets])
    key = f"{pipeline.env['PULSE_REDIS_KEY_PREFIX']}:ingest:cursor:bluesky"
    redis.Redis.from_url(redis_url).set(key, str(times[0] - 3_600_000_000))  # an hour before the first event
    jet.call(fake.forget_before, times[10])  # the host no longer has the first ten
    metrics_port = free_port()
    pipeline.env["PULSE_INGEST_METRICS_PORT"] = str(metrics_port)
    pipeline.start("ingest", "--source", "bluesky")
    kept = len(tweets) - 10
    ids = raw_ids(pipeline, kept)
    assert len(set(ids)) == kept  # what the host still had, and nothing else
    wait_until(lambda: "GAP of" in pipeline.log("ingest"), 10, what="the gap's log line")
    assert fake.cursors[0] == times[0] - 3_600_000_000
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not installed (make test installs Debian's package as root)")
    prometheus = start_prometheus({"ingest": f"127.0.0.1:{metrics_port}"}, tmp_path / "prometheus",
                                  scrape_interval_s=1.0)
    try:
        def firing() -> list[dict[str, Any]]:
            alerts = httpx.get(f"{prometheus.address}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
            return [a for a in alerts if a["state"] == "firing"]

        gap = wait_until(firing, 30, what="PulseSourceGap firing")
        assert [(a["labels"]["alertname"], a["labels"]["source"]) for a in gap] == [("PulseSourceGap", "bluesky")]
        result = httpx.get(f"{prometheus.address}/api/v1/query", timeout=10, params={
            "query": 'sum by (kind) (pulse_ingest_source_events_total{source="bluesky"})'}).json()["data"]["result"]
        assert {r["metric"]["kind"]: float(r["value"][1]) for r in result} == {"post": kept}
    finally:
        prometheus.stop()


def test_mastodon_backfills_what_was_posted_while_down(pipeline: Pipeline, server: list[ServerThread]) -> None:
    fake = FakeMastodon(TOKEN, disconnect_every=15)
    srv = serve(server, fake)
    pipeline.env.update(FAST_RECONNECT, PULSE_INGEST_MASTODON_URL=f"http://127.0.0.1:{srv.port}",
                        PULSE_INGEST_MASTODON_TOKEN=TOKEN, PULSE_INGEST_MASTODON_TAGS="uspol,election")
    tweets = routed(sample(120, id_prefix="md-"))
    statuses = [mastodon_status(t, srv.call(fake.new_id)) for t in tweets]
    pipeline.start("ingest", "--source", "mastodon")
    wait_until(lambda: len(fake.queues) >= 1, 30, what="ingest subscribed")
    wait_until(lambda: len(fake.queues[0][0]) == 2 if fake.queues else False, 10, what="both tags subscribed")
    srv.call(fake.publish, statuses[:50], ["uspol"])
    wait_until(lambda: len(raw_ids(pipeline, 0)) >= 50, 30, what="the first 50 on the raw topic")
    assert pipeline.kill("ingest") == -9
    srv.call(fake.publish, statuses[50:90], ["election"])  # nobody listening: only the REST backfill has them
    pipeline.start("ingest", "--source", "mastodon")
    wait_until(lambda: fake.queues and len(fake.queues[0][0]) == 2, 30, what="ingest subscribed again")
    srv.call(fake.publish, statuses[90:], ["uspol", "election"])
    ids = set(raw_ids(pipeline, len(statuses)))
    assert ids == {s["uri"] for s in statuses}


def test_mastodon_without_a_token_is_refused_with_a_clear_message(pipeline: Pipeline) -> None:
    env = {k: v for k, v in pipeline.env.items() if k != "PULSE_INGEST_MASTODON_TOKEN"}
    run = subprocess.run([sys.executable, "-m", "services.ingest", "--source", "mastodon"], env=env,
                         capture_output=True, timeout=60)
    assert run.returncode == 2
    assert b"PULSE_INGEST_MASTODON_TOKEN" in run.stderr


def test_x_recovers_an_outage_with_backfill_and_keeps_its_rule(pipeline: Pipeline,
                                                                server: list[ServerThread]) -> None:
    fake = FakeX(TOKEN, disconnect_every=20, keepalive_s=0.2)
    srv = serve(server, fake)
    rule = "(trump OR biden OR sanders) lang:en -is:retweet"
    pipeline.env.update(FAST_RECONNECT, PULSE_INGEST_X_URL=f"http://127.0.0.1:{srv.port}",
                        PULSE_INGEST_X_BEARER_TOKEN=TOKEN, PULSE_INGEST_X_RULE=rule,
                        PULSE_INGEST_X_BACKFILL_MINUTES="1")
    tweets = routed(sample(100, id_prefix="x-"))
    posts = [x_post(t, srv.call(fake.new_id)) for t in tweets]
    pipeline.start("ingest", "--source", "x")
    wait_until(lambda: fake.connections >= 1, 30, what="ingest connected")
    srv.call(fake.publish, posts[:60])
    wait_until(lambda: len(set(raw_ids(pipeline, 0))) >= 60, 30, what="the first 60 on the raw topic")
    assert pipeline.kill("ingest") == -9
    srv.call(fake.publish, posts[60:])  # while down: the reconnect's backfill_minutes=1 brings them
    pipeline.start("ingest", "--source", "x")
    ids = set(raw_ids(pipeline, len(posts)))
    assert ids == {f"x:{p['data']['id']}" for p in posts}
    assert [r["value"] for r in fake.rules] == [rule]
    assert fake.backfills[-1] == 1
