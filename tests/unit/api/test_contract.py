"""The API's contract through FastAPI's TestClient, with the reader replaced through dependency overrides (the
counts store is faked here; tests/integration/test_api.py runs the same routes on a real Redis)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from services.api.deps import get_clock, get_reader
from services.api.main import create_app
from services.api.schemas import HistoryPoint, RecentTweet, Snapshot
from services.api.served import Served
from services.api.settings import ApiSettings
from services.api.shares import ShareEstimator
from services.common.settings import RedisSettings
from services.common.windows import HistoryPlan

KNOWN = {"Joe Biden": "Democrats", "Kamala Harris": "Democrats", "Donald Trump": "Republicans"}


class FakeReader:
    def __init__(self) -> None:
        self.favor = 3
        self.model = Served(["fixture-0"], {"Joe Biden", "Donald Trump"}, ShareEstimator(None))

    async def served(self) -> Served:
        return self.model

    async def targets(self) -> dict[str, str]:
        return dict(KNOWN)

    async def snapshot(self, window: str, window_s: int | None, now: float) -> Snapshot:
        fig = {"favor": self.favor, "against": 1, "none": 0, "total": self.favor + 1,
               "net": (self.favor - 1) / (self.favor + 1)}
        zero = {"favor": 0, "against": 0, "none": 0, "total": 0, "net": None}
        return Snapshot.model_validate(self.model.estimator.annotate({
            "window": window, "at": now, "models": self.model.versions,
            "parties": {"Democrats": {**fig, "targets": ["Joe Biden", "Kamala Harris"]},
                        "Republicans": {**zero, "targets": ["Donald Trump"]}},
            "targets": {"Joe Biden": {**fig, "party": "Democrats"}, "Kamala Harris": {**zero, "party": "Democrats"},
                        "Donald Trump": {**zero, "party": "Republicans"}}}))

    async def history(self, kind: str, name: str, plan: HistoryPlan) -> list[HistoryPoint]:
        if plan.step_s == 300:  # the spike rule's series: Biden bursts in the latest 5 minutes
            volumes = [20, 24, 18, 22] * 6
            volumes[-1] = 90 if name == "Joe Biden" else 21
            return [HistoryPoint(start=s, favor=v // 2, against=v - v // 2, none=0, total=v, net=0.0)
                    for s, v in zip(plan.starts, volumes, strict=True)]
        return [HistoryPoint(start=1_764_870_000 + 60 * i, favor=i, against=1, none=0, total=i + 1,
                             net=(i - 1) / (i + 1)) for i in range(3)]

    async def recent(self, kind: str, name: str, label: str | None, limit: int) -> list[RecentTweet]:
        return []


def client(**settings: Any) -> tuple[TestClient, FakeReader]:
    app = create_app(ApiSettings(**settings), RedisSettings(), KNOWN)
    reader = FakeReader()
    app.dependency_overrides[get_reader] = lambda: reader
    app.dependency_overrides[get_clock] = lambda: 1_764_870_200.0
    return TestClient(app), reader


def test_every_error_has_one_shape_with_a_message() -> None:
    c, _ = client()
    for path, params, status in [("/v1/pulse", {"window": "2m"}, 422),
                                 ("/v1/pulse/history/party/Greens", {}, 404),
                                 ("/v1/pulse/history/parties/Greens", {}, 422),
                                 ("/v1/pulse/history/party/Democrats", {"step": "1x"}, 422),
                                 ("/v1/pulse/history/party/Democrats", {"step": "7m"}, 422),
                                 ("/v1/tweets/recent", {"party": "Republicans", "target": "Joe Biden"}, 404),
                                 ("/v1/tweets/recent", {"limit": "0"}, 422),
                                 ("/v1/nowhere", {}, 404)]:
        r = c.get(path, params=params)
        assert r.status_code == status, path
        body = r.json()
        assert set(body) == {"detail", "errors"} and isinstance(body["detail"], str) and body["detail"], body
    invalid = c.get("/v1/pulse", params={"window": "2m"}).json()
    assert invalid["errors"][0]["loc"] == ["query", "window"] and "2m" not in invalid["detail"]


def test_openapi_types_every_field_and_documents_the_errors() -> None:
    c, _ = client()
    spec = c.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("Snapshot", "TargetFigures", "PartyFigures", "CorrectedShares", "History", "Targets",
                 "ErrorResponse"):
        assert schemas[name].get("properties"), name
        assert schemas[name].get("additionalProperties") is not True, name
    pulse = spec["paths"]["/v1/pulse"]["get"]["responses"]
    assert {"200", "422", "503"} <= set(pulse)
    assert pulse["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    undescribed = [f"{name}.{field}" for name, schema in schemas.items() if name not in ("HTTPValidationError",
                                                                                         "ValidationError")
                   for field, prop in schema.get("properties", {}).items() if not prop.get("description")]
    assert undescribed == [], "every published field says what it is"
    assert set(spec["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}  # the 503 a balancer acts on


def test_snapshots_carry_an_etag_and_answer_304_while_nothing_changed() -> None:
    c, reader = client()
    first = c.get("/v1/pulse")
    assert first.status_code == 200 and first.headers["cache-control"] == "public, max-age=1"
    etag = first.headers["etag"]
    assert c.get("/v1/pulse", headers={"If-None-Match": etag}).status_code == 304
    reader.favor += 1  # a new post counted
    changed = c.get("/v1/pulse", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_targets_say_which_the_model_scores() -> None:
    c, _ = client()
    body = c.get("/v1/targets").json()
    assert {t["name"]: t["scored"] for t in body["targets"]} == {
        "Donald Trump": True, "Joe Biden": True, "Kamala Harris": False}
    assert body["parties"] == ["Democrats", "Republicans"]


def test_history_exports_as_csv() -> None:
    c, _ = client()
    r = c.get("/v1/pulse/history/target/Joe Biden", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    lines = r.text.splitlines()
    assert lines[0] == "start,favor,against,none,total,net,unrated,posts" and len(lines) == 4
    assert lines[1] == "2025-12-04T17:40:00Z,0,1,0,1,-1.0,0,0"  # ISO 8601 times


@pytest.mark.parametrize("origins, allowed", [("", False), ("https://news.example", True)])
def test_cors_is_off_unless_configured(origins: str, allowed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_API_CORS_ORIGINS", origins)
    c, _ = client()
    r = c.options("/v1/pulse", headers={"Origin": "https://news.example", "Access-Control-Request-Method": "GET"})
    assert (r.headers.get("access-control-allow-origin") == "https://news.example") is allowed
    assert (r.status_code == 200) is allowed


def test_the_websocket_messages_have_a_served_json_schema() -> None:
    c, _ = client()
    schema = c.get("/v1/pulse/stream/schema").json()
    snapshot = c.get("/v1/pulse").json()
    jsonschema.validate({"type": "snapshot", **snapshot}, schema)
    jsonschema.validate({"type": "error", "detail": "window must be one of 1m, 5m"}, schema)
    jsonschema.validate({"type": "spikes", **c.get("/v1/spikes").json()}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"type": "snapshot", "window": "15m"}, schema)


def test_spikes_name_the_target_and_link_the_posts_behind_it() -> None:
    c, _ = client()
    body = c.get("/v1/spikes").json()
    assert [(s["target"], s["kind"]) for s in body["spikes"]] == [("Joe Biden", "volume")]
    assert body["spikes"][0]["tweets"] == "/v1/tweets/recent?target=Joe%20Biden" and "robust z-score" in body["rule"]


def test_the_recent_tweet_model_reads_exactly_the_fields_the_aggregator_stores() -> None:
    from services.api.schemas import RecentTweet
    from services.common.schemas import RECENT_FIELDS, ScoredTweet

    assert set(RecentTweet.model_fields) == RECENT_FIELDS <= set(ScoredTweet.model_fields)
