"""Incoming bytes or records → a validated tweet, or the reason it is rejected. Pure; no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

REQUIRED = ("id", "text")
OPTIONAL = ("created_at", "author", "lang")


@dataclass(frozen=True)
class Tweet:
    id: str
    text: str
    created_at: datetime | None = None
    author: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class Rejected:
    reason: str  # a short, stable code: it becomes a metric label and the DLQ reason header
    detail: str


@dataclass(frozen=True)
class Limits:
    max_line_bytes: int = 64 * 1024
    max_text_chars: int = 5_000
    max_id_chars: int = 256


def parse_json_line(raw: bytes, limits: Limits) -> Tweet | Rejected:
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
    return validate_record(obj, limits)


def _has_surrogates(s: str) -> bool:
    # CSV and stdin are decoded with surrogateescape: lone surrogates mark bytes that were not UTF-8.
    return any("\udc80" <= ch <= "\udcff" for ch in s)


def validate_record(obj: Any, limits: Limits) -> Tweet | Rejected:
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
    created_at = None
    if obj.get("created_at"):
        try:
            created_at = datetime.fromisoformat(obj["created_at"].replace("Z", "+00:00"))
        except ValueError:
            return Rejected("bad_timestamp", f"created_at {obj['created_at'][:40]!r} is not ISO-8601")
    return Tweet(id=tweet_id, text=text, created_at=created_at, author=obj.get("author") or None,
                 lang=obj.get("lang") or None)
