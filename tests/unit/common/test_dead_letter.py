from __future__ import annotations

import hashlib

from services.common.kafka import DLQ_ORIGINAL_BYTES, DLQ_REASON, DLQ_SHA256, dead_letter


def test_small_input_is_kept_whole_without_truncation_headers() -> None:
    value, headers = dead_letter(b"{bad", "malformed_json", "why", "ingest", "f.jsonl:3")
    h = dict(headers)
    assert value == b"{bad" and h[DLQ_REASON] == b"malformed_json"
    assert DLQ_ORIGINAL_BYTES not in h and DLQ_SHA256 not in h


def test_large_input_is_capped_and_says_how_large_it_was_and_its_hash() -> None:
    original = b"x" * 5_000_000
    value, headers = dead_letter(original, "too_large", "why", "ingest", "f.jsonl:9", max_bytes=1000)
    h = dict(headers)
    assert value == original[:1000]
    assert h[DLQ_ORIGINAL_BYTES] == b"5000000"
    assert h[DLQ_SHA256] == hashlib.sha256(original).hexdigest().encode()


def test_details_with_lone_surrogates_still_encode() -> None:
    _, headers = dead_letter(b"x", "invalid_utf8", "text \ud800 here", "ingest", "src \udcff")
    assert all(isinstance(v, bytes) for _, v in headers)
