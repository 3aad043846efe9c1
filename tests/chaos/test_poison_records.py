"""Poison records, as they arrive: each goes to the DLQ (or is counted sensibly) and the stream goes on.

The real services on the real broker and Redis; counts are exact, and every dead letter is accounted for.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaProducer

from services.common.kafka import DLQ_MAX_VALUE_BYTES
from services.common.schemas import ScoredTweet
from tests.integration.harness import (
    Pipeline,
    assert_exact,
    expected_counts,
    replay_report,
    sample,
    wait_until,
    write_jsonl,
)

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def test_poison_lines_in_a_file_are_dead_lettered_and_everything_else_counts(pipeline: Pipeline,
                                                                             tmp_path: Path) -> None:
    records = sample(80)
    huge = json.dumps({"id": "p4", "text": "Trump " + "x" * 1_500_000}).encode()  # over the broker's 1 MiB
    poison = [
        json.dumps({"id": "p1", "text": "Trump rally", "created_at": "0001-01-01T00:00:00"}).encode(),
        b"[" * 20_000 + b"]" * 20_000,  # nested too deeply for any JSON parser's recursion
        b'{"id": "p3", "text": "Biden \\ud800 speech"}',  # a lone surrogate: not encodable as UTF-8
        huge,
    ]
    # Ahead of the clock: kept and counted at ingest time, not dead-lettered.
    future = {"id": "f1", "text": "Bernie Sanders rally tonight", "created_at": "2999-01-01T00:00:00Z"}
    path = write_jsonl(tmp_path / "poison.jsonl", records[:40], poison)
    with path.open("ab") as fh:  # good lines after the poison ones: the replay must go on past them
        for rec in [*records[40:], future]:
            fh.write(json.dumps(rec).encode() + b"\n")
    expected = expected_counts(pipeline.bundle, [*records, future])
    pipeline.start_all()

    report = replay_report(pipeline.ingest(path))
    assert report["read"] == len(records) + 1 + len(poison) and report["dead-lettered"] == len(poison)
    assert (report["failed"], report["unacknowledged"]) == (0, 0)
    assert report["acknowledged"] == report["routed"] + report["dead-lettered"]
    assert_exact(pipeline.wait_for_counts(expected), expected)
    dead = pipeline.dead_letters(expected=len(poison))
    reasons = Counter(h["pulse.dlq.reason"].decode() for _, h in dead)
    assert reasons == Counter({"bad_timestamp": 1, "malformed_json": 1, "invalid_utf8": 1, "too_large": 1})
    (value, headers), = [(v, h) for v, h in dead if h["pulse.dlq.reason"] == b"too_large"]
    assert value == huge[:DLQ_MAX_VALUE_BYTES]
    assert headers["pulse.dlq.original-bytes"] == str(len(huge)).encode()
    assert headers["pulse.dlq.sha256"] == hashlib.sha256(huge).hexdigest().encode()
    assert sorted(v for v, _ in dead if v != value) == sorted(p for p in poison if p != huge)


def test_a_poison_scored_record_does_not_stop_the_aggregator(pipeline: Pipeline, tmp_path: Path) -> None:
    """Records written to the scored topic by something other than our ingest: a naive year-1 created_at (which
    once killed the counting agent) is counted at its ingest time; one that breaks the schema is dead-lettered."""
    pipeline.start("aggregate")
    pipeline.start("api")
    year_one = ScoredTweet(id="y1", target="Joe Biden", party="Democrats", label="FAVOR",
                           probs={"FAVOR": 0.9, "AGAINST": 0.05, "NONE": 0.05}, model_version="other",
                           text="Biden", ingested_at=1.0e9 + 8e8, scored_at=1.0e9 + 8e8)
    raw = year_one.model_dump_json().replace('"created_at":null', '"created_at":"0001-01-01T00:00:00"').encode()
    bad_label = raw.replace(b'"label":"FAVOR"', b'"label":"LOVE"').replace(b'"id":"y1"', b'"id":"y2"')
    producer = KafkaProducer(**pipeline.kafka.client_kwargs())
    try:
        for value in (raw, bad_label):
            producer.send(pipeline.kafka.scored_topic, key=b"k", value=value).get(timeout=10)
    finally:
        producer.close()
    wait_until(lambda: pipeline.pulse()["targets"]["Joe Biden"]["total"] == 1, timeout=60,
               what="the year-1 record to be counted")
    dead = pipeline.dead_letters(expected=1)
    assert [(v, h["pulse.dlq.reason"], h["pulse.dlq.stage"]) for v, h in dead] == [
        (bad_label, b"invalid_scored_message", b"aggregate")]

    # The agent is alive: the rest of the stream counts exactly, on top of the one above.
    pipeline.start("infer")
    records = sample(40)
    expected = expected_counts(pipeline.bundle, records)
    expected.setdefault("Joe Biden", Counter())["FAVOR"] += 1
    pipeline.ingest(write_jsonl(tmp_path / "after.jsonl", records))
    assert_exact(pipeline.wait_for_counts(expected), expected)
    assert pipeline.probe("aggregate", "/healthz").status_code == 200
