"""Reviewers label a uniform sample of what was counted (services/api/review.py). Every route takes a reviewer's
bearer token in the Authorization header (no cookies: nothing for another site to ride on) and is rate-limited per
reviewer; labels are never served raw."""

from __future__ import annotations

import hmac
import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.deps import Now, Reader
from services.api.errors import error_responses
from services.api.rate_limit import RateLimiter
from services.api.review import ItemGone, ReviewStore
from services.api.review_schemas import LabelIn, LabelStored, NextItem, ReviewItem, ReviewQuality, TargetQuality
from services.api.review_stats import quality
from services.api.settings import ApiSettings

router = APIRouter(prefix="/v1/review", tags=["review"])
bearer = HTTPBearer(auto_error=False)


def reviewer(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The reviewer whose token the request carries (checked against every token, in constant time each)."""
    settings: ApiSettings = request.app.state.settings
    if cred is not None and not settings.reviewer_tokens:
        raise HTTPException(403, "reviewing is off: no reviewers are configured (PULSE_API_REVIEWER_TOKENS)")
    who = None
    if cred is not None:
        given = cred.credentials.encode()
        for reviewer_id, token in settings.reviewer_tokens.items():
            if hmac.compare_digest(given, token.get_secret_value().encode()):
                who = reviewer_id
    if who is None:
        raise HTTPException(401, "a reviewer's bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    limiter: RateLimiter = request.app.state.review_limiter
    if wait := limiter.take(who):
        raise HTTPException(429, "too many requests from this reviewer: slow down",
                            headers={"Retry-After": str(math.ceil(wait))})
    return who


def review_store(request: Request) -> ReviewStore:
    store: ReviewStore = request.app.state.review
    return store


Reviewer = Annotated[str, Depends(reviewer)]
Store = Annotated[ReviewStore, Depends(review_store)]


@router.get("/next", response_model=NextItem, responses=error_responses(401, 403, 404, 422, 429, 503))
async def next_item(request: Request, who: Reviewer, store: Store, reader: Reader,
                    target: Annotated[str | None, Query(description="only this target's posts")] = None) -> NextItem:
    """A post this reviewer has not labelled, drawn at random from the review sample (of one target, or of any)."""
    known = await reader.targets()
    if target is not None and target not in known:
        raise HTTPException(404, f"unknown target; known: {', '.join(sorted(known))}")
    settings: ApiSettings = request.app.state.settings
    drawn = await store.next_item(who, [target] if target else sorted(known), settings.review_double_share)
    return NextItem(item=None if drawn is None else ReviewItem.model_validate(drawn.fields, strict=False))


@router.post("/labels", response_model=LabelStored, status_code=201,
             responses=error_responses(400, 401, 403, 404, 410, 422, 429, 503))
async def label(body: LabelIn, who: Reviewer, store: Store, reader: Reader, now: Now) -> LabelStored:
    """Stores this reviewer's label of an item (labelling it again replaces theirs)."""
    if body.target not in await reader.targets():
        raise HTTPException(404, "unknown target")
    try:
        votes = await store.label(who, body.target, body.id, body.label, now)
    except ItemGone:
        raise HTTPException(410, "that item is no longer in the review queue: ask for the next one") from None
    return LabelStored(votes=votes)


@router.get("/quality", response_model=ReviewQuality, responses=error_responses(401, 403, 429, 503))
async def review_quality(who: Reviewer, store: Store, reader: Reader) -> ReviewQuality:
    """Per target: the model against the reviewers' labels, and the reviewers against each other."""
    out = {}
    for target in sorted(await reader.targets()):
        q = quality(await store.votes(target))
        if q.items or q.skipped:
            low, high = q.accuracy_interval or (None, None)
            f1, f1_low, f1_high = q.macro_f1 or (None, None, None)
            out[target] = TargetQuality(
                items=q.items, skipped=q.skipped, reference=dict(q.reference),
                confusion={m: dict(c) for m, c in q.confusion.items()}, rated=q.rated, accuracy=q.accuracy,
                accuracy_low=low, accuracy_high=high, macro_f1=f1, macro_f1_low=f1_low, macro_f1_high=f1_high,
                double_reviewed=q.double_reviewed, kappa=q.kappa)
    return ReviewQuality(targets=out)
