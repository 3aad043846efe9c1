from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={
    200: {"description": "Redis answers: the API can serve", "content": {"application/json": {
        "example": {"status": "ready"}}}},
    503: {"description": "Redis does not answer: take this replica out of service until it does",
          "content": {"application/json": {"example": {"status": "unavailable", "detail": "redis: ConnectionError"}}}},
})
async def readyz(request: Request) -> JSONResponse:
    """Ready when Redis answers."""
    try:
        await request.app.state.redis.ping()
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "detail": f"redis: {type(exc).__name__}"}, status_code=503)
    return JSONResponse({"status": "ready"})
