"""The FastAPI app: REST, websocket, page, health and metrics. Clients are opened in the lifespan."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import Counter, Histogram

from services.api import errors
from services.api.broadcast import Broadcaster
from services.api.live_review import LiveReviewCache
from services.api.rate_limit import RateLimiter
from services.api.review import ReviewStore
from services.api.routes import health, model, pulse, review, spikes, stream, targets, tweets
from services.api.schemas import Snapshot
from services.api.settings import ApiSettings
from services.api.store import PulseReader
from services.common.metrics import LATENCY_BUCKETS
from services.common.redis_clients import AsyncClient, async_client, layout
from services.common.settings import RedisSettings
from services.common.windows import WINDOWS

log = logging.getLogger(__name__)

REQUESTS = Counter("pulse_api_requests_total", "HTTP requests", ["route", "method", "status"])
LATENCY = Histogram("pulse_api_request_seconds", "HTTP request duration", ["route"], buckets=LATENCY_BUCKETS)
STATIC = resources.files("services.api") / "static"


def redis_client(settings: ApiSettings, redis_settings: RedisSettings) -> AsyncClient:
    """A bounded pool that makes a request wait for a free connection (up to 5 s) rather than fail: the default
    pool raises "Too many connections" under a burst. A cluster client keeps such a pool per node."""
    options: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5, "decode_responses": True}
    if redis_settings.cluster:
        return async_client(redis_settings, max_connections=settings.redis_max_connections, **options)
    pool = aioredis.BlockingConnectionPool.from_url(
        redis_settings.dsn(), max_connections=settings.redis_max_connections, timeout=5, **options)
    return aioredis.Redis.from_pool(pool)  # owns the pool: closing the client closes it


def create_app(settings: ApiSettings, redis_settings: RedisSettings, known_targets: dict[str, str],
               clock: Callable[[], float] = time.time) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A bounded pool that makes a request wait for a free connection (up to 5 s) rather than fail: the default
        # pool raises "Too many connections" under a burst.
        client = redis_client(settings, redis_settings)
        review_store = ReviewStore(client, layout(redis_settings))
        reader = PulseReader(client, layout(redis_settings), known_targets,
                             live=LiveReviewCache(review_store, settings.live_quality_min_items))

        async def snapshot(window: str) -> Snapshot:
            return await reader.snapshot(window, WINDOWS[window], clock())

        async def current_spikes() -> dict[str, Any]:
            return await spikes.current(reader, clock())

        broadcaster = Broadcaster(client, redis_settings.updates_channel, snapshot, settings.stream_throttle_s,
                                  settings.stream_heartbeat_s, settings.max_stream_clients, current_spikes,
                                  settings.spike_check_s)
        app.state.redis, app.state.reader = client, reader
        app.state.review = review_store
        app.state.review_limiter = RateLimiter(settings.review_rate_per_s, settings.review_burst)
        app.state.broadcaster, app.state.settings, app.state.clock = broadcaster, settings, clock
        await broadcaster.start()
        try:
            yield
        finally:
            await broadcaster.stop()
            await client.aclose()

    app = FastAPI(
        title="Stance Pulse",
        version="1",
        description="Live stance (FAVOR / AGAINST / NONE) of social-media posts toward parties and candidates.",
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored Swagger UI: no CDN, so /docs works offline and leaks nothing
        redoc_url=None,
    )
    for r in (pulse.router, targets.router, model.router, spikes.router, tweets.router, stream.router, health.router,
              review.router):
        app.include_router(r)
    errors.install(app)
    if settings.cors_origins:  # off by default: the page is served from the API's own origin
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET"],
                           allow_headers=["If-None-Match"], expose_headers=["ETag"], max_age=600)

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    @app.get("/review", include_in_schema=False)
    async def review_page() -> FileResponse:
        return FileResponse(str(STATIC / "review.html"))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=str(app.openapi_url), title=f"{app.title} API",
                                   swagger_js_url="/static/vendor/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui.css",
                                   swagger_favicon_url="/static/vendor/favicon-32x32.png")

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Any]) -> Response:
        start = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        REQUESTS.labels(name, request.method, str(response.status_code)).inc()
        LATENCY.labels(name).observe(time.perf_counter() - start)
        return response

    return app
