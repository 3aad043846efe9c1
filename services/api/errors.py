"""One error shape for every error the API returns: `{"detail": "<what went wrong>", "errors": [...]}`.

`detail` is always one human-readable string (FastAPI's validation errors put a list there; clients then need two
parsers); `errors` lists the invalid fields of a 422. Inputs are never echoed back.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: ['query', 'window']")
    message: str = Field(description="what is wrong with it (the value sent is never repeated)",
                         examples=["Input should be '1m', '5m', '15m', '1h', '24h' or 'all'"])


class ErrorResponse(BaseModel):
    detail: str = Field(description="what went wrong, in one sentence for a person",
                        examples=["unknown party; known: Democrats, Republicans"])
    errors: list[FieldError] = Field(default_factory=list, description="the invalid fields of a 422")


def _describe(status: int) -> str:
    return {400: "the body is not JSON",
            401: "no valid reviewer's bearer token",
            403: "reviewing is off: no reviewers are configured",
            404: "unknown party or target (the message lists the known ones)",
            410: "the item left the review queue; ask for the next one",
            422: "invalid query parameters or body (each in `errors`)",
            429: "too many requests from this reviewer; retry after the Retry-After seconds",
            503: "the counts store (Redis) is unavailable; retry after the Retry-After seconds"}[status]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: its documented errors, all in the one shape."""
    return {s: {"model": ErrorResponse, "description": _describe(s)} for s in statuses}


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail), "errors": []}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "message": str(e.get("msg", "invalid"))} for e in exc.errors()]
        summary = "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['message']}" for e in errors)
        return JSONResponse({"detail": f"invalid request: {summary}", "errors": errors}, status_code=422)

    @app.exception_handler(RedisError)
    async def redis_down(request: Request, exc: RedisError) -> JSONResponse:
        log.warning("redis error on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": "the counts store is unavailable; retry shortly", "errors": []},
                            status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return JSONResponse({"detail": "internal error", "errors": []}, status_code=500)
