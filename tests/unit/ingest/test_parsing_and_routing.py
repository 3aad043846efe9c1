from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.routing import Router, RoutingConfigError
from services.common.schemas import MAX_FUTURE_S
from services.ingest.app import Pacer
from services.ingest.parsing import Limits, Parsed, Rejected, parse_json_line
from services.ingest.sources import read_csv

LIMITS = Limits(max_line_bytes=2000, max_text_chars=100)
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "not_an_object"),
        (b'{"text": "hi"}', "missing_field"),
        (b'{"id": "1"}', "missing_field"),
        (b'{"id": 5, "text": "hi"}', "wrong_type"),
        (b'{"id": "1", "text": ["x"]}', "wrong_type"),
        (b'{"id": "1", "text": "   "}', "empty_text"),
        (b'{"id": "1", "text": "hi \xff\xfe"}', "invalid_utf8"),
        (json.dumps({"id": "1", "text": "x" * 101}).encode(), "too_large"),
        (b"x" * 50_001, "too_large"),
        (b'{"id": "1", "text": "hi", "created_at": "yesterday"}', "bad_timestamp"),
        (b'{"id": "1", "text": "hi", "created_at": "0001-01-01T00:00:00"}', "bad_timestamp"),
        (b'{"id": "1", "text": "hi", "created_at": "1970-01-01T00:00:00Z"}', "bad_timestamp"),
        (b"[" * 20_000 + b"]" * 20_000, "malformed_json"),
        (b'{"id": "1", "text": "lone \\ud800 surrogate"}', "invalid_utf8"),
        (b'{"id": "1", "text": "lone \\udfff surrogate"}', "invalid_utf8"),
        (b'{"id": "1\\udc80", "text": "hi"}', "invalid_utf8"),
        (json.dumps({"id": "1", "text": "hi", "author": "a" * 257}).encode(), "too_large"),
    ],
)
def test_bad_lines_are_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    out = parse_json_line(raw, Limits(max_line_bytes=50_000, max_text_chars=100), NOW)
    assert isinstance(out, Rejected) and out.reason == reason and out.detail


def test_good_line_parses_all_fields() -> None:
    out = parse_json_line(b'{"id": " 42 ", "text": "hi", "created_at": "2024-10-01T12:00:00Z", "author": "a",'
                          b' "lang": "en", "extra": 1}', LIMITS, NOW)
    assert isinstance(out, Parsed)
    post = out.post
    assert post.id == "42" and post.created_at is not None and post.created_at.year == 2024 and post.lang == "en"
    assert not out.future_created_at


def test_timestamps_naive_is_utc_and_ahead_of_the_clock_falls_back_to_ingest_time() -> None:
    naive = parse_json_line(b'{"id": "1", "text": "hi", "created_at": "2020-01-02T03:04:05"}', LIMITS, NOW)
    assert isinstance(naive, Parsed) and naive.post.created_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    skew = datetime.fromtimestamp(NOW + MAX_FUTURE_S - 1, UTC).isoformat()
    slightly_ahead = parse_json_line(json.dumps({"id": "1", "text": "hi", "created_at": skew}).encode(), LIMITS, NOW)
    assert isinstance(slightly_ahead, Parsed) and slightly_ahead.post.created_at is not None
    future = parse_json_line(b'{"id": "1", "text": "hi", "created_at": "2031-01-01T00:00:00Z"}', LIMITS, NOW)
    assert isinstance(future, Parsed) and future.post.created_at is None and future.future_created_at


def test_default_routing_is_case_insensitive_whole_word_and_multi_party() -> None:
    router = Router.load()
    routes = router.route("TRUMP vs #Biden2020 tonight, and @KamalaHarris too")
    assert {(r.target, r.party) for r in routes} == {
        ("Donald Trump", "Republicans"), ("Joe Biden", "Democrats"), ("Kamala Harris", "Democrats")}
    assert router.route("my trumpet and the bidenomics class") == []
    assert [r.target for r in router.route("@realDonaldTrump says")] == ["Donald Trump"]
    assert [r.target for r in router.route("#FeelTheBern")] == ["Bernie Sanders"]
    assert router.parties == ["Democrats", "Republicans"]


def test_routing_config_errors_are_clear() -> None:
    with pytest.raises(RoutingConfigError, match="needs name, party"):
        Router.from_toml('[[target]]\nname = "X"\n')
    with pytest.raises(RoutingConfigError, match="no targets"):
        Router.from_toml("")


def test_csv_source_flags_invalid_utf8_and_extra_fields(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b"id,text,author\n1,Go Biden,a\n2,bad \xff byte,b\n3,x,y,z\n")
    items = list(read_csv(p))
    assert [i.ref for i in items] == ["t.csv:2", "t.csv:3", "t.csv:4"]
    assert items[0].record == {"id": "1", "text": "Go Biden", "author": "a"}
    assert b"\xff" in items[1].raw  # the original bytes survive for the DLQ
    assert items[2].error is not None


def test_pacer_spaces_items_without_drift() -> None:
    t = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        t[0] += s

    pacer = Pacer(10.0, clock=lambda: t[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
        t[0] += 0.01  # work per item
    # items start at 0.0, 0.1, 0.2, 0.3, 0.4: the sleeps absorb the work time instead of adding to it
    assert t[0] == pytest.approx(0.41)
    assert slept == pytest.approx([0.09] * 4)
