"""Reviewers on a real Redis and a real `pulse api`: the aggregator's store draws a uniform sample for review, and
reviewers label it over HTTP with their own tokens; labels survive, agreement is measured, bad input gets a 4xx."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from models.evaluation.evaluate import stance_metrics
from services.aggregate.redis_store import CountStore, Retention, review_draw
from services.aggregate.settings import AggregateSettings
from services.common.keys import KeyLayout
from services.common.schemas import ScoredTweet
from tests.integration.harness import running_api

pytestmark = pytest.mark.integration

TOKENS = {"r1": "review-token-one-8f3kq2", "r2": "review-token-two-x9d1mw", "r3": "review-token-three-p4z7"}
RATE = 0.25


def scored(i: int, target: str = "Joe Biden", label: str = "FAVOR") -> ScoredTweet:
    now = time.time()
    return ScoredTweet(id=f"p{i}", target=target, party="Democrats" if target != "Donald Trump" else "Republicans",
                       label=label, probs={label: 1.0}, model_version="m1",  # type: ignore[arg-type]
                       text=f"post {i} about {target}", source="bluesky", ingested_at=now, scored_at=now)


def count(redis_url: str, prefix: str, records: list[ScoredTweet], rate: float = RATE,
          lm_rate: float = 0.0) -> list[bool | Exception]:
    async def go() -> list[bool | Exception]:
        client = aioredis.from_url(redis_url)
        try:
            retention = Retention.of(AggregateSettings(), review_sample_rate=rate, review_queue_max=1000,
                                     lm_text_sample_rate=lm_rate, lm_text_max=1000)
            store = CountStore(client, KeyLayout(prefix), retention, f"{prefix}:updates")
            return await store.count([store.prepare(r, r.ingested_at, time.time()) for r in records])
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.fixture
def api(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with running_api(redis_url, tmp_path, PULSE_API_REVIEWER_TOKENS=json.dumps(TOKENS),
                     PULSE_API_REVIEW_RATE_PER_S="50", PULSE_API_REVIEW_BURST="400",
                     PULSE_API_REVIEW_DOUBLE_SHARE="0.5") as started:
        yield started


def auth(reviewer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[reviewer]}"}


def test_reviewers_label_a_uniform_sample_with_agreement_measured(api: tuple[str, str], redis_url: str) -> None:
    base, prefix = api
    records = [scored(i, label=("FAVOR", "AGAINST", "NONE")[i % 3]) for i in range(400)]
    drawn = {r.id for r in records if review_draw(r.target, r.id) < RATE}
    assert count(redis_url, prefix, records) == [True] * 400
    assert count(redis_url, prefix, records) == [False] * 400  # a replay draws nothing new
    with httpx.Client(base_url=base, timeout=10) as http:
        seen: Counter[str] = Counter()
        model_says = {r.id: r.label for r in records}
        for turn in range(60):
            who = ("r1", "r2")[turn % 2]
            item = http.get("/v1/review/next", params={"target": "Joe Biden"}, headers=auth(who)).json()["item"]
            assert item is not None and "label" not in item and item["text"].startswith("post ")
            assert item["id"] in drawn  # only what the aggregator drew, and only once counted
            seen[item["id"]] += 1
            answer = "AGAINST" if int(item["id"][1:]) % 5 == 0 else model_says[item["id"]]  # r1 and r2 agree
            r = http.post("/v1/review/labels", json={"id": item["id"], "target": "Joe Biden", "label": answer},
                          headers=auth(who))
            assert r.status_code == 201, r.text
        assert max(seen.values()) <= 2  # an item is labelled by two reviewers at most
        assert any(n == 2 for n in seen.values())  # and some by two: agreement is measured
        quality = http.get("/v1/review/quality", headers=auth("r3")).json()["targets"]["Joe Biden"]
        assert quality["items"] == len(seen) and quality["double_reviewed"] == sum(n == 2 for n in seen.values())
        assert quality["kappa"] == 1.0  # the two reviewers always agreed
        wrong = sum(1 for i in seen if int(i[1:]) % 5 == 0 and model_says[i] != "AGAINST")
        assert quality["rated"] == len(seen) and quality["accuracy"] == pytest.approx(1 - wrong / len(seen))
        assert quality["accuracy_low"] < quality["accuracy"] <= quality["accuracy_high"]
        gold = ["AGAINST" if int(i[1:]) % 5 == 0 else model_says[i] for i in seen]
        f1 = stance_metrics(gold, [model_says[i] for i in seen], ["FAVOR", "AGAINST", "NONE"])["macro_f1"]
        assert quality["macro_f1"] == pytest.approx(f1, abs=0.01)
        assert quality["macro_f1_low"] < quality["macro_f1"] <= quality["macro_f1_high"]
        # relabelling replaces the reviewer's own vote; it is not a new vote
        some = next(iter(seen))
        assert http.post("/v1/review/labels", json={"id": some, "target": "Joe Biden", "label": "SKIP"},
                         headers=auth("r3")).json()["votes"] == seen[some] + 1
        assert http.post("/v1/review/labels", json={"id": some, "target": "Joe Biden", "label": "NONE"},
                         headers=auth("r3")).json()["votes"] == seen[some] + 1


def test_review_refuses_bad_callers_and_bad_input_with_4xx(api: tuple[str, str], redis_url: str) -> None:
    base, prefix = api
    count(redis_url, prefix, [scored(i) for i in range(40)])
    with httpx.Client(base_url=base, timeout=10) as http:
        assert http.get("/v1/review/next").status_code == 401
        assert http.get("/v1/review/next", headers={"Authorization": "Bearer not-a-reviewer-token"}).status_code == 401
        r = http.get("/v1/review/next", params={"target": "Nobody"}, headers=auth("r1"))
        assert r.status_code == 404 and "known" in r.json()["detail"]
        for body in ({"id": "p1", "target": "Joe Biden", "label": "MAYBE"}, {"id": "p1", "target": "Joe Biden"},
                     {"id": "p1", "target": "Joe Biden", "label": "FAVOR", "reviewer": "r2"}, []):
            r = http.post("/v1/review/labels", json=body, headers=auth("r1"))
            assert r.status_code == 422, (body, r.text)
            assert TOKENS["r1"] not in r.text
        r = http.post("/v1/review/labels", json={"id": "never-drawn", "target": "Joe Biden", "label": "FAVOR"},
                      headers=auth("r1"))
        assert r.status_code == 410
        assert http.post("/v1/review/labels", json={"id": "p1", "target": "Nobody", "label": "FAVOR"},
                         headers=auth("r1")).status_code == 404


def test_a_reviewer_beyond_the_rate_gets_429_and_others_do_not(redis_url: str, tmp_path: Path) -> None:
    with running_api(redis_url, tmp_path, PULSE_API_REVIEWER_TOKENS=json.dumps(TOKENS),
                     PULSE_API_REVIEW_RATE_PER_S="0.01", PULSE_API_REVIEW_BURST="5") as (base, _), \
            httpx.Client(base_url=base, timeout=10) as http:
        codes = [http.get("/v1/review/next", headers=auth("r1")).status_code for _ in range(8)]
        assert codes == [200] * 5 + [429] * 3  # a burst of 5, then refused until a token is back (100 s)
        refused = http.get("/v1/review/next", headers=auth("r1"))
        assert int(refused.headers["Retry-After"]) > 0
        assert http.get("/v1/review/next", headers=auth("r2")).status_code == 200


def test_without_reviewers_reviewing_is_off(redis_url: str, tmp_path: Path) -> None:
    with running_api(redis_url, tmp_path) as (base, _):
        r = httpx.get(f"{base}/v1/review/next", headers=auth("r1"), timeout=10)
        assert r.status_code == 403 and "PULSE_API_REVIEWER_TOKENS" in r.json()["detail"]


def test_labels_export_as_training_data_with_a_fixed_held_out_part(api: tuple[str, str], redis_url: str,
                                                                    tmp_path: Path) -> None:
    from models.evaluation.data import read_csv

    base, prefix = api
    records = [scored(i, target) for i in range(30) for target in ("Joe Biden", "Donald Trump")]
    count(redis_url, prefix, records, rate=1.0)
    with httpx.Client(base_url=base, timeout=10) as http:
        labelled = 0
        while (item := http.get("/v1/review/next", headers=auth("r1")).json()["item"]) is not None:
            label = ("FAVOR", "AGAINST", "NONE", "OFF_TARGET", "SKIP")[labelled % 5]
            assert http.post("/v1/review/labels", json={"id": item["id"], "target": item["target"], "label": label},
                             headers=auth("r1")).status_code == 201
            labelled += 1
    assert labelled == 60
    env = {**os.environ, "PULSE_REDIS_URL": redis_url, "PULSE_REDIS_KEY_PREFIX": prefix}
    out, held = tmp_path / "labels.csv", tmp_path / "held.csv"
    done = subprocess.run([sys.executable, "-m", "services.cli", "labels", "export", "--out", str(out),
                           "--holdout", "0.25", "--holdout-out", str(held)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    train, test = read_csv(out), read_csv(held)  # the training format, read by the training code itself
    assert len(train) + len(test) == 48  # 60 labelled, 12 skipped
    assert 4 <= len(test) <= 22 and {e.label for e in train + test} == {"FAVOR", "AGAINST", "NONE"}
    assert {e.target for e in train + test} == {"Joe Biden", "Donald Trump"}
    assert f"{len(train)} labelled (post, target) items written" in done.stderr


def test_enough_reviews_bring_live_quality_and_live_corrected_shares(redis_url: str, tmp_path: Path) -> None:
    from models.runtime.bundle import resolve_bundle

    version = resolve_bundle("").meta.version  # what running_api announces as the served model
    with running_api(redis_url, tmp_path, PULSE_API_REVIEWER_TOKENS=json.dumps(TOKENS),
                     PULSE_API_REVIEW_RATE_PER_S="100", PULSE_API_REVIEW_BURST="500",
                     PULSE_API_LIVE_QUALITY_MIN_ITEMS="30") as (base, prefix), \
            httpx.Client(base_url=base, timeout=10) as http:
        posts = [scored(i, "Joe Biden", ("FAVOR", "AGAINST", "NONE")[i % 3]).model_copy(
            update={"model_version": version}) for i in range(90)]
        count(redis_url, prefix, posts, rate=1.0)

        def biden() -> dict:
            return http.get("/v1/pulse", params={"window": "all"}).json()["targets"]["Joe Biden"]  # type: ignore[no-any-return]

        labelled: list[int] = []

        def label_some(n: int) -> None:
            for _ in range(n):
                item = http.get("/v1/review/next", params={"target": "Joe Biden"}, headers=auth("r1")).json()["item"]
                labelled.append(int(item["id"][1:]))
                truth = "NONE" if int(item["id"][1:]) % 3 != 1 else "AGAINST"  # the model's FAVOR is really NONE
                assert http.post("/v1/review/labels", json={"id": item["id"], "target": "Joe Biden", "label": truth},
                                 headers=auth("r1")).status_code == 201

        before = biden()["shares"]
        assert before is None or before["error_rates"] == "datasets"
        label_some(20)
        # the live figures are re-read every half minute: a new API process (below) reads them at once
        model = http.get("/v1/model").json()
        assert model["live_quality_min_items"] == 30
    with running_api(redis_url, tmp_path, prefix=prefix, PULSE_API_REVIEWER_TOKENS=json.dumps(TOKENS),
                     PULSE_API_REVIEW_RATE_PER_S="100", PULSE_API_REVIEW_BURST="500",
                     PULSE_API_LIVE_QUALITY_MIN_ITEMS="30") as (base, _), \
            httpx.Client(base_url=base, timeout=10) as http:
        live = http.get("/v1/model").json()["models"][0]["live_quality"]["Joe Biden"]
        assert (live["reviewed"], live["enough"]) == (20, False)  # shown, but not yet enough to go by
        assert http.get("/v1/pulse", params={"window": "all"}).json()["targets"]["Joe Biden"]["shares"] in (
            None, before)
        label_some(20)
    with running_api(redis_url, tmp_path, prefix=prefix, PULSE_API_LIVE_QUALITY_MIN_ITEMS="30") as (base, _), \
            httpx.Client(base_url=base, timeout=10) as http:
        live = http.get("/v1/model").json()["models"][0]["live_quality"]["Joe Biden"]
        assert (live["reviewed"], live["rated"], live["enough"]) == (40, 40, True)
        assert live["accuracy"] == pytest.approx(sum(i % 3 != 0 for i in labelled) / 40)  # wrong on its FAVORs
        assert live["accuracy_low"] < live["accuracy"] < live["accuracy_high"]
        assert live["macro_f1_low"] < live["macro_f1"] < live["macro_f1_high"]
        target = http.get("/v1/pulse", params={"window": "all"}).json()["targets"]["Joe Biden"]
        shares = target["shares"]
        assert (shares["error_rates"], shares["reviewed"]) == ("live", 40)
        # the model says a third in favour; reviewers found none: the corrected share in favour is lower, and its
        # interval reaches the truth, 0 (which 40 posts are reviewed is random: the estimate ranges 0-0.31 over
        # draws of them, its interval's low end is 0 in all)
        assert shares["favor"]["low"] == 0.0
        assert shares["favor"]["estimate"] < target["favor"] / target["total"]
        assert "40 posts of this stream that people reviewed" in target["headline"]["sentence"]


def test_the_streams_texts_are_kept_once_per_post_for_the_language_model(redis_url: str, tmp_path: Path) -> None:
    prefix = f"lm{time.monotonic_ns()}"
    posts = [scored(i, target).model_copy(update={"first_route": target == "Joe Biden",
                                                   "text": f"post {i}\nabout both"})
             for i in range(50) for target in ("Joe Biden", "Bernie Sanders")]
    assert count(redis_url, prefix, posts, rate=0.0, lm_rate=1.0) == [True] * 100
    assert count(redis_url, prefix, posts, rate=0.0, lm_rate=1.0) == [False] * 100  # a replay keeps nothing more
    out = tmp_path / "texts.txt"
    env = {**os.environ, "PULSE_REDIS_URL": redis_url, "PULSE_REDIS_KEY_PREFIX": prefix}
    done = subprocess.run([sys.executable, "-m", "services.cli", "labels", "texts", "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert sorted(lines) == sorted(f"post {i} about both" for i in range(50))  # once a post, on one line


def test_a_sample_stratified_by_the_models_label_draws_each_label_at_its_rate(redis_url: str,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """PULSE_AGGREGATE_REVIEW_LABEL_RATES: the aggregator draws a pair at the rate of the model's label (the base
    rate for the others), and each queued item carries that probability, which every estimate weighs by."""
    from services.api.review import ItemGone, ReviewStore

    monkeypatch.setenv("PULSE_AGGREGATE_REVIEW_LABEL_RATES", '{"FAVOR": 0.9, "AGAINST": 0.05}')
    settings = AggregateSettings()
    rates = {"FAVOR": 0.9, "AGAINST": 0.05, "NONE": 0.1}
    records = [scored(i, label=("FAVOR", "AGAINST", "NONE")[i % 3]) for i in range(600)]
    prefix = f"strat{time.time_ns()}"

    async def go() -> dict[str, float | None]:
        client = aioredis.from_url(redis_url)
        try:
            retention = Retention.of(settings, review_sample_rate=0.1, review_queue_max=1000)
            store = CountStore(client, KeyLayout(prefix), retention, f"{prefix}:updates")
            assert await store.count([store.prepare(r, r.ingested_at, time.time()) for r in records]) == [True] * 600
            queue = ReviewStore(client, KeyLayout(prefix))
            found: dict[str, float | None] = {}
            for r in records:
                try:
                    found[r.id] = float((await queue.find(r.target, r.id)).fields["inclusion"])
                except ItemGone:
                    found[r.id] = None
            return found
        finally:
            await client.aclose()

    found = asyncio.run(go())
    for r in records:
        rate = rates[r.label]
        assert found[r.id] == (rate if review_draw(r.target, r.id) < rate else None), r
    drawn = Counter(r.label for r in records if found[r.id] is not None)
    assert drawn["FAVOR"] > 150 and drawn["AGAINST"] < 30 and 5 < drawn["NONE"] < 40
    monkeypatch.setenv("PULSE_AGGREGATE_REVIEW_LABEL_RATES", '{"FAVOR": 2}')
    with pytest.raises(ValueError, match="less than or equal to 1"):
        AggregateSettings()
    monkeypatch.setenv("PULSE_AGGREGATE_REVIEW_LABEL_RATES", '{"MAYBE": 0.5}')
    with pytest.raises(ValueError, match="FAVOR"):
        AggregateSettings()
