"""POST /v1/tweets on the real broker: auth, per-item rejections to the DLQ, and counts downstream."""

from __future__ import annotations

import httpx
import pytest

from services.dev.servers import free_port, wait_for_port
from tests.integration.harness import Pipeline, expected_counts

pytestmark = pytest.mark.integration
TOKEN = "test-token-0123456789abcdef"


def test_http_source(pipeline: Pipeline) -> None:
    port = free_port()
    pipeline.env.update(PULSE_INGEST_TOKEN=TOKEN, PULSE_INGEST_HTTP_PORT=str(port))
    pipeline.start_all()
    proc = pipeline.start("ingest", "--http")
    wait_for_port(port, proc=proc)
    url = f"http://127.0.0.1:{port}/v1/tweets"
    good = [{"id": "h1", "text": "I love Bernie, so proud"}, {"id": "h2", "text": "Trump is a disaster"},
            {"id": "h3", "text": "Biden speaking in Ohio today"}]
    body = [*good, {"id": "h4", "text": "nice weather"}, {"id": "h5"}, "not an object"]

    assert httpx.post(url, json=body).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer wrong-token-xxxxxxxx"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = httpx.post(url, json={"tweets": body}, headers=auth)
    assert r.status_code == 202
    assert r.json() == {"received": 6, "routed": 3, "unrouted": 1, "rejected": [
        {"index": 4, "reason": "missing_field", "detail": "field 'text' is missing"},
        {"index": 5, "reason": "not_an_object", "detail": "expected a JSON object, got str"}]}

    bad = httpx.post(url, content=b"{oops", headers={**auth, "Content-Type": "application/json"})
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["detail"]
    assert httpx.post(url, json={"tweet": []}, headers=auth).status_code == 422

    expected = expected_counts(pipeline.bundle, good)
    snap = pipeline.wait_for_counts(expected)
    assert sum(t["total"] for t in snap["targets"].values()) == 3
    dead = pipeline.dead_letters(expected=3)
    assert sorted(h["pulse.dlq.reason"].decode() for _, h in dead) == [
        "malformed_json", "missing_field", "not_an_object"]
    assert b"{oops" in [v for v, _ in dead]
