from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import PlainTextResponse

from models.runtime.evaluation_sets import quality_per_target
from services.api.caching import json_with_etag
from services.api.deps import Reader
from services.api.errors import error_responses
from services.api.live_review import LiveReviews
from services.api.schemas import ServedModelsInfo

router = APIRouter(prefix="/v1/model", tags=["model"])
CARD = resources.files("models") / "README.md"
CAVEAT = ("Measured on labelled tweets from 2016–2020 that the model never saw in training. Live posts differ (most "
          "posts naming a candidate are news or quotes, which the model finds hardest), so treat these figures as a "
          "guide to how far one label can be trusted, not as the accuracy on today's stream.")


@router.get("", response_model=ServedModelsInfo, responses=error_responses(503))
async def model(reader: Reader, request: Request) -> Response:
    """The model behind the counts and how well it labels each target, as measured when it was built."""
    served = await reader.served()
    live = await reader.live_reviews(served, sorted(await reader.targets()))
    body = ServedModelsInfo.model_validate({
        "models": [{"version": f.version, "targets": f.targets, "quality": quality_per_target(f.metrics),
                    "live_quality": live_quality(live) if f.version == live.version else {}}
                   for f in served.facts],
        "live_quality_min_items": request.app.state.settings.live_quality_min_items,
        "card": "/v1/model/card", "caveat": CAVEAT})
    return json_with_etag(request, body.model_dump(mode="json"), max_age=30)


def live_quality(live: LiveReviews) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for target, q in live.quality.items():
        low, high = q.accuracy_interval or (None, None)
        f1, f1_low, f1_high = q.macro_f1 or (None, None, None)
        out[target] = {"reviewed": q.items, "rated": q.rated, "enough": target in live.samples,
                       "accuracy": q.accuracy, "accuracy_low": low, "accuracy_high": high, "macro_f1": f1,
                       "macro_f1_low": f1_low, "macro_f1_high": f1_high, "double_reviewed": q.double_reviewed,
                       "kappa": q.kappa}
    return out


@router.get("/card", response_class=PlainTextResponse, responses={
    200: {"content": {"text/plain": {}}, "description": "the model card (Markdown, shown as text)"},
    **error_responses(404)})
async def card() -> PlainTextResponse:
    """The model card: what the served model is, what it was trained and measured on, and its limits."""
    if not CARD.is_file():
        raise HTTPException(404, "this installation carries no model card")
    return PlainTextResponse(CARD.read_text(encoding="utf-8"), headers={"Cache-Control": "public, max-age=300"})
