from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from services.api.caching import json_with_etag
from services.api.deps import Reader
from services.api.errors import error_responses
from services.api.schemas import Targets

router = APIRouter(prefix="/v1/targets", tags=["pulse"])


@router.get("", response_model=Targets, responses=error_responses(503))
async def targets(reader: Reader, request: Request) -> Response:
    """Every target with its party, and whether the served model scores it: a target it does not score (no
    labelled data to train on) is routed and counted as skipped by infer, so its counts stay at 0."""
    known = await reader.targets()
    scored = (await reader.served()).scored_targets
    body: dict[str, Any] = {
        "targets": [{"name": t, "party": p, "scored": scored is None or t in scored} for t, p in sorted(known.items())],
        "parties": sorted(set(known.values())),
    }
    return json_with_etag(request, Targets.model_validate(body).model_dump(mode="json"), max_age=60)
