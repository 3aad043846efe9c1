"""Incoming bytes or records → a validated tweet, or the reason it is rejected. Pure; no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.common.schemas import (
    EARLIEST_POST,
    MAX_FIELD_CHARS,
    MAX_FUTURE_S,
    MAX_ID_CHARS,
    MAX_SOURCE_CHARS,
    Post,
)

REQUIRED = ("id", "text")
OPTIONAL = ("created_at", "author", "lang", "source")


# A created_at before EARLIEST_POST sends the record to the DLQ; one after now + MAX_FUTURE_S (schemas.py) is
# dropped, the post kept and placed at ingest time, and counted in pulse_ingest_future_timestamps_total, because
# the text is still a valid opinion worth counting now.


@dataclass(frozen=True)
class Parsed:
    post: Post
    future_created_at: bool = False  # created_at was ahead of now + MAX_FUTURE_S and was dropped


@dataclass(frozen=True)
class Rejected:
    reason: str  # a short, stable code: it becomes a metric label and the DLQ reason header
    detail: str


@dataclass(frozen=True)
class Limits:
    max_line_bytes: int = 64 * 1024
    max_text_chars: int = 5_000
    max_id_chars: int = MAX_ID_CHARS
    max_field_chars: int = MAX_FIELD_CHARS  # author, lang, source


def parse_json_line(raw: bytes, limits: Limits, now: float) -> Parsed | Rejected:
    if len(raw) > limits.max_line_bytes:
        return Rejected("too_large", f"{len(raw)} bytes > {limits.max_line_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejected("invalid_utf8", str(exc))
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejected("malformed_json", str(exc))
    except RecursionError:
        return Rejected("malformed_json", "JSON nested too deeply")
    return validate_record(obj, limits, now)


def _has_surrogates(s: str) -> bool:
    # Lone surrogates cannot be encoded as UTF-8: JSON escapes such as "\ud800" produce them, and CSV and stdin
    # are decoded with surrogateescape, which marks bytes that were not UTF-8 with them.
    return any("\ud800" <= ch <= "\udfff" for ch in s)


def parse_created_at(value: str, now: float) -> datetime | Rejected | None:
    """An ISO-8601 time → an aware datetime; None when it is ahead of the clock (see MAX_FUTURE_S)."""
    try:
        created_at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return Rejected("bad_timestamp", f"created_at {value[:40]!r} is not ISO-8601")
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    if created_at < EARLIEST_POST:
        return Rejected("bad_timestamp", f"created_at {value[:40]!r} is before {EARLIEST_POST.date()}, "
                                         "the earliest plausible post time")
    if created_at.timestamp() > now + MAX_FUTURE_S:
        return None
    return created_at


def validate_record(obj: Any, limits: Limits, now: float) -> Parsed | Rejected:
    if not isinstance(obj, dict):
        return Rejected("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    for field in REQUIRED:
        if field not in obj or obj[field] is None:
            return Rejected("missing_field", f"field {field!r} is missing")
    for field in (*REQUIRED, *OPTIONAL):
        value = obj.get(field)
        if value is not None and not isinstance(value, str):
            return Rejected("wrong_type", f"field {field!r} must be a string, got {type(value).__name__}")
        if isinstance(value, str) and _has_surrogates(value):
            return Rejected("invalid_utf8", f"field {field!r} is not valid UTF-8")
    tweet_id, text = obj["id"].strip(), obj["text"]
    if not tweet_id:
        return Rejected("missing_field", "field 'id' is empty")
    if len(tweet_id) > limits.max_id_chars:
        return Rejected("too_large", f"id has {len(tweet_id)} characters > {limits.max_id_chars}")
    if not text.strip():
        return Rejected("empty_text", "field 'text' is empty")
    if len(text) > limits.max_text_chars:
        return Rejected("too_large", f"text has {len(text)} characters > {limits.max_text_chars}")
    for field in OPTIONAL:
        if len(obj.get(field) or "") > limits.max_field_chars:
            return Rejected("too_large", f"{field} has {len(obj[field])} characters > {limits.max_field_chars}")
    if len(obj.get("source") or "") > MAX_SOURCE_CHARS:
        return Rejected("too_large", f"source has {len(obj['source'])} characters > {MAX_SOURCE_CHARS}")
    created_at = parse_created_at(obj["created_at"], now) if obj.get("created_at") else None
    if isinstance(created_at, Rejected):
        return created_at
    # Every limit was checked above with its own reason; model_construct trusts them rather than check twice.
    post = Post.model_construct(id=tweet_id, text=text, created_at=created_at, author=obj.get("author") or None,
                                lang=obj.get("lang") or None, source=obj.get("source") or None)
    return Parsed(post, future_created_at=created_at is None and bool(obj.get("created_at")))
