"""End to end on the real broker and Redis: ingest → infer → aggregate → API, exact counts."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from services.common.routing import Router
from tests.integration.harness import (
    Pipeline,
    assert_exact,
    expected_counts,
    expected_posts,
    sample,
    wait_until,
    write_jsonl,
)

pytestmark = pytest.mark.integration


def test_exact_counts_through_rest_and_websocket_and_replay_changes_nothing(
        pipeline: Pipeline, tmp_path: Path) -> None:
    records = sample(200)
    expected = expected_counts(pipeline.bundle, records)
    assert sum(sum(c.values()) for c in expected.values()) > 150
    pipeline.start_all()
    url = f"ws://127.0.0.1:{pipeline.api_port}/v1/pulse/stream?window=15m"
    with connect(url, open_timeout=10) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["type"] == "snapshot" and first["window"] == "15m"
        assert all(p["total"] == 0 for p in first["parties"].values())

        path = write_jsonl(tmp_path / "tweets.jsonl", records)
        pipeline.ingest(path)
        snap = pipeline.wait_for_counts(expected)
        assert_exact(snap, expected)
        for service in ("infer", "aggregate"):  # the probes Kubernetes reads, on the operations port
            assert pipeline.probe(service, "/healthz").json()["status"] == "ok", service
            wait_until(lambda s=service: pipeline.probe(s, "/readyz").status_code == 200, 15, what=f"{service} ready")
        assert_exact(pipeline.pulse("15m"), expected)  # just ingested: the rolling window holds everything
        # share of voice counts distinct posts: a post about two Democrats once for the party
        posts = expected_posts(records)
        snap = pipeline.pulse()
        assert {p: f["posts"] for p, f in snap["parties"].items() if f["posts"]} == posts
        assert sum(sum(c.values()) for t, c in expected.items() if snap["targets"][t]["party"] == "Democrats") \
            > posts["Democrats"]  # the sample has posts about two Democrats: pairs outnumber posts
        assert snap["parties"]["Democrats"]["voice"] == round(posts["Democrats"] / sum(posts.values()), 4)
        # what was counted: the replay's posts (each once, however many targets it is about), since when
        routed = sum(1 for r in records if Router.load().route(r["text"]))
        assert [(s["name"], s["posts"]) for s in snap["sources"]] == [("replay", routed)]
        assert time.time() - 120 < snap["sources"][0]["since"] <= time.time()
        # the API knows the served model from infer's announcement alone (it has no bundle of its own)
        version = pipeline.bundle.meta.version
        wait_until(lambda: pipeline.pulse()["models"] == [version], 15, what="the snapshot naming the model")
        scored = {t["name"] for t in pipeline.get("/v1/targets").json()["targets"] if t["scored"]}
        assert scored == set(pipeline.bundle.meta.targets) & scored and scored
        # the newest posts carry the words behind their label, the newest of a batch for the whole model
        recent = pipeline.get("/v1/tweets/recent", limit=50).json()["tweets"]
        methods = {t["explanation_method"] for t in recent if t["explanation"]}
        assert "occlusion" in methods, methods
        assert all(len(t["explanation"]) <= 6 for t in recent if t["explanation"])

        def latest_pushed_matches() -> bool:
            msg = json.loads(ws.recv(timeout=10))
            return msg["type"] == "snapshot" and all(
                msg["targets"][t]["total"] == sum(c.values()) for t, c in expected.items())

        wait_until(latest_pushed_matches, timeout=30, what="a websocket snapshot with the final counts")

    # The same file again: every id is already counted, so nothing may change.
    n_pairs = sum(sum(c.values()) for c in expected.values())
    pipeline.ingest(path)
    wait_until(lambda: pipeline.metric("aggregate", "pulse_aggregate_duplicates_total") >= n_pairs, timeout=60,
               what="the replay to reach the aggregator")
    assert_exact(pipeline.pulse(), expected)
    assert {p: f["posts"] for p, f in pipeline.pulse()["parties"].items() if f["posts"]} == posts
    assert [(s["name"], s["posts"]) for s in pipeline.pulse()["sources"]] == [("replay", routed)]
    assert pipeline.metric("aggregate", "pulse_aggregate_duplicates_total") == n_pairs


def test_malformed_lines_go_to_the_dlq_exactly_and_the_rest_count(pipeline: Pipeline, tmp_path: Path) -> None:
    records = sample(60)
    bad = [
        b'{"id": "x1", "text": "Trump rally" ',  # truncated JSON
        b'{"text": "no id about Biden"}',
        b'{"id": 7, "text": "Biden speech"}',
        b'{"id": "x4", "text": "Bernie \xff\xfe invalid utf8"}',
        b'["an", "array"]',
        json.dumps({"id": "x6", "text": "Trump " + "x" * 6000}).encode(),
    ]
    path = write_jsonl(tmp_path / "mixed.jsonl", records[:30], bad)
    with path.open("ab") as fh:  # good lines after the bad ones too
        for rec in records[30:]:
            fh.write(json.dumps(rec).encode() + b"\n")
    expected = expected_counts(pipeline.bundle, records)
    pipeline.start_all()
    pipeline.ingest(path)
    assert_exact(pipeline.wait_for_counts(expected), expected)
    dead = pipeline.dead_letters(expected=len(bad))
    assert sorted(v for v, _ in dead) == sorted(bad)  # exactly those lines, byte for byte
    reasons = Counter(h["pulse.dlq.reason"].decode() for _, h in dead)
    assert reasons == Counter({"malformed_json": 1, "missing_field": 1, "wrong_type": 1, "invalid_utf8": 1,
                               "not_an_object": 1, "too_large": 1})
    assert all(h["pulse.dlq.stage"] == b"ingest" and h["pulse.dlq.source"].startswith(b"mixed.jsonl:")
               for _, h in dead)


def test_sigkill_of_inference_mid_stream_still_gives_exact_counts(
        kafka_bootstrap: str, redis_url: str, fixture_bundle: Any, tmp_path: Path) -> None:
    pipeline = Pipeline(kafka_bootstrap, redis_url, fixture_bundle, tmp_path, PULSE_INFER_BATCH_SIZE="8")
    try:
        records = sample(400)
        expected = expected_counts(fixture_bundle, records)
        total = sum(sum(c.values()) for c in expected.values())
        pipeline.start_all()
        path = write_jsonl(tmp_path / "stream.jsonl", records)
        ingest = pipeline.start("ingest", "--replay", str(path), "--rate", "40", "--no-progress")

        def counted() -> int:
            return sum(t["total"] for t in pipeline.pulse()["targets"].values())

        wait_until(lambda: counted() > 10, timeout=60, interval=0.05, what="the first counts")
        assert pipeline.kill("infer", signal.SIGKILL) == -signal.SIGKILL
        at_kill = counted()
        assert at_kill < total  # really mid-stream
        time.sleep(1.0)
        pipeline.start("infer")
        assert ingest.wait(60) == 0
        assert_exact(pipeline.wait_for_counts(expected, timeout=120), expected)
    finally:
        pipeline.stop()


def test_infer_finishes_its_batch_and_exits_cleanly_on_sigterm(pipeline: Pipeline) -> None:
    pipeline.start("infer")
    wait_until(lambda: "scoring" in pipeline.log("infer"), timeout=30, what="infer to start")
    assert pipeline.kill("infer", signal.SIGTERM) == 0
    assert "stopped cleanly" in pipeline.log("infer")
