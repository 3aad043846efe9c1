from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response

from services.api.deps import Reader
from services.api.errors import error_responses
from services.api.routes.pulse import iso
from services.api.schemas import RecentTweet, RecentTweets
from services.common.schemas import LABELS, Label

router = APIRouter(prefix="/v1/tweets", tags=["tweets"])
CSV_COLUMNS = ("id", "url", "created_at", "scored_at", "author", "target", "party", "label", "confidence",
               *(f"p_{label.lower()}" for label in LABELS), "model_version", "text")


@router.get("/recent", response_model=RecentTweets, responses={
    **error_responses(404, 422, 503),
    200: {"content": {"text/csv": {"example": ",".join(CSV_COLUMNS) + "\n"}},
          "description": "the posts as JSON, or as CSV with format=csv (times in ISO 8601, UTC)"}})
async def recent(
    reader: Reader,
    party: Annotated[str | None, Query(description="only this party's tweets")] = None,
    target: Annotated[str | None, Query(description="only this target's tweets (with party: a target of it)")] = None,
    label: Annotated[Label | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    format: Annotated[Literal["json", "csv"], Query(description="json, or csv to export the posts")] = "json",
) -> RecentTweets | Response:
    """The latest scored tweets, newest first, with the model's probabilities."""
    known = await reader.targets()
    if party is not None and party not in set(known.values()):
        raise HTTPException(404, f"unknown party; known: {', '.join(sorted(set(known.values())))}")
    if target is not None and target not in known:
        raise HTTPException(404, f"unknown target; known: {', '.join(sorted(known))}")
    if party is not None and target is not None and known[target] != party:
        raise HTTPException(404, f"that target is in {known[target]}, not in the party asked for")
    kind, name = ("target", target) if target is not None else ("party", party) if party is not None else ("all", "all")
    assert name is not None
    tweets = await reader.recent(kind, name, label, limit)
    if format == "csv":
        filename = f"pulse-posts-{name}.csv".replace(" ", "_")
        return Response(posts_csv(tweets), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return RecentTweets(tweets=tweets)


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: posts are anyone's words, and one starting with = + - @ (or a tab or
    carriage return) would run as a formula when a newsroom opens the file (OWASP: CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def posts_csv(tweets: list[RecentTweet]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in tweets:
        created = iso(t.created_at.timestamp()) if t.created_at else ""
        writer.writerow([spreadsheet_safe(t.id), t.url or "", created, iso(t.scored_at),
                         spreadsheet_safe(t.author or ""), t.target, t.party, t.label, t.probs.get(t.label, ""),
                         *(t.probs.get(label, "") for label in LABELS), t.model_version, spreadsheet_safe(t.text)])
    return out.getvalue()
