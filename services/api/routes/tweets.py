from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response

from services.api.deps import Reader
from services.api.errors import error_responses
from services.api.exports import POSTS_COLUMNS, attachment, posts_csv
from services.api.schemas import RecentTweets
from services.common.schemas import Label

router = APIRouter(prefix="/v1/tweets", tags=["tweets"])


@router.get("/recent", response_model=RecentTweets, responses={
    **error_responses(404, 422, 503),
    200: {"content": {"text/csv": {"example": ",".join(POSTS_COLUMNS) + "\n"}},
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
        return attachment(posts_csv(tweets), f"pulse-posts-{name}.csv")
    return RecentTweets(tweets=tweets)
