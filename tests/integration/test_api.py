"""The API on a real Redis, fed by the aggregator's own store: REST shapes, errors, health, metrics."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from websockets.sync.client import connect

from services.aggregate.redis_store import CountStore, Retention
from services.aggregate.settings import AggregateSettings
from services.common.keys import KeyLayout
from services.common.schemas import ScoredTweet
from services.dev.servers import free_port
from tests.integration.harness import running_api

pytestmark = pytest.mark.integration

def minute_safe_now() -> float:
    """Now, taken early enough in a minute that the queries that follow fall in the same minute bucket
    (a module-level time taken at collection went stale once the suite before it grew slower)."""
    if time.time() % 60 > 45:
        time.sleep(60.5 - time.time() % 60)
    return time.time()


def scored(i: int, target: str, party: str, label: str, minutes_ago: float = 0.0) -> ScoredTweet:
    now = time.time()
    probs = {} if label == "UNRATED" else {"FAVOR": 0.1, "AGAINST": 0.1, "NONE": 0.1, label: 0.8}
    return ScoredTweet(id=f"t{i}", target=target, party=party, label=label, probs=probs,  # type: ignore[arg-type]
                       model_version="test", text=f"tweet {i} about {target}", ingested_at=now - 60 * minutes_ago,
                       scored_at=now)


def seed(redis_url: str, prefix: str, records: list[tuple[ScoredTweet, float]]) -> list[bool | Exception]:
    async def go() -> list[bool | Exception]:
        client = aioredis.from_url(redis_url)
        try:
            store = CountStore(client, KeyLayout(prefix), Retention.of(AggregateSettings()), f"{prefix}:updates")
            return await store.count([store.prepare(rec, at, time.time()) for rec, at in records])
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.fixture
def api(redis_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    with running_api(redis_url, tmp_path) as started:
        yield started


def test_rolling_windows_history_and_recent(api: tuple[str, str], redis_url: str) -> None:
    base, prefix = api
    now = minute_safe_now()
    recs = [
        (scored(1, "Joe Biden", "Democrats", "FAVOR"), now),
        (scored(2, "Joe Biden", "Democrats", "AGAINST"), now - 3 * 60),
        (scored(3, "Bernie Sanders", "Democrats", "FAVOR"), now - 10 * 60),
        (scored(4, "Donald Trump", "Republicans", "NONE"), now - 2 * 3600),
        (scored(5, "Donald Trump", "Republicans", "AGAINST"), now),
    ]
    assert seed(redis_url, prefix, recs) == [True] * 5
    assert seed(redis_url, prefix, recs[:2]) == [False, False]  # idempotent

    def pulse(window: str) -> dict:
        r = httpx.get(f"{base}/v1/pulse", params={"window": window})
        assert r.status_code == 200
        return r.json()  # type: ignore[no-any-return]

    dem = [pulse(w)["parties"]["Democrats"] for w in ("1m", "5m", "15m", "all")]
    assert [d["total"] for d in dem] == [1, 2, 3, 3]
    assert dem[2] | {"targets": None, "shares": None, "headline": None} == {
        "favor": 2, "against": 1, "none": 0, "total": 3, "net": 0.3333, "unrated": 0, "posts": 3, "voice": 0.75,
        "targets": None, "shares": None, "shares_unavailable": None, "headline": None}
    # the served bundle's error rates correct the shares: an interval around each, which 3 posts leave wide
    favor = dem[2]["shares"]["favor"]
    assert dem[2]["shares"]["method"] == "adjusted classify-and-count" and favor["high"] - favor["low"] > 0.2
    # the figure to quote is that corrected share, said in a sentence
    assert dem[2]["headline"]["basis"] == "corrected" and dem[2]["headline"]["favor"] == favor
    assert dem[2]["headline"]["sentence"].startswith("Of 3 ratings of Democrats' candidates in the last 15 minutes, "
                                                     f"an estimated {round(100 * favor['estimate'])}% (")
    assert pulse("1h")["parties"]["Republicans"]["total"] == 1
    rep = pulse("24h")["parties"]["Republicans"]
    assert rep | {"shares": None, "headline": None} == {
        "favor": 0, "against": 1, "none": 1, "total": 2, "net": -1.0, "unrated": 0, "posts": 2, "voice": 0.4,
        "targets": ["Donald Trump"], "shares": None, "shares_unavailable": None, "headline": None}
    harris = pulse("15m")["targets"]["Kamala Harris"]
    assert harris["total"] == 0  # configured targets appear before any count
    assert harris["shares"] is None and harris["shares_unavailable"] == "nothing counted in this window"
    assert harris["headline"] is None

    h = httpx.get(f"{base}/v1/pulse/history/party/Democrats", params={"window": "15m", "step": "5m"}).json()
    assert [p["total"] for p in h["points"]] == [1, 0, 2]
    h = httpx.get(f"{base}/v1/pulse/history/target/Donald Trump", params={"window": "24h", "step": "1h"})
    assert sum(p["total"] for p in h.json()["points"]) == 2

    # an absolute range: the quarter hours from 20 minutes ago to now, in ISO 8601 or unix seconds alike
    iso_start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 20 * 60))
    ranged = httpx.get(f"{base}/v1/pulse/history/party/Democrats",
                       params={"start": iso_start, "step": "5m"}).json()
    as_seconds = httpx.get(f"{base}/v1/pulse/history/party/Democrats",
                           params={"start": str(int(now - 20 * 60)), "end": str(now + 3600), "step": "5m"}).json()
    assert ranged == as_seconds and sum(p["total"] for p in ranged["points"]) == 3
    assert ranged["points"][0]["start"] == (now - 20 * 60) // 300 * 300 and ranged["points"][0]["start"] % 300 == 0
    csv_series = httpx.get(f"{base}/v1/pulse/history/party/Democrats",
                           params={"start": iso_start, "step": "5m", "format": "csv"})
    assert csv_series.text.splitlines()[1].startswith(
        time.strftime("%Y-%m-%dT%H:%M:00Z", time.gmtime(ranged["points"][0]["start"])))

    recent = httpx.get(f"{base}/v1/tweets/recent", params={"party": "Democrats", "limit": 2}).json()["tweets"]
    assert [t["id"] for t in recent] == ["t3", "t2"]  # newest counted first
    favor = httpx.get(f"{base}/v1/tweets/recent", params={"label": "FAVOR"}).json()["tweets"]
    assert {t["id"] for t in favor} == {"t1", "t3"} and favor[0]["probs"]["FAVOR"] == 0.8

    # The served bundle's correction for Hillary Clinton did not beat raw counting (295 labelled tweets): her
    # shares, and her party's while she is counted, are withheld with the reason instead of looking exact.
    assert seed(redis_url, prefix, [(scored(6, "Hillary Clinton", "Democrats", "AGAINST"), now)]) == [True]
    later = pulse("15m")
    hillary, dem_now = later["targets"]["Hillary Clinton"], later["parties"]["Democrats"]
    assert hillary["total"] == 1 and hillary["shares"] is None
    assert hillary["shares_unavailable"].startswith("on labelled test posts about this target, correcting")
    assert dem_now["shares"] is None
    assert dem_now["shares_unavailable"] == ("the figures for Hillary Clinton cannot be corrected, and the party's "
                                             "include them")
    # the figure to quote falls back to the model's own labels, and says so and why
    assert hillary["headline"]["basis"] == "raw" and hillary["headline"]["against"]["estimate"] == 1.0
    assert hillary["headline"]["sentence"] == (
        "Of 1 post about Hillary Clinton in the last 15 minutes, the model labelled 0% in favour and 100% against. "
        "These are its labels uncorrected: on labelled test posts about this target, correcting for the model's "
        "errors did not bring the shares closer to the truth. Too few to quote: the figures firm up from 30 posts.")
    assert dem_now["headline"]["basis"] == "raw"
    assert later["targets"]["Joe Biden"]["shares"] is not None  # the others keep theirs


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/v1/pulse", {"window": "7m"}, 422, "15m"),
        ("/v1/pulse/history/county/Democrats", {"window": "1h"}, 422, "'party' or 'target'"),
        ("/v1/pulse/history/party/Democrats", {"window": "1h", "step": "7s"}, 422, "should match pattern"),
        ("/v1/pulse/history/party/Democrats", {"window": "1h", "step": "7m"}, 422, "whole number of steps"),
        ("/v1/pulse/history/party/Democrats", {"window": "3d", "step": "1m"}, 422, "whole hours"),
        ("/v1/pulse/history/party/Whigs<script>", {}, 404, "unknown party; known: Democrats, Republicans"),
        ("/v1/pulse/history/target/Nobody<script>", {}, 404, "unknown target; known: "),
        ("/v1/pulse", {"window": "<script>"}, 422, "15m"),
        ("/v1/tweets/recent", {"party": "Whigs<script>"}, 404, "unknown party; known: "),
        ("/v1/tweets/recent", {"party": "Republicans", "target": "Joe Biden"}, 404, "that target is in Democrats"),
        ("/v1/tweets/recent", {"limit": "0"}, 422, "greater than or equal to 1"),
        ("/v1/tweets/recent", {"label": "MAYBE"}, 422, "FAVOR"),
        ("/v1/tweets/recent", {"target": "Nobody"}, 404, "unknown target"),
        ("/v1/tweets/recent", {"format": "xls<script>"}, 422, "'json' or 'csv'"),
        ("/v1/pulse/history/party/Democrats", {"start": "yesterday<script>"}, 422, "valid datetime"),
        ("/v1/pulse/history/party/Democrats", {"start": "2020-01-01T00:00:00Z", "step": "1h"}, 422, "last 30 days"),
        ("/v1/pulse/history/party/Democrats", {"start": "2099-01-01T00:00:00Z"}, 422, "before end"),
        ("/v1/pulse/history/party/Democrats", {"start": "2099-01-01T00:00:00Z", "window": "1h"}, 422, "not both"),
    ],
)
def test_bad_parameters_get_a_clear_4xx(api: tuple[str, str], path: str, params: dict, status: int,
                                        message: str) -> None:
    r = httpx.get(api[0] + path, params=params)
    assert r.status_code == status
    assert message in json.dumps(r.json())
    assert "Traceback" not in r.text and "<script>" not in r.text and "script" not in r.text  # input never echoed


def test_posts_export_as_csv_with_iso_times_links_and_no_formulas(api: tuple[str, str], redis_url: str) -> None:
    base, prefix = api
    now = minute_safe_now()
    bsky = scored(1, "Joe Biden", "Democrats", "FAVOR").model_copy(update={
        "id": "at://did:plc:abc123/app.bsky.feed.post/3kxyz", "author": "@alice",
        "created_at": datetime(2026, 12, 7, 8, 0, tzinfo=UTC),
        "text": '=HYPERLINK("http://evil.example", "click"), and "quotes", on\ntwo lines'})
    seed(redis_url, prefix, [(bsky, now), (scored(2, "Joe Biden", "Democrats", "AGAINST"), now)])
    r = httpx.get(f"{base}/v1/tweets/recent", params={"target": "Joe Biden", "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="pulse-posts-Joe_Biden.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["id"] for row in rows] == ["t2", "at://did:plc:abc123/app.bsky.feed.post/3kxyz"]
    first = rows[1]
    assert first["url"] == "https://bsky.app/profile/did:plc:abc123/post/3kxyz" and rows[0]["url"] == ""
    assert first["created_at"] == "2026-12-07T08:00:00Z" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                                                                         first["scored_at"])
    assert first["author"] == "'@alice" and first["label"] == "FAVOR" and float(first["confidence"]) == 0.8
    assert first["text"] == '\'=HYPERLINK("http://evil.example", "click"), and "quotes", on\ntwo lines'
    json_body = httpx.get(f"{base}/v1/tweets/recent", params={"target": "Joe Biden"}).json()
    assert json_body["tweets"][1]["url"] == first["url"]  # the same link in JSON


def test_unrated_routes_are_counted_apart_and_kept_out_of_the_recent_tweets(api: tuple[str, str],
                                                                            redis_url: str) -> None:
    base, prefix = api
    now = minute_safe_now()
    first = seed(redis_url, prefix, [(scored(1, "Kamala Harris", "Democrats", "UNRATED"), now),
                                     (scored(2, "Kamala Harris", "Democrats", "UNRATED"), now),
                                     (scored(3, "Joe Biden", "Democrats", "FAVOR"), now)])
    again = seed(redis_url, prefix, [(scored(1, "Kamala Harris", "Democrats", "UNRATED"), now)])  # a replay
    assert (first, again) == ([True, True, True], [False])
    snap = httpx.get(f"{base}/v1/pulse", params={"window": "1h"}).json()
    harris, dem = snap["targets"]["Kamala Harris"], snap["parties"]["Democrats"]
    assert (harris["total"], harris["unrated"], harris["net"]) == (0, 2, None)
    assert (dem["total"], dem["unrated"], dem["favor"], dem["net"]) == (1, 2, 1, 1.0)
    recent = httpx.get(f"{base}/v1/tweets/recent", params={"party": "Democrats"}).json()["tweets"]
    assert [t["id"] for t in recent] == ["t3"]


def test_the_websocket_pushes_the_spikes_when_they_change(redis_url: str, tmp_path: Path) -> None:
    env = {"PULSE_API_SPIKE_CHECK_S": "0.5", "PULSE_API_STREAM_HEARTBEAT_S": "1"}
    with running_api(redis_url, tmp_path, **env) as (base, prefix), \
            connect(base.replace("http://", "ws://") + "/v1/pulse/stream?window=15m", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        first = json.loads(ws.recv(timeout=10))
        assert (first["type"], first["spikes"]) == ("spikes", [])  # the state on connect, even when quiet
        # 12 posts on a target with no posts in the two hours before: a volume spike
        seed(redis_url, prefix, [(scored(i, "Donald Trump", "Republicans", "AGAINST"), time.time())
                                 for i in range(12)])
        with redis.Redis.from_url(redis_url) as client:
            client.publish(f"{prefix}:updates", '{"counted": 12}')
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv(timeout=10))
            if msg["type"] == "spikes" and msg["spikes"]:
                break
        assert [(s["target"], s["kind"], s["volume"]) for s in msg["spikes"]] == [
            ("Donald Trump", "volume", 12)]
        assert msg == {**httpx.get(f"{base}/v1/spikes").json(), "type": "spikes", "at": msg["at"]}


def test_health_metrics_docs_and_page(redis_url: str, tmp_path: Path) -> None:
    metrics_port = free_port()
    with running_api(redis_url, tmp_path, PULSE_API_METRICS_PORT=str(metrics_port)) as (base, _):
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{base}/readyz").json() == {"status": "ready"}
        httpx.get(f"{base}/v1/pulse")
        # Metrics on their own port: the public port (what an Ingress exposes) does not serve them.
        assert httpx.get(f"{base}/metrics").status_code == 404
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert 'pulse_api_requests_total{method="GET",route="/v1/pulse",status="200"}' in metrics
        assert "pulse_api_websocket_clients" in metrics
        assert "/v1/pulse/history/{kind}/{name}" in httpx.get(f"{base}/openapi.json").json()["paths"]
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and "/v1/pulse/stream" in httpx.get(f"{base}/static/pulse.js").text


def test_the_openapi_document_types_every_data_response(api: tuple[str, str]) -> None:
    base, _ = api
    doc = httpx.get(f"{base}/openapi.json").json()
    typed = {"/v1/pulse": "Snapshot", "/v1/pulse/history/{kind}/{name}": "History", "/v1/tweets/recent": "RecentTweets"}
    for path, model in typed.items():
        schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, path
    snapshot = doc["components"]["schemas"]["Snapshot"]
    assert snapshot["properties"]["window"]["enum"] == ["1m", "5m", "15m", "1h", "24h", "all"]
    assert doc["components"]["schemas"]["RecentTweet"]["properties"]["label"]["enum"] == ["FAVOR", "AGAINST", "NONE"]


def test_the_model_behind_the_counts_says_how_well_it_labels_each_target(api: tuple[str, str]) -> None:
    base, _ = api
    body = httpx.get(f"{base}/v1/model").json()
    (served,) = body["models"]  # the harness's infer announcement: the shipped bundle
    assert served["version"] == "ulmfit-small-v5"
    biden = {m["evaluation_set"]: m for m in served["quality"]["Joe Biden"]}
    assert set(biden) == {"pstance_val_3class", "kemlm_test"}  # three-label sets only: NONE is counted here
    assert biden["kemlm_test"]["posts"] == 375 and 50 < biden["kemlm_test"]["accuracy"] < 100
    assert "Kamala Harris" not in served["quality"]  # never measured: no labelled posts about her
    assert body["card"] == "/v1/model/card" and "2016–2020" in body["caveat"]
    card = httpx.get(base + body["card"])
    assert card.status_code == 200 and card.headers["content-type"].startswith("text/plain")
    assert card.text.startswith("# Model card: ulmfit-small-v5")
