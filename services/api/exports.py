"""CSV exports of the API's series and posts: times in ISO 8601 (UTC, which spreadsheets read as times), and no cell
a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import Response

from services.api.schemas import Figures, HistoryPoint, RecentTweet
from services.common.schemas import LABELS

SERIES_COLUMNS = ("start", *Figures.model_fields)  # a history point's figures, in the models' order
POSTS_COLUMNS = ("id", "url", "created_at", "scored_at", "author", "target", "party", "label", "confidence",
                 *(f"p_{label.lower()}" for label in LABELS), "model_version", "text")


def iso(epoch: float) -> str:
    """ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: posts are anyone's words, and one starting with = + - @ (or a tab or
    carriage return) would run as a formula when a newsroom opens the file (OWASP: CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _table(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def series_csv(points: list[HistoryPoint]) -> str:
    rows = ({**p.model_dump(), "start": iso(p.start)} for p in points)
    return _table(SERIES_COLUMNS, ([r[c] if r[c] is not None else "" for c in SERIES_COLUMNS] for r in rows))


def posts_csv(tweets: list[RecentTweet]) -> str:
    return _table(POSTS_COLUMNS, ([
        spreadsheet_safe(t.id), t.url or "", iso(t.created_at.timestamp()) if t.created_at else "", iso(t.scored_at),
        spreadsheet_safe(t.author or ""), t.target, t.party, t.label, t.probs.get(t.label, ""),
        *(t.probs.get(label, "") for label in LABELS), t.model_version, spreadsheet_safe(t.text)] for t in tweets))


def attachment(body: str, filename: str) -> Response:
    """A CSV download; the name made safe for the header (spaces, quotes and colons out)."""
    safe = filename.replace(" ", "_").replace('"', "").replace(":", "")
    return Response(body, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{safe}"'})
