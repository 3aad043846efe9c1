from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ingest.app import Pacer
from services.ingest.parsing import Limits, Rejected, Tweet, parse_json_line
from services.ingest.routing import Router, RoutingConfigError
from services.ingest.sources import read_csv

LIMITS = Limits(max_line_bytes=2000, max_text_chars=100)


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
        (b"x" * 2001, "too_large"),
        (b'{"id": "1", "text": "hi", "created_at": "yesterday"}', "bad_timestamp"),
    ],
)
def test_bad_lines_are_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    out = parse_json_line(raw, LIMITS)
    assert isinstance(out, Rejected) and out.reason == reason and out.detail


def test_good_line_parses_all_fields() -> None:
    out = parse_json_line(b'{"id": " 42 ", "text": "hi", "created_at": "2024-10-01T12:00:00Z", "author": "a",'
                          b' "lang": "en", "extra": 1}', LIMITS)
    assert isinstance(out, Tweet)
    assert out.id == "42" and out.created_at is not None and out.created_at.year == 2024 and out.lang == "en"


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
