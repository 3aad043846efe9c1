from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from services.api.deps import Reader
from services.api.errors import error_responses
from services.api.schemas import RecentTweets
from services.common.schemas import Label

router = APIRouter(prefix="/v1/tweets", tags=["tweets"])


@router.get("/recent", response_model=RecentTweets, responses=error_responses(404, 422, 503))
async def recent(
    reader: Reader,
    party: Annotated[str | None, Query(description="only this party's tweets")] = None,
    target: Annotated[str | None, Query(description="only this target's tweets (with party: a target of it)")] = None,
    label: Annotated[Label | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> RecentTweets:
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
    return RecentTweets(tweets=await reader.recent(kind, name, label, limit))
